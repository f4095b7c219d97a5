"""The seeded sandbox with per-user activity, Tenant rows for its customers wired to the sandbox
connection, and a technician allowed to view users."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import pytest


@dataclass
class ActivityWorld:
    connection: object
    tenants: dict  # sandbox display name → Tenant
    sandbox: dict  # sandbox display name → SandboxTenant

    def member_with(self, name: str, predicate):
        """A licensed, enabled member of the named tenant for which ``predicate(user)`` holds."""
        from graph.sandbox.models import SandboxUser

        users = SandboxUser.objects.filter(
            tenant=self.sandbox[name], user_type="Member", account_enabled=True
        )
        for user in users.order_by("created_datetime", "id"):
            if user.properties.get("assignedLicenses") and predicate(user):
                return user
        raise AssertionError(f"no member of {name} matches")


def cache_row(tenant, sandbox_user):
    """The DirectoryUser row the directory sync would have written (the page header reads it)."""
    from users.models import DirectoryUser

    props = sandbox_user.properties
    return DirectoryUser.objects.create(
        tenant=tenant,
        user_id=sandbox_user.pk,
        user_principal_name=props["userPrincipalName"],
        upn_domain=props["userPrincipalName"].split("@")[1],
        display_name=props["displayName"],
        mail=props.get("mail") or "",
        account_enabled=sandbox_user.account_enabled,
        on_premises_sync_enabled=bool(props.get("onPremisesSyncEnabled")),
        user_type=props["userType"],
        created_datetime=sandbox_user.created_datetime,
    )


@pytest.fixture
def activity_world(sandbox_connection):
    from graph.sandbox.graph_views.common import tenant_has_premium
    from graph.sandbox.models import SandboxTenant
    from graph.sandbox.seed_activity import seed_user_activity
    from tenants.models import Tenant, TenantDomain

    tenants, sandbox = {}, {}
    for number, sandbox_tenant in enumerate(
        SandboxTenant.objects.filter(is_partner=False).order_by("display_name")
    ):
        seed_user_activity(sandbox_tenant, random.Random(number + 7))
        default = sandbox_tenant.domains.get(is_default=True).name
        premium = tenant_has_premium(sandbox_tenant)
        tenant = Tenant.objects.create(
            tenant_id=sandbox_tenant.pk, connection=sandbox_connection, display_name=sandbox_tenant.display_name,
            default_domain=default, has_entra_p1=premium, has_exchange=True,
        )  # fmt: skip
        TenantDomain.objects.create(tenant=tenant, name=default, is_default=True)
        tenants[sandbox_tenant.display_name] = tenant
        sandbox[sandbox_tenant.display_name] = sandbox_tenant
    return ActivityWorld(sandbox_connection, tenants, sandbox)


@pytest.fixture
def viewer_client(client, django_user_model):
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username=f"viewer-{uuid.uuid4().hex[:6]}", password="x")
    TechnicianProfile.objects.create(
        user=user, role=TechnicianProfile.Role.READER, scope=TechnicianProfile.Scope.ALL
    )
    client.force_login(user)
    return client
