"""The common checks, run for EVERY registered action (a new action gets them for free): the modal names the
user(s) and tenant; Readers are refused (403) and technicians of other tenants get 404; CSRF is enforced;
a GET changes nothing; an action that does not apply is hidden and a forced POST is refused with the reason;
privileged targets need the Admin role; one audit entry per target; secrets never reach the database, the
logs or the audit; and a selection of three users (one of them unknown to Graph) gets truthful per-user
results. Each action's worked example lives in tests/actions/examples*.py."""

from __future__ import annotations

import dataclasses
import html
import logging
import re

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from tests.actions.examples import EXAMPLES
from users.actions import registry

ACTIONS = registry.all_actions()
KEYS = [action.key for action in ACTIONS]
RESULT_RE = re.compile(r'data-result="(\w+)" data-user-id="([0-9a-f-]+)"')
SECRET_RE = re.compile(r"data-secret>([^<]+)</code>")


def test_every_action_has_an_example():
    missing = sorted(set(KEYS) - set(EXAMPLES))
    assert not missing, f"actions without an example in tests/actions/examples*.py: {missing}"


@pytest.fixture(params=KEYS)
def case(request, action_world):
    action = registry.get(request.param)
    example = EXAMPLES.get(action.key)
    if example is None:
        pytest.fail(f"no example for {action.key}")
    target = example.target(action_world.sandbox)
    row = action_world.cache(target)
    if callable(example.data):  # data that depends on the seeded world (e.g. a group's id)
        example = dataclasses.replace(example, data=example.data(action_world.sandbox))
    return {"action": action, "example": example, "target": target, "row": row, "world": action_world}


def url(key: str) -> str:
    return reverse("users:action", args=[key])


def post(client, action, rows, data, **extra):
    payload = {"user": [f"{r.tenant.tenant_id}/{r.user_id}" for r in rows], "confirmed": "1",
               "expected_count": str(len(rows)), **data, **extra}  # fmt: skip
    return client.post(url(action.key), payload)


def outcomes(response, django_capture=None) -> dict[str, str]:
    """{user id: status} from an inline result page, or from the Job the run became."""
    from users.models import JobItem

    if response.status_code == 302 and "/jobs/" in response["Location"]:
        job_id = int(response["Location"].rstrip("/").split("/")[-1])
        return {str(i.target_user_id): i.status for i in JobItem.objects.filter(job_id=job_id)}
    assert response.status_code == 200, response.content.decode()[:2000]
    return {user_id: status for status, user_id in RESULT_RE.findall(response.content.decode())}


def run(client, action, rows, data, capture):
    with capture(execute=True):
        response = post(client, action, rows, data)
    return response, outcomes(response)


def test_modal_names_users_and_tenant(case, role_client):
    client = role_client("admin")
    row = case["row"]
    response = client.get(url(case["action"].key), {"user": case["world"].value(row)})
    assert response.status_code == 200
    text = response.content.decode()
    name = row.display_name or row.user_principal_name
    assert html.escape(name) in text and html.escape(row.tenant.display_name) in text
    assert "data-confirm-text" in text and "data-confirm-button" in text
    # The htmx version is the modal's content only.
    partial = client.get(url(case["action"].key), {"user": case["world"].value(row)}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_reader_refused_and_other_tenants_not_found(case, role_client):
    from users.models import AuditEntry

    row, action = case["row"], case["action"]
    reader = role_client("reader")
    assert reader.get(url(action.key), {"user": case["world"].value(row)}).status_code == 403
    assert post(reader, action, [row], case["example"].data).status_code == 403
    other = next(t for t in case["world"].tenants.values() if t.pk != row.tenant.pk)
    outsider = role_client("admin", tenants=[other])
    assert outsider.get(url(action.key), {"user": case["world"].value(row)}).status_code == 404
    assert post(outsider, action, [row], case["example"].data).status_code == 404
    assert not AuditEntry.objects.exists()


def test_csrf_enforced(case, role_client):
    from users.models import AuditEntry, Job

    client = role_client("admin", csrf=True)
    response = post(client, case["action"], [case["row"]], case["example"].data)
    assert response.status_code == 403
    assert not AuditEntry.objects.exists() and not Job.objects.exists()


def test_get_changes_nothing(case, role_client):
    from users.models import AuditEntry, Job

    target = case["target"]
    version = target.version
    client = role_client("admin")
    assert client.get(url(case["action"].key), {"user": case["world"].value(case["row"])}).status_code == 200
    # A POST without "confirmed" only renders the confirmation too (the bulk bar opens the modal that way).
    response = client.post(url(case["action"].key), {"user": case["world"].value(case["row"])})
    assert response.status_code == 200 and "data-confirm-button" in response.content.decode()
    target.refresh_from_db()
    assert target.version == version
    assert not AuditEntry.objects.exists() and not Job.objects.exists()


def test_inapplicable_action_greyed_out_with_reason_and_refused(case, role_client, monkeypatch):
    from users.actions.applicability import HIDDEN_WHEN_INAPPLICABLE
    from users.models import AuditEntry

    action, row = case["action"], case["row"]
    monkeypatch.setattr(action, "applies", lambda user: "Not for this test user.")
    client = role_client("admin")
    menu = client.get(
        reverse("users:action-menu"), {"user": case["world"].value(row)}, HTTP_HX_REQUEST="true"
    )
    text = menu.content.decode()
    assert menu.status_code == 200 and f'data-action-link="{action.key}"' not in text
    if action.key in HIDDEN_WHEN_INAPPLICABLE:  # its opposite is offered instead
        assert f'data-action-off="{action.key}"' not in text
    else:
        assert f'data-action-off="{action.key}"' in text and "Not for this test user." in text
    response = post(client, action, [row], case["example"].data)
    assert response.status_code == 409
    assert "Not for this test user." in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_privileged_target_needs_admin(case, role_client, django_capture_on_commit_callbacks):
    """Every action, not only credential ones: the target holds Domain Name Administrator (privileged, and
    not on the old hard-coded list) through a role-assignable group only, so it shows in transitiveMemberOf."""
    from graph.sandbox.models import SandboxGroup, SandboxGroupMember, SandboxGroupRoleMember
    from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR, activate_role
    from users.models import AuditEntry

    action, target, row = case["action"], case["target"], case["row"]
    group = SandboxGroup.objects.create(tenant=target.tenant, display_name="Domain admins (role-assignable)",
                                        is_assignable_to_role=True)  # fmt: skip
    SandboxGroupRoleMember.objects.create(
        role=activate_role(target.tenant, DOMAIN_NAME_ADMINISTRATOR), group=group
    )
    SandboxGroupMember.objects.create(group=group, user=target)
    editor = role_client("editor")
    if action.permission == "users.actions.admin":  # Admin-only actions: the Editor may not even open them
        assert editor.get(url(action.key), {"user": case["world"].value(row)}).status_code == 403
        _, results = run(role_client("admin"), action, [row], case["example"].data,
                         django_capture_on_commit_callbacks)  # fmt: skip
        assert results[str(row.user_id)] in ("success", "accepted")
        return
    page = editor.get(url(action.key), {"user": case["world"].value(row)}).content.decode()
    refusal = re.search(r"Needs the Admin role because (\S+) holds ([^<]+)\.<", page)
    assert refusal and refusal.group(1) == row.user_principal_name, page
    assert "Domain Name Administrator" in refusal.group(2).split(", ")
    assert "data-confirm-button" not in page
    version = target.version
    response, results = run(editor, action, [row], case["example"].data, django_capture_on_commit_callbacks)
    assert results == {str(row.user_id): "skipped"}
    target.refresh_from_db()
    assert target.version == version
    entry = AuditEntry.objects.get()
    assert entry.result == "skipped" and "Needs the Admin role" in entry.message
    # An Admin may.
    admin = role_client("admin")
    _, results = run(admin, action, [row], case["example"].data, django_capture_on_commit_callbacks)
    assert results[str(row.user_id)] in ("success", "accepted")


def test_runs_once_audited_and_keeps_secrets(case, role_client, caplog, django_capture_on_commit_callbacks):
    from users.models import AuditEntry

    caplog.set_level(logging.DEBUG)
    action, row, example = case["action"], case["row"], case["example"]
    client = role_client("admin")
    response, results = run(client, action, [row], example.data, django_capture_on_commit_callbacks)
    assert results == {str(row.user_id): results[str(row.user_id)]}
    assert results[str(row.user_id)] in ("success", "accepted"), response.content.decode()[:3000]
    entries = list(AuditEntry.objects.all())
    assert len(entries) == 1 and str(entries[0].target_user_id) == str(row.user_id)
    assert entries[0].action == action.key
    if example.check is not None:
        example.check(case["target"])
    secrets_shown = [html.unescape(s) for s in SECRET_RE.findall(response.content.decode())]
    if action.secret_output:
        assert secrets_shown, "a secret-producing action showed no secret"
        assert response["Cache-Control"] == "no-store"
    for secret in secrets_shown:
        assert secret not in caplog.text
        assert_not_stored(secret)


def assert_not_stored(secret: str) -> None:
    """Search the text of every row of every table for ``secret``."""
    for model in apps.get_models():
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - table names from the model registry
            for row in cursor.fetchall():
                for value in row:
                    text = (
                        value.decode("utf-8", "ignore")
                        if isinstance(value, bytes | memoryview)
                        else str(value)
                    )
                    assert secret not in text, f"the secret is stored in {model._meta.db_table}"


def test_selection_of_three_gets_truthful_results(case, role_client, django_capture_on_commit_callbacks):
    from users.models import AuditEntry

    action, row, example, world = case["action"], case["row"], case["example"], case["world"]
    if not action.bulk:
        pytest.skip("works on one user at a time")
    ghost = world.ghost_like(case["target"])
    if example.second is not None:
        third = world.cache(example.second(world.sandbox))
    else:
        third = world.ghost_like(case["target"])
    rows = [row, ghost, third]
    client = role_client("admin")
    response, results = run(client, action, rows, example.data, django_capture_on_commit_callbacks)
    assert set(results) == {str(r.user_id) for r in rows}
    assert results[str(row.user_id)] in ("success", "accepted")
    assert results[str(ghost.user_id)] in ("failed", "skipped"), "an unknown user must never be reported done"
    assert AuditEntry.objects.count() == 3
    by_target = {str(e.target_user_id): e for e in AuditEntry.objects.all()}
    assert by_target[str(ghost.user_id)].result in ("failed", "skipped")
    assert by_target[str(ghost.user_id)].message
