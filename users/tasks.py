"""Celery tasks of the directory cache. Thin: load the row, check who asked, call users.sync."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import PermissionDenied

from tenants.access import require_for_task
from tenants.models import Tenant
from users import sync

# Bulk add users / invite guests (users/bulkadd): importing its tasks here registers them with the worker.
from users.bulkadd.tasks import resume_stale_bulk_imports, run_bulk_import  # noqa: F401

# Compromise research tasks live with their feature; importing them here registers them with the worker.
from users.research.tasks import run_remediation_job, run_research_job  # noqa: F401
from users.sync import schedule

logger = logging.getLogger(__name__)


@shared_task(name="users.tasks.sync_tenant", ignore_result=True)
def sync_tenant(tenant_id: int, full: bool = False, requested_by: int | None = None) -> str:
    """Sync one tenant (primary key). ``requested_by``: the technician who pressed Refresh, re-checked
    here because their role or scope may have changed since the task was queued."""
    if requested_by is not None:
        try:
            require_for_task(requested_by, "sync.run", tenant_id)
        except PermissionDenied as exc:
            logger.warning("sync of tenant %s refused: %s", tenant_id, exc)
            return "refused"
    tenant = Tenant.objects.select_related("connection").filter(pk=tenant_id, enabled=True).first()
    if tenant is None:
        return "no such tenant"
    try:
        result = sync.sync_tenant(tenant, full=full)
    except sync.SyncAlreadyRunning:
        return "already running"
    return "ok" if result.ok else "failed"


@shared_task(name="users.tasks.sync_due_tenants", ignore_result=True)
def sync_due_tenants() -> int:
    """Every minute (beat): queue a sync for each tenant due one; returns how many were queued."""
    queued = 0
    for tenant in schedule.due_tenants():
        if schedule.claim(tenant):
            sync_tenant.delay(tenant.pk)
            queued += 1
    return queued


@shared_task(name="users.tasks.run_action_job", ignore_result=True, acks_late=True)
def run_action_job(job_id: int) -> str:
    """Work one action Job (users.actions.jobs): idempotent, resumable, re-checks the technician's rights.
    Compromise research and remediation Jobs (kind RESEARCH) are handed to users.research.tasks, so the jobs
    page's Resume works for them too."""
    from users.actions.jobs import run_action_job as work
    from users.models import Job
    from users.research import tasks as research

    if Job.objects.filter(pk=job_id, kind=Job.Kind.RESEARCH).exists():
        return research.work(job_id)
    if Job.objects.filter(pk=job_id, kind=Job.Kind.BULK_ADD).exists():  # the jobs page's Resume
        from users.bulkadd.service import work_for_job

        return work_for_job(job_id)
    return work(job_id)


@shared_task(name="users.tasks.resume_stale_action_jobs", ignore_result=True)
def resume_stale_action_jobs() -> int:
    """Beat: re-queue action Jobs whose worker stopped beating (killed, redeployed); returns how many."""
    from users.actions.jobs import stale_jobs
    from users.research.tasks import stale_jobs as stale_research_jobs

    ids = list(stale_jobs().values_list("pk", flat=True))
    ids += list(stale_research_jobs().values_list("pk", flat=True))
    for job_id in ids:
        run_action_job.delay(job_id)
    return len(ids)
