"""Discovery and the token endpoint's client-credentials grant and error paths, through MSAL and the
in-process adapter (real HTTP semantics)."""

from __future__ import annotations

import base64

import jwt
import pytest
from django.conf import settings

from graph.sandbox.tokens import EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, verify_access_token

from .identity_factories import BASE, domain_of, make_tenant, msal_app, post_token, sandbox_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return make_tenant("contoso")


def _error(response, status: int, error: str, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert (
        "\r\nTrace ID: " in body["error_description"] and "\r\nCorrelation ID: " in body["error_description"]
    )
    assert "\r\nTimestamp: " in body["error_description"]
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)
    return body


def test_discovery_document_points_back_at_the_sandbox(tenant):
    response = sandbox_session().get(
        f"{BASE}/login/{domain_of(tenant)}/v2.0/.well-known/openid-configuration"
    )
    assert response.status_code == 200
    doc = response.json()
    assert doc["token_endpoint"] == f"{BASE}/login/{tenant.pk}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{BASE}/login/{tenant.pk}/oauth2/v2.0/authorize"
    assert doc["issuer"] == f"{BASE}/login/{tenant.pk}/v2.0"
    assert doc["device_authorization_endpoint"].startswith(f"{BASE}/login/{tenant.pk}/")
    for key in (
        "jwks_uri", "end_session_endpoint", "userinfo_endpoint", "token_endpoint_auth_methods_supported",
        "response_types_supported", "response_modes_supported", "scopes_supported", "subject_types_supported",
        "id_token_signing_alg_values_supported", "claims_supported", "tenant_region_scope",
        "cloud_instance_name", "cloud_graph_host_name", "msgraph_host", "rbac_url",
    ):  # fmt: skip
        assert key in doc
    assert sandbox_session().get(doc["jwks_uri"]).json() == {"keys": []}


def test_discovery_for_common_keeps_the_alias_and_works_on_any_host(client):
    doc = client.get(
        "/sandbox/login/common/v2.0/.well-known/openid-configuration", HTTP_HOST="example:8001"
    ).json()
    assert doc["token_endpoint"] == "http://example:8001/sandbox/login/common/oauth2/v2.0/token"
    assert doc["issuer"] == "http://example:8001/sandbox/login/{tenantid}/v2.0"


def test_discovery_unknown_tenant_is_400_aadsts90002(db):
    response = sandbox_session().get(f"{BASE}/login/nowhere.example/v2.0/.well-known/openid-configuration")
    _error(response, 400, "invalid_tenant", 90002)


def test_msal_client_credentials_for_graph_and_exchange(tenant):
    app = msal_app(str(tenant.pk))
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    claims = verify_access_token(result["access_token"], audience=GRAPH_AUDIENCE)
    assert claims.tenant_id == str(tenant.pk) and claims.is_app_only and "User.ReadWrite.All" in claims.roles
    result = app.acquire_token_for_client(scopes=["https://outlook.office365.com/.default"])
    claims = verify_access_token(result["access_token"], audience=EXCHANGE_AUDIENCE)
    assert claims.roles == ("Exchange.ManageAsApp",)


def test_msal_by_domain_and_sharepoint_admin_resource(tenant):
    result = msal_app(domain_of(tenant)).acquire_token_for_client(
        scopes=["https://contoso-admin.sharepoint.com/.default"]
    )
    payload = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert payload["aud"] == "https://contoso-admin.sharepoint.com" and payload["tid"] == str(tenant.pk)


def test_msal_wrong_secret_is_invalid_client(tenant):
    result = msal_app(str(tenant.pk), secret="wrong").acquire_token_for_client(
        scopes=[f"{GRAPH_AUDIENCE}/.default"]
    )
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        ({"grant_type": None}, 400, "invalid_request", 900144),
        ({"client_id": None}, 400, "invalid_request", 900144),
        ({"client_id": "00000000-0000-0000-0000-000000000001"}, 400, "unauthorized_client", 700016),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"client_secret": None, "client_assertion": "x.y.z"}, 401, "invalid_client", 700027),
        ({"scope": None}, 400, "invalid_request", 900144),
        ({"scope": "https://graph.microsoft.com/User.Read"}, 400, "invalid_scope", 1002012),
        ({"scope": "https://unknown.example.com/.default"}, 400, "invalid_resource", 500011),
        (
            {"scope": "https://graph.microsoft.com/.default https://outlook.office365.com/.default"},
            400,
            "invalid_scope",
            28000,
        ),
    ],
)
def test_client_credentials_errors(tenant, form, status, error, code):
    base = {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"}
    _error(post_token(str(tenant.pk), **(base | form)), status, error, code)


def test_unknown_tenant_and_common_for_client_credentials(tenant):
    form = {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"}
    _error(post_token("nowhere.example", **form), 400, "invalid_request", 90002)
    _error(post_token("common", **form), 400, "invalid_request", 50059)


def test_client_secret_basic_is_accepted(tenant):
    credentials = base64.b64encode(
        f"{settings.SANDBOX_CLIENT_ID}:{settings.SANDBOX_CLIENT_SECRET}".encode()
    ).decode()
    response = sandbox_session().post(
        f"{BASE}/login/{tenant.pk}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"


def test_get_on_token_endpoint_is_refused(tenant):
    _error(
        sandbox_session().get(f"{BASE}/login/{tenant.pk}/oauth2/v2.0/token"), 400, "invalid_request", 900561
    )


def test_correlation_id_echoes_client_request_id(tenant):
    response = sandbox_session().post(
        f"{BASE}/login/{tenant.pk}/oauth2/v2.0/token",
        data={"client_id": settings.SANDBOX_CLIENT_ID},
        headers={"client-request-id": "6f0f4c57-0000-4000-8000-000000000001"},
    )
    assert response.json()["correlation_id"] == "6f0f4c57-0000-4000-8000-000000000001"
