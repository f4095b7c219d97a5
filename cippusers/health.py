"""``/healthz``: database reachable, broker reachable. Used by docker-compose and load balancers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


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


@login_not_required
@never_cache
@require_GET
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value is None for value in checks.values())
    body = {
        "status": "ok" if healthy else "unhealthy",
        "checks": {name: ("ok" if error is None else f"failed: {error}") for name, error in checks.items()},
        "sandbox": settings.SANDBOX_ENABLED,
    }
    return JsonResponse(body, status=200 if healthy else 503)
