"""Jobs for actions: creating them (one JobItem per target) and working them (the Celery task's body).

Every run is recorded as a Job — inline runs too, so their per-user results can be downloaded as CSV and
the audit entries point at one run. The worker:
  * claims the job with a conditional UPDATE (queued, or running with a stale heartbeat), so a retried or
    duplicated task never works a job another live worker holds;
  * re-checks that the technician who queued it still may run the action (``require_for_task``);
  * works the unfinished items in chunks through the runner (one $batch round per chunk), recording each
    item as it finishes and beating the heartbeat; finished items are never redone, so a job whose worker
    died is resumed where it stopped; items that worker had sent without recording the answer are "in
    doubt": an action with ``already_done`` asks Graph first, so what took effect is not sent twice;
  * honours a cancel request between chunks: items not yet sent become "cancelled".
Nothing secret is stored: secret-producing actions never become background Jobs (the view refuses).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from tenants.access import require_for_task
from users import audit
from users.audit import strip_secrets
from users.models import DirectoryUser, Job, JobItem

from . import registry
from .registry import Action, Outcome, Status, Target
from .runner import TargetResult, run_action

logger = logging.getLogger(__name__)

CHUNK = 20  # one $batch call's worth of users per round
_ITEM_STATUS = {
    Status.SUCCESS: JobItem.Status.SUCCESS,
    Status.ACCEPTED: JobItem.Status.ACCEPTED,
    Status.FAILED: JobItem.Status.FAILED,
    Status.SKIPPED: JobItem.Status.SKIPPED,
}


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "ACTIONS_JOB_STALE_SECONDS", 180))


def job_parameters(data: dict) -> dict:
    return strip_secrets({k: v for k, v in (data or {}).items() if not str(k).startswith("_")})


def create_job(action: Action, users, data: dict, *, technician, source_ip: str | None, label: str,
               tenant=None, status: str = Job.Status.QUEUED) -> Job:  # fmt: skip
    """A Job with one pending item per user (``users``: DirectoryUser rows or a queryset of them)."""
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.ACTION, action_key=action.key, label=label[:200], tenant=tenant,
            created_by=technician, source_ip=source_ip, parameters=job_parameters(data), status=status,
            started_at=timezone.now() if status == Job.Status.RUNNING else None,
            heartbeat_at=timezone.now() if status == Job.Status.RUNNING else None,
        )  # fmt: skip
        items, seen = [], set()
        iterator = users.iterator(chunk_size=2000) if hasattr(users, "iterator") else iter(users)
        for user in iterator:
            key = f"{user.tenant.tenant_id}:{user.user_id}"
            if key in seen:
                continue
            seen.add(key)
            items.append(JobItem(
                job=job, key=key, position=len(items), tenant=user.tenant, target_user_id=user.user_id,
                target_upn=user.user_principal_name[:255], target_name=(user.display_name or "")[:256],
            ))  # fmt: skip
        JobItem.objects.bulk_create(items, batch_size=2000)
        job.total = len(items)
        job.save(update_fields=["total"])
    return job


def record_result(job: Job, item: JobItem, result: TargetResult) -> None:
    """Store one target's outcome on its item (never the secret) and count it on the job."""
    outcome = result.outcome
    item.status = _ITEM_STATUS.get(outcome.status, JobItem.Status.FAILED)
    item.message = outcome.message
    item.details = strip_secrets(outcome.details or {})
    item.request_ids = [str(r) for r in outcome.request_ids if r]
    item.save(update_fields=["status", "message", "details", "request_ids", "updated_at"])
    column = {JobItem.Status.FAILED: "failed", JobItem.Status.SKIPPED: "skipped"}.get(
        item.status, "succeeded"
    )
    Job.objects.filter(pk=job.pk).update(**{column: F(column) + 1}, heartbeat_at=timezone.now())


def finish_job(job: Job) -> Job:
    job.refresh_from_db()
    if job.status == Job.Status.CANCELLED or job.cancel_requested:
        status = Job.Status.CANCELLED
    elif job.failed and not (job.succeeded or job.skipped):
        status = Job.Status.FAILED
    elif job.failed or job.skipped:
        status = Job.Status.PARTIAL
    else:
        status = Job.Status.SUCCEEDED
    job.status = status
    job.finished_at = timezone.now()
    job.heartbeat_at = job.finished_at
    job.save(update_fields=["status", "finished_at", "heartbeat_at"])
    return job


def cancel_job(job: Job) -> int:
    """Ask the job to stop: its pending items become "cancelled" now; returns how many."""
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        cancelled = JobItem.objects.filter(job=job, status=JobItem.Status.PENDING).update(
            status=JobItem.Status.CANCELLED, message="Not sent: the job was cancelled."
        )
        if cancelled:
            Job.objects.filter(pk=job.pk).update(skipped=F("skipped") + cancelled)
    job.refresh_from_db()
    if job.status == Job.Status.QUEUED or not job.items.filter(status=JobItem.Status.RUNNING).exists():
        if not job.is_finished:
            finish_job(job)
    return cancelled


def is_stale(job: Job) -> bool:
    return (
        job.status == Job.Status.RUNNING
        and job.heartbeat_at is not None
        and job.heartbeat_at < timezone.now() - stale_after()
    )


def claim_job(job_id: int, *, stale: timedelta | None = None):
    """Take a job of any kind: queued, or running under a worker that stopped beating for ``stale``
    (default ``stale_after()``). Returns the heartbeat it wrote — the claim's lease, which a worker can
    renew conditionally to notice that another one took over — or None when someone else has the job."""
    now = timezone.now()
    claimable = Q(status=Job.Status.QUEUED) | Q(
        status=Job.Status.RUNNING, heartbeat_at__lt=now - (stale if stale is not None else stale_after())
    )
    claimable |= Q(status=Job.Status.RUNNING, heartbeat_at__isnull=True)
    claimed = Job.objects.filter(claimable, pk=job_id).update(
        status=Job.Status.RUNNING, heartbeat_at=now, started_at=Coalesce(F("started_at"), now)
    )
    return now if claimed else None


def _claim(job_id: int) -> bool:
    """Take the job: queued, or running under a worker that stopped beating. False: someone else has it."""
    return claim_job(job_id) is not None


def run_action_job(job_id: int) -> str:
    """The body of the Celery task ``users.tasks.run_action_job``."""
    job = Job.objects.filter(pk=job_id).select_related("created_by").first()
    if job is None:
        return "no such job"
    if job.is_finished:
        return "finished"
    action = registry.get(job.action_key)
    if action is None or action.secret_output:
        job.message = "This action is not available to the background worker."
        job.save(update_fields=["message"])
        _fail_remaining(job, job.message)
        finish_job(job)
        return "refused"
    if not _claim(job.pk):
        return "busy"
    try:
        technician, _ = require_for_task(job.created_by_id, action.permission)
    except PermissionDenied as error:
        job.message = str(error)
        job.save(update_fields=["message"])
        _fail_remaining(job, f"Not run: {error}")
        finish_job(job)
        return "refused"
    data, problem = job_data(action, job.parameters or {}, job)
    if problem:
        job.message = problem
        job.save(update_fields=["message"])
        _fail_remaining(job, f"Not run: {problem}")
        finish_job(job)
        return "refused"
    while True:
        job.refresh_from_db(fields=["cancel_requested"])
        if job.cancel_requested:
            cancel_job(job)
            break
        chunk = list(
            job.items.filter(status__in=(JobItem.Status.PENDING, JobItem.Status.RUNNING))
            .select_related("tenant", "tenant__connection")
            .order_by("position")[:CHUNK]
        )
        if not chunk:
            break
        _run_chunk(job, action, chunk, data, technician)
    finish_job(job)
    return job.status


def job_data(action: Action, parameters: dict, job: Job) -> tuple[dict, str]:
    """The action's inputs for the worker: the stored raw form values validated again by the action's
    form, so the handler gets exactly the types it gets in an inline run. Returns (data, problem)."""
    if action.form_class is None:
        return {}, ""
    raw = QueryDict(mutable=True)
    for name, value in parameters.items():
        raw.setlist(name, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    form = action.build_form(raw, tenant=job.tenant)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return {}, f"the saved inputs are no longer valid ({errors})"
    return dict(form.cleaned_data), ""


def run_items(job: Job, action: Action, items: list[JobItem], data: dict, technician, *, request=None,
              priority: str = "low") -> list[TargetResult]:  # fmt: skip
    """Run ``items`` of ``job`` through the runner, recording each. The view uses it for inline runs (with
    the request, so the audit has the technician's address); the worker for its chunks."""
    return _run_chunk(job, action, items, data, technician, request=request, priority=priority)


def _run_chunk(job, action, items, data, technician, *, request=None, priority="low") -> list[TargetResult]:
    # Items still "running" were sent by a worker that died before recording their answers: in doubt.
    in_doubt = {str(item.target_user_id) for item in items if item.status == JobItem.Status.RUNNING}
    JobItem.objects.filter(pk__in=[i.pk for i in items]).update(
        status=JobItem.Status.RUNNING, attempts=F("attempts") + 1
    )
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    users = _cached_users(items)
    targets: list[Target] = []
    by_target: dict[int, JobItem] = {}
    for item in items:
        user = users.get((item.tenant_id, str(item.target_user_id)))
        if user is None or item.tenant is None:
            gone = TargetResult(
                Target(tenant=item.tenant, user=_placeholder(item)),
                Outcome(
                    Status.SKIPPED, "Skipped: the user is no longer in the directory cache (deleted since?)."
                ),
            )
            record_result(job, item, gone)
            audit.record(request if request is not None else technician, tenant=item.tenant,
                         target=(item.target_user_id, item.target_upn), action=action.key,
                         parameters=job_parameters(data), result=Status.SKIPPED, message=gone.outcome.message,
                         job_id=job.pk, source_ip=job.source_ip)  # fmt: skip
            continue
        by_target[id(user)] = item
        targets.append(Target(tenant=item.tenant, user=user))

    def on_result(result: TargetResult) -> None:
        record_result(job, by_target[id(result.target.user)], result)

    return run_action(action, targets, data, technician=technician, request=request, source_ip=job.source_ip,
                      job_id=job.pk, on_result=on_result, priority=priority, in_doubt=in_doubt)  # fmt: skip


def _cached_users(items: list[JobItem]) -> dict:
    condition = Q(pk__in=[])
    for item in items:
        if item.tenant_id and item.target_user_id:
            condition |= Q(tenant_id=item.tenant_id, user_id=item.target_user_id)
    rows = DirectoryUser.objects.select_related("tenant", "tenant__connection").filter(condition)
    return {(row.tenant_id, str(row.user_id)): row for row in rows}


def _placeholder(item: JobItem) -> DirectoryUser:
    return DirectoryUser(user_id=item.target_user_id, user_principal_name=item.target_upn,
                         display_name=item.target_name)  # fmt: skip


def _fail_remaining(job: Job, message: str) -> None:
    open_items = job.items.filter(status__in=(JobItem.Status.PENDING, JobItem.Status.RUNNING))
    count = open_items.update(status=JobItem.Status.SKIPPED, message=message)
    if count:
        Job.objects.filter(pk=job.pk).update(skipped=F("skipped") + count)


def stale_jobs():
    return Job.objects.filter(
        kind=Job.Kind.ACTION, status=Job.Status.RUNNING, heartbeat_at__lt=timezone.now() - stale_after()
    )
