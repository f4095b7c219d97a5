"""Credentials never follow a changed endpoint, endpoints are Microsoft's in production, and every change
to a connection, discovery and tenant is audited by field name, never by value (issue 13, parts 2 and 5)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.connection_views import CREDENTIALS_DROPPED
from users.models import AuditEntry

from .test_connections import PEM, SECRET, form_data

pytestmark = pytest.mark.django_db
TOKEN = "partner-refresh-token-value-never-shown"


@pytest.fixture
def signed_in(connection):
    connection.certificate_pem = PEM
    connection.certificate_thumbprint = "AB12"
    connection.refresh_token = TOKEN
    connection.refresh_token_upn = "admin@partner.example"
    connection.save()
    return connection


def _edit(client, connection, **changes):
    data = form_data(
        **{"name": connection.name, "partner_tenant_id": str(connection.partner_tenant_id),
           "client_id": str(connection.client_id), "certificate_thumbprint": "AB12", **changes}
    )  # fmt: skip
    return client.post(reverse("tenants:connection-edit", args=[connection.pk]), data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("login_url", "https://login.microsoftonline.us"), ("graph_url", "https://graph.microsoft.us"),
     ("exchange_url", "https://outlook.office365.us"),
     ("sharepoint_url_template", "https://{name}-admin.sharepoint.us")],
)  # fmt: skip
def test_changing_an_endpoint_drops_every_credential(tech_client, signed_in, field, value):
    response = _edit(tech_client, signed_in, **{field: value})
    assert response.status_code == 302 and response["Location"].endswith(f"/connections/{signed_in.pk}/")
    signed_in.refresh_from_db()
    assert getattr(signed_in, field) == value
    assert (signed_in.client_secret, signed_in.certificate_pem, signed_in.refresh_token) == ("", "", "")
    assert signed_in.certificate_thumbprint == "" and signed_in.refresh_token_upn == ""
    page = tech_client.get(response["Location"]).content.decode()
    assert CREDENTIALS_DROPPED.split(",")[0] in page and 'id="credentials-missing"' in page
    entry = AuditEntry.objects.get(action="connection.update")
    assert entry.parameters["changed"] == [field] and entry.parameters["credentials_removed"] is True
    stored = str(list(AuditEntry.objects.values_list("parameters", "message")))
    assert SECRET not in stored and TOKEN not in stored and "private-key" not in stored


def test_a_secret_typed_with_the_new_endpoint_is_kept_but_consent_is_not(tech_client, signed_in):
    response = _edit(
        tech_client, signed_in, graph_url="https://graph.microsoft.us", client_secret="fresh-one"
    )
    assert response.status_code == 302
    signed_in.refresh_from_db()
    assert signed_in.client_secret == "fresh-one" and signed_in.refresh_token == ""
    entry = AuditEntry.objects.get(action="connection.update")
    assert entry.parameters["changed"] == ["client_secret", "graph_url"]
    assert "fresh-one" not in str(entry.parameters)


def test_unchanged_endpoints_keep_the_credentials(tech_client, signed_in):
    response = _edit(tech_client, signed_in, name="Renamed", graph_url="https://graph.microsoft.com/")
    assert response.status_code == 302
    signed_in.refresh_from_db()
    assert signed_in.client_secret == SECRET and signed_in.refresh_token == TOKEN
    entry = AuditEntry.objects.get(action="connection.update")
    assert entry.parameters == {
        "connection_id": signed_in.pk,
        "changed": ["name"],
        "credentials_removed": False,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("login_url", "https://login.attacker.example", "is not a Microsoft endpoint"),
     ("login_url", "http://login.microsoftonline.com", "must use https"),
     ("graph_url", "https://graph.microsoft.com.attacker.example", "is not a Microsoft endpoint"),
     ("exchange_url", "https://user:pw@outlook.office365.com", "user name or password"),
     ("sharepoint_url_template", "https://attacker.example/{name}.sharepoint.com", "is not a Microsoft"),
     ("sharepoint_url_template", "https://{name}{name.__class__}.sharepoint.com", "Only {name}"),
     ("sharepoint_url_template", "https://{name}-{name}.sharepoint.com", "exactly once")],
)  # fmt: skip
def test_production_refuses_other_hosts_next_to_the_field(tech_client, signed_in, field, value, message):
    response = _edit(tech_client, signed_in, **{field: value})
    html = response.content.decode()
    assert response.status_code == 422 and message in html
    assert f'id="id_{field}"' in html and "is-invalid" in html
    signed_in.refresh_from_db()
    assert signed_in.client_secret == SECRET and signed_in.refresh_token == TOKEN
    assert not AuditEntry.objects.exists()


def test_national_clouds_and_explicitly_allowed_hosts(tech_client, connection, settings):
    assert _edit(tech_client, connection, login_url="https://login.chinacloudapi.cn",
                 graph_url="https://microsoftgraph.chinacloudapi.cn", exchange_url="https://partner.outlook.cn",
                 sharepoint_url_template="https://{name}-admin.sharepoint.cn",
                 client_secret="x").status_code == 302  # fmt: skip
    assert _edit(tech_client, connection, graph_url="https://graph.corp.example").status_code == 422
    settings.PARTNER_ENDPOINT_ALLOWED_HOSTS = ["*.corp.example"]
    assert (
        _edit(tech_client, connection, graph_url="https://graph.corp.example", client_secret="x").status_code
        == 302
    )
    settings.PARTNER_ENDPOINT_ALLOWED_HOSTS = []
    settings.DEBUG = True  # development: the sandbox and local stand-ins over plain http
    assert (
        _edit(tech_client, connection, graph_url="http://127.0.0.1:9000/graph", client_secret="x").status_code
        == 302
    )


def test_discovery_and_manual_add_are_audited(tech_client, connection, make_tenant, monkeypatch):
    from tenants import views

    connection.client_secret = ""
    connection.save()
    tech_client.post(reverse("tenants:discover", args=[connection.pk]))
    entry = AuditEntry.objects.get(action="tenants.discover")
    assert entry.result == "failed" and entry.target_upn == "connection:Contoso Partner"
    added = make_tenant("Adatum", "adatum.example")
    monkeypatch.setattr(views, "add_tenant_manually", lambda conn, value, visible: added)
    response = tech_client.post(
        reverse("tenants:add"), {"connection": connection.pk, "tenant": "adatum.example"}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="tenant.add")
    assert entry.tenant_id == added.tenant_id and entry.parameters["typed"] == "adatum.example"


def test_a_sign_in_started_before_an_endpoint_change_stores_nothing(tech_client, connection):
    from tenants import consent

    session = tech_client.session
    session[consent.SESSION_KEY] = {"connection": connection.pk, "flow": {"state": "s"},
                                    "login_url": "https://login.microsoftonline.us"}  # fmt: skip
    session.save()
    response = tech_client.get(reverse("tenants:consent-callback"), {"state": "s", "code": "c"}, follow=True)
    assert "sign-in endpoint changed while signing in" in response.content.decode()
    connection.refresh_from_db()
    assert connection.refresh_token == ""
    assert AuditEntry.objects.get(action="connection.consent").result == "failed"


def test_the_enabled_sandbox_is_reachable_over_its_own_address(settings):
    from tenants.endpoints import host_problem

    settings.SANDBOX_ENABLED, settings.SANDBOX_BASE_URL = True, "http://127.0.0.1:8000/sandbox"
    assert host_problem("graph_url", "http://127.0.0.1:8000/sandbox/graph") is None
    assert host_problem("graph_url", "http://127.0.0.1:9000/graph") == "Endpoints must use https."
    settings.SANDBOX_ENABLED = False
    assert host_problem("graph_url", "http://127.0.0.1:8000/sandbox/graph") == "Endpoints must use https."
