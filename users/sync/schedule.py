"""Which tenants the periodic sync should queue now.

A tenant is due when it is enabled, no sync holds its lock, and no sync was queued or started for it
within ``settings.USERS_SYNC_INTERVAL_MINUTES`` (``DirectorySyncState.last_attempt_at``). Claiming a tenant
sets ``last_attempt_at`` with a conditional UPDATE, so two beat processes (or a slow queue) never queue the
same tenant twice, and a tenant whose sync keeps failing is retried once per interval, not every minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from tenants.models import Tenant
from users.models import DirectorySyncState


def interval() -> timedelta:
    return timedelta(minutes=int(settings.USERS_SYNC_INTERVAL_MINUTES))


def _not_attempted_since(cutoff: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}last_attempt_at__isnull": True}) | Q(**{f"{prefix}last_attempt_at__lte": cutoff})


def _unlocked(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}locked_until__isnull": True}) | Q(**{f"{prefix}locked_until__lte": now})


def due_tenants(now: datetime | None = None) -> QuerySet[Tenant]:
    now = now or timezone.now()
    cutoff = now - interval()
    return (
        Tenant.objects.filter(enabled=True)
        .filter(
            Q(sync_state__isnull=True)
            | (_not_attempted_since(cutoff, "sync_state__") & _unlocked(now, "sync_state__"))
        )
        .order_by("pk")
    )


def claim(tenant: Tenant, now: datetime | None = None) -> bool:
    """Mark ``tenant`` as queued; False when someone else claimed it (or it started) meanwhile."""
    now = now or timezone.now()
    DirectorySyncState.objects.get_or_create(tenant=tenant)
    claimed = DirectorySyncState.objects.filter(
        _not_attempted_since(now - interval()), _unlocked(now), tenant=tenant
    ).update(last_attempt_at=now)
    return claimed == 1


def mark_requested(tenant: Tenant) -> None:
    """A technician pressed Refresh: shown as "Syncing…" until a worker finishes it."""
    now = timezone.now()
    DirectorySyncState.objects.get_or_create(tenant=tenant)
    DirectorySyncState.objects.filter(tenant=tenant).update(last_attempt_at=now)
    Tenant.objects.filter(pk=tenant.pk).update(last_sync_status=Tenant.SyncStatus.RUNNING)
    tenant.last_sync_status = Tenant.SyncStatus.RUNNING
