"""Health endpoints used by docker-compose, load balancers and monitoring.

``/healthz/live``: the process answers (container liveness; restarting the web container cannot fix a
database or a worker, so liveness checks nothing else). ``/healthz``: readiness of the whole service —
database, broker, and that every Celery queue has a worker that beat recently.

Workers beat from a thread started on ``worker_ready`` (``cippusers.celery``): every
WORKER_HEARTBEAT_INTERVAL_SECONDS they write their hostname into one cache key per queue they consume, so
the key of a queue always holds its freshest beat. The check applies only with a real broker: with eager
tasks or the demo's file-system broker the worker is embedded (same machine, started by ``make run``) and
its cache is not shared with the web process, so there is nothing meaningful to read.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_QUEUE_KEY = "cippusers:heartbeat:queue:{}"
BEAT_KEY = "cippusers:heartbeat:beat"
# Long enough that a stopped worker shows as "beat 2 hours ago" rather than as "never".
_KEY_TTL_SECONDS = 24 * 3600
_EMBEDDED_SCHEMES = ("filesystem", "memory")


def worker_mode() -> str:
    """``"embedded"`` when workers are not separate machines that share our cache, else ``"checked"``."""
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return "embedded"
    scheme = (settings.CELERY_BROKER_URL or "").split("://", 1)[0].lower()
    return "embedded" if scheme in _EMBEDDED_SCHEMES else "checked"


def record_worker_heartbeat(hostname: str, queues, now: float | None = None) -> None:
    beat = {"hostname": hostname, "at": time.time() if now is None else now}
    cache.set_many({_QUEUE_KEY.format(queue): beat for queue in queues}, timeout=_KEY_TTL_SECONDS)


def record_beat_heartbeat(now: float | None = None) -> None:
    cache.set(BEAT_KEY, time.time() if now is None else now, timeout=_KEY_TTL_SECONDS)


def queue_heartbeats(queues, now: float | None = None) -> dict[str, dict | None]:
    """Freshest beat per queue: ``{"age_seconds", "hostname"}``, or None when no worker ever beat."""
    now = time.time() if now is None else now
    found = cache.get_many([_QUEUE_KEY.format(queue) for queue in queues])
    result: dict[str, dict | None] = {}
    for queue in queues:
        beat = found.get(_QUEUE_KEY.format(queue))
        result[queue] = (
            None
            if beat is None
            else {"age_seconds": round(max(0.0, now - beat["at"]), 1), "hostname": beat["hostname"]}
        )
    return result


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy; the type is reported
        return type(exc).__name__
    return None


def _check_broker() -> str | None:
    from cippusers.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__
    return None


def _check_workers() -> tuple[str | None, dict | None]:
    """(error, per-queue report). Every queue needs a live worker: a queue nobody consumes means its tasks
    wait forever (clicks for ``interactive``, imports for ``bulk``, directory syncs for ``sync``)."""
    if isinstance(caches["default"], LocMemCache | DummyCache):
        # Workers would beat into their own process's memory: say why instead of "no worker beat".
        return "heartbeats need a shared cache (set REDIS_URL)", None
    try:
        beats = queue_heartbeats(settings.WORKER_QUEUES)
    except Exception as exc:  # noqa: BLE001 - the cache (Redis) is down: no heartbeat can be read
        return f"heartbeats unreadable ({type(exc).__name__})", None
    limit = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
    stale = [queue for queue, beat in beats.items() if beat is None or beat["age_seconds"] > limit]
    if stale:
        return f"no worker beat within {limit}s on {', '.join(stale)}", beats
    return None, beats


@login_not_required
@never_cache
@require_GET
def liveness(request):
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    body_checks = {name: ("ok" if error is None else f"failed: {error}") for name, error in checks.items()}
    queues = None
    if worker_mode() == "embedded":
        body_checks["workers"] = "embedded"
    else:
        error, queues = _check_workers()
        checks["workers"] = error
        body_checks["workers"] = "ok" if error is None else f"failed: {error}"
    healthy = all(value is None for value in checks.values())
    body = {
        "status": "ok" if healthy else "unhealthy",
        "checks": body_checks,
        "sandbox": settings.SANDBOX_ENABLED,
    }
    if queues is not None:
        body["queues"] = queues
    return JsonResponse(body, status=200 if healthy else 503)
