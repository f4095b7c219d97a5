"""Incremental sync: one delta round from the stored deltaLink.

A delta item is either a user that changed (its id plus, for an update, the properties that changed; for
a new user, the selected properties) or ``{"id", "@removed": {"reason": "changed"|"deleted"}}``. Both
reasons remove the row: "changed" is a soft delete (the user sits in the recycle bin for 30 days and would
come back as a change if restored), "deleted" a hard one. A deltaLink Graph no longer honours answers 410
(graph.errors.GoneError); the caller then runs a full sync.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from graph.client import GraphClient
from graph.errors import GraphError
from graph.services.users import delta_pages
from tenants.models import Tenant

from .records import USER_SELECT, RecordError, parse_user_id
from .skus import LicenceNamer
from .store import remove_users, upsert_records


def split_delta_page(page: list[dict]) -> tuple[list[dict], list[uuid.UUID]]:
    """(changed records, removed ids); an id listed twice in a page counts by its last entry."""
    last: dict[uuid.UUID, dict] = {}
    for item in page:
        try:
            last[parse_user_id(item.get("id"))] = item
        except RecordError:
            continue
    changed = [item for item in last.values() if "@removed" not in item]
    removed = [user_id for user_id, item in last.items() if "@removed" in item]
    return changed, removed


def delta_sync(
    tenant: Tenant,
    client: GraphClient,
    namer: LicenceNamer,
    delta_link: str,
    *,
    on_page: Callable[[], None] | None = None,
) -> tuple[str, int, int]:
    """Apply one delta round; returns (next deltaLink, users changed, users removed)."""
    pages = delta_pages(client, delta_link, USER_SELECT)
    changed = removed = 0
    for page in pages:
        updates, removals = split_delta_page(page)
        changed += len(upsert_records(tenant, updates, namer, partial=True))
        removed += remove_users(tenant, removals)
        if on_page is not None:
            on_page()
    if not pages.delta_link:
        raise GraphError("the delta round ended without a deltaLink", code="noDeltaLink")
    return pages.delta_link, changed, removed
