"""The Refresh button and the sync status it polls.

POST /users/sync/<tenant>/          queue a sync (permission sync.run, tenant in scope, CSRF); htmx gets
                                    the status partial back ("Syncing…", polling), a plain form post is
                                    redirected back with a message.
GET  /users/sync/<tenant>/status/   the status partial: polls every 2 s while a sync is queued or running,
                                    then shows "Last synced 12:03 (4,210 users)" or the error.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tenants.access import can, permission_required_for
from tenants.models import Tenant
from users import tasks
from users.models import DirectorySyncState
from users.sync import schedule
from users.sync.lock import is_locked

# A refresh queued longer ago than this without a worker starting it is reported, not polled forever.
QUEUED_PATIENCE = timedelta(minutes=10)


def sync_status_context(user, tenant: Tenant) -> dict:
    """What templates/users/sync_status.html needs (also usable by a page that includes the partial)."""
    tenant.refresh_from_db(fields=["last_sync_status", "last_sync_at", "last_sync_error"])
    state = DirectorySyncState.objects.filter(tenant=tenant).first()
    running = tenant.last_sync_status == Tenant.SyncStatus.RUNNING
    locked = is_locked(tenant)
    recent = bool(
        state and state.last_attempt_at and timezone.now() - state.last_attempt_at < QUEUED_PATIENCE
    )
    return {
        "tenant": tenant,
        "sync_state": state,
        "syncing": locked or (running and recent),
        "stuck": running and not locked and not recent,
        "can_sync": can(user, "sync.run", tenant),
    }


def first_sync_waiting(user, notices: list[dict]) -> dict:
    """For an empty table: the tenants in view still waiting for their first sync (from ``sync_notices``),
    each with its sync status, and whether one is queued or running (the table then polls itself, so the
    users appear when it finishes)."""
    tenants = [sync_status_context(user, n["tenant"]) for n in notices if n["kind"] == "never"]
    now = timezone.now()
    pending = any(
        t["syncing"]
        or bool(
            t["sync_state"]
            and t["sync_state"].last_attempt_at
            and now - t["sync_state"].last_attempt_at < QUEUED_PATIENCE
        )
        for t in tenants
    )
    return {"tenants": tenants, "pending": pending}


def _render_status(request, tenant: Tenant):
    return render(request, "users/sync_status.html", sync_status_context(request.user, tenant))


@require_POST
@permission_required_for("sync.run", tenant_kwarg="tenant")
def refresh(request, tenant: Tenant):
    full = request.POST.get("full") == "1"
    schedule.mark_requested(tenant)
    tasks.sync_tenant.delay(tenant.pk, full=full, requested_by=request.user.pk)
    if request.htmx:
        return _render_status(request, tenant)
    tenant.refresh_from_db(fields=["last_sync_status", "last_sync_error"])
    if tenant.last_sync_status == Tenant.SyncStatus.FAILED:
        messages.error(request, f"Sync of {tenant.display_name} failed: {tenant.last_sync_error}")
    elif tenant.last_sync_status == Tenant.SyncStatus.OK:
        messages.success(request, f"{tenant.display_name} is up to date.")
    else:
        messages.info(request, f"Sync of {tenant.display_name} started; the list updates when it finishes.")
    back = request.POST.get("next") or request.headers.get("referer") or ""
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = f"{resolve_url('users:list')}?tenant={tenant.slug}"
    return HttpResponseRedirect(back)


@require_GET
@permission_required_for("users.view", tenant_kwarg="tenant")
def status(request, tenant: Tenant):
    return _render_status(request, tenant)
