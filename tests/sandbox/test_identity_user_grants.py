"""Refresh-token redemption (GDAP, revocation, inactivity) through MSAL, and the authorization code flow
with PKCE driven through the sign-in page with Django's test client."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from graph.sandbox.identity import mint_refresh_token
from graph.sandbox.models import SandboxAuthCode, SandboxRefreshToken
from graph.sandbox.tokens import EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, hash_opaque, verify_access_token

from .identity_factories import PASSWORD, make_gdap, make_tenant, make_user, msal_app, post_token

pytestmark = pytest.mark.django_db
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
CALLBACK = "http://testserver/tenants/consent/callback"


@pytest.fixture
def world():
    partner = make_tenant("partner", is_partner=True)
    customer = make_tenant("customer")
    stranger = make_tenant("stranger")
    make_gdap(partner, customer)
    admin = make_user(partner, "admin", display_name="Partner Admin")
    return partner, customer, stranger, admin


def test_mint_refresh_token_stores_only_its_hash(world):
    *_, admin = world
    value = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    record = SandboxRefreshToken.objects.get(user=admin)
    assert record.token_hash == hash_opaque(value) and value not in record.token_hash


def test_refresh_token_at_gdap_customer_yields_customer_token(world):
    partner, customer, _, admin = world
    rt = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    result = msal_app(str(customer.pk)).acquire_token_by_refresh_token(rt, scopes=GRAPH_DEFAULT)
    assert "access_token" in result, result
    claims = verify_access_token(result["access_token"], audience=GRAPH_AUDIENCE)
    assert claims.tenant_id == str(customer.pk) and claims.user_id == str(admin.pk) and claims.scopes
    assert result["id_token_claims"]["aud"] == settings.SANDBOX_CLIENT_ID
    assert result["id_token_claims"]["preferred_username"] == admin.upn_lower
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert info == {"uid": str(admin.pk), "utid": str(partner.pk)}
    # Rotation: a new refresh token comes back and the old one still works.
    assert result["refresh_token"] != rt
    again = msal_app(str(customer.pk)).acquire_token_by_refresh_token(
        rt, scopes=[f"{EXCHANGE_AUDIENCE}/.default"]
    )
    assert verify_access_token(again["access_token"], audience=EXCHANGE_AUDIENCE).tenant_id == str(
        customer.pk
    )


def test_refresh_token_at_home_and_common(world):
    partner, _, _, admin = world
    rt = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    for segment in (str(partner.pk), "organizations"):
        result = msal_app(segment).acquire_token_by_refresh_token(rt, scopes=GRAPH_DEFAULT)
        assert jwt.decode(result["access_token"], options={"verify_signature": False})["tid"] == str(
            partner.pk
        )


def test_refresh_token_without_gdap_is_refused(world):
    _, _, stranger, admin = world
    rt = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    result = msal_app(str(stranger.pk)).acquire_token_by_refresh_token(rt, scopes=GRAPH_DEFAULT)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [50020]


def test_refresh_token_with_ended_gdap_is_refused(world):
    partner, customer, _, admin = world
    customer.gdap_partners.update(status="terminated")
    rt = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    result = post_token(
        str(customer.pk), grant_type="refresh_token", refresh_token=rt, scope=GRAPH_DEFAULT[0]
    )
    assert result.json()["error_codes"] == [50020]


def test_revoked_sessions_and_revoked_token_are_aadsts50173(world):
    partner, _, _, admin = world
    rt = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    admin.sessions_valid_after = timezone.now() + timedelta(seconds=1)
    admin.save()
    body = post_token(
        str(partner.pk), grant_type="refresh_token", refresh_token=rt, scope=GRAPH_DEFAULT[0]
    ).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [50173]
    admin.sessions_valid_after = None
    admin.save()
    SandboxRefreshToken.objects.update(revoked_at=timezone.now())
    body = post_token(
        str(partner.pk), grant_type="refresh_token", refresh_token=rt, scope=GRAPH_DEFAULT[0]
    ).json()
    assert body["error_codes"] == [50173]


def test_inactive_refresh_token_is_aadsts700082(world):
    partner, _, _, admin = world
    rt = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    SandboxRefreshToken.objects.update(issued_at=timezone.now() - timedelta(days=91))
    body = post_token(
        str(partner.pk), grant_type="refresh_token", refresh_token=rt, scope=GRAPH_DEFAULT[0]
    ).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [700082]


@pytest.mark.parametrize(
    ("form", "code"),
    [({"refresh_token": "not-a-token"}, 9002313), ({"refresh_token": None}, 900144)],
)
def test_bad_refresh_token_requests(world, form, code):
    partner = world[0]
    body = post_token(str(partner.pk), grant_type="refresh_token", scope=GRAPH_DEFAULT[0], **form).json()
    assert body["error_codes"] == [code]


def test_disabled_user_cannot_refresh(world):
    partner, _, _, admin = world
    rt = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    admin.account_enabled = False
    admin.save()
    body = post_token(
        str(partner.pk), grant_type="refresh_token", refresh_token=rt, scope=GRAPH_DEFAULT[0]
    ).json()
    assert body["error_codes"] == [50057]


# --- authorization code + PKCE -----------------------------------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = "v" * 43
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_params(**overrides) -> dict:
    _, challenge = _pkce()
    params = {
        "client_id": settings.SANDBOX_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "https://graph.microsoft.com/.default offline_access openid profile",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "select_account",
    }
    return {key: value for key, value in (params | overrides).items() if value is not None}


def _authorize_url(tenant) -> str:
    return f"/sandbox/login/{tenant}/oauth2/v2.0/authorize"


def _sign_in(client, tenant_segment, username, password=PASSWORD, **overrides):
    return client.post(
        _authorize_url(tenant_segment),
        _authorize_params(**overrides) | {"username": username, "password": password},
    )


def test_auth_code_flow_with_pkce(client, world):
    partner, _, _, admin = world
    page = client.get(_authorize_url(partner.pk), _authorize_params(login_hint=admin.upn_lower))
    assert page.status_code == 200 and b'name="password"' in page.content and b"<script>" not in page.content
    response = _sign_in(client, "organizations", admin.upn_lower.upper())
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK and query["state"] == ["st4te"]
    code = query["code"][0]
    verifier, _ = _pkce()
    redeem = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    body = post_token(str(partner.pk), **redeem).json()
    assert "access_token" in body and "refresh_token" in body
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == "n0nce" and id_claims["aud"] == settings.SANDBOX_CLIENT_ID
    assert post_token(str(partner.pk), **redeem).json()["error_codes"] == [54005]  # one use only


def test_auth_code_pkce_mismatch_and_redirect_mismatch(client, world):
    partner, _, _, admin = world
    code = parse_qs(urlsplit(_sign_in(client, partner.pk, admin.upn_lower)["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert post_token(str(partner.pk), **form).json()["error_codes"] == [50148]
    assert post_token(str(partner.pk), **form, code_verifier="w" * 43).json()["error_codes"] == [501481]
    other = form | {"redirect_uri": "http://localhost/other", "code_verifier": _pkce()[0]}
    assert post_token(str(partner.pk), **other).json()["error_codes"] == [500112]


def test_expired_and_unknown_codes(client, world):
    partner, _, _, admin = world
    code = parse_qs(urlsplit(_sign_in(client, partner.pk, admin.upn_lower)["Location"]).query)["code"][0]
    SandboxAuthCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    form = {"grant_type": "authorization_code", "redirect_uri": CALLBACK, "code_verifier": _pkce()[0]}
    assert post_token(str(partner.pk), code=code, **form).json()["error_codes"] == [70008]
    assert post_token(str(partner.pk), code="bogus", **form).json()["error_codes"] == [70000]


def test_wrong_password_and_foreign_tenant_stay_on_the_page(client, world):
    partner, customer, _, admin = world
    wrong = _sign_in(client, partner.pk, admin.upn_lower, password="nope")
    assert wrong.status_code == 200 and b"AADSTS50126" in wrong.content
    foreign = _sign_in(client, customer.pk, admin.upn_lower)
    assert foreign.status_code == 200 and b"AADSTS50126" in foreign.content
    admin.account_enabled = False
    admin.save()
    assert b"AADSTS50057" in _sign_in(client, partner.pk, admin.upn_lower).content


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"client_id": "11111111-1111-1111-1111-111111111111"}, b"AADSTS700016"),
        ({"client_id": None}, b"AADSTS900144"),
        ({"redirect_uri": "https://evil.example/cb"}, b"AADSTS50011"),
        ({"redirect_uri": "javascript:alert(1)"}, b"AADSTS50011"),
        ({"redirect_uri": None}, b"AADSTS900144"),
    ],
)
def test_untrusted_requests_get_an_error_page(client, world, overrides, code, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = client.get(_authorize_url(world[0].pk), _authorize_params(**overrides))
    assert response.status_code == 400 and code in response.content


@pytest.mark.parametrize(
    ("overrides", "error", "code"),
    [
        ({"response_type": "token"}, "unsupported_response_type", "AADSTS700054"),
        ({"response_mode": "form_post"}, "invalid_request", "AADSTS70011"),
        ({"scope": None}, "invalid_request", "AADSTS900144"),
        ({"scope": "https://nope.example/.default"}, "invalid_resource", "AADSTS500011"),
        ({"code_challenge_method": "plain"}, "invalid_request", "AADSTS70011"),
        ({"prompt": "none"}, "login_required", "AADSTS50058"),
    ],
)
def test_request_errors_are_redirected(client, world, overrides, error, code):
    response = client.get(_authorize_url(world[0].pk), _authorize_params(**overrides))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == [error] and query["error_description"][0].startswith(code)
    assert query["state"] == ["st4te"]


def test_unknown_tenant_on_authorize(client, db):
    response = client.get(_authorize_url("nowhere.example"), _authorize_params())
    assert response.status_code == 400 and b"AADSTS90002" in response.content


def test_msal_auth_code_flow_end_to_end(client, world):
    """What tenants/consent.py does: MSAL builds the URL, the browser signs in, MSAL redeems the code."""
    partner, _, _, admin = world
    app = msal_app(str(partner.pk))
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=CALLBACK, prompt="select_account")
    auth = urlsplit(flow["auth_uri"])
    page = client.get(f"{auth.path}?{auth.query}")
    assert page.status_code == 200
    params = {key: values[0] for key, values in parse_qs(auth.query).items()}
    signed_in = client.post(auth.path, params | {"username": admin.upn_lower, "password": PASSWORD})
    callback = {key: values[0] for key, values in parse_qs(urlsplit(signed_in["Location"]).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, callback)
    assert "access_token" in result, result
    assert result["id_token_claims"]["oid"] == str(admin.pk) and result["refresh_token"]
