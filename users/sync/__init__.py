"""The directory cache's sync: Graph → DirectoryUser rows.

Entry points:
  * ``sync_tenant(tenant, *, full=False, client=None, sign_ins=None) -> SyncResult`` — a whole sync
    (the Celery task ``users.tasks.sync_tenant`` calls it);
  * ``apply_user_record(tenant, graph_user, *, partial=True) -> DirectoryUser`` and
    ``remove_user(tenant, user_id) -> bool`` — write-through after an action, so the table shows the
    change at once instead of after the next sync.

Modules: records (Graph dict → columns), store (bulk page writes), skus (TenantSku, licence names),
full / delta (the two kinds of round), signins (P1/P2 last sign-in), lock (one sync per tenant), service.
"""

from __future__ import annotations

from collections.abc import Mapping

from tenants.models import Tenant
from users.models import DirectoryUser

from .lock import SyncAlreadyRunning, SyncLockLost
from .records import USER_SELECT, RecordError
from .service import SyncResult, sync_tenant
from .skus import LicenceNamer
from .store import remove_users, upsert_records


def apply_user_record(tenant: Tenant, graph_user: Mapping, *, partial: bool = True) -> DirectoryUser:
    """Write one user as Graph returned it after an action (e.g. the PATCH body merged with the id, or a
    GET of the user). With ``partial`` the given properties are laid over the cached record; without it
    the record replaces it. Raises RecordError when ``graph_user`` has no valid id."""
    rows = upsert_records(tenant, [graph_user], LicenceNamer.for_tenant(tenant), partial=partial)
    if not rows:
        raise RecordError("the Graph user record has no valid id")
    return DirectoryUser.objects.get(pk=rows[0].pk)


def remove_user(tenant: Tenant, user_id) -> bool:
    """Drop a user from the cache (deleted in Graph). True when a row was removed."""
    return remove_users(tenant, [user_id]) > 0


__all__ = [
    "USER_SELECT",
    "RecordError",
    "SyncAlreadyRunning",
    "SyncLockLost",
    "SyncResult",
    "apply_user_record",
    "remove_user",
    "sync_tenant",
]
