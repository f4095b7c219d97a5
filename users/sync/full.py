"""Full sync: list every user of the tenant into the cache, delete what is no longer there, and end with a
deltaLink for the incremental rounds that follow.

Order matters for correctness. The deltaLink is taken *first* (``$deltatoken=latest``, Graph's "sync from
now", supported for Entra ID resources such as users), then the users are listed with ``$top=999``. Any
change made while the listing runs is therefore replayed by the next delta round (re-applying a change
already seen is harmless: rows are upserted). Taking the link after the listing would lose those changes.

Why not enumerate through /users/delta itself: its page size is the service's choice (Graph's delta
ignores $top; ``Prefer: odata.maxpagesize`` is a hint), so a 100,000-user tenant can take ten times the
requests of /users?$top=999. One extra request for the link is the cheaper, predictable way.

Mark and sweep: every row the listing writes gets ``synced_at`` >= the start of the listing; rows left
older than that afterwards belong to users that no longer exist and are deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from graph.client import GraphClient
from graph.errors import GraphError
from graph.services.users import MAX_PAGE_SIZE, iter_user_pages
from tenants.models import Tenant

from .prefetch import can_prefetch, prefetched
from .records import USER_SELECT
from .skus import LicenceNamer
from .store import sweep_unseen, upsert_records


def latest_delta_link(client: GraphClient) -> str:
    """A deltaLink for "changes from now on", without reading any user (one request)."""
    body = client.get("/users/delta", params={"$select": ",".join(USER_SELECT), "$deltatoken": "latest"})
    link = body.get("@odata.deltaLink")
    if not link:
        raise GraphError("Graph returned no deltaLink for $deltatoken=latest", code="noDeltaLink")
    return link


def full_sync(
    tenant: Tenant,
    client: GraphClient,
    namer: LicenceNamer,
    *,
    on_page: Callable[[], None] | None = None,
    page_size: int = MAX_PAGE_SIZE,
    prefetch: bool | None = None,
) -> tuple[str, int, int]:
    """Returns (deltaLink, users written, stale rows deleted). ``prefetch`` (default: when outside a
    transaction, see users.sync.prefetch) downloads page N+1 while page N is being written."""
    delta_link = latest_delta_link(client)
    started_at = timezone.now()
    written = 0
    pages = iter_user_pages(client, USER_SELECT, page_size=page_size)
    if can_prefetch() if prefetch is None else prefetch:
        pages = prefetched(pages, depth=1)
    for page in pages:
        written += len(upsert_records(tenant, page, namer, partial=False))
        if on_page is not None:
            on_page()
    removed = sweep_unseen(tenant, started_at)
    return delta_link, written, removed
