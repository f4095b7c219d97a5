"""The research and remediation Jobs: creating them and working them (the bodies of the Celery tasks).

Both are ``Job(kind=RESEARCH)`` rows, told apart by ``action_key``; the Job row and its items are the single
source of truth for progress (the report page polls it):

* a **research** job has one item per evidence source; the worker reads every source (users.research.gather),
  records each source's outcome on its item as it finishes (the outcome itself is kept in the item's details
  until the report is written, so a resumed job only reads the sources that had not finished), then judges
  the whole and writes the tenant+user's CompromiseReport;
* a **remediation** job has one item per chosen step; the worker runs them in order (users.research.remediate),
  records and audits each, and then starts a new research job so the report shows the state afterwards.

Like action jobs, a worker claims its job with a conditional UPDATE (queued, or running with a stale
heartbeat), re-checks the technician's rights (``require_for_task``), beats the heartbeat, skips finished
items when resumed and honours cancel requests between items.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from graph.client import GraphClient
from graph.exchange import ExchangeClient
from tenants.access import require_for_task
from users.audit import strip_secrets
from users.models import CompromiseReport, DirectoryUser, Job, JobItem

from ..actions import jobs as job_service
from ..actions.registry import Outcome, Status, Target
from ..actions.runner import TargetResult, build_context
from . import assemble, gather, remediate
from .sources import SOURCES, SourceContext

logger = logging.getLogger(__name__)

PERMISSION = "users.actions.helpdesk"  # research and remediation (each step also needs its own permission)
RESEARCH = "research"
REMEDIATE = "research-remediate"
DEFAULT_WINDOW = 7
MAX_WINDOW = 30


# --- creating -----------------------------------------------------------------------------------------------------


def report_for(tenant, user_id, upn: str = "", display_name: str = "") -> CompromiseReport:
    report, created = CompromiseReport.objects.get_or_create(
        tenant=tenant, user_id=user_id, defaults={"user_principal_name": upn, "display_name": display_name}
    )
    if not created and upn and (report.user_principal_name != upn or report.display_name != display_name):
        report.user_principal_name, report.display_name = upn, display_name
        report.save(update_fields=["user_principal_name", "display_name", "updated_at"])
    return report


def active_job(job: Job | None) -> Job | None:
    """The job when it is still working (queued or running with a live heartbeat), else None."""
    if job is None or job.is_finished or job_service.is_stale(job):
        return None
    return job


def start_research(tenant, user_id, upn: str, display_name: str, *, window_days: int, technician,
                   source_ip: str | None) -> Job:  # fmt: skip
    """Create the research job for one user (or return the one already running) and queue it after commit."""
    window_days = max(1, min(MAX_WINDOW, int(window_days or DEFAULT_WINDOW)))
    with transaction.atomic():
        report = report_for(tenant, user_id, upn, display_name)
        report = (
            CompromiseReport.objects.select_for_update(of=("self",)).select_related("job").get(pk=report.pk)
        )
        running = active_job(report.job)
        if running is not None:
            return running
        if report.job is not None and not report.job.is_finished:
            job_service.cancel_job(report.job)  # its worker stopped: this run replaces it
        until = timezone.now()
        job = Job.objects.create(
            kind=Job.Kind.RESEARCH, action_key=RESEARCH, tenant=tenant, created_by=technician,
            source_ip=source_ip, label=f"Research compromised account: {upn} ({tenant.display_name})"[:200],
            parameters={"report_id": report.pk, "user_id": str(user_id), "upn": upn, "window_days": window_days,
                        "until": until.isoformat()},
        )  # fmt: skip
        JobItem.objects.bulk_create([
            JobItem(job=job, key=source.key, position=index, tenant=tenant, target_user_id=user_id,
                    target_upn=upn[:255], target_name=source.title)
            for index, source in enumerate(SOURCES)
        ])  # fmt: skip
        job.total = len(SOURCES)
        job.save(update_fields=["total"])
        report.job = job
        report.requested_by = technician
        report.save(update_fields=["job", "requested_by", "updated_at"])
    transaction.on_commit(lambda: run_research_job.delay(job.pk))
    return job


def start_remediation(report: CompromiseReport, steps: list[str], *, rules_mode: str, technician,
                      source_ip: str | None) -> Job:  # fmt: skip
    """A remediation job with one item per chosen step (in the steps' own order), queued after commit. The
    rules and consents to act on are the ones the report flagged, as the confirmation listed them."""
    chosen = [s for s in remediate.STEPS if s.key in set(steps)]
    parameters = {
        "report_id": report.pk, "user_id": str(report.user_id), "upn": report.user_principal_name,
        "steps": [s.key for s in chosen], "rules_mode": rules_mode,
        "rule_ids": [r["identity"] for r in remediate.suspicious_rules(report)],
        "rule_names": [r["name"] for r in remediate.suspicious_rules(report)],
        "grants": remediate.suspicious_grants(report), "window_days": report.window_days,
    }  # fmt: skip
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.RESEARCH, action_key=REMEDIATE, tenant=report.tenant, created_by=technician,
            source_ip=source_ip, parameters=strip_secrets(parameters), total=len(chosen),
            label=f"Remediate compromised account: {report.user_principal_name} ({report.tenant.display_name})"[:200],
        )  # fmt: skip
        JobItem.objects.bulk_create([
            JobItem(job=job, key=step.key, position=index, tenant=report.tenant, target_user_id=report.user_id,
                    target_upn=report.user_principal_name[:255], target_name=step.label)
            for index, step in enumerate(chosen)
        ])  # fmt: skip
        CompromiseReport.objects.filter(pk=report.pk).update(remediation_job=job, updated_at=timezone.now())
    transaction.on_commit(lambda: run_remediation_job.delay(job.pk))
    return job


# --- working ------------------------------------------------------------------------------------------------------


def _claim(job_id: int) -> bool:
    now = timezone.now()
    claimable = Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__isnull=True)
    claimable |= Q(status=Job.Status.RUNNING, heartbeat_at__lt=now - job_service.stale_after())
    return bool(Job.objects.filter(claimable, pk=job_id).update(
        status=Job.Status.RUNNING, heartbeat_at=now, started_at=Coalesce(F("started_at"), now)
    ))  # fmt: skip


def _refuse(job: Job, message: str) -> str:
    job.message = message
    job.save(update_fields=["message"])
    open_items = job.items.filter(status__in=(JobItem.Status.PENDING, JobItem.Status.RUNNING))
    count = open_items.update(status=JobItem.Status.SKIPPED, message=f"Not run: {message}")
    if count:
        Job.objects.filter(pk=job.pk).update(skipped=F("skipped") + count)
    job_service.finish_job(job)
    return "refused"


def _open(job_id: int, action_key: str):
    """(job, technician) ready to work, or (None, why not)."""
    job = Job.objects.filter(pk=job_id, kind=Job.Kind.RESEARCH, action_key=action_key).select_related(
        "tenant", "tenant__connection", "created_by").first()  # fmt: skip
    if job is None:
        return None, "no such job"
    if job.is_finished:
        return None, "finished"
    if not _claim(job.pk):
        return None, "busy"
    try:
        technician, _ = require_for_task(job.created_by_id, PERMISSION, job.tenant_id)
    except PermissionDenied as error:
        return None, _refuse(job, str(error))
    return (job, technician), ""


def _record(job: Job, item: JobItem, outcome: Outcome, user) -> None:
    job_service.record_result(job, item, TargetResult(Target(job.tenant, user), outcome))


def _placeholder(job: Job) -> DirectoryUser:
    params = job.parameters or {}
    return DirectoryUser(user_id=params.get("user_id"), user_principal_name=params.get("upn") or "")


def work_research(job_id: int) -> str:
    opened, why = _open(job_id, RESEARCH)
    if opened is None:
        return why
    job, _technician = opened
    params = job.parameters or {}
    until = datetime.fromisoformat(params["until"])
    since = until - timedelta(days=int(params.get("window_days") or DEFAULT_WINDOW))
    items = {item.key: item for item in job.items.all()}
    done = {key: item.details["outcome"] for key, item in items.items()
            if item.status in JobItem.FINISHED and isinstance(item.details.get("outcome"), dict)}  # fmt: skip
    ctx = SourceContext(
        tenant=job.tenant, graph=GraphClient.for_tenant(job.tenant, priority="high"),
        exchange=ExchangeClient.for_tenant(job.tenant, priority="high"), user_id=str(params["user_id"]),
        upn=params.get("upn") or "", since=since, until=until, raw={},
    )  # fmt: skip
    placeholder = _placeholder(job)

    def on_done(outcome: dict) -> None:
        item = items.get(outcome["key"])
        if item is None or Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
            return  # cancelled from the jobs page: its open items are already marked as not run
        ok = outcome["status"] != gather.UNAVAILABLE
        message = (f"{outcome['count']} found" if outcome["status"] == gather.OK else outcome["reason"]) if ok \
            else f"Could not check: {outcome['reason']}"  # fmt: skip
        _record(job, item, Outcome(Status.SUCCESS if ok else Status.FAILED, message,
                                   request_ids=[outcome["request_id"]] if outcome.get("request_id") else [],
                                   details={"outcome": outcome}), placeholder)  # fmt: skip

    outcomes = gather.gather(ctx, done=done, on_done=on_done)
    job.refresh_from_db()
    if job.cancel_requested or job.status == Job.Status.CANCELLED:
        job_service.finish_job(job)
        return "cancelled"
    report = CompromiseReport.objects.get(pk=params["report_id"])
    row = DirectoryUser.objects.filter(tenant=job.tenant, user_id=params["user_id"]).first()
    sections, summary = assemble.assemble(outcomes, tenant=job.tenant, user_id=str(params["user_id"]),
                                          upn=params.get("upn") or "", since=since, until=until,
                                          usage_location=row.usage_location if row else "")  # fmt: skip
    report.sections, report.verdict = sections, summary
    report.gathered_at, report.window_days = timezone.now(), int(params.get("window_days") or DEFAULT_WINDOW)
    report.save(update_fields=["sections", "verdict", "gathered_at", "window_days", "updated_at"])
    # The rows now live in the report: keep only the outcome's status on the items.
    for item in job.items.all():
        outcome = (item.details or {}).get("outcome") or {}
        item.details = {"status": outcome.get("status", ""), "count": outcome.get("count", 0)}
        item.save(update_fields=["details", "updated_at"])
    job_service.finish_job(job)
    return job.status


def work_remediation(job_id: int) -> str:
    opened, why = _open(job_id, REMEDIATE)
    if opened is None:
        return why
    job, technician = opened
    params = job.parameters or {}
    step_params = {
        "disable-rules": {"rules_mode": params.get("rules_mode") or remediate.RULES_SUSPICIOUS,
                          "rule_ids": params.get("rule_ids") or [], "rules": params.get("rule_names") or []},
        "revoke-grants": {"grants": params.get("grants") or []},
    }  # fmt: skip
    ctx = build_context(job.tenant, technician, source_ip=job.source_ip, job_id=job.pk, priority="high")
    while True:
        job.refresh_from_db(fields=["cancel_requested"])
        if job.cancel_requested:
            job_service.cancel_job(job)
            break
        item = job.items.filter(status__in=(JobItem.Status.PENDING, JobItem.Status.RUNNING)).order_by(
            "position").first()  # fmt: skip
        if item is None:
            break
        JobItem.objects.filter(pk=item.pk).update(status=JobItem.Status.RUNNING, attempts=F("attempts") + 1)
        Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
        # Read the cache row for every step: the previous one may have changed it (blocked, ...).
        user = DirectoryUser.objects.select_related("tenant").filter(tenant=job.tenant,
                                                                     user_id=params["user_id"]).first()  # fmt: skip
        step = remediate.BY_KEY.get(item.key)
        if user is None or step is None:
            why = "the user is no longer in the directory cache" if user is None else "unknown step"
            _record(job, item, Outcome(Status.SKIPPED, f"Skipped: {why}."), user or _placeholder(job))
            continue
        outcome = remediate.run_step(step, ctx, Target(job.tenant, user), step_params.get(step.key, {}),
                                     technician=technician, job_id=job.pk, source_ip=job.source_ip)  # fmt: skip
        _record(job, item, outcome, user)
    job = job_service.finish_job(job)
    if job.status != Job.Status.CANCELLED:
        _regather(job, technician)
    return job.status


def _regather(job: Job, technician) -> None:
    """After remediation: gather again so the report shows the account as it is now."""
    params = job.parameters or {}
    report = CompromiseReport.objects.filter(pk=params.get("report_id")).select_related("tenant").first()
    if report is None:
        return
    start_research(report.tenant, report.user_id, report.user_principal_name, report.display_name,
                   window_days=report.window_days, technician=technician, source_ip=job.source_ip)  # fmt: skip


def stale_jobs():
    return Job.objects.filter(kind=Job.Kind.RESEARCH, status=Job.Status.RUNNING,
                              heartbeat_at__lt=timezone.now() - job_service.stale_after())  # fmt: skip


def work(job_id: int) -> str:
    """Work a RESEARCH-kind job, whichever it is (the jobs page's Resume and the stale-job beat call this)."""
    key = Job.objects.filter(pk=job_id).values_list("action_key", flat=True).first()
    if key == REMEDIATE:
        return work_remediation(job_id)
    return work_research(job_id)


@shared_task(name="users.research.run_research_job", ignore_result=True, acks_late=True)
def run_research_job(job_id: int) -> str:
    return work_research(job_id)


@shared_task(name="users.research.run_remediation_job", ignore_result=True, acks_late=True)
def run_remediation_job(job_id: int) -> str:
    return work_remediation(job_id)
