"""Last sign-in per user, from ``signInActivity``: only tenants with Entra ID P1/P2, in its own query.

Graph refuses ``signInActivity`` with 403 for tenants without premium licences, and asking for it in the
main listing would make those tenants unlistable; it also caps such pages at 500 users. So it is a second,
separate pass after the directory is in the cache, and a failure here is recorded on the sync state without
failing the sync.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from graph.client import GraphClient
from tenants.models import Tenant
from users.models import DirectorySyncState, DirectoryUser

from .records import RecordError, last_sign_in, parse_user_id

logger = logging.getLogger(__name__)

SIGN_IN_PAGE_SIZE = 500  # Graph's maximum $top when signInActivity is selected
# Microsoft itself refreshes signInActivity with a delay of hours; re-reading it at every 15-minute sync
# would double the requests of large tenants for nothing.
SIGN_IN_REFRESH = timedelta(hours=1)


def tenant_has_sign_in_activity(tenant: Tenant) -> bool:
    return bool(tenant.has_entra_p1 or tenant.has_entra_p2)


def sign_ins_due(tenant: Tenant, state: DirectorySyncState) -> bool:
    if not tenant_has_sign_in_activity(tenant):
        return False
    last = state.last_sign_in_sync_at
    return last is None or timezone.now() - last >= SIGN_IN_REFRESH


def sync_sign_ins(tenant: Tenant, client: GraphClient, *, on_page=None) -> int:
    """Write ``last_sign_in`` for every cached user; returns how many rows were updated.

    Raises GraphError on failure (the caller records it). ``on_page`` is called after each page (the sync
    renews its lock there)."""
    updated = 0
    params = {"$select": "id,signInActivity", "$top": SIGN_IN_PAGE_SIZE}
    for page in client.iter_pages("/users", params=params):
        moments = {}
        for record in page:
            try:
                moments[parse_user_id(record.get("id"))] = last_sign_in(record.get("signInActivity"))
            except RecordError:
                continue
        rows = list(
            DirectoryUser.objects.filter(tenant=tenant, user_id__in=list(moments)).only("pk", "user_id")
        )
        for row in rows:
            row.last_sign_in = moments[row.user_id]
        DirectoryUser.objects.bulk_update(rows, ["last_sign_in"])
        updated += len(rows)
        if on_page is not None:
            on_page()
    return updated
