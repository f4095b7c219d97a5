"""The research test world: the seeded sandbox (with its compromised and clean users), Tenant rows wired to
the sandbox connection, directory cache rows, and technicians of each role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest


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
    from tenants.models import Tenant, TenantDomain

    tenants, by_sandbox = {}, {}
    for sandbox_tenant in sandbox_world:
        if sandbox_tenant.is_partner:
            continue
        default = sandbox_tenant.domains.get(is_default=True).name
        tenant = Tenant.objects.create(
            tenant_id=sandbox_tenant.pk, connection=sandbox_connection, display_name=sandbox_tenant.display_name,
            default_domain=default, has_exchange=True, has_entra_p1=tenant_has_premium(sandbox_tenant),
        )  # fmt: skip
        for domain in sandbox_tenant.domains.all():
            TenantDomain.objects.get_or_create(tenant=tenant, name=domain.name,
                                               defaults={"is_default": domain.is_default})  # fmt: skip
        tenants[sandbox_tenant.display_name.split()[0].lower()] = tenant
        by_sandbox[sandbox_tenant.pk] = tenant
    return ResearchWorld(list(sandbox_world), tenants, by_sandbox)


@pytest.fixture
def role_client(django_user_model):
    """role_client("admin" | "editor" | "helpdesk" | "reader", tenants=[...], csrf=False) -> logged-in client."""
    from django.test import Client

    from tenants.models import TechnicianProfile

    def make(role, *, tenants=None, csrf=False):
        user = django_user_model.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:6]}", password="x")
        scope = TechnicianProfile.Scope.ONLY if tenants else TechnicianProfile.Scope.ALL
        profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
        if tenants:
            profile.tenants.set(tenants)
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(user)
        client.technician = user
        return client

    return make
