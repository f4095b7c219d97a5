"""The client layer end to end against the in-process sandbox (real HTTP semantics, real MSAL).

Proves the pieces fit: MSAL through the plain-http authority adapter, GDAP refresh-token redemption at a
customer authority, paging, advanced queries, $batch and Exchange InvokeCommand.
"""

from __future__ import annotations

import pytest

from cippusers import test_settings
from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import NotFoundError
from graph.exchange import ExchangeClient
from graph.services import organization, partner, skus, users
from graph.tokens import TokenProvider


@pytest.fixture
def world(sandbox_connection, settings):
    settings.GRAPH_TRANSPORT_ADAPTERS = dict(test_settings.GRAPH_TRANSPORT_ADAPTERS)
    provider = TokenProvider()
    customers = list(partner.list_gdap_customers(sandbox_connection, token_provider=provider))
    return sandbox_connection, provider, customers


def test_gdap_customers_and_tenant_profile(world):
    connection, provider, customers = world
    assert customers and all(c["tenant_id"] and c["display_name"] for c in customers)
    client = GraphClient(connection, customers[0]["tenant_id"], token_provider=provider)
    profile = organization.get_tenant_profile(client)
    assert profile["tenant_id"] == customers[0]["tenant_id"]
    assert profile["default_domain"] and profile["initial_domain"].endswith(".onmicrosoft.com")
    assert isinstance(skus.detect_capabilities(skus.list_subscribed_skus(client))["exchange"], bool)


def test_paging_delta_search_and_batch(world):
    connection, provider, customers = world
    client = GraphClient(connection, customers[0]["tenant_id"], token_provider=provider)
    pages = list(users.iter_user_pages(client, ["id", "displayName"], page_size=2))
    listed = [u["id"] for page in pages for u in page]
    assert len(pages) > 1 and all(len(p) <= 2 for p in pages) and len(set(listed)) == len(listed)

    round_ = users.delta_pages(client, select=["id", "displayName"])
    delta_ids = {u["id"] for page in round_ for u in page}
    assert delta_ids == set(listed) and round_.delta_link
    assert [u for page in users.delta_pages(client, delta_link=round_.delta_link) for u in page] == []

    searched = [
        u
        for page in client.iter_pages(
            "/users", params={"$search": '"displayName:a"', "$count": "true", "$select": "id,displayName"}
        )
        for u in page
    ]
    assert all("a" in u["displayName"].lower() for u in searched)

    results = client.batch(
        [
            BatchRequest("known", "GET", f"/users/{listed[0]}?$select=id"),
            BatchRequest("unknown", "GET", "/users/00000000-0000-0000-0000-000000000000"),
        ]
    )
    assert results["known"].ok and results["known"].body["id"] == listed[0]
    assert isinstance(results["unknown"].error, NotFoundError)


def test_exchange_invoke(world):
    connection, provider, customers = world
    exo = ExchangeClient(connection, customers[0]["tenant_id"], token_provider=provider)
    mailboxes = exo.invoke("Get-Mailbox", {})
    assert isinstance(mailboxes, list)
    with pytest.raises(NotFoundError):
        exo.invoke("Get-Mailbox", {"Identity": "nobody@nowhere.invalid"})
