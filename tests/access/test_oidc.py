"""Technician sign-in with Microsoft Entra ID, end to end against the sandbox identity platform (served
in-process at http://sandbox.test through the plain-http authority adapter of graph.tokens)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template.loader import render_to_string
from django.test import Client

from graph.sandbox.seed import DEFAULT_ADMIN_PASSWORD
from tenants import oidc
from tenants.models import TechnicianProfile
from tests.conftest import enable_sandbox_sso


@pytest.fixture
def sso(settings, sandbox_world):
    return enable_sandbox_sso(settings)


def _sign_in(client, password=DEFAULT_ADMIN_PASSWORD, *, username=None, tamper_state=False, sso_user=None):
    start = client.get("/login/entra/", {"next": "/technicians/roles/"})
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    # msal was handed the https spelling of the plain-http sandbox authority
    assert authorize.scheme == "https" and authorize.path.endswith("/oauth2/v2.0/authorize")
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    # The browser at the identity platform: the sandbox's own sign-in form (same Django app).
    signed = Client().post(authorize.path, {**params, "username": username or sso_user.upn_lower,
                                            "password": password})  # fmt: skip
    assert signed.status_code == 302, signed.content[:500]
    callback = urlsplit(signed["Location"])
    assert callback.path == "/login/entra/callback/"
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    if tamper_state:
        query["state"] = "forged"
    return client.get(callback.path, query)


def test_registered_technician_signs_in_and_is_linked(sso, client, django_user_model):
    tech = django_user_model.objects.create_user(username=sso.upn_lower.upper(), password=None)
    TechnicianProfile.objects.create(user=tech, role="reader", scope="all")
    response = _sign_in(client, sso_user=sso)
    assert response.status_code == 302 and response["Location"] == "/technicians/roles/"
    assert client.get("/technicians/roles/").context["user"] == tech
    assert TechnicianProfile.objects.get(user=tech).entra_object_id == uuid.UUID(str(sso.id))
    from users.models import AuditEntry

    link = AuditEntry.objects.get(action="technician.sign_in_link")
    assert link.technician == tech and link.target_upn == tech.username
    assert link.parameters["entra_object_id"] == str(sso.id) and link.source_ip == "127.0.0.1"


def test_linked_object_id_wins_over_names(sso, client, django_user_model):
    linked = django_user_model.objects.create_user(username="someone-else")
    TechnicianProfile.objects.create(user=linked, entra_object_id=sso.id)
    django_user_model.objects.create_user(username=sso.upn_lower)  # a same-named account is not taken
    assert _sign_in(client, sso_user=sso).status_code == 302
    assert client.get("/technicians/roles/").context["user"] == linked


def test_unknown_account_is_told_to_ask_an_admin(sso, client, django_user_model):
    response = _sign_in(client, sso_user=sso)
    assert response.status_code == 403
    assert "not registered as a technician" in response.content.decode()
    assert django_user_model.objects.count() == 0  # nobody created
    assert client.get("/technicians/roles/").status_code == 302  # still anonymous


def test_deactivated_account_is_refused(sso, client, django_user_model):
    django_user_model.objects.create_user(username="x", email=sso.upn_lower, is_active=False)
    response = _sign_in(client, sso_user=sso)
    assert response.status_code == 403 and "deactivated" in response.content.decode()


def test_forged_state_is_refused(sso, client, django_user_model):
    django_user_model.objects.create_user(username=sso.upn_lower)
    response = _sign_in(client, sso_user=sso, tamper_state=True)
    assert response.status_code == 400 and "did not match" in response.content.decode()
    assert client.get("/technicians/roles/").status_code == 302


def test_callback_without_a_started_flow(sso, client):
    response = client.get("/login/entra/callback/", {"code": "abc", "state": "x"})
    assert response.status_code == 400 and "No Microsoft sign-in is in progress" in response.content.decode()


def test_identity_platform_error_is_explained(sso, client):
    client.get("/login/entra/")
    response = client.get("/login/entra/callback/", {"error": "access_denied",
                                                     "error_description": "AADSTS65004: User declined.\nTrace"})  # fmt: skip
    assert response.status_code == 400 and "AADSTS65004: User declined." in response.content.decode()
    assert "Trace" not in response.content.decode()


def test_other_organisation_is_refused(settings):
    settings.TECH_SSO_TENANT_ID = str(uuid.uuid4())
    with pytest.raises(oidc.SignInRefused, match="another organisation"):
        oidc.match_technician(
            {"tid": str(uuid.uuid4()), "oid": str(uuid.uuid4()), "preferred_username": "a@b.c"}
        )


def test_disabled_sso_hides_the_button_and_the_endpoints(client, settings):
    settings.TECH_SSO_ENABLED = False
    assert client.get("/login/entra/").status_code == 404
    assert client.get("/login/entra/callback/").status_code == 404
    assert "Sign in with Microsoft" not in render_to_string(
        "registration/oidc_button.html", {"tech_sso_enabled": False}
    )
    html = render_to_string(
        "registration/oidc_button.html", {"tech_sso_enabled": True, "next": "/audit/?a=1"}
    )
    assert "Sign in with Microsoft" in html and "/login/entra/?next=/audit/%3Fa%3D1" in html
