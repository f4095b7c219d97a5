"""Delta rounds after changes made directly in the sandbox, @removed, and the fall back to a full sync."""

from __future__ import annotations

import pytest

from graph.sandbox import directory
from graph.sandbox.models import SandboxUser
from graph.sandbox.switches import expire_delta_tokens
from users.models import DirectorySyncState, DirectoryUser
from users.sync import sync_tenant

from .conftest import sandbox_tenant_of

pytestmark = pytest.mark.django_db


def _sandbox_users(tenant):
    return SandboxUser.objects.filter(
        tenant=sandbox_tenant_of(tenant), deleted_datetime__isnull=True
    ).order_by("id")


def test_changes_follow_in_at_most_three_requests(northwind, recording_client):
    sync_tenant(northwind)  # full, with sign-ins (P1 tenant): they are not due again for an hour
    sandbox = sandbox_tenant_of(northwind)
    changed, soft, hard, *_ = list(_sandbox_users(northwind))
    department_before = DirectoryUser.objects.get(tenant=northwind, user_id=changed.id).department
    directory.update_user(changed, {"jobTitle": "Chief Sandbox Officer", "accountEnabled": False})
    directory.soft_delete_user(soft)
    directory.hard_delete_user(hard)
    created = directory.create_user(
        sandbox,
        {
            "accountEnabled": True,
            "displayName": "New Starter",
            "mailNickname": "new.starter",
            "userPrincipalName": f"new.starter@{northwind.default_domain}",
            "passwordProfile": {"password": "Sandbox-Start-2026!"},
        },
    )

    client, session = recording_client(northwind)
    result = sync_tenant(northwind, client=client)
    assert result.ok and result.kind == "delta"
    assert result.requests == len(session.calls) <= 3
    assert session.paths() == ["/subscribedSkus", "/users/delta"]
    row = DirectoryUser.objects.get(tenant=northwind, user_id=changed.id)
    assert row.job_title == "Chief Sandbox Officer" and row.account_enabled is False
    assert row.department == department_before  # not in the change: kept
    assert not DirectoryUser.objects.filter(tenant=northwind, user_id__in=[soft.id, hard.id]).exists()
    new_row = DirectoryUser.objects.get(tenant=northwind, user_id=created.id)
    assert new_row.display_name == "New Starter" and new_row.upn_domain == northwind.default_domain
    assert result.removed == 2 and result.changed == 2
    assert DirectoryUser.objects.filter(tenant=northwind).count() == _sandbox_users(northwind).count()
    state = DirectorySyncState.objects.get(tenant=northwind)
    assert state.last_delta_sync_at and state.user_count == _sandbox_users(northwind).count()


def test_expired_delta_link_falls_back_to_a_full_sync(northwind):
    sync_tenant(northwind, sign_ins=False)
    victim = _sandbox_users(northwind).first()
    directory.update_user(victim, {"department": "Resynced"})
    expire_delta_tokens(sandbox_tenant_of(northwind))
    result = sync_tenant(northwind, sign_ins=False)
    assert result.ok and result.kind == "full"
    assert result.full_reason.startswith("delta link expired") and "HTTP 410" in result.full_reason
    assert DirectorySyncState.objects.get(tenant=northwind).last_full_sync_reason == result.full_reason
    assert DirectoryUser.objects.get(tenant=northwind, user_id=victim.id).department == "Resynced"
    # and the new link works: the next round is a delta again
    assert sync_tenant(northwind, sign_ins=False).kind == "delta"


def test_unreadable_delta_link_falls_back_to_a_full_sync(northwind):
    sync_tenant(northwind, sign_ins=False)
    state = DirectorySyncState.objects.get(tenant=northwind)
    state.delta_link = state.delta_link.split("$deltatoken=")[0] + "$deltatoken=garbage"
    state.save(update_fields=["delta_link"])
    result = sync_tenant(northwind, sign_ins=False)
    assert result.ok and result.kind == "full" and "HTTP 400" in result.full_reason


def test_changed_select_forces_a_full_sync(northwind):
    sync_tenant(northwind, sign_ins=False)
    DirectorySyncState.objects.filter(tenant=northwind).update(delta_select="older")
    result = sync_tenant(northwind, sign_ins=False)
    assert result.kind == "full" and result.full_reason == "the synced properties changed"


def test_a_delta_link_of_another_graph_endpoint_forces_a_full_sync(northwind):
    # The demo sandbox restarted on another port: its old deltaLink points where no token may go.
    sync_tenant(northwind, sign_ins=False)
    state = DirectorySyncState.objects.get(tenant=northwind)
    moved = state.delta_link.replace("://", "://moved-", 1)
    DirectorySyncState.objects.filter(tenant=northwind).update(delta_link=moved)
    result = sync_tenant(northwind, sign_ins=False)
    assert result.ok and result.kind == "full" and result.full_reason == "the Graph endpoint changed"
    assert "://moved-" not in DirectorySyncState.objects.get(tenant=northwind).delta_link  # a fresh link
