"""The partner (MSP) tenant's own view: which customers it may reach through GDAP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graph.client import GraphClient

# The API's maximum page size for delegatedAdminCustomers.
PAGE_SIZE = 300


def list_gdap_customers(connection: Any, **client_kwargs: Any) -> Iterator[dict]:
    """Yield ``{"tenant_id", "display_name"}`` for every GDAP customer of the connection's partner tenant.

    Uses a token for the partner's own tenant. The API documents delegated permissions only, so the
    partner admin's refresh token is used whenever the connection has one."""
    client_kwargs.setdefault("mode", "delegated" if connection.has_refresh_token else "app")
    client = GraphClient(connection, str(connection.partner_tenant_id), **client_kwargs)
    params = {"$top": PAGE_SIZE, "$select": "id,tenantId,displayName"}
    for page in client.iter_pages("/tenantRelationships/delegatedAdminCustomers", params=params):
        for customer in page:
            tenant_id = customer.get("tenantId") or customer.get("id")
            if not tenant_id:
                continue
            yield {
                "tenant_id": str(tenant_id).lower(),
                "display_name": customer.get("displayName") or str(tenant_id),
            }
