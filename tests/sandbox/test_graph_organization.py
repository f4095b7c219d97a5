"""GET /organization, /domains and the partner's /tenantRelationships/delegatedAdminCustomers."""

from __future__ import annotations

import pytest

from graph.sandbox.models import SandboxDomain

from .factories import GraphCaller, make_gdap, make_tenant

pytestmark = pytest.mark.django_db


def test_organization_and_domains(client):
    tenant = make_tenant("Contoso")
    SandboxDomain.objects.filter(tenant=tenant).update(is_default=False)
    SandboxDomain.objects.create(tenant=tenant, name="contoso.com", is_default=True)
    SandboxDomain.objects.create(
        tenant=tenant, name="pending.contoso.com", is_default=False, is_verified=False
    )
    graph = GraphCaller(client, tenant)
    body = graph.get("organization").json()
    (org,) = body["value"]
    assert (
        org["id"] == str(tenant.id) and org["displayName"] == "Contoso" and org["countryLetterCode"] == "GB"
    )
    domains = {d["name"]: d for d in org["verifiedDomains"]}
    assert set(domains) == {"contoso.com", "contoso.onmicrosoft.com"}
    assert domains["contoso.com"]["isDefault"] and not domains["contoso.com"]["isInitial"]
    assert domains["contoso.onmicrosoft.com"]["isInitial"]
    assert domains["contoso.com"]["type"] == "Managed" and "Email" in domains["contoso.com"]["capabilities"]
    listed = {d["id"]: d for d in graph.get("domains").json()["value"]}
    assert listed["pending.contoso.com"]["isVerified"] is False
    assert listed["contoso.com"]["isDefault"] is True


def test_delegated_admin_customers_for_partner(client):
    partner = make_tenant("Partner", partner=True)
    customers = [make_tenant(f"Customer {i}") for i in range(5)]
    for customer in customers[:4]:
        make_gdap(partner, customer)
    make_gdap(partner, customers[4], status="terminated")
    graph = GraphCaller(client, partner)
    first = graph.get("tenantRelationships/delegatedAdminCustomers?$top=3").json()
    assert len(first["value"]) == 3
    second = graph.get(first["@odata.nextLink"]).json()
    items = first["value"] + second["value"]
    assert {i["tenantId"] for i in items} == {str(c.id) for c in customers[:4]}
    assert all(i["id"] == i["tenantId"] for i in items)
    assert {i["displayName"] for i in items} == {f"Customer {n}" for n in range(4)}
    assert graph.get("tenantRelationships/delegatedAdminCustomers?$top=301").status_code == 400


def test_delegated_admin_customers_forbidden_for_customer(client):
    customer = make_tenant("Customer")
    response = GraphCaller(client, customer).get("tenantRelationships/delegatedAdminCustomers")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"
