"""Sources failing one by one: each that cannot be read is reported as "could not check" with its reason
(never as "nothing found"), and everything else is still read and judged."""

from __future__ import annotations

import pytest

from graph.errors import GraphError
from graph.services import compromise

from .helpers import flags, research, unavailable

# source key -> (module, function) whose failure makes that source unreadable
FETCHERS = {
    "sign_ins": (compromise, "user_sign_ins"),
    "directory_audits": (compromise, "directory_audits_for_user"),
    "inbox_rules": (compromise, "inbox_rules"),
    "forwarding": (compromise, "mailbox_forwarding"),
    "mailbox_audit": (compromise, "mailbox_audit_events"),
    "auth_methods": (compromise, "auth_method_changes"),
    "oauth_grants": (compromise, "oauth_grants"),
    "app_roles": (compromise, "app_role_assignments"),
    "new_apps": (compromise, "new_service_principals"),
    "sent_mail": (compromise, "sent_messages"),
    "risk": (compromise, "risky_user"),
}


def _raiser(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_each_source_failing_alone(
    research_world, role_client, django_capture_on_commit_callbacks, monkeypatch
):
    tenant, compromised, _clean = research_world.cast("fabrikam")
    admin = role_client("admin").technician
    baseline, _ = research(research_world, tenant, compromised, admin, django_capture_on_commit_callbacks)
    expected_flags = flags(baseline)
    for key, (module, name) in FETCHERS.items():
        with monkeypatch.context() as patch:
            reason = compromise.SourceUnavailable(compromise.PERMISSION, f"Insufficient privileges ({key})")
            patch.setattr(module, name, _raiser(reason))
            report, job = research(
                research_world, tenant, compromised, admin, django_capture_on_commit_callbacks
            )
        missing = unavailable(report)
        assert key in missing, key
        assert missing[key] == f"permission missing (Insufficient privileges ({key}))"
        assert key not in {s["key"] for s in report.verdict["normal"]}
        assert report.sections["sources"][key]["data"] is None
        item = job.items.get(key=key)
        assert item.status == "failed" and item.message.startswith("Could not check: permission missing")
        # Everything else was still read and judged as before (the sign-in baseline shares the sign-in read;
        # without the directory audits, the method history is read separately and fails the same way).
        others = {k: v for k, v in expected_flags.items() if k != key}
        if key == "directory_audits":
            others["auth_methods"] = others["auth_methods"] - {"method_registered"}
            assert any("history of sign-in methods" in note for note in report.verdict["context"])
        if key == "oauth_grants":
            others["new_apps"] = {"added_by_user"}
        got = flags(report)
        for section, codes in others.items():
            assert codes <= got.get(section, set()), (key, section, codes, got.get(section))
        assert report.verdict["overall"] == "malicious"


@pytest.mark.parametrize(
    "error, reason",
    [
        (GraphError("Invalid filter clause", status=400, code="BadRequest", request_id="rid-1"),
         "Microsoft answered: Invalid filter clause"),
        (RuntimeError("bug"), "An unexpected error stopped this check; it was logged."),
    ],
)  # fmt: skip
def test_other_failures_are_could_not_check_too(error, reason, research_world, role_client,
                                                django_capture_on_commit_callbacks, monkeypatch):  # fmt: skip
    tenant, _compromised, clean = research_world.cast("fabrikam")
    monkeypatch.setattr(compromise, "inbox_rules", _raiser(error))
    report, _ = research(research_world, tenant, clean[0], role_client("admin").technician,
                         django_capture_on_commit_callbacks)  # fmt: skip
    assert unavailable(report) == {"inbox_rules": reason}
    assert report.verdict["overall"] == "incomplete"  # a clean user, but not everything could be checked


def test_context_sources_failing(
    research_world, role_client, django_capture_on_commit_callbacks, monkeypatch
):
    """The profile and the tenant's domains are context: their failure is said, and the judgement goes on."""
    from graph.services import organization, users

    tenant, compromised, _clean = research_world.cast("fabrikam")
    monkeypatch.setattr(
        users, "get_user", _raiser(GraphError("Throttled", status=429, code="TooManyRequests"))
    )
    monkeypatch.setattr(
        organization, "get_tenant_profile", _raiser(compromise.SourceUnavailable(compromise.THROTTLED))
    )
    report, _ = research(research_world, tenant, compromised, role_client("admin").technician,
                         django_capture_on_commit_callbacks)  # fmt: skip
    notes = " ".join(report.verdict["context"])
    assert (
        "Account could not be read" in notes and "Tenant could not be read (throttled after retries)" in notes
    )
    assert report.verdict["state"]["account_enabled"] is None
    assert {"forwards_external"} <= flags(report)[
        "inbox_rules"
    ]  # the cached domains still tell outside from in
