"""graph.services: GDAP customers, tenant profile, SKUs/capabilities, user pages and delta rounds."""

from __future__ import annotations

import pytest
import responses

from graph.errors import GoneError, NotFoundError
from graph.services import organization, partner, skus, users

from .conftest import GRAPH, PARTNER, graph_error

P1_ID = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
P2_ID = "eec0eb4f-6444-4f95-aba0-50c24d67f998"


def test_gdap_customers_use_the_partner_tenant_and_page(connection, tokens, mocked):
    url = f"{GRAPH}/v1.0/tenantRelationships/delegatedAdminCustomers"
    mocked.get(
        url,
        json={
            "value": [{"id": "A", "tenantId": "AAAA", "displayName": "Alpha"}],
            "@odata.nextLink": f"{url}?$skiptoken=2",
        },
        match=[responses.matchers.query_param_matcher({"$top": "300", "$select": "id,tenantId,displayName"})],
    )
    mocked.get(
        url,
        json={"value": [{"id": "bbbb", "displayName": "Beta"}]},
        match=[responses.matchers.query_param_matcher({"$skiptoken": "2"})],
    )
    customers = list(partner.list_gdap_customers(connection, token_provider=tokens))
    assert customers == [
        {"tenant_id": "aaaa", "display_name": "Alpha"},
        {"tenant_id": "bbbb", "display_name": "Beta"},
    ]
    assert {c[0] for c in tokens.calls} == {PARTNER} and {c[2] for c in tokens.calls} == {"delegated"}


def test_gdap_customers_without_refresh_token_use_app_mode(connection, tokens, mocked):
    connection.refresh_token = ""
    mocked.get(f"{GRAPH}/v1.0/tenantRelationships/delegatedAdminCustomers", json={"value": []})
    assert list(partner.list_gdap_customers(connection, token_provider=tokens)) == []
    assert tokens.calls[0][2] == "app"


def test_tenant_profile_from_verified_domains(graph_client, mocked):
    mocked.get(
        f"{GRAPH}/v1.0/organization",
        json={
            "value": [
                {
                    "id": "8B3C1A4E-2F6D-4C1B-9A7E-5D0F3E2A1B6C",
                    "displayName": "Contoso",
                    "onPremisesSyncEnabled": True,
                    "countryLetterCode": "NL",
                    "verifiedDomains": [
                        {
                            "name": "contoso.onmicrosoft.com",
                            "isDefault": False,
                            "isInitial": True,
                            "type": "Managed",
                        },
                        {"name": "Contoso.com", "isDefault": True, "isInitial": False, "type": "Managed"},
                    ],
                }
            ]
        },
        match=[responses.matchers.query_param_matcher({"$select": organization.SELECT})],
    )
    profile = organization.get_tenant_profile(graph_client)
    assert profile == {
        "tenant_id": "8b3c1a4e-2f6d-4c1b-9a7e-5d0f3e2a1b6c",
        "display_name": "Contoso",
        "domains": [
            {"name": "contoso.com", "is_default": True, "is_initial": False},
            {"name": "contoso.onmicrosoft.com", "is_default": False, "is_initial": True},
        ],
        "default_domain": "contoso.com",
        "initial_domain": "contoso.onmicrosoft.com",
        "on_premises_sync_enabled": True,
        "country": "NL",
    }


def test_tenant_profile_without_organization(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/organization", json={"value": []})
    with pytest.raises(NotFoundError):
        organization.get_tenant_profile(graph_client)


def sku(part, plans, status="Enabled"):
    return {
        "skuPartNumber": part,
        "capabilityStatus": status,
        "appliesTo": "User",
        "servicePlans": [
            {
                "servicePlanId": pid,
                "servicePlanName": name,
                "provisioningStatus": "Success",
                "appliesTo": "User",
            }
            for pid, name in plans
        ],
    }


@pytest.mark.parametrize(
    ("subscriptions", "expected"),
    [
        ([], {"entra_p1": False, "entra_p2": False, "exchange": False}),
        (
            [
                sku(
                    "O365_BUSINESS_ESSENTIALS",
                    [("9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD")],
                )
            ],
            {"entra_p1": False, "entra_p2": False, "exchange": True},
        ),
        (
            [sku("SPB", [(P1_ID, "AAD_PREMIUM"), ("x", "EXCHANGE_S_ENTERPRISE")])],
            {"entra_p1": True, "entra_p2": False, "exchange": True},
        ),
        (
            [sku("EMSPREMIUM", [(P2_ID.upper(), "SOMETHING_RENAMED")])],
            {"entra_p1": True, "entra_p2": True, "exchange": False},
        ),
        (
            [sku("SPB", [(P1_ID, "AAD_PREMIUM")], status="Suspended")],
            {"entra_p1": False, "entra_p2": False, "exchange": False},
        ),
    ],
)
def test_capabilities_from_service_plans(subscriptions, expected):
    assert skus.detect_capabilities(subscriptions) == expected


def test_list_subscribed_skus(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/subscribedSkus", json={"value": [sku("SPB", [(P1_ID, "AAD_PREMIUM")])]})
    assert skus.list_subscribed_skus(graph_client)[0]["skuPartNumber"] == "SPB"


def test_user_pages(graph_client, mocked):
    mocked.get(
        f"{GRAPH}/v1.0/users",
        json={"value": [{"id": "1"}]},
        match=[responses.matchers.query_param_matcher({"$select": "id,displayName", "$top": "999"})],
    )
    assert list(users.iter_user_pages(graph_client, ["id", "displayName"], page_size=5000)) == [[{"id": "1"}]]


def test_delta_round_returns_pages_and_the_delta_link(graph_client, mocked):
    delta = f"{GRAPH}/v1.0/users/delta"
    mocked.get(
        delta,
        json={"value": [{"id": "1"}], "@odata.nextLink": f"{delta}?$skiptoken=s"},
        match=[responses.matchers.query_param_matcher({"$select": "id,accountEnabled"})],
    )
    mocked.get(
        delta,
        json={
            "value": [{"id": "2", "@removed": {"reason": "deleted"}}],
            "@odata.deltaLink": f"{delta}?$deltatoken=d1",
        },
        match=[responses.matchers.query_param_matcher({"$skiptoken": "s"})],
    )
    round_ = users.delta_pages(graph_client, select=["id", "accountEnabled"])
    assert round_.delta_link is None
    assert list(round_) == [[{"id": "1"}], [{"id": "2", "@removed": {"reason": "deleted"}}]]
    assert round_.delta_link == f"{delta}?$deltatoken=d1"

    mocked.get(
        delta,
        json={"value": [], "@odata.deltaLink": f"{delta}?$deltatoken=d2"},
        match=[responses.matchers.query_param_matcher({"$deltatoken": "d1"})],
    )
    again = users.delta_pages(graph_client, delta_link=round_.delta_link, select=["id"])
    assert list(again) == [[]] and again.delta_link.endswith("d2")


def test_expired_delta_link_raises_gone(graph_client, mocked):
    delta = f"{GRAPH}/v1.0/users/delta"
    mocked.get(delta, status=410, json=graph_error("resyncRequired", "Resync required"))
    with pytest.raises(GoneError):
        list(users.delta_pages(graph_client, delta_link=f"{delta}?$deltatoken=old"))
