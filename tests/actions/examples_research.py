"""Example of "Research compromised account" for the shared per-action checks (tests/actions/test_every_action):
it starts the research Job; ``check`` confirms the report of that user was gathered."""

from __future__ import annotations

from tests.actions.examples import ActionExample, plain_member


def _check_report(user) -> None:
    from users.models import CompromiseReport

    report = CompromiseReport.objects.get(tenant__tenant_id=user.tenant_id, user_id=user.pk)
    assert report.gathered_at is not None and report.window_days == 7 and report.verdict.get("overall")


EXAMPLES = {
    "research-compromise": ActionExample(plain_member, {"window_days": "7"}, check=_check_report),
}
