"""Starting, working, cancelling and tidying up bulk imports (the views and the Celery tasks call these).

``start`` turns a checked draft into a Job (kind BULK_ADD) and queues it after the transaction commits;
``work`` is the task's body: claim the Job (a lease, see users.actions.jobs.claim_job), re-check that the
technician may still create users in the tenant, run ``runner.Runner`` and finish the Job. A Job whose
worker died is picked up again by ``resume_stale`` (beat) or the Resume button: ``work`` resumes it where it
stopped, exactly once per row (see runner.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tenants.access import require_for_task
from users import audit
from users.actions import jobs as job_service
from users.models import BulkImport, BulkImportRow, Job

from . import store
from .runner import LeaseLost, Runner

logger = logging.getLogger(__name__)

Status = BulkImportRow.Status
PERMISSION = "users.edit"
DEFAULT_SECRET_TTL_HOURS = 24


def label_for(bulk_import: BulkImport, count: int) -> str:
    what = "guest invitation" if bulk_import.kind == BulkImport.Kind.GUESTS else "new user"
    return f"Bulk add: {count:,} {what}{'s' if count != 1 else ''} · {bulk_import.tenant.display_name}"


def start(bulk_import: BulkImport, request) -> Job:
    """Queue the run. Rows with problems must have been fixed or left out (the view checks)."""
    from .tasks import run_bulk_import

    with transaction.atomic():
        locked = BulkImport.objects.select_for_update().get(pk=bulk_import.pk)
        if locked.job_id:
            return locked.job
        rows = bulk_import.rows.exclude(status=Status.LEFT_OUT)
        count = rows.count()
        job = Job.objects.create(
            kind=Job.Kind.BULK_ADD, action_key=f"bulk-add-{bulk_import.kind}", label=label_for(bulk_import, count)[:200],
            tenant=bulk_import.tenant, created_by=request.user, source_ip=audit.client_ip(request),
            parameters={"import": bulk_import.pk, "kind": bulk_import.kind, "file": bulk_import.file_name},
            total=count,
        )  # fmt: skip
        rows.update(status=Status.PENDING, message="", updated_at=timezone.now())
        # Left-out rows never run: a typed password they held is not needed any more.
        bulk_import.rows.filter(status=Status.LEFT_OUT).update(password_for_worker="")
        BulkImport.objects.filter(pk=bulk_import.pk).update(job=job, updated_at=timezone.now())
        bulk_import.job = job
        audit.record(request, tenant=bulk_import.tenant, target=None, action=f"bulk-add-{bulk_import.kind}:start",
                     parameters={"import": bulk_import.pk, "rows": count, "file": bulk_import.file_name,
                                 "defaults": bulk_import.defaults},
                     result="queued", message=f"{count:,} row(s) queued.", job_id=job.pk)  # fmt: skip
        transaction.on_commit(lambda: run_bulk_import.delay(bulk_import.pk))
    return job


def work(
    import_id: int, *, stale: timedelta | None = None, client=None, concurrency_limit: int | None = None
) -> str:
    """The Celery task's body. Returns what happened, in a word (logged by the task)."""
    bulk_import = (
        BulkImport.objects.select_related("tenant", "tenant__connection", "job").filter(pk=import_id).first()
    )
    if bulk_import is None or bulk_import.job is None:
        return "no such import"
    job = bulk_import.job
    if job.is_finished:
        return "finished"
    lease = job_service.claim_job(job.pk, stale=stale)
    if lease is None:
        return "busy"
    try:
        technician, _ = require_for_task(job.created_by_id, PERMISSION, bulk_import.tenant)
    except PermissionDenied as error:
        return _refuse(bulk_import, job, str(error))
    runner = Runner(bulk_import, job, technician, lease, client=client, concurrency_limit=concurrency_limit)
    try:
        runner.run()
        runner._beat(force=True)  # still ours? (a worker that lost its lease must not finish the job)
    except LeaseLost:
        logger.warning("bulk import %s: another worker took over; this one stops", import_id)
        return "superseded"
    job.refresh_from_db()
    if job.cancel_requested:
        store.cancel_unsent(bulk_import)
    store.update_job_counts(job, bulk_import)
    job = job_service.finish_job(job)
    Job.objects.filter(pk=job.pk).update(parameters={**job.parameters, "batches": runner.outcome.batches,
                                                      "sub_requests": runner.outcome.sub_requests,
                                                      "throttled": runner.outcome.throttled})  # fmt: skip
    return job.status


def work_for_job(job_id: int) -> str:
    """``work`` for a Job id (the jobs page's Resume goes through users.tasks.run_action_job)."""
    import_id = BulkImport.objects.filter(job_id=job_id).values_list("pk", flat=True).first()
    return work(import_id) if import_id else "no such import"


def _refuse(bulk_import: BulkImport, job: Job, message: str) -> str:
    job.message = message
    job.save(update_fields=["message"])
    bulk_import.rows.filter(status=Status.PENDING).update(
        status=Status.CANCELLED, message=f"Not sent: {message}", password_for_worker=""
    )
    store.update_job_counts(job, bulk_import)
    job_service.finish_job(job)
    return "refused"


def request_cancel(bulk_import: BulkImport, request) -> int:
    """Ask the run to stop; a run that has not started yet is cancelled here. Returns rows not sent."""
    job = bulk_import.job
    if job is None or job.is_finished:
        return 0
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    cancelled = 0
    if job.status == Job.Status.QUEUED:
        cancelled = store.cancel_unsent(bulk_import)
        store.update_job_counts(job, bulk_import)
        job_service.finish_job(job)
    else:
        cancelled = bulk_import.rows.filter(status=Status.PENDING).count()
    audit.record(request, tenant=bulk_import.tenant, target=None, action=f"bulk-add-{bulk_import.kind}:cancel",
                 parameters={"import": bulk_import.pk}, result="success",
                 message=f"Cancel requested; {cancelled:,} row(s) not sent yet.", job_id=job.pk)  # fmt: skip
    return cancelled


def stale_jobs():
    """Bulk imports whose worker stopped beating, and queued ones whose task seems lost."""
    now = timezone.now()
    window = job_service.stale_after()
    return Job.objects.filter(kind=Job.Kind.BULK_ADD).filter(
        Q(status=Job.Status.RUNNING, heartbeat_at__lt=now - window)
        | Q(status=Job.Status.RUNNING, heartbeat_at__isnull=True)
        | Q(status=Job.Status.QUEUED, created_at__lt=now - window)
    )


def is_stale(job: Job) -> bool:
    return stale_jobs().filter(pk=job.pk).exists()


def secret_ttl() -> timedelta:
    return timedelta(hours=int(getattr(settings, "BULKADD_SECRET_TTL_HOURS", DEFAULT_SECRET_TTL_HOURS)))


def purge_secrets(now=None) -> int:
    """Erase what no one can use any more: sealed passwords of imports older than the key cookie's life,
    and passwords typed in files of drafts never run in that time. Returns the rows touched."""
    cutoff = (now or timezone.now()) - secret_ttl()
    old = BulkImport.objects.filter(created_at__lt=cutoff)
    rows = BulkImportRow.objects.filter(bulk_import__in=old).exclude(
        password_sealed="", password_for_worker=""
    )
    touched = rows.filter(bulk_import__job__isnull=True).exclude(password_for_worker="").count()
    for row in rows.filter(bulk_import__job__isnull=True).exclude(password_for_worker="").only("data"):
        row.data = {
            **row.data,
            "_password": "refused: The password typed in the file expired (not run within a day).",
        }
        row.save(update_fields=["data"])
    touched += rows.update(password_sealed="", password_for_worker="")
    old.filter(passwords_discarded_at__isnull=True, job__isnull=False).update(
        passwords_discarded_at=timezone.now(), passwords_discarded_how="expired"
    )
    return touched
