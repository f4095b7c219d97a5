"""One sync per tenant at a time, across every worker process and host.

The lock is a lease on the tenant's DirectorySyncState row, taken with one conditional UPDATE (atomic on
every database: the row is either free or expired, or the UPDATE matches nothing). The holder renews the
lease after each page; a worker that dies simply stops renewing, and the lease expires after
``LEASE_SECONDS`` so the tenant is not stuck.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from tenants.models import Tenant
from users.models import DirectorySyncState

# Long enough for the slowest single Graph page (with retries), short enough that a crashed worker's
# tenant is synced again within a few beat ticks.
LEASE_SECONDS = 300


class SyncAlreadyRunning(Exception):
    """Another worker holds this tenant's sync lock."""


class SyncLockLost(Exception):
    """Our lease expired and someone else took the tenant over: stop writing."""


def state_for(tenant: Tenant) -> DirectorySyncState:
    state, _ = DirectorySyncState.objects.get_or_create(tenant=tenant)
    return state


def _holder() -> str:
    # Host and pid say which worker holds it (useful when one hangs); the random part makes it unique.
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:64]


class TenantSyncLock:
    """``with TenantSyncLock(tenant) as lock: ... lock.renew()``; raises SyncAlreadyRunning on entry."""

    def __init__(self, tenant: Tenant, *, lease_seconds: int = LEASE_SECONDS) -> None:
        self.tenant = tenant
        self.lease = timedelta(seconds=lease_seconds)
        self.holder = _holder()
        self.held = False

    def acquire(self) -> bool:
        state_for(self.tenant)
        now = timezone.now()
        free = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
        taken = (
            DirectorySyncState.objects.filter(free, tenant=self.tenant)
            .update(locked_by=self.holder, locked_until=now + self.lease)
        )  # fmt: skip
        self.held = taken == 1
        return self.held

    def renew(self) -> None:
        """Extend the lease; raises SyncLockLost when it is no longer ours."""
        renewed = DirectorySyncState.objects.filter(tenant=self.tenant, locked_by=self.holder).update(
            locked_until=timezone.now() + self.lease
        )
        if renewed != 1:
            self.held = False
            raise SyncLockLost(f"the sync lock of {self.tenant} was taken over")

    def release(self) -> None:
        if self.held:
            DirectorySyncState.objects.filter(tenant=self.tenant, locked_by=self.holder).update(
                locked_by="", locked_until=None
            )
            self.held = False

    def __enter__(self) -> TenantSyncLock:
        if not self.acquire():
            raise SyncAlreadyRunning(f"a sync of {self.tenant} is already running")
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def is_locked(tenant: Tenant) -> bool:
    return DirectorySyncState.objects.filter(tenant=tenant, locked_until__gt=timezone.now()).exists()
