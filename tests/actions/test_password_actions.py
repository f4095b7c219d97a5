"""Password resets: the generator, the exact Graph requests for cloud (PATCH passwordProfile) and synced
users (resetPassword → 202 + Location, reported as accepted), the sandbox's state afterwards, and that the
password is shown once and never stored, logged or audited."""

from __future__ import annotations

import html
import json
import logging
import re

import pytest
import responses
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from graph.services import account as service
from tests.actions.examples import cloud_member, synced_member
from tests.actions.test_every_action import assert_not_stored
from tests.actions.unitkit import GRAPH, context, make_tenant, make_user, targets
from users.actions import passwords_gen, registry, runner
from users.actions.registry import Status
from users.models import AuditEntry

SECRET_RE = re.compile(r"data-secret>([^<]+)</code>")
AMBIGUOUS = set("0O1lI5S2Z|`'\" ")


@given(st.integers(min_value=0, max_value=300))
@hsettings(max_examples=60, deadline=None)
def test_random_passwords_meet_entra_rules_and_avoid_lookalikes(length):
    password = passwords_gen.random_password(length)
    assert 12 <= len(password) <= 256 and (len(password) == max(12, min(length, 256)))
    assert passwords_gen.meets_entra_complexity(password)
    assert not set(password) & AMBIGUOUS


@given(st.integers(min_value=0, max_value=64))
@hsettings(max_examples=40, deadline=None)
def test_passphrases_meet_entra_rules(min_length):
    phrase = passwords_gen.passphrase(words=5, min_length=min_length)
    assert len(phrase) >= max(min_length, 8) and passwords_gen.meets_entra_complexity(phrase)
    assert phrase[0].isupper() and phrase[-2:].isdigit()


def test_passwords_differ():
    assert len({passwords_gen.random_password() for _ in range(50)}) == 50


@pytest.fixture
def admin(django_user_model, db):
    return django_user_model.objects.create_superuser(username="boss", password="x")


@pytest.mark.django_db
@responses.activate
def test_cloud_reset_patches_password_profile(settings, admin):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    user = make_user(tenant)
    responses.add(responses.PATCH, f"{GRAPH}/v1.0/users/{user.user_id}", status=204)
    [result] = runner.run_action(registry.get("reset-password-must-change"), targets(tenant, [user]),
                                 {"style": "random", "length": 20}, technician=admin,
                                 contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    body = json.loads(responses.calls[0].request.body)
    assert body == {
        "passwordProfile": {"password": result.outcome.secret, "forceChangePasswordNextSignIn": True}
    }
    assert len(result.outcome.secret) == 20 and result.outcome.status == Status.SUCCESS


@pytest.mark.django_db
@responses.activate
def test_synced_reset_uses_writeback_and_says_accepted(settings, admin):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    user = make_user(tenant, on_premises_sync_enabled=True)
    url = (
        f"{GRAPH}/v1.0/users/{user.user_id}/authentication/methods/{service.PASSWORD_METHOD_ID}/resetPassword"
    )
    operation = f"{GRAPH}/v1.0/users/{user.user_id}/authentication/operations/op-1"
    responses.add(responses.POST, url, status=202, headers={"Location": operation, "request-id": "rid-1"})
    [result] = runner.run_action(registry.get("reset-password"), targets(tenant, [user]),
                                 {"style": "passphrase", "length": 16}, technician=admin,
                                 contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert json.loads(responses.calls[0].request.body) == {"newPassword": result.outcome.secret}
    assert result.outcome.status == Status.ACCEPTED and "not yet confirmed" in result.outcome.message
    assert result.outcome.details == {"operation": operation} and result.outcome.request_ids == ["rid-1"]


def _reset(client, world, key, rows, **data):
    return client.post(reverse("users:action", args=[key]), {
        "user": [world.value(r) for r in rows], "confirmed": "1", "expected_count": str(len(rows)),
        "style": "random", "length": "16", **data})  # fmt: skip


def test_cloud_reset_in_the_sandbox(action_world, role_client, caplog):
    caplog.set_level(logging.DEBUG)
    user = cloud_member(action_world.sandbox)
    row = action_world.cache(user)
    response = _reset(role_client("helpdesk"), action_world, "reset-password-must-change", [row])
    text = response.content.decode()
    [secret] = [html.unescape(s) for s in SECRET_RE.findall(text)]
    assert "data-copy-secret" in text and response["Cache-Control"] == "no-store"
    user.refresh_from_db()
    assert check_password(secret, user.password_hash)
    assert user.properties["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    entry = AuditEntry.objects.get()
    assert entry.result == "success" and secret not in json.dumps(entry.parameters) + entry.message
    assert secret not in caplog.text
    assert_not_stored(secret)


def test_synced_reset_in_the_sandbox_is_accepted_not_confirmed(action_world, role_client):
    user = synced_member(action_world.sandbox)
    row = action_world.cache(user)
    client = role_client("helpdesk")
    page = client.get(reverse("users:action", args=["reset-password-must-change"]),
                      {"user": action_world.value(row)}).content.decode()  # fmt: skip
    assert "password writeback" in page and "cannot set" in page
    response = _reset(client, action_world, "reset-password-must-change", [row])
    text = response.content.decode()
    assert 'data-result="accepted"' in text and "not yet confirmed" in text
    [secret] = [html.unescape(s) for s in SECRET_RE.findall(text)]
    user.refresh_from_db()
    assert check_password(secret, user.password_hash)
    assert AuditEntry.objects.get().result == "accepted"


def test_the_sandbox_refuses_writeback_for_cloud_users(action_world, role_client):
    user = cloud_member(action_world.sandbox)
    row = action_world.cache(user)
    from users.models import DirectoryUser

    DirectoryUser.objects.filter(pk=row.pk).update(on_premises_sync_enabled=True)  # a stale cache
    response = _reset(role_client("helpdesk"), action_world, "reset-password", [row])
    text = response.content.decode()
    assert 'data-result="failed"' in text and "passwordProfile" in text and "data-secret" not in text


def test_invalid_length_re_renders_in_the_modal(action_world, role_client):
    row = action_world.cache(cloud_member(action_world.sandbox))
    response = role_client("helpdesk").post(
        reverse("users:action", args=["reset-password"]),
        {"user": action_world.value(row), "confirmed": "1", "style": "random", "length": "4"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422 and response["HX-Retarget"] == "#modal-content"
    assert "is-invalid" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_guests_have_no_password_here(action_world, role_client):
    from graph.sandbox.models import SandboxUser

    guest = SandboxUser.objects.filter(tenant__display_name="Northwind Traders", user_type="Guest").first()
    if guest is None:
        pytest.skip("the seed has no guest")
    row = action_world.cache(guest)
    response = _reset(role_client("helpdesk"), action_world, "reset-password", [row])
    assert response.status_code == 409 and "Guests sign in" in response.content.decode()
