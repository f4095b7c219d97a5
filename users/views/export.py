"""/users/export.csv and /users/export.xlsx: the table's current filtered set (every page) with the
technician's chosen columns, streamed straight from a server-side iterator.

Stricter than the table about bad parameters: exporting a different set than the one asked for would be
silently wrong, so an invalid parameter answers 400 with the reason instead of falling back to defaults.
"""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from ..export import stream_csv, stream_xlsx
from ..export_rows import export_values
from ..filters import parse_table_query
from ..queries import table_queryset
from ..tables import saved_keys, visible_columns
from .scope import ScopeError, resolve_scope, scope_skus

CHUNK_SIZE = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_rows(request):
    """(scope, columns, header, row iterator) for the request, or an HttpResponse explaining what is wrong."""
    try:
        scope = resolve_scope(request, request.GET.get("tenant", ""), "users.export")
    except ScopeError as error:
        return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")
    query = parse_table_query(request.GET, sku_ids={sku_id for sku_id, _ in scope_skus(scope)})
    if query.errors:
        text = "Nothing was exported:\n" + "\n".join(query.errors)
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    query = replace(query, tenant=scope.param)
    columns = visible_columns(saved_keys(request.user), multi_tenant=scope.multi)
    rows = export_values(table_queryset(scope.target, query), scope.tenants(), columns, chunk_size=CHUNK_SIZE)
    return scope, [c.label for c in columns], rows


def _filename(scope, extension: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"users-{slugify(scope.label) or 'tenant'}-{stamp}.{extension}"


@require_GET
def export_csv(request):
    result = export_rows(request)
    if isinstance(result, HttpResponse):
        return result
    scope, header, rows = result
    response = StreamingHttpResponse(stream_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(scope, "csv")}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def export_xlsx(request):
    result = export_rows(request)
    if isinstance(result, HttpResponse):
        return result
    scope, header, rows = result
    response = StreamingHttpResponse(stream_xlsx(header, rows), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename(scope, "xlsx")}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def export_selected(request, fmt: str):
    """The bulk bar's "Export selected": the ticked rows (``user=``) or all matching (``query=``), as the
    selection of every bulk action resolves them (a user of a tenant outside the scope: 404)."""
    from tenants.models import Tenant

    from ..actions.selection import SelectionError, resolve_selection

    if fmt not in ("csv", "xlsx"):
        raise Http404("No such export format.")
    try:
        selection = resolve_selection(request, request.POST, "users.export")
    except SelectionError as error:
        return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")
    multi = len(selection.tenants) > 1
    columns = visible_columns(saved_keys(request.user), multi_tenant=multi)
    tenants = Tenant.objects.filter(pk__in=[t.pk for t in selection.tenants])
    rows = export_values(selection.queryset, tenants, columns, chunk_size=CHUNK_SIZE)
    header = [c.label for c in columns]
    label = selection.tenant.display_name if selection.tenant else "selected"
    stream, content_type = (
        (stream_csv(header, rows), "text/csv; charset=utf-8")
        if fmt == "csv"
        else (stream_xlsx(header, rows), XLSX_TYPE)
    )
    response = StreamingHttpResponse(stream, content_type=content_type)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="users-{slugify(label) or "selected"}-{stamp}.{fmt}"'
    )
    response["Cache-Control"] = "no-store"
    return response
