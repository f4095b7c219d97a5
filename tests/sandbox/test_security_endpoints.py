"""Sandbox operations behind the Security actions: TAP policy and passes, method deletes, beta per-user MFA
PATCH, service principal credentials, the v1 token endpoint and the legacy MFA connector."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from graph.sandbox.mfa_connector import CONNECTOR_RESOURCE, MFA_CLIENT_APP_ID
from graph.sandbox.models import (
    SandboxAuthMethod,
    SandboxMfaPushAnswer,
    SandboxServicePrincipal,
    SandboxServicePrincipalSecret,
    SandboxTapSecret,
    SandboxUserAuthentication,
)
from graph.sandbox.seed_data import TAP_ENABLED
from graph.sandbox.tokens import hash_opaque, issue_access_token

from .factories import GraphCaller, make_tenant, make_user

pytestmark = pytest.mark.django_db
TAP_PATH = "users/{}/authentication/temporaryAccessPassMethods"


@pytest.fixture
def tenant():
    tenant = make_tenant("Contoso")
    tenant.settings = {"tapPolicy": dict(TAP_ENABLED)}
    tenant.save()
    return tenant


@pytest.fixture
def beta(client, tenant):
    return GraphCaller(client, tenant, version="beta")


@pytest.fixture
def adele(tenant):
    return make_user(tenant, "adele")


def add_method(user, kind: str, **props) -> SandboxAuthMethod:
    return SandboxAuthMethod.objects.create(user=user, method_type=kind, properties=props)


# --- TAP policy and passes ------------------------------------------------------------------------------------


def test_tap_policy_reflects_tenant_settings(graph, tenant):
    body = graph.get(
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
    ).json()
    assert body["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
    assert (body["state"], body["minimumLifetimeInMinutes"], body["maximumLifetimeInMinutes"]) == (
        "enabled",
        60,
        480,
    )


def test_tap_policy_defaults_to_disabled_when_never_set(client):
    bare = make_tenant("Bare")
    body = (
        GraphCaller(client, bare)
        .get("policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass")
        .json()
    )
    assert body["state"] == "disabled"


def test_create_tap_returns_pass_once_and_stores_only_its_hash(graph, adele):
    response = graph("POST", TAP_PATH.format(adele.id), {"lifetimeInMinutes": 120, "isUsableOnce": True})
    assert response.status_code == 201
    body = response.json()
    secret = body["temporaryAccessPass"]
    assert len(secret) == 8 and body["lifetimeInMinutes"] == 120 and body["isUsableOnce"] is True
    assert body["isUsable"] is True and body["methodUsabilityReason"] == "EnabledByPolicy"
    method = SandboxAuthMethod.objects.get(user=adele, method_type="temporaryAccessPassAuthenticationMethod")
    assert SandboxTapSecret.objects.get(method=method).pass_hash == hash_opaque(secret)
    assert secret not in str(method.properties)
    listed = graph.get(TAP_PATH.format(adele.id)).json()["value"]
    assert [item["temporaryAccessPass"] for item in listed] == [None]
    methods = graph.get(f"users/{adele.id}/authentication/methods").json()["value"]
    tap = [m for m in methods if m["@odata.type"].endswith("temporaryAccessPassAuthenticationMethod")]
    assert tap and tap[0]["temporaryAccessPass"] is None


def test_a_new_tap_replaces_the_previous_one(graph, adele):
    first = graph("POST", TAP_PATH.format(adele.id), {"lifetimeInMinutes": 60}).json()
    second = graph("POST", TAP_PATH.format(adele.id), {"lifetimeInMinutes": 90}).json()
    listed = graph.get(TAP_PATH.format(adele.id)).json()["value"]
    assert [item["id"] for item in listed] == [second["id"]] != [first["id"]]


@pytest.mark.parametrize("lifetime", [30, 481, 5, 50000, "60"])
def test_tap_lifetime_outside_policy_is_400(graph, adele, lifetime):
    response = graph("POST", TAP_PATH.format(adele.id), {"lifetimeInMinutes": lifetime})
    assert response.status_code == 400
    assert "lifetime" in response.json()["error"]["message"].lower()
    assert not SandboxAuthMethod.objects.filter(user=adele).exists()


def test_tap_refused_when_policy_disabled(client, tenant, adele):
    tenant.settings = {"tapPolicy": {**TAP_ENABLED, "state": "disabled"}}
    tenant.save()
    response = GraphCaller(client, tenant)("POST", TAP_PATH.format(adele.id), {"lifetimeInMinutes": 60})
    assert response.status_code == 400
    assert "disabled" in response.json()["error"]["message"]


def test_tap_must_be_one_time_when_policy_says_so(client, tenant, adele):
    tenant.settings = {"tapPolicy": {**TAP_ENABLED, "isUsableOnce": True}}
    tenant.save()
    graph = GraphCaller(client, tenant)
    assert graph("POST", TAP_PATH.format(adele.id), {"isUsableOnce": False}).status_code == 400
    assert graph("POST", TAP_PATH.format(adele.id), {}).json()["isUsableOnce"] is True


def test_future_start_is_not_yet_usable(graph, adele):
    start = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = graph("POST", TAP_PATH.format(adele.id), {"startDateTime": start}).json()
    assert body["startDateTime"] == start
    assert (body["isUsable"], body["methodUsabilityReason"]) == (False, "NotYetValid")


def test_tap_for_unknown_user_is_404(graph):
    assert graph("POST", TAP_PATH.format(uuid.uuid4()), {"lifetimeInMinutes": 60}).status_code == 404


# --- method deletes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "segment,kind",
    [
        ("microsoftAuthenticatorMethods", "microsoftAuthenticatorAuthenticationMethod"),
        ("fido2Methods", "fido2AuthenticationMethod"),
        ("softwareOathMethods", "softwareOathAuthenticationMethod"),
        ("emailMethods", "emailAuthenticationMethod"),
        ("windowsHelloForBusinessMethods", "windowsHelloForBusinessAuthenticationMethod"),
        ("phoneMethods", "phoneAuthenticationMethod"),
    ],
)
def test_delete_method_per_type(graph, adele, segment, kind):
    method = add_method(adele, kind, displayName="x")
    path = f"users/{adele.id}/authentication/{segment}/{method.id}"
    assert graph("DELETE", path).status_code == 204
    assert not SandboxAuthMethod.objects.filter(pk=method.pk).exists()
    again = graph("DELETE", path)
    assert again.status_code == 404 and again.json()["error"]["code"] == "itemNotFound"


def test_delete_through_the_wrong_type_is_404(graph, adele):
    method = add_method(adele, "fido2AuthenticationMethod")
    assert graph("DELETE", f"users/{adele.id}/authentication/phoneMethods/{method.id}").status_code == 404
    assert SandboxAuthMethod.objects.filter(pk=method.pk).exists()


def test_mobile_cannot_go_while_alternate_mobile_exists(graph, adele):
    mobile = add_method(adele, "phoneAuthenticationMethod", phoneType="mobile", phoneNumber="+44 7700 900001")
    alternate = add_method(
        adele, "phoneAuthenticationMethod", phoneType="alternateMobile", phoneNumber="+44 1"
    )
    base = f"users/{adele.id}/authentication/phoneMethods"
    assert graph("DELETE", f"{base}/{mobile.id}").status_code == 400
    assert graph("DELETE", f"{base}/{alternate.id}").status_code == 204
    assert graph("DELETE", f"{base}/{mobile.id}").status_code == 204


# --- per-user MFA (beta) ------------------------------------------------------------------------------------


def test_patch_requirements_persists(beta, adele):
    path = f"users/{adele.id}/authentication/requirements"
    assert beta("PATCH", path, {"perUserMfaState": "enforced"}).status_code == 204
    assert SandboxUserAuthentication.objects.get(user=adele).per_user_mfa_state == "enforced"
    assert beta.get(path).json()["perUserMfaState"] == "enforced"
    assert beta("PATCH", path, {"perUserMfaState": "disabled"}).status_code == 204
    assert beta.get(path).json()["perUserMfaState"] == "disabled"


@pytest.mark.parametrize("body", [{"perUserMfaState": "Sometimes"}, {"perUserMfaState": None}, {"other": 1}])
def test_patch_requirements_rejects_bad_input(beta, adele, body):
    response = beta("PATCH", f"users/{adele.id}/authentication/requirements", body)
    assert response.status_code == 400
    assert not SandboxUserAuthentication.objects.filter(user=adele).exists()


def test_enabled_becomes_enforced_for_a_registered_user(beta, adele):
    add_method(adele, "microsoftAuthenticatorAuthenticationMethod")
    beta("PATCH", f"users/{adele.id}/authentication/requirements", {"perUserMfaState": "enabled"})
    assert SandboxUserAuthentication.objects.get(user=adele).per_user_mfa_state == "enforced"


def test_requirements_patch_is_beta_only(graph, adele):
    response = graph(
        "PATCH", f"users/{adele.id}/authentication/requirements", {"perUserMfaState": "enforced"}
    )
    assert response.status_code == 400


# --- service principal credentials, v1 token, connector -------------------------------------------------------


def _mfa_sp(tenant) -> SandboxServicePrincipal:
    return SandboxServicePrincipal.objects.create(
        tenant=tenant, app_id=MFA_CLIENT_APP_ID, display_name="Azure Multi-Factor Auth Client"
    )


def test_service_principal_lookup_and_create(graph, tenant):
    query = f"servicePrincipals?$filter=appId eq '{MFA_CLIENT_APP_ID}'&$select=id,appId"
    assert graph.get(query).json()["value"] == []
    created = graph("POST", "servicePrincipals", {"appId": MFA_CLIENT_APP_ID})
    assert created.status_code == 201
    assert graph.get(query).json()["value"][0]["id"] == created.json()["id"]
    assert graph("POST", "servicePrincipals", {"appId": MFA_CLIENT_APP_ID}).status_code == 409
    assert graph("POST", "servicePrincipals", {"appId": str(uuid.uuid4())}).status_code == 400


def test_add_and_remove_password(graph, tenant):
    sp = _mfa_sp(tenant)
    now = datetime.now(UTC)
    body = graph("POST", f"servicePrincipals/{sp.id}/addPassword", {"passwordCredential": {
        "displayName": "temp", "startDateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endDateTime": (now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")}}).json()  # fmt: skip
    stored = SandboxServicePrincipalSecret.objects.get(service_principal=sp)
    assert stored.secret_hash == hash_opaque(body["secretText"]) and str(stored.key_id) == body["keyId"]
    remove = f"servicePrincipals/{sp.id}/removePassword"
    assert graph("POST", remove, {"keyId": body["keyId"]}).status_code == 204
    assert graph("POST", remove, {"keyId": body["keyId"]}).status_code == 404
    assert not SandboxServicePrincipalSecret.objects.exists()


def _secret(sp, value="s3cret-value-123") -> str:
    now = datetime.now(UTC)
    SandboxServicePrincipalSecret.objects.create(
        service_principal=sp, secret_hash=hash_opaque(value), start_datetime=now - timedelta(minutes=1),
        end_datetime=now + timedelta(minutes=5),
    )  # fmt: skip
    return value


def _v1_token(client, tenant, **overrides):
    form = {"grant_type": "client_credentials", "client_id": MFA_CLIENT_APP_ID,
            "client_secret": "s3cret-value-123", "resource": CONNECTOR_RESOURCE, **overrides}  # fmt: skip
    return client.post(f"/sandbox/login/{tenant.id}/oauth2/token", form)


def test_v1_token_for_the_connector(client, tenant):
    _secret(_mfa_sp(tenant))
    response = _v1_token(client, tenant)
    assert response.status_code == 200 and response.json()["resource"] == CONNECTOR_RESOURCE
    assert _v1_token(client, tenant, client_secret="wrong").status_code == 401
    assert "AADSTS7000215" in _v1_token(client, tenant, client_secret="wrong").json()["error_description"]
    assert _v1_token(client, tenant, resource="https://graph.microsoft.com").status_code == 400
    assert _v1_token(client, tenant, client_id=str(uuid.uuid4())).status_code == 400


def _push(client, tenant, upn: str, token: str | None = None):
    if token is None:
        token, _ = issue_access_token(
            tenant_id=str(tenant.id), audience=CONNECTOR_RESOURCE, app_id=MFA_CLIENT_APP_ID
        )
    xml = f"<BeginTwoWayAuthenticationRequest><Version>1.0</Version><UserPrincipalName>{upn}</UserPrincipalName></BeginTwoWayAuthenticationRequest>"
    return client.post(
        "/sandbox/mfa/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication",
        xml, content_type="application/xml", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip


def test_connector_answers_from_the_users_setup(client, tenant, adele):
    assert b"<Value>PhoneAppNoResponse</Value>" in _push(client, tenant, adele.upn_lower).content
    add_method(adele, "microsoftAuthenticatorAuthenticationMethod")
    approved = _push(client, tenant, adele.upn_lower).content
    assert b"<Value>Success</Value>" in approved and b"<AuthenticationResult>true" in approved
    SandboxMfaPushAnswer.objects.create(user=adele, answer="deny")
    assert b"<Value>PhoneAppDenied</Value>" in _push(client, tenant, adele.upn_lower).content
    assert b"UserNotFound" in _push(client, tenant, "nobody@contoso.onmicrosoft.com").content


def test_connector_rejects_wrong_tokens_and_bodies(client, tenant, adele):
    graph_token, _ = issue_access_token(
        tenant_id=str(tenant.id), audience="https://graph.microsoft.com", app_id="x"
    )
    assert _push(client, tenant, adele.upn_lower, token=graph_token).status_code == 401
    token, _ = issue_access_token(
        tenant_id=str(tenant.id), audience=CONNECTOR_RESOURCE, app_id=MFA_CLIENT_APP_ID
    )
    response = client.post(
        "/sandbox/mfa/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication",
        '<!DOCTYPE x [<!ENTITY a "b">]><BeginTwoWayAuthenticationRequest/>', content_type="application/xml",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 400
