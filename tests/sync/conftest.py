"""Fixtures of the directory-sync tests: customer Tenant rows discovered from the seeded sandbox, and a
way to count the Graph requests a sync makes."""

from __future__ import annotations

import pytest

from graph.sandbox.models import SandboxTenant
from tenants.models import Tenant


@pytest.fixture
def customers(sandbox_connection):
    """Tenant rows for the seeded customers, found the way the product finds them (GDAP discovery)."""
    from tenants.services import discover_customers

    summary = discover_customers(sandbox_connection)
    assert not summary.failed, summary.failed
    return {tenant.display_name: tenant for tenant in Tenant.objects.filter(connection=sandbox_connection)}


def sandbox_tenant_of(tenant: Tenant) -> SandboxTenant:
    return SandboxTenant.objects.get(pk=tenant.tenant_id)


@pytest.fixture
def northwind(customers):
    return customers["Northwind Traders"]


@pytest.fixture
def fabrikam(customers):
    return customers["Fabrikam Inc"]


@pytest.fixture
def tailspin(customers):
    return customers["Tailspin Toys"]


class RecordingSession:
    """Stands in for the client's requests.Session and remembers each request (method, path + query)."""

    def __init__(self, session) -> None:
        self._session = session
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, **kwargs):
        from urllib.parse import unquote, urlencode, urlsplit

        parts = urlsplit(url)
        path = parts.path.split("/graph/v1.0", 1)[-1]
        query = "&".join(q for q in (parts.query, urlencode(kwargs.get("params") or {})) if q)
        self.calls.append((method, path + (f"?{unquote(query)}" if query else "")))
        return self._session.request(method, url, **kwargs)

    def paths(self) -> list[str]:
        return [path.split("?", 1)[0] for _, path in self.calls]


@pytest.fixture
def recording_client():
    """``recording_client(tenant)`` → (GraphClient, RecordingSession)."""
    from graph import http
    from graph.client import GraphClient

    def make(tenant):
        session = RecordingSession(http.shared_session())
        return GraphClient.for_tenant(tenant, priority="low", session=session), session

    return make
