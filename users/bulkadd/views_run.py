"""Bulk add pages, during and after the run: progress (htmx polls the Job row every 1.5 s: counts, bar,
throughput, time left, each row's status as it changes), cancel, resume, the results with Graph's message
per row, the results CSV (no passwords: kept for the audit), and the passwords — shown on the results page
and downloadable once, opened with the key only the technician's browser holds (users.bulkadd.sealed),
then erased.
"""

from __future__ import annotations

import csv
import io

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from users import audit
from users.export import neutralise, stream_csv
from users.models import BulkImport, BulkImportRow, Job

from . import access, sealed, service
from .views import _guarded

Status = BulkImportRow.Status
ROWS_SHOWN = 100
CREATED = (Status.SUCCESS, Status.PARTIAL, Status.CREATED)
STATUS_ICON = {
    Status.PENDING: "hourglass", Status.SENDING: "arrow-repeat", Status.CREATED: "arrow-repeat",
    Status.SUCCESS: "check-circle-fill", Status.PARTIAL: "exclamation-triangle-fill", Status.FAILED: "x-octagon-fill",
    Status.CANCELLED: "slash-circle", Status.LEFT_OUT: "dash-circle",
}  # fmt: skip


def _run_import(request, pk: int, *, owner_only: bool = False) -> BulkImport:
    bulk_import = access.load(request, pk, owner_only=owner_only)
    if bulk_import.is_draft:
        raise _NotRun(bulk_import)
    return bulk_import


class _NotRun(Exception):
    def __init__(self, bulk_import):
        self.bulk_import = bulk_import


def _run_view(view):
    def wrapper(request, pk, *args, **kwargs):
        try:
            return view(request, pk, *args, **kwargs)
        except _NotRun as draft:
            return redirect("users:bulk-add-preview", pk=draft.bulk_import.pk)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return _guarded(wrapper)


def progress_context(bulk_import: BulkImport, *, show: str = "") -> dict:
    job = bulk_import.job
    job.refresh_from_db()
    counts = service.store.counts(bulk_import)
    created = sum(counts[s] for s in CREATED)
    failed = counts[Status.FAILED]
    pending = counts[Status.PENDING] + counts[Status.SENDING]
    finished_rows = counts[Status.SUCCESS] + counts[Status.PARTIAL] + failed + counts[Status.CANCELLED]
    total = max(1, job.total)
    elapsed = ((job.finished_at or timezone.now()) - job.started_at).total_seconds() if job.started_at else 0
    rate = finished_rows / elapsed if elapsed > 0 and finished_rows else 0.0
    left = pending + counts[Status.CREATED]
    rows = bulk_import.rows.exclude(status=Status.LEFT_OUT)
    if show == "failed":
        rows = rows.filter(status__in=(Status.FAILED, Status.PARTIAL))
    elif show == "active":
        rows = rows.filter(status__in=(Status.SENDING, Status.CREATED))
    shown = list(rows.order_by("position")[:ROWS_SHOWN])
    for row in shown:
        row.icon = STATUS_ICON.get(row.status, "circle")
    return {
        "bulk_import": bulk_import, "job": job, "tenant": bulk_import.tenant, "counts": counts, "created": created,
        "failed": failed, "pending": pending, "cancelled": counts[Status.CANCELLED], "partial": counts[Status.PARTIAL],
        "percent": min(100, int(100 * finished_rows / total)), "rate": rate,
        "eta_seconds": int(left / rate) if rate and left else None, "elapsed": int(elapsed), "rows": shown,
        "more_rows": max(0, rows.count() - len(shown)), "stale": service.is_stale(job), "show": show,
        "guests": bulk_import.kind == BulkImport.Kind.GUESTS,
    }  # fmt: skip


@never_cache
@require_GET
@_run_view
def progress(request, pk: int):
    bulk_import = _run_import(request, pk)
    context = progress_context(bulk_import, show=request.GET.get("show", ""))
    if request.htmx and not request.htmx.boosted:
        response = render(request, "users/bulkadd/progress.html#bulk-progress", context)
        if context["job"].is_finished:
            trigger_client_event(response, "bulkImportFinished", {"id": bulk_import.pk})
        return response
    return render(request, "users/bulkadd/progress.html", context)


@require_POST
@_run_view
def cancel(request, pk: int):
    bulk_import = _run_import(request, pk, owner_only=True)
    service.request_cancel(bulk_import, request)
    return redirect("users:bulk-add-progress", pk=bulk_import.pk)


@require_POST
@_run_view
def resume(request, pk: int):
    """Queue the run again when its worker stopped (the run skips every row already done)."""
    bulk_import = _run_import(request, pk, owner_only=True)
    if service.is_stale(bulk_import.job):
        from .tasks import run_bulk_import

        transaction.on_commit(lambda: run_bulk_import.delay(bulk_import.pk))
    return redirect("users:bulk-add-progress", pk=bulk_import.pk)


# --- results --------------------------------------------------------------------------------------------------


def _password_rows(bulk_import: BulkImport):
    return (
        bulk_import.rows.filter(status__in=(Status.SUCCESS, Status.PARTIAL))
        .exclude(password_sealed="")
        .order_by("position")
    )


def open_passwords(request, bulk_import: BulkImport) -> tuple[list[dict], str]:
    """([{position, name, upn, secret}], why not) — opened in memory for this response only."""
    if not _password_rows(bulk_import).exists():
        return [], "none"
    key = access.key_of(request, bulk_import)
    if key is None:
        return [], "no-key"
    found = []
    for row in _password_rows(bulk_import).only(
        "position", "key", "upn", "resolved", "password_sealed", "password_source"
    ):
        try:
            secret = sealed.open_sealed(key, row.password_sealed, sealed.row_context(bulk_import.pk, row.key))
        except sealed.SealError:
            return [], "unreadable"
        found.append({"position": row.position, "name": (row.resolved or {}).get("display_name", ""), "upn": row.upn,
                      "secret": secret, "source": row.password_source})  # fmt: skip
    return found, ""


@never_cache
@require_GET
@_run_view
def results(request, pk: int):
    bulk_import = _run_import(request, pk)
    job = bulk_import.job
    show = request.GET.get("show", "")
    rows = bulk_import.rows.exclude(status=Status.LEFT_OUT)
    if show in Status.values:
        rows = rows.filter(status=show)
    page = Paginator(rows.order_by("position"), 100).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.icon = STATUS_ICON.get(row.status, "circle")
    mine = bulk_import.created_by_id == request.user.pk
    passwords, why_not = open_passwords(request, bulk_import) if mine and job.is_finished else ([], "")
    response = render(request, "users/bulkadd/results.html", {
        "bulk_import": bulk_import, "job": job, "tenant": bulk_import.tenant, "page": page, "show": show,
        "counts": service.store.counts(bulk_import), "passwords": passwords, "why_not": why_not, "mine": mine,
        "guests": bulk_import.kind == BulkImport.Kind.GUESTS, "statuses": Status.choices,
        "query": urlencode({"show": show}) if show else "",
    })  # fmt: skip
    response["Cache-Control"] = "no-store"  # it may carry passwords: never from a cache, never back/forward
    return response


@require_GET
@_run_view
def results_csv(request, pk: int):
    """Every row's outcome, without any password: this file can be kept (e.g. attached to the ticket)."""
    bulk_import = _run_import(request, pk)
    header = ["row", "display name", "user principal name" if bulk_import.kind == "users" else "e-mail",
              "status", "message", "user id", "request ids"]  # fmt: skip

    def lines():
        for row in bulk_import.rows.order_by("position").iterator(chunk_size=2000):
            yield [str(row.position), (row.resolved or {}).get("display_name", ""), row.upn, row.get_status_display(),
                   row.message, str(row.user_id or ""), " ".join(row.request_ids or [])]  # fmt: skip

    response = StreamingHttpResponse(stream_csv(header, lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulk-import-{bulk_import.pk}-results.csv"'
    return response


@never_cache
@require_POST
@_run_view
def passwords_csv(request, pk: int):
    """The one-time download: UPN and password of every created user (guests: redemption links), then every
    sealed value is erased and the key cookie expires."""
    bulk_import = _run_import(request, pk, owner_only=True)
    if not bulk_import.job.is_finished:
        return redirect("users:bulk-add-progress", pk=bulk_import.pk)
    passwords, why_not = open_passwords(request, bulk_import)
    if why_not:
        return redirect("users:bulk-add-results", pk=bulk_import.pk)
    # The file is built before the claim, so a failure here leaves the passwords on the server.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    guests = bulk_import.kind == BulkImport.Kind.GUESTS
    writer.writerow(["display name", "e-mail" if guests else "user principal name",
                     "redemption link" if guests else "password"])  # fmt: skip
    for item in passwords:
        # Names and UPNs are neutralised for spreadsheets; the secret is written as is (generated ones never
        # start with a formula character, typed ones were refused if they did).
        writer.writerow([neutralise(item["name"]), neutralise(item["upn"]), item["secret"]])
    content = ("\ufeff" + buffer.getvalue()).encode()
    del passwords, buffer
    if not _discard(bulk_import, request, how="downloaded"):
        # Another request (a double click, a second tab) claimed them first: that one got the file.
        del content
        return redirect("users:bulk-add-results", pk=bulk_import.pk)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulk-import-{bulk_import.pk}-passwords.csv"'
    response["Cache-Control"] = "no-store"
    access.forget_key(response, bulk_import)
    return response


@require_POST
@_run_view
def passwords_discard(request, pk: int):
    bulk_import = _run_import(request, pk, owner_only=True)
    _discard(bulk_import, request, how="discarded")
    response = redirect(reverse("users:bulk-add-results", args=[bulk_import.pk]))
    access.forget_key(response, bulk_import)
    return response


def claim_passwords(bulk_import: BulkImport, *, how: str) -> bool:
    """The one decision that the passwords leave (or are dropped): a single conditional UPDATE. Two requests
    that both opened them race here, and the database lets exactly one change the row — PostgreSQL makes the
    second UPDATE wait for the first's commit and then re-checks the condition, SQLite runs writes one at a
    time — so the loser sees 0 rows and answers without the file."""
    return (
        BulkImport.objects.filter(pk=bulk_import.pk, passwords_discarded_at__isnull=True).update(
            passwords_discarded_at=timezone.now(), passwords_discarded_how=how
        )
        == 1
    )


def _discard(bulk_import: BulkImport, request, *, how: str) -> bool:
    """Claim, erase every sealed value and audit it, all or nothing; False (nothing done, nothing audited)
    when the passwords were already downloaded, discarded or expired."""
    with transaction.atomic():
        if not claim_passwords(bulk_import, how=how):
            return False
        count = bulk_import.rows.exclude(password_sealed="", password_for_worker="").update(
            password_sealed="", password_for_worker=""
        )
        audit.record(request, tenant=bulk_import.tenant, target=None, action=f"bulk-add-{bulk_import.kind}:passwords",
                     parameters={"import": bulk_import.pk, "rows": count}, result="success",
                     message=f"Passwords {how} and erased from the server.",
                     job_id=bulk_import.job_id)  # fmt: skip
    return True


def cancel_job_of(request, job: Job):
    """The Jobs page's cancel for a bulk import's job: the same as this page's Cancel (the import's own
    technician only; others get the 404 the Jobs page gives for jobs they cannot see)."""
    bulk_import = BulkImport.objects.filter(job=job).first()
    if bulk_import is None or bulk_import.created_by_id != request.user.pk:
        from django.http import Http404

        raise Http404("No such job.")
    service.request_cancel(bulk_import, request)
    return redirect("users:bulk-add-progress", pk=bulk_import.pk)


def job_redirect(job: Job):
    """Where the Jobs page sends a bulk import's job."""
    bulk_import = BulkImport.objects.filter(job=job).only("pk").first()
    return reverse("users:bulk-add-progress", args=[bulk_import.pk]) if bulk_import else None
