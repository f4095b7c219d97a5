"""The research test world: the seeded sandbox (with its compromised and clean users), Tenant rows wired to
the sandbox connection, directory cache rows, and technicians of each role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.actions.conftest import role_client  # noqa: F401 - the same technicians of each role
from tests.conftest import portal_tenants


@dataclass
class ResearchWorld:
    sandbox: list  # SandboxTenant rows
    tenants: dict  # sandbox tenant key ("northwind", "fabrikam", "tailspin") -> Tenant
    by_sandbox: dict  # SandboxTenant pk -> Tenant

    def cast(self, key: str):
        """(tenant, compromised SandboxUser, [clean SandboxUser])."""
        from graph.sandbox.seed_compromise import compromise_cast

        tenant = self.tenants[key]
        sandbox_tenant = next(t for t in self.sandbox if t.pk == tenant.tenant_id)
        compromised, clean = compromise_cast(sandbox_tenant)
        assert compromised is not None and clean, f"the seed has no compromise cast in {key}"
        return tenant, compromised, clean

    def cache(self, sandbox_user):
        from users.sync import apply_user_record

        sandbox_user.refresh_from_db()
        record = {**sandbox_user.properties, "id": str(sandbox_user.id)}
        return apply_user_record(self.by_sandbox[sandbox_user.tenant_id], record, partial=False)


@pytest.fixture
def research_world(sandbox_world, sandbox_connection):
    from graph.sandbox.graph_views.common import tenant_has_premium
    from tenants.models import TenantDomain

    by_sandbox = portal_tenants(sandbox_world, sandbox_connection)
    tenants = {}
    for sandbox_tenant in sandbox_world:
        tenant = by_sandbox.get(sandbox_tenant.pk)
        if tenant is None:  # the partner
            continue
        tenant.has_entra_p1 = tenant_has_premium(sandbox_tenant)
        tenant.save(update_fields=["has_entra_p1"])
        for domain in sandbox_tenant.domains.filter(is_default=False):
            TenantDomain.objects.get_or_create(
                tenant=tenant, name=domain.name, defaults={"is_default": False}
            )
        tenants[sandbox_tenant.display_name.split()[0].lower()] = tenant
    return ResearchWorld(list(sandbox_world), tenants, by_sandbox)
