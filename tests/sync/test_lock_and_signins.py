"""One sync per tenant at a time; signInActivity only for P1/P2 tenants, and never fatal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from graph.sandbox.models import SandboxUser
from users import tasks
from users.models import DirectorySyncState, DirectoryUser
from users.sync import SyncAlreadyRunning, SyncLockLost, sync_tenant
from users.sync.lock import TenantSyncLock

from .conftest import sandbox_tenant_of

pytestmark = pytest.mark.django_db


def test_a_held_lock_prevents_a_second_sync(tailspin):
    with TenantSyncLock(tailspin):
        with pytest.raises(SyncAlreadyRunning):
            sync_tenant(tailspin)
        assert tasks.sync_tenant.delay(tailspin.pk).get() == "already running"
        second = TenantSyncLock(tailspin)
        assert second.acquire() is False
    assert not DirectoryUser.objects.filter(tenant=tailspin).exists()
    assert sync_tenant(tailspin).ok  # released on exit


def test_an_expired_lease_is_taken_over(tailspin):
    dead = TenantSyncLock(tailspin)
    assert dead.acquire()
    DirectorySyncState.objects.filter(tenant=tailspin).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert sync_tenant(tailspin).ok
    with pytest.raises(SyncLockLost):
        dead.renew()


def test_p1_tenant_gets_last_sign_in_in_its_own_query(fabrikam, recording_client):
    client, session = recording_client(fabrikam)
    result = sync_tenant(fabrikam, client=client)
    fabrikam.refresh_from_db()
    assert fabrikam.has_entra_p1 and result.sign_ins == result.users
    sign_in_calls = [path for _, path in session.calls if "signInActivity" in path]
    assert sign_in_calls and all("$select=id,signInActivity" in path for path in sign_in_calls)
    main_calls = [path for _, path in session.calls if "userPrincipalName" in path]
    assert all("signInActivity" not in path for path in main_calls)
    with_activity = [
        u
        for u in SandboxUser.objects.filter(tenant=sandbox_tenant_of(fabrikam), deleted_datetime__isnull=True)
        if (u.properties.get("signInActivity") or {}).get("lastSignInDateTime")
    ]
    assert with_activity
    for user in with_activity[:20]:
        assert DirectoryUser.objects.get(tenant=fabrikam, user_id=user.id).last_sign_in is not None
    state = DirectorySyncState.objects.get(tenant=fabrikam)
    assert state.last_sign_in_sync_at and not state.sign_in_error
    # not due again within the hour: the next delta round does not re-read it
    assert sync_tenant(fabrikam).sign_ins is None


def test_tenant_without_p1_lists_and_never_asks_for_sign_ins(tailspin, recording_client):
    client, session = recording_client(tailspin)
    result = sync_tenant(tailspin, client=client, sign_ins=True)
    tailspin.refresh_from_db()
    assert not tailspin.has_entra_p1 and result.ok and result.users > 0 and result.sign_ins is None
    assert not any("signInActivity" in path for _, path in session.calls)


def test_sign_in_failure_is_recorded_without_failing_the_sync(tailspin, monkeypatch):
    # Pretend the licence check said P1: the sandbox then answers 403 for signInActivity, as Graph does.
    monkeypatch.setattr("users.sync.service.tenant_has_sign_in_activity", lambda tenant: True)
    result = sync_tenant(tailspin, sign_ins=True)
    assert result.ok and result.users > 0
    assert "premium" in result.sign_in_error.lower() and "403" in result.sign_in_error
    state = DirectorySyncState.objects.get(tenant=tailspin)
    assert state.sign_in_error == result.sign_in_error and state.last_sign_in_sync_at is None
    tailspin.refresh_from_db()
    assert tailspin.last_sync_status == "ok"
