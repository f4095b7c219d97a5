"""Fixtures for the Graph client tests: a partner connection row, a token provider stand-in, a sleep
recorder and a `responses` mock. Nothing here touches the network or sleeps."""

from __future__ import annotations

import uuid

import pytest
import responses

from tenants.models import PartnerConnection

GRAPH = "https://graph.example.test"
EXCHANGE = "https://exchange.example.test"
LOGIN = "https://login.example.test"
CUSTOMER = "8b3c1a4e-2f6d-4c1b-9a7e-5d0f3e2a1b6c"
PARTNER = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


class FakeTokenProvider:
    """Stands in for graph.tokens.TokenProvider where the token itself is not under test."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.invalidated: list[tuple] = []
        self.generation = 1

    def get_token(self, connection, tenant_id, resource, mode="delegated"):
        self.calls.append((tenant_id, resource, mode))
        return f"token-{self.generation}"

    def invalidate(self, connection, tenant_id, resource, mode="delegated"):
        self.invalidated.append((tenant_id, resource, mode))
        self.generation += 1


@pytest.fixture(autouse=True)
def _no_extra_transports(settings):
    # Unit tests talk to `responses` only; the sandbox transport is exercised by the sandbox tests.
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    settings.GRAPH_MAX_ATTEMPTS = 4
    settings.GRAPH_MAX_RETRY_AFTER_SECONDS = 30
    settings.GRAPH_DRY_RUN = False


@pytest.fixture
def connection(db):
    return PartnerConnection.objects.create(
        name=f"Test partner {uuid.uuid4().hex[:6]}",
        partner_tenant_id=PARTNER,
        client_id="11111111-2222-4333-8444-555555555555",
        client_secret="s3cret-client-value",
        refresh_token="stored-refresh-token-value",
        login_url=LOGIN,
        graph_url=GRAPH,
        exchange_url=EXCHANGE,
    )


@pytest.fixture
def tokens():
    return FakeTokenProvider()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def graph_client(connection, tokens, sleeps):
    from graph.client import GraphClient

    return GraphClient(connection, CUSTOMER, token_provider=tokens, sleep=sleeps.append)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def graph_error(code: str, message: str, request_id: str = "req-1") -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-01-01T00:00:00",
                "request-id": request_id,
                "client-request-id": "c-1",
            },
        }
    }
