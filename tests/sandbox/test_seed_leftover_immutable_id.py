"""Every demo customer holds a cloud-only user with a leftover immutable id, so "Clear immutable ID" has a user
to run on out of the box (issue 19 part 6)."""

from __future__ import annotations

import pytest

from graph.sandbox.models import SandboxTenant, SandboxUser
from tests.conftest import portal_tenants
from users.actions import registry
from users.models import DirectoryUser
from users.sync import sync_tenant

pytestmark = pytest.mark.django_db


def _leftovers(tenant):
    return [
        user
        for user in SandboxUser.objects.filter(tenant=tenant, user_type="Member")
        if user.properties.get("onPremisesImmutableId") and not user.properties.get("onPremisesSyncEnabled")
    ]


def test_each_demo_customer_has_a_cloud_only_user_with_an_immutable_id(sandbox_world):
    customers = [tenant for tenant in sandbox_world if not tenant.is_partner]
    assert len(customers) == 3
    for tenant in customers:
        leftovers = _leftovers(tenant)
        assert len(leftovers) == 1, tenant.display_name
        assert not leftovers[0].role_memberships.exists()  # not an admin: no privileged-user guard in the way
        props = leftovers[0].properties
        # "Was synced, no longer": false, not null (never synced), with the last sync long ago.
        assert props["onPremisesSyncEnabled"] is False and props["onPremisesLastSyncDateTime"]


def test_clear_immutable_id_applies_to_that_user_once_synced(sandbox_world, sandbox_connection):
    action = registry.get("clear-immutable-id")
    for sandbox_tenant_id, tenant in portal_tenants(sandbox_world, sandbox_connection).items():
        assert sync_tenant(tenant, sign_ins=False).ok
        offered = [
            user for user in DirectoryUser.objects.filter(tenant=tenant) if action.why_not(user) is None
        ]
        assert [user.user_id for user in offered] == [
            user.pk for user in _leftovers(SandboxTenant.objects.get(pk=sandbox_tenant_id))
        ], tenant.display_name
