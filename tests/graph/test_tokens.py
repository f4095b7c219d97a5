"""TokenProvider against a mocked identity platform (discovery + token endpoint, via `responses`)."""

from __future__ import annotations

import datetime
import logging
from urllib.parse import parse_qs

import pytest
import requests

from graph.errors import AuthError, TransientError
from graph.tokens import MsalHttpClient, TokenProvider, client_credential_for, msal_authority
from tenants.models import PartnerConnection

from .conftest import CUSTOMER, LOGIN

GRAPH_RESOURCE = "https://graph.microsoft.com"
SECRET = "s3cret-client-value"
STORED_RT = "stored-refresh-token-value"


def discovery(mocked, base: str, tenant: str = CUSTOMER, *, token_base: str | None = None):
    token_base = token_base or base
    mocked.get(
        f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": f"{token_base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{token_base}/{tenant}/oauth2/v2.0/authorize",
            "issuer": f"{token_base}/{tenant}/v2.0",
        },
    )
    return f"{base}/{tenant}/oauth2/v2.0/token"


def form(call) -> dict:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def provider(clock):
    return TokenProvider(clock=clock)


def token_posts(mocked):
    return [c for c in mocked.calls if c.request.method == "POST"]


def test_delegated_redeems_the_refresh_token_at_the_customer_authority(connection, provider, mocked, clock):
    token_url = discovery(mocked, LOGIN)
    mocked.post(
        token_url,
        json={
            "access_token": "at-one",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rotated-rt",
            "scope": f"{GRAPH_RESOURCE}/.default",
        },
    )
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE) == "at-one"
    sent = form(token_posts(mocked)[0])
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == STORED_RT
    assert f"{GRAPH_RESOURCE}/.default" in sent["scope"].split()
    assert sent["client_secret"] == SECRET and sent["client_id"] == str(connection.client_id)

    # Cached until ~5 minutes before expiry: no second token request.
    clock.now += 3600 - 301
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE) == "at-one"
    assert len(token_posts(mocked)) == 1

    # Near expiry it refreshes, preferring the rotated refresh token kept in MSAL's memory cache.
    clock.now += 2
    mocked.replace(
        "POST", token_url, json={"access_token": "at-two", "expires_in": 3600, "token_type": "Bearer"}
    )
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE) == "at-two"
    assert form(token_posts(mocked)[1])["refresh_token"] == "rotated-rt"
    connection.refresh_from_db()
    assert connection.refresh_token == STORED_RT  # the rotated token is never written back


def test_rotated_token_refused_falls_back_to_the_stored_one(connection, provider, mocked, clock):
    token_url = discovery(mocked, LOGIN)
    mocked.post(token_url, json={"access_token": "at-one", "expires_in": 600, "refresh_token": "rotated-rt"})
    provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE)
    clock.now += 600
    mocked.replace(
        "POST",
        token_url,
        json={"error": "invalid_grant", "error_description": "AADSTS50173: revoked"},
        status=400,
    )
    mocked.add("POST", token_url, json={"access_token": "at-again", "expires_in": 600})
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE) == "at-again"
    assert [form(c)["refresh_token"] for c in token_posts(mocked)] == [STORED_RT, "rotated-rt", STORED_RT]


def test_app_only_uses_client_credentials(connection, provider, mocked):
    token_url = discovery(mocked, LOGIN)
    mocked.post(token_url, json={"access_token": "app-token", "expires_in": 3599, "token_type": "Bearer"})
    assert (
        provider.get_token(connection, CUSTOMER, "https://outlook.office365.com", mode="app") == "app-token"
    )
    assert (
        provider.get_token(connection, CUSTOMER, "https://outlook.office365.com", mode="app_only")
        == "app-token"
    )
    sent = form(token_posts(mocked)[0])
    assert sent["grant_type"] == "client_credentials"
    assert sent["scope"] == "https://outlook.office365.com/.default"
    assert sent["client_secret"] == SECRET
    assert len(token_posts(mocked)) == 1


def test_app_only_with_a_certificate_signs_an_assertion(connection, provider, mocked):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cippusers test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    connection.client_secret = ""
    connection.certificate_pem = cert.public_bytes(serialization.Encoding.PEM).decode() + pem
    connection.save()
    token_url = discovery(mocked, LOGIN)
    mocked.post(token_url, json={"access_token": "cert-token", "expires_in": 3600})
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="app") == "cert-token"
    sent = form(token_posts(mocked)[0])
    assert "client_secret" not in sent
    assert sent["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert sent["client_assertion"].count(".") == 2


def test_plain_http_authority_is_translated(db, provider, mocked):
    connection = PartnerConnection.objects.create(
        name="Local sandbox",
        partner_tenant_id=CUSTOMER,
        client_id="11111111-2222-4333-8444-555555555555",
        client_secret=SECRET,
        refresh_token=STORED_RT,
        login_url="http://login.local.test:8000/sandbox/login",
    )
    base = "http://login.local.test:8000/sandbox/login"
    # The server describes itself with http:// endpoints; MSAL sees https and the wire stays http.
    token_url = discovery(mocked, base)
    mocked.post(token_url, json={"access_token": "sandbox-at", "expires_in": 3600})
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="app") == "sandbox-at"
    assert all(c.request.url.startswith("http://login.local.test:8000/") for c in mocked.calls)


def test_msal_authority_and_http_client_rewrite():
    assert msal_authority("http://h:8000/sandbox/login/", "t") == (
        "https://h:8000/sandbox/login/t",
        "http://h:8000",
    )
    assert msal_authority("https://login.microsoftonline.com", "t") == (
        "https://login.microsoftonline.com/t",
        None,
    )
    with pytest.raises(AuthError):
        msal_authority("ftp://x", "t")
    client = MsalHttpClient(requests.Session(), plain_http_origin="http://h:8000")
    assert client._outgoing("https://h:8000/a/token") == "http://h:8000/a/token"
    assert client._outgoing("https://h:80001/a") == "https://h:80001/a"  # a different origin is left alone
    assert client._outgoing("https://other/a") == "https://other/a"


def test_token_errors_are_mapped_and_never_logged(connection, provider, mocked, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("msal", "graph", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    token_url = discovery(mocked, LOGIN)
    mocked.post(
        token_url,
        status=400,
        json={
            "error": "invalid_grant",
            "error_description": "AADSTS50173: The provided grant has expired due to it being revoked.\r\nTrace ID: t",
            "error_codes": [50173],
        },
    )
    with pytest.raises(AuthError) as info:
        provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE)
    assert info.value.aadsts == "AADSTS50173" and info.value.code == "invalid_grant"
    for secret in (SECRET, STORED_RT):
        assert secret not in str(info.value)
        assert secret not in caplog.text


def test_issued_tokens_are_never_logged(connection, provider, mocked, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("msal", "graph", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    token_url = discovery(mocked, LOGIN)
    mocked.post(
        token_url,
        json={"access_token": "eyJ-very-secret-at", "expires_in": 3600, "refresh_token": "new-rt-x"},
    )
    provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE)
    assert caplog.records  # debug logging really was on
    for secret in ("eyJ-very-secret-at", "new-rt-x", SECRET, STORED_RT):
        assert secret not in caplog.text


def test_server_errors_and_unknown_tenants(connection, provider, mocked):
    token_url = discovery(mocked, LOGIN)
    mocked.post(token_url, status=503, body="busy")
    with pytest.raises(TransientError):
        provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="app")
    other = "99999999-0000-4000-8000-000000000000"
    mocked.get(
        f"{LOGIN}/{other}/v2.0/.well-known/openid-configuration",
        status=400,
        json={"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."},
    )
    with pytest.raises(AuthError):
        provider.get_token(connection, other, GRAPH_RESOURCE, mode="app")


def test_missing_credentials_are_clear_errors(connection, provider):
    connection.refresh_token = ""
    with pytest.raises(AuthError, match="refresh token"):
        provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE)
    connection.client_secret = ""
    with pytest.raises(AuthError, match="neither a client secret nor a certificate"):
        client_credential_for(connection)
    connection.certificate_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
    with pytest.raises(AuthError, match="private key"):
        client_credential_for(connection)


def test_new_credentials_get_a_fresh_app(connection, provider, mocked):
    token_url = discovery(mocked, LOGIN)
    mocked.post(token_url, json={"access_token": "first", "expires_in": 3600})
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="app") == "first"
    connection.client_secret = "rotated-secret"
    mocked.replace("POST", token_url, json={"access_token": "second", "expires_in": 3600})
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="app") == "second"
    assert form(token_posts(mocked)[-1])["client_secret"] == "rotated-secret"


def test_invalidate_forces_a_new_token(connection, provider, mocked):
    token_url = discovery(mocked, LOGIN)
    mocked.post(token_url, json={"access_token": "one", "expires_in": 3600})
    provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="app")
    provider.invalidate(connection, CUSTOMER, GRAPH_RESOURCE, mode="app")
    mocked.replace("POST", token_url, json={"access_token": "two", "expires_in": 3600})
    # MSAL's own client-credentials cache may answer; what matters is that our cache was bypassed.
    assert provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="app") in {"one", "two"}
    with pytest.raises(ValueError):
        provider.get_token(connection, CUSTOMER, GRAPH_RESOURCE, mode="bogus")
