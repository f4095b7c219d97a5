"""``/audit/``: the audit log, filtered and paginated, and its CSV export (read-only: there is no view
that changes or removes an entry)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tenants.access import permission_required_for

from .audit_filters import AuditFilterForm, scoped_entries
from .export import neutralise  # spreadsheets would run formulas in logged text (CSV injection)

PAGE_SIZE = 50
EXPORT_CHUNK = 2000
CSV_COLUMNS = (
    ("When (UTC)", lambda e: e.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")),
    ("Technician", lambda e: e.technician_name),
    ("Source IP", lambda e: e.source_ip or ""),
    ("Tenant", lambda e: e.tenant_name),
    ("Tenant ID", lambda e: str(e.tenant_id or "")),
    ("User", lambda e: e.target_upn),
    ("User ID", lambda e: str(e.target_user_id or "")),
    ("Action", lambda e: e.action),
    ("Parameters", lambda e: _json(e.parameters)),
    ("Result", lambda e: e.result),
    ("Message", lambda e: e.message),
    ("Graph request ids", lambda e: " ".join(e.request_ids or [])),
    ("Job", lambda e: "" if e.job_id is None else str(e.job_id)),
    ("Entry hash", lambda e: e.entry_hash),
)


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""


def _filtered(request):
    form = AuditFilterForm(request.GET, viewer=request.user)
    return form, form.apply(scoped_entries(request.user))


@require_GET
@permission_required_for("audit.view")
def audit_list(request):
    form, entries = _filtered(request)
    page = Paginator(entries.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "filter_query": query.urlencode()},
    )


class _Echo:
    """csv.writer needs a file; this one hands each written line straight back."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(entries) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so Excel reads the file as UTF-8
    yield writer.writerow([title for title, _ in CSV_COLUMNS])
    for entry in entries.iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow([neutralise(str(value(entry))) for _, value in CSV_COLUMNS])


@require_GET
@permission_required_for("audit.view")
def audit_export_csv(request):
    """The filtered set as CSV, streamed row by row (the whole log never sits in memory)."""
    _form, entries = _filtered(request)
    response = StreamingHttpResponse(
        _csv_lines(entries.order_by("-created_at", "-id")), content_type="text/csv"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
