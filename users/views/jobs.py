"""Jobs pages: /jobs/ (your runs; Admins see everyone's), /jobs/<id>/ (progress, polled by htmx every
1.5 s while the job runs), cancel, resume (a job whose worker died) and the per-user results as CSV.

A technician sees only the jobs they started; Admins see all. Anyone else gets 404 for a job id, so ids
reveal nothing.
"""

from __future__ import annotations

import csv

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from tenants.access import Role, role_of, sees_every_tenant, visible_tenants
from tenants.ui import htmx_partial, toast

from ..actions import jobs as job_service
from ..export import neutralise
from ..models import Job, JobItem

ITEMS_SHOWN = 500
STATUS_ICON = {
    JobItem.Status.PENDING: "hourglass", JobItem.Status.RUNNING: "arrow-repeat",
    JobItem.Status.SUCCESS: "check-circle-fill", JobItem.Status.ACCEPTED: "clock-history",
    JobItem.Status.FAILED: "x-octagon-fill", JobItem.Status.SKIPPED: "dash-circle",
    JobItem.Status.CANCELLED: "slash-circle",
}  # fmt: skip


def _sees_all(user) -> bool:
    return role_of(user).key == Role.ADMIN


def _within_scope(user, jobs):
    """Only jobs whose every tenant the technician still sees: losing a tenant also hides the jobs run on
    it earlier, even one's own, since their rows name that tenant's users."""
    if sees_every_tenant(user):
        return jobs
    visible = visible_tenants(user)
    outside = JobItem.objects.filter(job=OuterRef("pk"), tenant__isnull=False).exclude(tenant__in=visible)
    return jobs.filter(Q(tenant__isnull=True) | Q(tenant__in=visible)).exclude(Exists(outside))


def _visible_jobs(user):
    """Your own jobs; Admins also everyone's; in both cases only on tenants the technician sees (a job
    spanning several tenants only when every one of them is in scope)."""
    jobs = Job.objects.select_related("tenant", "created_by")
    if not _sees_all(user):
        jobs = jobs.filter(created_by=user)
    return _within_scope(user, jobs)


def _job(request, pk: int) -> Job:
    job = _visible_jobs(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such job.")
    return job


@require_GET
def job_list(request):
    page = Paginator(_visible_jobs(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "users/jobs/list.html", {"page": page, "sees_all": _sees_all(request.user)})


def _progress_context(job: Job) -> dict:
    items = list(job.items.order_by("position")[:ITEMS_SHOWN])
    for item in items:
        item.icon = STATUS_ICON.get(item.status, "circle")
    return {
        "job": job,
        "items": items,
        "more_items": max(0, job.total - len(items)),
        "stale": job_service.is_stale(job),
        "pending": job.items.filter(status=JobItem.Status.PENDING).count() if not job.is_finished else 0,
        "csv_url": reverse("jobs:results-csv", args=[job.pk]),
    }


@require_GET
def job_detail(request, pk: int):
    job = _job(request, pk)
    if job.kind == Job.Kind.BULK_ADD:  # a bulk import has its own progress page (users/bulkadd)
        from users.bulkadd.views_run import job_redirect

        target = job_redirect(job)
        if target:
            return redirect(target)
    context = _progress_context(job)
    if htmx_partial(request):
        response = render(request, "users/jobs/detail.html#job-progress", context)
        if job.is_finished:
            # Stop polling; the page's users may have changed, so say it once.
            trigger_client_event(response, "jobFinished", {"id": job.pk})
        return response
    return render(request, "users/jobs/detail.html", context)


@require_POST
def job_cancel(request, pk: int):
    job = _job(request, pk)
    if job.kind == Job.Kind.BULK_ADD:  # its rows, not JobItems: the bulk import cancels them (users/bulkadd)
        from users.bulkadd.views_run import cancel_job_of

        return cancel_job_of(request, job)
    cancelled = 0 if job.is_finished else job_service.cancel_job(job)
    url = reverse("jobs:detail", args=[job.pk])
    if htmx_partial(request):
        job.refresh_from_db()
        response = render(request, "users/jobs/detail.html#job-progress", _progress_context(job))
        return toast(response, f"Cancelled: {cancelled} user{'s' if cancelled != 1 else ''} will not be changed.",
                     "warning")  # fmt: skip
    return redirect(url)


@require_POST
def job_resume(request, pk: int):
    """Re-queue a job whose worker stopped (the worker skips every item that already finished)."""
    job = _job(request, pk)
    if job.status == Job.Status.QUEUED or job_service.is_stale(job):
        from users.tasks import run_action_job

        transaction.on_commit(lambda: run_action_job.delay(job.pk))
    return redirect(reverse("jobs:detail", args=[job.pk]))


class _Echo:
    def write(self, value):
        return value


@require_GET
def job_results_csv(request, pk: int):
    job = _job(request, pk)
    writer = csv.writer(_Echo())
    header = ["user", "display name", "tenant", "status", "message", "request ids", "user id"]

    def rows():
        yield "\ufeff" + writer.writerow(header)  # BOM: Excel opens it as UTF-8
        for item in job.items.select_related("tenant").order_by("position").iterator(chunk_size=2000):
            yield writer.writerow([
                _cell(item.target_upn), _cell(item.target_name),
                _cell(item.tenant.display_name if item.tenant else ""), item.get_status_display(),
                _cell(item.message), " ".join(item.request_ids or []), str(item.target_user_id or ""),
            ])  # fmt: skip

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-results.csv"'
    return response


def _cell(value: str) -> str:
    return neutralise(str(value or ""))  # spreadsheets would run formulas in text from the directory


__all__ = ["job_cancel", "job_detail", "job_list", "job_results_csv", "job_resume"]
