"""One tenant's directory sync from start to finish: lock, licences, delta or full, sign-ins, status.

``sync_tenant`` is what the Celery task, the Refresh button (through the task) and the benchmarks call.
Graph failures never escape as exceptions: they are written to the tenant (``last_sync_status = failed``,
``last_sync_error``) and returned in the result, so the UI can say what went wrong.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import DatabaseError, connection
from django.utils import timezone

from graph.client import GraphClient
from graph.errors import BadRequestError, GoneError, GraphError
from tenants.models import Tenant
from users.models import DirectorySyncState, DirectoryUser

from .delta import delta_sync
from .full import full_sync
from .lock import SyncAlreadyRunning, TenantSyncLock, state_for
from .records import USER_SELECT
from .signins import sign_ins_due, sync_sign_ins, tenant_has_sign_in_activity
from .skus import refresh_tenant_skus

logger = logging.getLogger(__name__)

SELECT_FINGERPRINT = hashlib.sha256(",".join(USER_SELECT).encode()).hexdigest()[:16]


class CountingSession:
    """Wraps the client's requests.Session to count the HTTP requests one sync makes (retries included)."""

    def __init__(self, session) -> None:
        self._session = session
        self.count = 0

    def request(self, *args, **kwargs):
        self.count += 1
        return self._session.request(*args, **kwargs)


@dataclass
class SyncResult:
    tenant_id: str
    kind: str = ""  # "full" or "delta"
    full_reason: str = ""
    ok: bool = False
    error: str = ""
    users: int = 0  # rows in the cache afterwards
    changed: int = 0
    removed: int = 0
    requests: int = 0
    duration_ms: int = 0
    sign_ins: int | None = None  # rows updated, None when not run
    sign_in_error: str = ""


def describe_error(exc: GraphError) -> str:
    text = exc.message or exc.code or type(exc).__name__
    if exc.status:
        text = f"{text} (HTTP {exc.status}"
        text += f", request-id {exc.request_id})" if exc.request_id else ")"
    return text[:1000]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def full_sync_reason(state: DirectorySyncState, full: bool, graph_url: str = "") -> str:
    """Why this sync must list everything, or "" when a delta round will do."""
    if full:
        return "full sync requested"
    if not state.delta_link:
        return "first sync"
    if state.delta_select != SELECT_FINGERPRINT:
        return "the synced properties changed"
    if graph_url and _origin(state.delta_link) != _origin(graph_url):
        # The connection now points at another Graph endpoint (e.g. the demo sandbox on another port): the
        # client never sends a token to the old one, and that endpoint's changes mean nothing here anyway.
        return "the Graph endpoint changed"
    return ""


def _mark_running(tenant: Tenant, state: DirectorySyncState) -> None:
    now = timezone.now()
    tenant.last_sync_status = Tenant.SyncStatus.RUNNING
    Tenant.objects.filter(pk=tenant.pk).update(last_sync_status=tenant.last_sync_status)
    state.last_attempt_at = now
    DirectorySyncState.objects.filter(pk=state.pk).update(last_attempt_at=now)


def _finish(tenant: Tenant, result: SyncResult, fields: dict) -> None:
    now = timezone.now()
    if result.ok:
        tenant.last_sync_status, tenant.last_sync_at, tenant.last_sync_error = Tenant.SyncStatus.OK, now, ""
    else:
        tenant.last_sync_status, tenant.last_sync_error = Tenant.SyncStatus.FAILED, result.error
    Tenant.objects.filter(pk=tenant.pk).update(
        last_sync_status=tenant.last_sync_status,
        last_sync_at=tenant.last_sync_at,
        last_sync_error=tenant.last_sync_error,
    )
    fields.update(
        last_duration_ms=result.duration_ms,
        last_request_count=result.requests,
        user_count=DirectoryUser.objects.filter(tenant=tenant).count(),
    )
    result.users = fields["user_count"]
    DirectorySyncState.objects.filter(tenant=tenant).update(**fields)


def sync_tenant(
    tenant: Tenant,
    *,
    full: bool = False,
    client: GraphClient | None = None,
    sign_ins: bool | None = None,
) -> SyncResult:
    """Bring ``tenant``'s cache up to date. ``sign_ins``: None = when due (P1/P2 tenants, hourly),
    True = now if the tenant has P1/P2, False = skip. Raises SyncAlreadyRunning when another worker
    holds the tenant."""
    client = client or GraphClient.for_tenant(tenant, priority="low")
    counter = CountingSession(client.session)
    client.session = counter
    result = SyncResult(tenant_id=str(tenant.tenant_id))
    started = time.monotonic()
    lock = TenantSyncLock(tenant)
    if not lock.acquire():
        raise SyncAlreadyRunning(f"a sync of {tenant} is already running")
    fields: dict = {}
    try:
        state = state_for(tenant)
        _mark_running(tenant, state)
        try:
            _run(tenant, client, state, full, lock, result, fields)
            result.ok = True
        except GraphError as exc:
            result.error = describe_error(exc)
            logger.warning("directory sync of %s failed: %s", tenant, result.error)
        wanted = (
            sign_ins_due(tenant, state)
            if sign_ins is None
            else sign_ins and tenant_has_sign_in_activity(tenant)
        )
        if result.ok and wanted:
            _sign_ins(tenant, client, lock, result, fields)
        result.requests = counter.count
        result.duration_ms = int((time.monotonic() - started) * 1000)
        _finish(tenant, result, fields)
    except Exception:
        Tenant.objects.filter(pk=tenant.pk).update(
            last_sync_status=Tenant.SyncStatus.FAILED, last_sync_error="Internal error during the sync."
        )
        raise
    finally:
        lock.release()
        client.session = counter._session
    logger.info(
        "directory sync of %s: %s%s, %d changed, %d removed, %d requests, %d ms",
        tenant, result.kind, f" ({result.full_reason})" if result.full_reason else "",
        result.changed, result.removed, result.requests, result.duration_ms,
    )  # fmt: skip
    return result


def _run(tenant, client, state, full, lock, result: SyncResult, fields: dict) -> None:
    namer = refresh_tenant_skus(tenant, client)
    lock.renew()
    reason = full_sync_reason(state, full, client.graph_url)
    if not reason:
        try:
            link, result.changed, result.removed = delta_sync(
                tenant, client, namer, state.delta_link, on_page=lock.renew
            )
            result.kind = "delta"
            fields.update(delta_link=link, last_delta_sync_at=timezone.now())
            return
        except BadRequestError as exc:
            # 410 resyncRequired (expired) or 400 (a token Graph cannot read): start over with a full sync.
            verdict = "expired" if isinstance(exc, GoneError) else "refused"
            reason = f"delta link {verdict} (HTTP {exc.status} {exc.code})"
            logger.info("directory sync of %s: %s, running a full sync", tenant, reason)
    link, result.changed, result.removed = full_sync(tenant, client, namer, on_page=lock.renew)
    refresh_table_statistics(result.changed)
    result.kind, result.full_reason = "full", reason
    fields.update(
        delta_link=link,
        delta_select=SELECT_FINGERPRINT,
        last_full_sync_at=timezone.now(),
        last_full_sync_reason=reason[:255],
    )


# After a bulk load this large, PostgreSQL's visibility map and statistics lag behind: COUNT(*) has to
# visit every heap page and the planner misjudges the indexes until autovacuum comes round. A VACUUM
# ANALYZE of the cache table right away keeps the users table's pages index-only from the first view.
VACUUM_AFTER_ROWS = 5000


def refresh_table_statistics(rows_written: int) -> None:
    if rows_written < VACUUM_AFTER_ROWS or connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) users_directoryuser")
            cursor.execute("VACUUM (ANALYZE) users_directoryuserlicense")
    except DatabaseError as exc:  # e.g. not the table owner: the sync itself succeeded
        logger.warning("VACUUM ANALYZE after the sync failed: %s", exc)


def _sign_ins(tenant, client, lock, result: SyncResult, fields: dict) -> None:
    try:
        result.sign_ins = sync_sign_ins(tenant, client, on_page=lock.renew)
        fields.update(last_sign_in_sync_at=timezone.now(), sign_in_error="")
    except GraphError as exc:
        result.sign_in_error = describe_error(exc)
        fields["sign_in_error"] = result.sign_in_error
        logger.info("sign-in activity of %s not read: %s", tenant, result.sign_in_error)
