"""Account actions: the exact Graph requests (``responses``) and, against the sandbox, the state after."""

from __future__ import annotations

import json

import pytest
import responses
from django.urls import reverse

from graph.sandbox.models import SandboxUser
from tests.actions.examples import (
    blocked_member,
    cloud_member,
    plain_member,
    synced_member,
    unsynced_with_immutable_id,
)
from tests.actions.unitkit import BATCH_URL, batch_answer, context, make_tenant, make_user, targets
from users.actions import registry, runner
from users.actions.registry import Status
from users.models import DirectoryUser


@pytest.fixture
def admin(django_user_model, db):
    return django_user_model.objects.create_superuser(username="boss", password="x")


def _run(key, tenant, users, admin, data=None):
    return runner.run_action(registry.get(key), targets(tenant, users), data or {}, technician=admin,
                             contexts={tenant.pk: context(tenant, admin)})  # fmt: skip


def _sent():
    return [item for call in responses.calls for item in json.loads(call.request.body)["requests"]]


@pytest.mark.django_db
@responses.activate
@pytest.mark.parametrize(
    "key, fields, method, suffix, body",
    [
        ("delete-user", {}, "DELETE", "", None),
        ("block-sign-in", {}, "PATCH", "", {"accountEnabled": False}),
        ("unblock-sign-in", {"account_enabled": False}, "PATCH", "", {"accountEnabled": True}),
        ("revoke-sessions", {}, "POST", "/revokeSignInSessions", None),
        (
            "clear-immutable-id",
            {"on_premises_immutable_id": "abc=="},
            "PATCH",
            "",
            {"onPremisesImmutableId": None},
        ),
    ],
)
def test_exact_graph_requests(settings, admin, key, fields, method, suffix, body):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    user = make_user(tenant, **fields)
    answer = (lambda item: 200) if key == "revoke-sessions" else (lambda item: 204)
    responses.add_callback(responses.POST, BATCH_URL, callback=batch_answer(
        answer, (lambda item: {"value": True}) if key == "revoke-sessions" else (lambda item: None)))  # fmt: skip
    [result] = _run(key, tenant, [user], admin)
    assert result.outcome.status == Status.SUCCESS, result.outcome.message
    [item] = _sent()
    assert item["method"] == method and item["url"] == f"/users/{user.user_id}{suffix}"
    assert item.get("body") == body


@pytest.mark.django_db
@responses.activate
def test_revoke_reporting_false_is_a_failure(settings, admin):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    user = make_user(tenant)
    responses.add_callback(responses.POST, BATCH_URL,
                           callback=batch_answer(lambda i: 200, lambda i: {"value": False}))  # fmt: skip
    assert _run("revoke-sessions", tenant, [user], admin)[0].outcome.status == Status.FAILED


@pytest.mark.django_db
def test_applies_rules(admin):
    tenant = make_tenant()
    block, unblock, clear = (
        registry.get(k) for k in ("block-sign-in", "unblock-sign-in", "clear-immutable-id")
    )
    enabled, disabled = make_user(tenant, 1), make_user(tenant, 2, account_enabled=False)
    assert block.why_not(enabled) is None and block.why_not(disabled)
    assert unblock.why_not(disabled) is None and unblock.why_not(enabled)
    assert "no immutable ID" in clear.why_not(enabled)
    still_synced = make_user(tenant, 3, on_premises_immutable_id="x==", on_premises_sync_enabled=True)
    assert "Still synced" in clear.why_not(still_synced)
    assert clear.why_not(make_user(tenant, 4, on_premises_immutable_id="x==")) is None


# --- against the sandbox ------------------------------------------------------------------------------------


def _post(client, world, key, rows, **data):
    return client.post(
        reverse("users:action", args=[key]),
        {"user": [world.value(r) for r in rows], "confirmed": "1", "expected_count": str(len(rows)), **data},
    )


def test_block_then_unblock_in_the_sandbox_and_cache(action_world, role_client):
    user = plain_member(action_world.sandbox)
    row = action_world.cache(user)
    client = role_client("helpdesk")
    response = client.post(reverse("users:action", args=["block-sign-in"]),
                           {"user": action_world.value(row), "confirmed": "1"}, HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 200 and "actionsApplied" in response["HX-Trigger"]
    user.refresh_from_db()
    row.refresh_from_db()
    assert user.account_enabled is False and row.account_enabled is False
    # The menu now offers Unblock, not Block.
    menu = client.get(reverse("users:action-menu"), {"user": action_world.value(row)}, HTTP_HX_REQUEST="true")
    text = menu.content.decode()
    assert 'data-action-link="unblock-sign-in"' in text and 'data-action-link="block-sign-in"' not in text
    _post(client, action_world, "unblock-sign-in", [row])
    user.refresh_from_db()
    assert user.account_enabled is True


def test_hybrid_warning_is_shown_before_running(action_world, role_client):
    row = action_world.cache(synced_member(action_world.sandbox))
    page = role_client("helpdesk").get(reverse("users:action", args=["block-sign-in"]),
                                       {"user": action_world.value(row)}).content.decode()  # fmt: skip
    assert "synced from on-premises Active Directory" in page and "data-confirm-button" in page


def test_delete_removes_from_cache_and_is_restorable(action_world, role_client):
    user = cloud_member(action_world.sandbox)
    row = action_world.cache(user)
    page = role_client("editor").get(reverse("users:action", args=["delete-user"]),
                                     {"user": action_world.value(row)}).content.decode()  # fmt: skip
    assert row.user_principal_name in page and "30 days" in page
    assert f'href="/users/deleted/?tenant={row.tenant.tenant_id}">Deleted users</a>' in page
    response = _post(role_client("editor"), action_world, "delete-user", [row])
    assert 'data-result="success"' in response.content.decode()
    user.refresh_from_db()
    assert user.deleted_datetime is not None
    assert not DirectoryUser.objects.filter(pk=row.pk).exists()


def test_helpdesk_may_not_delete(action_world, role_client):
    row = action_world.cache(cloud_member(action_world.sandbox))
    assert _post(role_client("helpdesk"), action_world, "delete-user", [row]).status_code == 403


def test_revoke_sets_sessions_valid_after(action_world, role_client):
    user = plain_member(action_world.sandbox)
    row = action_world.cache(user)
    _post(role_client("helpdesk"), action_world, "revoke-sessions", [row])
    user.refresh_from_db()
    assert user.sessions_valid_after is not None
    assert user.properties["signInSessionsValidFromDateTime"]


def test_clear_immutable_id_refused_for_a_synced_user(action_world, role_client):
    user = synced_member(action_world.sandbox)
    row = action_world.cache(user)
    client = role_client("editor")
    response = _post(client, action_world, "clear-immutable-id", [row])
    assert response.status_code == 409 and "Still synced" in response.content.decode()
    # A stale cache (sync state not known yet) lets it through to Graph, which refuses truthfully.
    DirectoryUser.objects.filter(pk=row.pk).update(on_premises_sync_enabled=False)
    response = _post(client, action_world, "clear-immutable-id", [row])
    text = response.content.decode()
    assert 'data-result="failed"' in text and "on-premises mastered" in text
    user.refresh_from_db()
    assert user.properties["onPremisesImmutableId"]


def test_clear_immutable_id_on_a_former_synced_user(action_world, role_client):
    user = unsynced_with_immutable_id(action_world.sandbox)
    row = action_world.cache(user)
    assert row.on_premises_immutable_id
    response = _post(role_client("editor"), action_world, "clear-immutable-id", [row])
    assert 'data-result="success"' in response.content.decode()
    user.refresh_from_db()
    row.refresh_from_db()
    assert user.properties["onPremisesImmutableId"] is None and row.on_premises_immutable_id == ""


def test_unblock_is_not_offered_for_enabled_users(action_world, role_client):
    row = action_world.cache(blocked_member(action_world.sandbox))
    SandboxUser.objects.filter(pk=row.user_id).update(account_enabled=True)
    DirectoryUser.objects.filter(pk=row.pk).update(account_enabled=True)
    response = _post(role_client("helpdesk"), action_world, "unblock-sign-in", [row])
    assert response.status_code == 409 and "not blocked" in response.content.decode()
