"""Security actions: exact Graph requests per service (``responses``), then each action run through the
runner against the sandbox with the sandbox's state checked afterwards, and a search for the pass in every
table and log line."""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest
import responses
from django.apps import apps
from django.db import connection as db_connection

from graph.client import GraphClient
from graph.services import mfa, mfa_push
from tenants.models import PartnerConnection, Tenant
from users.actions.registry import Status, Target, get
from users.actions.runner import run_action
from users.sync import apply_user_record

GRAPH = "https://graph.microsoft.com"
LOGIN = "https://login.microsoftonline.com"
CUSTOMER = "8b3c1a4e-2f6d-4c1b-9a7e-5d0f3e2a1b6c"
USER = "11111111-1111-4111-8111-111111111111"


class Tokens:
    def get_token(self, *args, **kwargs):
        return "token"

    def invalidate(self, *args, **kwargs):
        pass


@pytest.fixture
def unit_client(db, settings):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    conn = PartnerConnection.objects.create(
        name="unit", partner_tenant_id=uuid.uuid4(), client_id=uuid.uuid4(), login_url=LOGIN, graph_url=GRAPH
    )
    from graph import http

    return GraphClient(
        conn, CUSTOMER, token_provider=Tokens(), sleep=lambda s: None, session=http.build_session()
    )


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def _json(call) -> dict:
    return json.loads(call.request.body)


# --- unit: exact requests --------------------------------------------------------------------------------------


def test_tap_policy_and_create_requests(unit_client, mocked):
    mocked.get(f"{GRAPH}/v1.0{mfa.TAP_POLICY_PATH}", json={
        "state": "enabled", "defaultLifetimeInMinutes": 60, "minimumLifetimeInMinutes": 30,
        "maximumLifetimeInMinutes": 240, "isUsableOnce": True, "defaultLength": 10})  # fmt: skip
    mocked.post(f"{GRAPH}/v1.0/users/{USER}/authentication/temporaryAccessPassMethods", status=201, json={
        "id": "tap-1", "temporaryAccessPass": "Xy7!abcd", "lifetimeInMinutes": 90, "isUsableOnce": True,
        "startDateTime": "2030-01-01T09:00:00Z", "isUsable": False})  # fmt: skip
    policy = mfa.get_tap_policy(unit_client)
    assert (policy.enabled, policy.minimum_lifetime, policy.maximum_lifetime, policy.usable_once) == (
        True,
        30,
        240,
        True,
    )
    from datetime import UTC, datetime

    created = mfa.create_temporary_access_pass(unit_client, USER, lifetime_minutes=90, usable_once=True,
                                               start=datetime(2030, 1, 1, 9, tzinfo=UTC))  # fmt: skip
    assert _json(mocked.calls[1]) == {
        "lifetimeInMinutes": 90,
        "isUsableOnce": True,
        "startDateTime": "2030-01-01T09:00:00Z",
    }
    assert created.secret == "Xy7!abcd" and "Xy7!abcd" not in repr(created)


def test_removable_methods_and_delete_paths(unit_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/users/{USER}/authentication/methods", json={"value": [
        {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "pw"},
        {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "mob", "phoneType": "mobile"},
        {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "alt", "phoneType": "alternateMobile"},
        {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": "key"},
    ]})  # fmt: skip
    methods = mfa.removable_methods(unit_client, USER)
    assert [m["id"] for m in methods][-1] == "mob" and "pw" not in [m["id"] for m in methods]
    for kind, segment in mfa.METHOD_COLLECTIONS.items():
        assert mfa.method_path(USER, kind, "m1") == f"/users/{USER}/authentication/{segment}/m1"
    mocked.delete(f"{GRAPH}/v1.0/users/{USER}/authentication/fido2Methods/key", status=204)
    mfa.delete_method(unit_client, USER, "fido2AuthenticationMethod", "key")
    with pytest.raises(ValueError):
        mfa.method_path(USER, "passwordAuthenticationMethod", "pw")


def test_per_user_mfa_patch_is_beta(unit_client, mocked):
    beta = GraphClient(unit_client.connection, CUSTOMER, version="beta", token_provider=Tokens(),
                       session=unit_client.session)  # fmt: skip
    mocked.patch(f"{GRAPH}/beta/users/{USER}/authentication/requirements", status=204)
    mfa.set_per_user_mfa_state(beta, USER, "enforced")
    assert _json(mocked.calls[0]) == {"perUserMfaState": "enforced"}
    with pytest.raises(ValueError):
        mfa.set_per_user_mfa_state(unit_client, USER, "enforced")
    with pytest.raises(ValueError):
        mfa.set_per_user_mfa_state(beta, USER, "Enforced")


def test_mfa_push_flow_removes_the_credential_even_when_the_connector_fails(unit_client, mocked):
    sp = "22222222-2222-4222-8222-222222222222"
    mocked.get(re.compile(rf"{GRAPH}/v1.0/servicePrincipals\?.*"), json={"value": []})
    mocked.post(f"{GRAPH}/v1.0/servicePrincipals", status=201, json={"id": sp})
    mocked.post(f"{GRAPH}/v1.0/servicePrincipals/{sp}/addPassword", json={"keyId": "k1", "secretText": "sek"})
    mocked.post(f"{LOGIN}/{CUSTOMER}/oauth2/token", json={"access_token": "conn-token"})
    mocked.post(f"{mfa_push.CONNECTOR_RESOURCE}/BeginTwoWayAuthentication", status=500, body="boom")
    mocked.post(f"{GRAPH}/v1.0/servicePrincipals/{sp}/removePassword", status=204)
    with pytest.raises(Exception, match="HTTP 500"):
        mfa_push.send_mfa_push(unit_client, "adele@contoso.com")
    urls = [c.request.url for c in mocked.calls]
    assert "appId+eq+%27981f26a1-7f43-403b-a875-f8b09b8cd720%27" in urls[0]
    assert _json(mocked.calls[1]) == {"appId": mfa_push.MFA_CLIENT_APP_ID}
    assert _json(mocked.calls[2])["passwordCredential"]["displayName"] == mfa_push.CREDENTIAL_NAME
    token_form = mocked.calls[3].request.body
    assert (
        "grant_type=client_credentials" in token_form
        and "resource=https%3A%2F%2Fadnotifications" in token_form
    )
    push = mocked.calls[4].request
    assert (
        push.headers["Authorization"] == "Bearer conn-token"
        and push.headers["Content-Type"] == "application/xml"
    )
    assert b"<UserPrincipalName>adele@contoso.com</UserPrincipalName>" in push.body
    assert _json(mocked.calls[5]) == {"keyId": "k1"}


@pytest.mark.parametrize("xml,outcome", [
    ("<R><Result><Value>Success</Value></Result><AuthenticationResult>true</AuthenticationResult></R>", "approved"),
    ("<R><Result><Value>PhoneAppDenied</Value></Result><AuthenticationResult>false</AuthenticationResult></R>", "denied"),
    ("<R><Result><Value>PhoneAppNoResponse</Value></Result><AuthenticationResult>false</AuthenticationResult></R>", "timed_out"),
    ("<R><Result><Value>UserNotFound</Value></Result></R>", "failed"),
])  # fmt: skip
def test_push_response_parsing(xml, outcome):
    assert mfa_push.parse_push_response(xml).outcome == outcome


def test_connector_url_per_cloud():
    class C:
        graph_url = "http://sandbox.test/sandbox/graph"

    assert (
        mfa_push.connector_base(C)
        == "http://sandbox.test/sandbox/mfa/StrongAuthenticationService.svc/Connector"
    )
    C.graph_url = "https://graph.microsoft.com"
    assert mfa_push.connector_base(C) == mfa_push.CONNECTOR_RESOURCE


# --- integration against the sandbox -------------------------------------------------------------------------


@pytest.fixture
def world(sandbox_connection, technician):
    from graph.sandbox.models import SandboxTenant

    technician.is_superuser = True
    technician.save()
    tenants = {}
    for sandbox in SandboxTenant.objects.filter(is_partner=False):
        tenants[sandbox.display_name] = Tenant.objects.create(
            tenant_id=sandbox.id, connection=sandbox_connection, display_name=sandbox.display_name
        )
    return tenants


def target_for(tenant: Tenant, sandbox_user) -> Target:
    row = apply_user_record(tenant, {"id": str(sandbox_user.id), "userPrincipalName": sandbox_user.upn_lower,
                                     "displayName": sandbox_user.display_name}, partial=False)  # fmt: skip
    return Target(tenant=tenant, user=row)


def plain_user(tenant_name: str, **filters):
    from graph.sandbox.models import SandboxUser

    return (SandboxUser.objects.filter(tenant__display_name=tenant_name, deleted_datetime__isnull=True,
                                       role_memberships__isnull=True, user_type="Member", **filters)
            .exclude(properties__assignedLicenses=[]).order_by("created_datetime", "id").distinct())  # fmt: skip


def _all_text_in_database() -> str:
    chunks = []
    with db_connection.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f'SELECT * FROM "{model._meta.db_table}"')  # noqa: S608 - table names from the ORM
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_create_tap_on_the_sandbox_shows_the_pass_once_and_keeps_it_nowhere(world, technician, caplog):
    from graph.sandbox.models import SandboxAuthMethod, SandboxTapSecret
    from graph.sandbox.tokens import hash_opaque

    caplog.set_level(logging.DEBUG)
    person = plain_user("Northwind Traders").first()
    [result] = run_action(get("create-tap"), [target_for(world["Northwind Traders"], person)],
                          {"lifetime_minutes": 120, "one_time": True, "start": ""}, technician=technician)  # fmt: skip
    outcome = result.outcome
    assert outcome.status == Status.SUCCESS, outcome.message
    secret = outcome.secret
    assert secret and secret not in outcome.message and secret not in json.dumps(outcome.details)
    method = SandboxAuthMethod.objects.get(user=person, method_type="temporaryAccessPassAuthenticationMethod")
    assert method.properties["lifetimeInMinutes"] == 120 and method.properties["isUsableOnce"] is True
    assert SandboxTapSecret.objects.get(method=method).pass_hash == hash_opaque(secret)
    assert secret not in _all_text_in_database()
    assert secret not in caplog.text


def test_create_tap_stops_when_the_policy_is_off(world, technician):
    from graph.sandbox.models import SandboxAuthMethod

    person = plain_user("Tailspin Toys").first()
    action = get("create-tap")
    target = target_for(world["Tailspin Toys"], person)
    assert any("turned off" in w for w in action.warnings([target]))
    [result] = run_action(action, [target], {"lifetime_minutes": 60, "one_time": True, "start": ""},
                          technician=technician)  # fmt: skip
    assert result.outcome.status == Status.SKIPPED and result.outcome.secret is None
    assert not SandboxAuthMethod.objects.filter(user=person, method_type__contains="temporaryAccess").exists()


def test_tap_form_enforces_the_policy(world):
    from users.actions.security_forms import TemporaryAccessPassForm

    northwind, tailspin = world["Northwind Traders"], world["Tailspin Toys"]
    assert not TemporaryAccessPassForm({"lifetime_minutes": 30}, tenant=northwind).is_valid()
    assert TemporaryAccessPassForm({"lifetime_minutes": 120, "one_time": "on"}, tenant=northwind).is_valid()
    past = TemporaryAccessPassForm({"lifetime_minutes": 120, "start": "2001-01-01T10:00"}, tenant=northwind)
    assert not past.is_valid() and "start" in past.errors
    off = TemporaryAccessPassForm({"lifetime_minutes": 120}, tenant=tailspin)
    assert not off.is_valid() and "turned off" in str(off.non_field_errors())


def test_reset_mfa_deletes_every_method_but_the_password(world, technician):
    from graph.sandbox.models import SandboxAuthMethod

    northwind = world["Northwind Traders"]
    person = plain_user("Northwind Traders", auth_methods__properties__phoneType="alternateMobile").first()
    before = SandboxAuthMethod.objects.filter(user=person).count()
    assert before >= 3  # seeded mobile + alternate + office (+ authenticator ...)
    [result] = run_action(get("reset-mfa"), [target_for(northwind, person)], {}, technician=technician)
    assert result.outcome.status == Status.SUCCESS, result.outcome.message
    assert not SandboxAuthMethod.objects.filter(user=person).exists()
    rows = result.outcome.details["methods"]
    assert len(rows) == before and {r["result"] for r in rows} == {"deleted"}


def test_reset_mfa_reports_partial_failure(world, technician, monkeypatch):
    from graph.sandbox.graph_views import security_writes
    from graph.sandbox.models import SandboxAuthMethod

    person = plain_user("Northwind Traders", auth_methods__method_type="fido2AuthenticationMethod").first() \
        or plain_user("Northwind Traders", auth_methods__isnull=False).first()  # fmt: skip
    kinds = set(SandboxAuthMethod.objects.filter(user=person).values_list("method_type", flat=True))
    refused = sorted(kinds)[0]
    original = security_writes._refuse_mobile_with_alternate

    def refuse(user, method):
        if method.method_type == refused:
            raise security_writes.bad_request("Refused by the test.", code="badRequest")
        original(user, method)

    monkeypatch.setattr(security_writes, "_refuse_mobile_with_alternate", refuse)
    [result] = run_action(
        get("reset-mfa"), [target_for(world["Northwind Traders"], person)], {}, technician=technician
    )
    assert result.outcome.status == Status.FAILED
    assert "Refused by the test." in result.outcome.message
    failed = [r for r in result.outcome.details["methods"] if r["result"] == "failed"]
    assert failed and all(r["type"] == refused for r in failed)
    assert set(SandboxAuthMethod.objects.filter(user=person).values_list("method_type", flat=True)) == {
        refused
    }


def test_set_per_user_mfa_writes_sandbox_and_cache(world, technician):
    from graph.sandbox.models import SandboxUserAuthentication

    northwind = world["Northwind Traders"]
    people = list(plain_user("Northwind Traders", auth_methods__isnull=True)[:1]) + list(
        plain_user("Northwind Traders", auth_methods__isnull=False)[:1])  # fmt: skip
    targets = [target_for(northwind, p) for p in people]
    results = run_action(get("set-per-user-mfa"), targets, {"state": "enabled"}, technician=technician)
    assert [r.outcome.status for r in results] == [Status.SUCCESS, Status.SUCCESS]
    states = [SandboxUserAuthentication.objects.get(user=p).per_user_mfa_state for p in people]
    assert states == ["enabled", "enforced"]  # a registered user's "enabled" becomes "enforced"
    for target, state in zip(targets, states, strict=True):
        target.user.refresh_from_db()
        assert target.user.per_user_mfa_state == state


@pytest.mark.parametrize("kind,expected,status", [
    ("approver", "approved", Status.SUCCESS),
    ("denier", "denied", Status.FAILED),
    ("nomethod", "timed_out", Status.FAILED),
])  # fmt: skip
def test_send_mfa_push_on_the_sandbox(world, technician, kind, expected, status):
    from graph.sandbox.models import SandboxMfaPushAnswer, SandboxServicePrincipalSecret

    denier = SandboxMfaPushAnswer.objects.get(user__tenant__display_name="Northwind Traders").user
    people = {
        "denier": denier,
        "approver": plain_user("Northwind Traders", auth_methods__method_type="microsoftAuthenticatorAuthenticationMethod")
        .exclude(pk=denier.pk).first(),
        "nomethod": plain_user("Northwind Traders", auth_methods__isnull=True).first(),
    }  # fmt: skip
    [result] = run_action(get("send-mfa-push"), [target_for(world["Northwind Traders"], people[kind])], {},
                          technician=technician)  # fmt: skip
    assert result.outcome.details.get("result") == expected, result.outcome.message
    assert result.outcome.status == status
    assert not SandboxServicePrincipalSecret.objects.exists()  # the temporary credential is gone


def test_send_mfa_push_creates_the_missing_service_principal(world, technician):
    from graph.sandbox.models import SandboxServicePrincipal, SandboxServicePrincipalSecret
    from graph.services.mfa_push import MFA_CLIENT_APP_ID

    connector = SandboxServicePrincipal.objects.filter(
        tenant__display_name="Tailspin Toys", app_id=MFA_CLIENT_APP_ID
    )
    assert not connector.exists()
    person = plain_user(
        "Tailspin Toys", auth_methods__method_type="microsoftAuthenticatorAuthenticationMethod"
    ).first()
    [result] = run_action(
        get("send-mfa-push"), [target_for(world["Tailspin Toys"], person)], {}, technician=technician
    )
    assert result.outcome.details["result"] == "approved", result.outcome.message
    assert connector.count() == 1
    assert not SandboxServicePrincipalSecret.objects.exists()
