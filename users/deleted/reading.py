"""The list of deleted users for one tenant or every tenant in a technician's scope.

Deleted users are not in the directory cache (the sync drops them), so the list is read live from Graph.
Several tenants are read in parallel (``DELETED_USERS_CONCURRENCY`` threads, at most ``MAX_TENANTS``
tenants) so the page stays fast; a tenant that cannot be read is named with the reason, never hidden.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from graph.client import GraphClient
from graph.errors import GraphError
from graph.services import deleted_users as service
from users.search_key import fold

RETENTION_DAYS = 30  # Microsoft keeps a deleted user this long, then removes it for good
MAX_TENANTS = 100  # All tenants: read at most this many tenants per page load
PER_TENANT_LIMIT = 2000


@dataclass
class DeletedUser:
    tenant: object
    user_id: str
    upn: str
    display_name: str
    mail: str
    user_type: str
    synced: bool
    deleted_at: datetime | None

    @property
    def purge_on(self) -> datetime | None:
        return self.deleted_at + timedelta(days=RETENTION_DAYS) if self.deleted_at else None

    @property
    def days_left(self) -> int | None:
        if self.purge_on is None:
            return None
        return max(0, (self.purge_on - timezone.now()).days)

    def matches(self, needle: str) -> bool:
        return needle in fold(" ".join([self.upn, self.display_name, self.mail, self.user_id]))


@dataclass
class TenantFailure:
    tenant: object
    reason: str


@dataclass
class DeletedListing:
    rows: list[DeletedUser]
    failures: list[TenantFailure]
    truncated: list[object]  # tenants with more deleted users than PER_TENANT_LIMIT
    skipped: int = 0  # tenants beyond MAX_TENANTS, not read


def to_row(tenant, item: dict) -> DeletedUser:
    deleted = parse_datetime(str(item.get("deletedDateTime") or "")) if item.get("deletedDateTime") else None
    return DeletedUser(
        tenant=tenant,
        user_id=str(item.get("id") or ""),
        upn=str(item.get("userPrincipalName") or ""),
        display_name=str(item.get("displayName") or ""),
        mail=str(item.get("mail") or ""),
        user_type=str(item.get("userType") or "Member"),
        synced=item.get("onPremisesSyncEnabled") is True,
        deleted_at=deleted,
    )


def concurrency() -> int:
    return max(1, int(getattr(settings, "DELETED_USERS_CONCURRENCY", 6)))


def read_deleted(tenants: list, *, search: str = "") -> DeletedListing:
    """Deleted users of ``tenants`` (already narrowed to the technician's scope), newest deletion first."""
    skipped = max(0, len(tenants) - MAX_TENANTS)
    tenants = tenants[:MAX_TENANTS]
    # Clients are built here, on the request's thread: building one reads the tenant's connection row.
    clients = [(tenant, GraphClient.for_tenant(tenant, priority="high")) for tenant in tenants]
    main = threading.get_ident()

    def read(pair):
        tenant, client = pair
        try:
            items, more = service.list_deleted_users(client, limit=PER_TENANT_LIMIT)
            return tenant, items, more, None
        except GraphError as error:
            return tenant, [], False, error.message
        finally:
            if threading.get_ident() != main:
                connections.close_all()  # token caching may have touched the database

    if len(clients) <= 1 or concurrency() == 1:
        results = [read(pair) for pair in clients]
    else:
        with ThreadPoolExecutor(
            max_workers=min(concurrency(), len(clients)), thread_name_prefix="deleted"
        ) as pool:
            results = list(pool.map(read, clients))
    needle = fold(search.strip())
    listing = DeletedListing(rows=[], failures=[], truncated=[], skipped=skipped)
    for tenant, items, more, error in results:
        if error is not None:
            listing.failures.append(TenantFailure(tenant, error))
            continue
        if more:
            listing.truncated.append(tenant)
        rows = [to_row(tenant, item) for item in items]
        listing.rows.extend(row for row in rows if not needle or row.matches(needle))
    oldest = timezone.now() - timedelta(days=3650)
    listing.rows.sort(key=lambda row: (row.deleted_at or oldest, row.upn), reverse=True)
    return listing
