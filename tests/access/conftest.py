"""A small world for access tests: three tenants (one disabled), a tenant group, and a factory for
technicians of any role and scope. Names are distinctive so a page leaking one is easy to spot."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest


@dataclass
class World:
    connection: object
    alpha: object  # enabled
    beta: object  # enabled, member of the group
    gamma: object  # disabled
    group: object

    @property
    def tenants(self):
        return [self.alpha, self.beta, self.gamma]


@pytest.fixture
def world(db):
    from tenants.models import PartnerConnection, Tenant, TenantGroup

    connection = PartnerConnection.objects.create(
        name="Access test partner", partner_tenant_id=uuid.uuid4(), client_id=uuid.uuid4()
    )

    def tenant(name, domain, enabled=True):
        return Tenant.objects.create(
            tenant_id=uuid.uuid4(),
            connection=connection,
            display_name=name,
            default_domain=domain,
            enabled=enabled,
        )

    alpha = tenant("Zephyralpha Ltd", "zephyralpha.example")
    beta = tenant("Quokkabeta GmbH", "quokkabeta.example")
    gamma = tenant("Narwhalgamma BV", "narwhalgamma.example", enabled=False)
    group = TenantGroup.objects.create(name="Beta customers")
    group.tenants.add(beta)
    return World(connection, alpha, beta, gamma, group)


@pytest.fixture
def make_tech(db, django_user_model):
    from tenants.models import TechnicianProfile

    counter = iter(range(1, 10_000))

    def make(role=None, scope="only", tenants=(), groups=(), *, superuser=False, active=True, username=None):
        user = django_user_model.objects.create_user(
            username=username or f"tech{next(counter)}", password="correct-horse-battery-staple",
            is_superuser=superuser, is_active=active,
        )  # fmt: skip
        if role is not None:
            profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
            profile.tenants.set(tenants)
            profile.tenant_groups.set(groups)
        return user

    return make
