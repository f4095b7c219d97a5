"""The action test world: the seeded sandbox, Tenant rows for its customers wired to the sandbox
connection, the directory cache rows of the users a test acts on, and technicians of each role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from tests.conftest import portal_tenants


@dataclass
class ActionWorld:
    sandbox: list  # SandboxTenant rows (the ``world`` the examples take)
    tenants: dict  # SandboxTenant id → Tenant
    connection: object

    def tenant_of(self, sandbox_user):
        return self.tenants[sandbox_user.tenant_id]

    def cache(self, sandbox_user):
        """The DirectoryUser row the directory sync would have written for ``sandbox_user``."""
        from users.sync import apply_user_record

        sandbox_user.refresh_from_db()
        record = {**sandbox_user.properties, "id": str(sandbox_user.id)}
        return apply_user_record(self.tenant_of(sandbox_user), record, partial=False)

    def ghost_like(self, sandbox_user):
        """A cached user shaped like ``sandbox_user`` (same licences, mailbox, sync state) that Graph and
        Exchange do not know: the selection test's injected failure."""
        from users.sync import apply_user_record

        ghost_id = uuid.uuid4()
        upn = sandbox_user.properties["userPrincipalName"]
        ghost_upn = f"ghost.{ghost_id.hex[:8]}@{upn.split('@')[1]}"
        record = {
            **sandbox_user.properties,
            "id": str(ghost_id),
            "userPrincipalName": ghost_upn,
            "mail": ghost_upn,
            "displayName": "Ghost User",
            "proxyAddresses": [f"SMTP:{ghost_upn}"] if sandbox_user.properties.get("proxyAddresses") else [],
        }
        return apply_user_record(self.tenant_of(sandbox_user), record, partial=False)  # fmt: skip

    def value(self, row) -> str:
        return f"{row.tenant.tenant_id}/{row.user_id}"


@pytest.fixture
def action_world(sandbox_world, sandbox_connection):
    tenants = portal_tenants(sandbox_world, sandbox_connection)
    return ActionWorld(list(sandbox_world), tenants, sandbox_connection)


def _client_for(client_class, django_user_model, role, *, tenants=None, csrf=False):
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:6]}", password="x")
    scope = TechnicianProfile.Scope.ONLY if tenants else TechnicianProfile.Scope.ALL
    profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
    if tenants:
        profile.tenants.set(tenants)
    client = client_class(enforce_csrf_checks=csrf)
    client.force_login(user)
    client.technician = user
    return client


@pytest.fixture
def role_client(django_user_model):
    """role_client("admin" | "editor" | "helpdesk" | "reader", tenants=[...], csrf=False) -> logged-in client."""
    from django.test import Client

    def make(role, *, tenants=None, csrf=False):
        return _client_for(Client, django_user_model, role, tenants=tenants, csrf=csrf)

    return make


@pytest.fixture
def admin_client_(role_client):
    return role_client("admin")
