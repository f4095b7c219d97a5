"""Discovery and manual add: through the sandbox over the in-process adapter (the real HTTP path), and
with graph services replaced where a failure has to be forced."""

import uuid

import pytest
from django.urls import reverse

from graph.errors import AuthError, TransientError
from tenants import services
from tenants.models import Tenant, TenantDomain
from tenants.services import ManualAddError, add_tenant_manually, discover_customers


@pytest.mark.django_db
def test_discovery_through_the_sandbox_creates_then_updates(sandbox_connection):
    summary = discover_customers(sandbox_connection)
    assert summary.created and not summary.failed and not summary.updated
    tenants = Tenant.objects.all()
    assert tenants.count() == len(summary.created)
    for tenant in tenants:
        assert tenant.kind == Tenant.Kind.SANDBOX
        assert (
            tenant.default_domain
            and tenant.domains.filter(name=tenant.default_domain, is_default=True).exists()
        )
        assert tenant.domains.filter(is_initial=True, name__endswith=".onmicrosoft.com").exists()
    again = discover_customers(sandbox_connection)
    assert sorted(again.updated) == sorted(summary.created) and not again.created


@pytest.mark.django_db
def test_one_failing_customer_is_recorded_and_hides_no_other(monkeypatch, connection):
    ok_id, bad_id = uuid.uuid4(), uuid.uuid4()
    monkeypatch.setattr(
        services,
        "list_gdap_customers",
        lambda conn: iter(
            [
                {"tenant_id": str(bad_id), "display_name": "Broken Co"},
                {"tenant_id": str(ok_id), "display_name": "Good Co"},
            ]
        ),
    )

    def profile(client):
        if client.tenant_id == str(bad_id):
            raise AuthError("AADSTS50020: user account does not exist in tenant", request_id="req-1")
        return {
            "tenant_id": str(ok_id),
            "display_name": "Good Company",
            "domains": [{"name": "Good.Example", "is_default": True, "is_initial": False}],
        }

    monkeypatch.setattr(services, "get_tenant_profile", profile)
    summary = discover_customers(connection)
    assert summary.created == ["Good Company"]
    assert summary.failed == [
        ("Broken Co", "AADSTS50020: user account does not exist in tenant (request-id req-1)")
    ]
    broken = Tenant.objects.get(tenant_id=bad_id)
    assert broken.last_sync_status == Tenant.SyncStatus.FAILED and "AADSTS50020" in broken.last_sync_error
    assert broken.kind == Tenant.Kind.CUSTOMER
    assert TenantDomain.objects.get(name="good.example").tenant.tenant_id == ok_id

    # The next successful discovery clears the discovery error.
    monkeypatch.setattr(
        services, "get_tenant_profile", lambda client: {"display_name": "Broken Co", "domains": []}
    )
    discover_customers(connection)
    broken.refresh_from_db()
    assert broken.last_sync_error == "" and broken.last_sync_status == Tenant.SyncStatus.NEVER


@pytest.mark.django_db
def test_discover_view_reports_summary_and_listing_failure(monkeypatch, tech_client, reader, connection):
    url = reverse("tenants:discover", args=[connection.pk])
    monkeypatch.setattr(services, "list_gdap_customers", lambda conn: iter([]))
    response = tech_client.post(url, follow=True)
    assert "Discovery finished: 0 new, 0 updated." in response.content.decode()

    def unreachable(conn):
        raise TransientError("identity platform unreachable", status=503)

    monkeypatch.setattr("tenants.connection_views.discover_customers", unreachable)
    response = tech_client.post(url, follow=True)
    assert "could not list GDAP customers: identity platform unreachable" in response.content.decode()
    assert tech_client.get(url).status_code == 405


@pytest.mark.django_db
def test_discover_is_staff_only(reader_client, connection):
    assert reader_client.post(reverse("tenants:discover", args=[connection.pk])).status_code == 403


@pytest.mark.django_db
class TestManualAdd:
    def test_by_domain_through_the_sandbox(self, sandbox_connection):
        from graph.sandbox.seed import demo_summary

        customer = next(
            row
            for row in demo_summary()
            if str(row["tenant_id"]) != str(sandbox_connection.partner_tenant_id)
        )
        tenant = add_tenant_manually(sandbox_connection, customer["default_domain"].upper())
        assert str(tenant.tenant_id) == str(customer["tenant_id"]).lower()
        assert tenant.added_manually and tenant.display_name == customer["display_name"]
        with pytest.raises(ManualAddError, match="already in the list"):
            add_tenant_manually(sandbox_connection, str(tenant.tenant_id))

    def test_unreachable_tenant_explains_why(self, sandbox_connection):
        with pytest.raises(ManualAddError, match="cannot sign in to that tenant"):
            add_tenant_manually(sandbox_connection, "no-such-tenant.example")

    def test_blank(self, connection):
        with pytest.raises(ManualAddError, match="Enter a tenant id"):
            add_tenant_manually(connection, "  ")

    def test_view_shows_errors_on_the_field_in_the_modal(self, monkeypatch, tech_client, connection):
        def refused(client):
            raise AuthError("AADSTS700016: application not found in the directory")

        monkeypatch.setattr(services, "get_tenant_profile", refused)
        response = tech_client.post(
            reverse("tenants:add"),
            {"connection": connection.pk, "tenant": "contoso.com"},
            HTTP_HX_REQUEST="true",
        )
        html = response.content.decode()
        assert response.status_code == 422
        assert "AADSTS700016" in html and 'aria-invalid="true"' in html and "<html" not in html

    def test_view_success_closes_modal_and_refreshes_table(self, monkeypatch, tech_client, connection):
        new_id = uuid.uuid4()
        monkeypatch.setattr(
            services,
            "get_tenant_profile",
            lambda client: {"tenant_id": str(new_id), "display_name": "Adatum", "domains": []},
        )
        response = tech_client.post(
            reverse("tenants:add"),
            {"connection": connection.pk, "tenant": str(new_id)},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 204
        for event in ("toast", "closeModal", "tenantsChanged"):
            assert event in response["HX-Trigger"]
        assert Tenant.objects.get(tenant_id=new_id).added_manually

    def test_staff_only(self, reader_client, connection):
        assert reader_client.get(reverse("tenants:add")).status_code == 403
        assert (
            reader_client.post(
                reverse("tenants:add"), {"connection": connection.pk, "tenant": "x.com"}
            ).status_code
            == 403
        )

    def test_full_page_without_htmx(self, tech_client, connection):
        html = tech_client.get(reverse("tenants:add")).content.decode()
        assert "<html" in html and "Add tenant manually" in html
