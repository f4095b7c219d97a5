"""Partner connections: staff only, secrets write-only, and the partner admin's sign-in (auth code + PKCE)."""

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection as db_connection
from django.urls import reverse

from tenants import consent
from tenants.models import PartnerConnection

SECRET = "s3cr3t-client-value-do-not-show"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQ-very-private-key-material\n-----END PRIVATE KEY-----"


def form_data(**overrides):
    data = {
        "name": "Woodgrove",
        "partner_tenant_id": str(uuid.uuid4()),
        "client_id": str(uuid.uuid4()),
        "certificate_thumbprint": "",
        "default_auth_mode": "delegated",
        "login_url": "https://login.microsoftonline.com",
        "graph_url": "https://graph.microsoft.com",
        "exchange_url": "https://outlook.office365.com",
        "sharepoint_url_template": "https://{name}-admin.sharepoint.com",
        "client_secret": "",
        "certificate_pem": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_pages_are_staff_only(reader_client, connection):
    for url in (
        reverse("tenants:connections"),
        reverse("tenants:connection-create"),
        reverse("tenants:connection-edit", args=[connection.pk]),
    ):
        assert reader_client.get(url).status_code == 403
    assert reader_client.post(reverse("tenants:connection-consent", args=[connection.pk])).status_code == 403
    assert reader_client.get(reverse("tenants:consent-callback")).status_code == 403


@pytest.mark.django_db
def test_list_shows_only_whether_secrets_are_set(tech_client, connection):
    html = tech_client.get(reverse("tenants:connections")).content.decode()
    assert "Secret set" in html and "Certificate not set" in html and "Not signed in" in html
    assert SECRET not in html


@pytest.mark.django_db
def test_create_stores_secret_encrypted(tech_client):
    response = tech_client.post(reverse("tenants:connection-create"), form_data(client_secret=SECRET))
    assert response.status_code == 302
    saved = PartnerConnection.objects.get(name="Woodgrove")
    assert saved.client_secret == SECRET
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM tenants_partnerconnection WHERE id = %s", [saved.pk])
        assert SECRET not in cursor.fetchone()[0]


@pytest.mark.django_db
def test_edit_never_renders_secrets_and_blank_keeps_them(tech_client, connection):
    connection.certificate_pem = PEM
    connection.certificate_thumbprint = "AB12"
    connection.save()
    url = reverse("tenants:connection-edit", args=[connection.pk])
    html = tech_client.get(url).content.decode()
    assert SECRET not in html and "very-private-key" not in html
    assert html.count(">set<") == 2  # both badges say "set"
    data = form_data(
        name="Renamed", partner_tenant_id=str(connection.partner_tenant_id), certificate_thumbprint="AB12"
    )
    assert tech_client.post(url, data).status_code == 302
    connection.refresh_from_db()
    assert (
        connection.name == "Renamed"
        and connection.client_secret == SECRET
        and connection.certificate_pem == PEM
    )


@pytest.mark.django_db
def test_invalid_post_does_not_echo_the_secrets_back(tech_client, connection):
    url = reverse("tenants:connection-edit", args=[connection.pk])
    response = tech_client.post(
        url, form_data(name="", client_secret="new-secret-typed-now", certificate_pem=PEM)
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "This field is required" in html
    assert "new-secret-typed-now" not in html and "very-private-key" not in html and SECRET not in html


@pytest.mark.django_db
def test_clear_removes_and_a_credential_is_required(tech_client, connection):
    url = reverse("tenants:connection-edit", args=[connection.pk])
    response = tech_client.post(url, form_data(clear_client_secret="on"))
    assert (
        response.status_code == 422 and "needs a client secret or a certificate" in response.content.decode()
    )
    response = tech_client.post(url, form_data(clear_client_secret="on", client_secret="x"))
    assert "not both" in response.content.decode()
    response = tech_client.post(
        url, form_data(clear_client_secret="on", certificate_pem=PEM, certificate_thumbprint="ab:12")
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (
        connection.client_secret == ""
        and connection.certificate_pem == PEM
        and connection.certificate_thumbprint == "AB12"
    )


@pytest.mark.django_db
def test_certificate_must_look_like_pem(tech_client):
    response = tech_client.post(
        reverse("tenants:connection-create"), form_data(certificate_pem="hello", certificate_thumbprint="AB")
    )
    assert "does not look like PEM" in response.content.decode()


@pytest.mark.django_db
def test_partner_sign_in_round_trip_through_the_sandbox(tech_client, sandbox_connection):
    from graph.sandbox.seed import DEFAULT_ADMIN_PASSWORD, partner_admin

    sandbox_connection.refresh_token = ""
    sandbox_connection.save()
    start = tech_client.post(reverse("tenants:connection-consent", args=[sandbox_connection.pk]))
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    params = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    assert authorize.path.endswith(f"/login/{sandbox_connection.partner_tenant_id}/oauth2/v2.0/authorize")
    assert params["code_challenge_method"] == "S256" and params["redirect_uri"].endswith(
        "/tenants/connections/callback/"
    )
    assert "flow" in tech_client.session[consent.SESSION_KEY]

    signed_in = tech_client.post(
        authorize.path, {**params, "username": partner_admin().upn_lower, "password": DEFAULT_ADMIN_PASSWORD}
    )
    callback = urlsplit(signed_in["Location"])
    response = tech_client.get(f"{callback.path}?{callback.query}", follow=True)
    html = response.content.decode()
    toasts = [str(m) for m in response.context["messages"]]
    assert toasts == [f"{sandbox_connection.name}: partner admin signed in as {partner_admin().upn_lower}."]
    sandbox_connection.refresh_from_db()
    assert sandbox_connection.refresh_token and sandbox_connection.refresh_token not in html
    assert sandbox_connection.refresh_token_upn == partner_admin().upn_lower
    assert consent.SESSION_KEY not in tech_client.session
    from users.models import AuditEntry

    audited = AuditEntry.objects.filter(action="connection.consent").order_by("id")
    assert [e.result for e in audited] == ["accepted", "success"]
    assert audited.last().parameters["partner_admin"] == partner_admin().upn_lower
    assert sandbox_connection.refresh_token not in str(list(audited.values_list("parameters", "message")))
    # Replaying the callback finds no sign-in in progress.
    replay = tech_client.get(f"{callback.path}?{callback.query}", follow=True).content.decode()
    assert "No partner sign-in is in progress" in replay


class FakeMsalApp:
    def __init__(self, result):
        self.result = result

    def acquire_token_by_auth_code_flow(self, flow, params):
        if params.get("state") != flow["state"]:
            raise ValueError("state mismatch")
        return self.result


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "result", "expected"),
    [
        (
            {
                "state": "s",
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent.\nTrace ID: x",
            },
            {},
            "access_denied: AADSTS65004: User declined to consent.",
        ),
        (
            {"state": "s", "code": "c"},
            {"error": "invalid_grant", "error_description": "AADSTS70008: The code has expired."},
            "AADSTS70008",
        ),
        ({"state": "other", "code": "c"}, {}, "did not match the request"),
        ({"state": "s", "code": "c"}, {"access_token": "a"}, "no refresh token"),
    ],
)
def test_callback_failures_are_explained(monkeypatch, tech_client, connection, params, result, expected):
    monkeypatch.setattr(consent, "msal_app_for", lambda conn: FakeMsalApp(result))
    session = tech_client.session
    session[consent.SESSION_KEY] = {"connection": connection.pk, "flow": {"state": "s"}}
    session.save()
    html = tech_client.get(reverse("tenants:consent-callback"), params, follow=True).content.decode()
    assert "Partner sign-in failed." in html and expected in html
    connection.refresh_from_db()
    assert connection.refresh_token == ""
