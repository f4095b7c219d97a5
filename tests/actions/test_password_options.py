"""Password options: Entra's rules for a typed password (checked before sending, the error next to the
field), the exact Graph requests (``responses``), runs against the sandbox with its state checked, the typed
password kept out of the page, the database, the Job, the audit and the logs, refusals by role and for synced
users, and the sandbox accepting what Microsoft documents (passwordProfile without a password,
passwordPolicies values) and refusing the rest."""

from __future__ import annotations

import json
import logging

import pytest
import responses
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from graph.errors import GraphError
from graph.sandbox import directory
from graph.sandbox.errors import GraphProblem
from tests.actions.examples import cloud_member, synced_member
from tests.actions.examples_password_options import CHOSEN_PASSWORD
from tests.actions.test_every_action import assert_not_stored
from tests.actions.unitkit import BATCH_URL, GRAPH, batch_answer, context, make_tenant, make_user, targets
from tests.secrets_scan import cache_text, database_text, leaks, logs_text, sessions_text
from users.actions import registry, runner
from users.actions.password_options import policies_with
from users.actions.password_rules import name_parts, password_problems
from users.models import AuditEntry, Job


class Named:
    user_principal_name = "adele.vance@contoso.com"
    display_name = "Adele Vance"


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Tr0ub4dor&Quill!92", None),
        ("Short1!", "8 to 256"),
        ("a" * 250 + "B1!xyzw", "8 to 256"),
        ("alllowercase1", "three of"),
        ("NoDigitsOrSymbols", "three of"),
        ("Pässwort123!", "no accented letters"),
        ("Xadele!2024", "user's name"),
        ("VANCE-2024-ok", "user's name"),
        ("Adele.Vance99", "user's name"),
        ("Ade!Van1234x", None),  # shorter than a name part: allowed
    ],
)
def test_entra_rules(password, expected):
    problems = password_problems(password, Named())
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems
        assert all(password not in p for p in problems), "a problem must never repeat the password"


def test_name_parts_and_policy_values():
    assert name_parts(Named()) == ["adele.vance", "adele", "vance"]
    assert policies_with("", never_expires=True) == "DisablePasswordExpiration"
    assert policies_with("None", never_expires=True) == "DisablePasswordExpiration"
    assert (policies_with("DisableStrongPassword", never_expires=True)
            == "DisablePasswordExpiration, DisableStrongPassword")  # fmt: skip
    assert (
        policies_with("DisablePasswordExpiration, DisableStrongPassword", never_expires=False)
        == "DisableStrongPassword"
    )
    assert policies_with("DisablePasswordExpiration", never_expires=False) == "None"


@pytest.fixture
def admin(django_user_model, db):
    return django_user_model.objects.create_superuser(username="boss", password="x")


@pytest.mark.django_db
@responses.activate
def test_exact_graph_requests(settings, admin):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    first, second = make_user(tenant, 1), make_user(tenant, 2)
    ctx = {tenant.pk: context(tenant, admin)}
    responses.add_callback(responses.POST, BATCH_URL, callback=batch_answer())
    results = runner.run_action(registry.get("require-password-change"), targets(tenant, [first, second]), {},
                                technician=admin, contexts=ctx)  # fmt: skip
    assert [r.outcome.status for r in results] == ["success", "success"]
    sent = json.loads(responses.calls[0].request.body)["requests"]
    assert [(r["method"], r["url"], r["body"]) for r in sent] == [
        ("PATCH", f"/users/{u.user_id}", {"passwordProfile": {"forceChangePasswordNextSignIn": True}})
        for u in (first, second)
    ]
    responses.reset()
    user_url = f"{GRAPH}/v1.0/users/{first.user_id}"
    responses.get(user_url, json={"id": str(first.user_id), "passwordPolicies": "DisableStrongPassword"})
    responses.patch(user_url, status=204)
    [result] = runner.run_action(registry.get("password-never-expires"), targets(tenant, [first]), {},
                                 technician=admin, contexts=ctx)  # fmt: skip
    assert result.outcome.status == "success" and "Kept: DisableStrongPassword" in result.outcome.message
    assert "passwordPolicies" in responses.calls[0].request.url
    assert json.loads(responses.calls[1].request.body) == {
        "passwordPolicies": "DisablePasswordExpiration, DisableStrongPassword"
    }
    responses.reset()
    responses.patch(user_url, status=204)
    [result] = runner.run_action(registry.get("set-chosen-password"), targets(tenant, [first]),
                                 {"_new_password": CHOSEN_PASSWORD, "must_change": False}, technician=admin,
                                 contexts=ctx)  # fmt: skip
    assert json.loads(responses.calls[0].request.body) == {
        "passwordProfile": {"password": CHOSEN_PASSWORD, "forceChangePasswordNextSignIn": False}
    }
    assert result.outcome.status == "success" and result.outcome.secret is None
    assert CHOSEN_PASSWORD not in json.dumps(result.outcome.details) + result.outcome.message


def _post(client, world, key, row, **data):
    return client.post(reverse("users:action", args=[key]), {
        "user": world.value(row), "confirmed": "1", "expected_count": "1", **data}, HTTP_HX_REQUEST="true")  # fmt: skip


def test_typed_password_is_checked_then_set_and_shown_nowhere(action_world, role_client, caplog):
    caplog.set_level(logging.DEBUG)
    user = cloud_member(action_world.sandbox, skip=2)
    row = action_world.cache(user)
    client = role_client("helpdesk")
    weak = "password"
    refused = _post(client, action_world, "set-chosen-password", row, new_password=weak, must_change="on")
    text = refused.content.decode()
    assert refused.status_code == 422 and "three of" in text and "id_new_password-error" in text
    assert f'value="{weak}"' not in text, "a refused password is not rendered back"
    weak_but_long = "nocapitalsordigits-zq"
    again = _post(client, action_world, "set-chosen-password", row, new_password=weak_but_long)
    assert again.status_code == 422 and weak_but_long not in again.content.decode()
    assert not AuditEntry.objects.exists()
    response = _post(
        client, action_world, "set-chosen-password", row, new_password=CHOSEN_PASSWORD, must_change="on"
    )
    text = response.content.decode()
    assert 'data-result="success"' in text and CHOSEN_PASSWORD not in text and "data-secret" not in text
    user.refresh_from_db()
    assert check_password(CHOSEN_PASSWORD, user.password_hash)
    assert user.properties["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    entry = AuditEntry.objects.get()
    assert entry.result == "success" and entry.parameters == {"must_change": True}
    assert CHOSEN_PASSWORD not in json.dumps(entry.parameters) + entry.message
    assert CHOSEN_PASSWORD not in json.dumps(Job.objects.get().parameters)
    # Everywhere the portal keeps anything: every table (the sandbox's own left out: it plays Microsoft),
    # the session store, the cache and the captured logs.
    places = {
        **database_text(),
        "sessions": sessions_text(),
        "cache": cache_text(),
        **logs_text(caplog.records),
    }
    assert not leaks({"typed": CHOSEN_PASSWORD, "refused": weak_but_long}, places)
    assert_not_stored(CHOSEN_PASSWORD)


def test_typed_password_one_user_at_a_time_and_helpdesk_role(action_world, role_client):
    rows = [action_world.cache(cloud_member(action_world.sandbox, skip=n)) for n in (2, 3)]
    client = role_client("helpdesk")
    response = client.post(reverse("users:action", args=["set-chosen-password"]),
                           {"user": [action_world.value(r) for r in rows]})  # fmt: skip
    assert response.status_code == 400 and "one user at a time" in response.content.decode()
    reader = role_client("reader")
    assert (
        _post(reader, action_world, "set-chosen-password", rows[0], new_password=CHOSEN_PASSWORD).status_code
        == 403
    )
    # Never-expires is an account policy: Editor, not Helpdesk.
    assert _post(client, action_world, "password-never-expires", rows[0]).status_code == 403


def test_require_change_keeps_the_password_and_synced_users_are_refused(action_world, role_client):
    user = cloud_member(action_world.sandbox, skip=3)
    before = user.password_hash
    row = action_world.cache(user)
    client = role_client("helpdesk")
    assert (
        'data-result="success"'
        in _post(client, action_world, "require-password-change", row).content.decode()
    )
    user.refresh_from_db()
    assert (
        user.password_hash == before and user.properties["passwordProfile"]["forceChangePasswordNextSignIn"]
    )
    synced = action_world.cache(synced_member(action_world.sandbox))
    response = _post(client, action_world, "require-password-change", synced)
    # htmx gets the refusal in the modal (422); a plain request gets 409.
    assert response.status_code == 422 and "must change password at next logon" in response.content.decode()


def test_never_expires_round_trip_keeps_other_policies(action_world, role_client):
    user = directory.update_user(
        cloud_member(action_world.sandbox, skip=5), {"passwordPolicies": "DisableStrongPassword"}
    )
    row = action_world.cache(user)
    client = role_client("editor")
    assert (
        'data-result="success"' in _post(client, action_world, "password-never-expires", row).content.decode()
    )
    user.refresh_from_db()
    assert user.properties["passwordPolicies"] == "DisablePasswordExpiration, DisableStrongPassword"
    profile = client.get(reverse("users:detail-profile", args=[str(row.tenant.tenant_id), row.user_id]))
    assert "data-password-expiry>Never<" in profile.content.decode()  # View user shows the state
    again = _post(client, action_world, "password-never-expires", row).content.decode()
    assert 'data-result="skipped"' in again and "already never expires" in again
    assert 'data-result="success"' in _post(client, action_world, "password-expires", row).content.decode()
    user.refresh_from_db()
    assert user.properties["passwordPolicies"] == "DisableStrongPassword"
    row.refresh_from_db()
    assert row.graph.get("passwordPolicies") == "DisableStrongPassword"  # written through to the cache


def test_sandbox_accepts_what_microsoft_documents(action_world):
    user = cloud_member(action_world.sandbox, skip=7)
    before = user.password_hash
    directory.update_user(user, {"passwordProfile": {"forceChangePasswordNextSignIn": True}})
    assert user.password_hash == before
    for value in ("None", "DisablePasswordExpiration", "DisablePasswordExpiration, DisableStrongPassword"):
        assert (
            directory.update_user(user, {"passwordPolicies": value}).properties["passwordPolicies"] == value
        )
    for bad in ("NeverExpire", "DisablePasswordExpiration, DisablePasswordExpiration", ""):
        with pytest.raises(GraphProblem):
            directory.update_user(user, {"passwordPolicies": bad})


def test_graph_refusal_is_reported(action_world, role_client, monkeypatch):
    from graph.services import account

    def refuse(*args, **kwargs):
        raise GraphError("The specified password does not comply with password complexity requirements.",
                         code="Request_BadRequest", status=400)  # fmt: skip

    monkeypatch.setattr(account, "reset_password_cloud", refuse)
    row = action_world.cache(cloud_member(action_world.sandbox, skip=2))
    response = _post(
        role_client("helpdesk"), action_world, "set-chosen-password", row, new_password=CHOSEN_PASSWORD
    )
    text = response.content.decode()
    assert (
        'data-result="failed"' in text and "complexity requirements" in text and CHOSEN_PASSWORD not in text
    )
