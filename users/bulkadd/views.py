"""Bulk add pages, before the run: /users/bulk-add/?tenant=... (template, limits, upload), the preview with
every row's problems next to the field, fixing a row in place (htmx), leaving rows out, file-wide defaults,
re-upload, "Check again", and Run. The run's own pages are in views_run.py.

Every view: login (middleware), users.edit on the tenant, and the import must be the technician's own
(users.bulkadd.access). Nothing is sent to Microsoft here except reads (the checks); Run queues the Job.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.access import can
from tenants.selection import current_tenant
from tenants.ui import htmx_partial, toast
from users.audit import client_ip
from users.export import stream_csv, stream_xlsx
from users.models import BulkImport, BulkImportRow
from users.provisioning import form_fields as ff
from users.provisioning.views_add import editable_tenants, find_tenant, refusal

from . import access, columns, intake, service, validate
from . import facts as facts_mod
from .forms import KINDS, GuestDefaultsForm, RowForm, UploadForm, UserDefaultsForm, limits_text
from .parse import FileProblem, parse_upload

PAGE_SIZE = 50
Status = BulkImportRow.Status


def _kind(value: str) -> str:
    return value if value in dict(KINDS) else "users"


def _guarded(view):
    """Turn access.Refused into the shared refusal page (403)."""

    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except access.Refused:
            return refusal(request, missing_permission=True)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# --- start: template, limits, upload ------------------------------------------------------------------------


def _file_name(upload_file) -> str:
    """The upload's name as stored and shown: printable characters only (a NUL cannot be stored)."""
    return "".join(ch for ch in upload_file.name or "" if ch.isprintable())[:255] or "upload"


@require_GET
def start(request):
    kind = _kind(request.GET.get("kind", "users"))
    value = (request.GET.get("tenant") or "").strip()
    tenant = find_tenant(request, value) if value and value.lower() != "all" else None
    if value and value.lower() != "all" and tenant is None:
        return refusal(request, value=value)
    tenant = tenant or (current_tenant(request) if not value else None)
    if tenant is None:
        if not can(request.user, service.PERMISSION):
            return refusal(request, missing_permission=True)
        return render(
            request,
            "users/bulkadd/choose_tenant.html",
            {"tenants": editable_tenants(request.user), "kind": kind},
        )
    if not can(request.user, service.PERMISSION, tenant):
        return refusal(request, value=value, missing_permission=True)
    recent = BulkImport.objects.filter(tenant=tenant, created_by=request.user).select_related("job")[:10]
    return render(request, "users/bulkadd/start.html", {
        "tenant": tenant, "kind": kind, "kinds": KINDS, "form": UploadForm(), "limits": limits_text(),
        "columns": columns.columns_for(kind), "recent": recent,
    })  # fmt: skip


@require_GET
def button(request):
    """The users list's "Bulk add" button (loaded by the list, like Add user): 204 when the technician may
    not create users (in the tenant shown)."""
    if not can(request.user, service.PERMISSION):
        return HttpResponse(status=204)
    value = request.GET.get("tenant", "")
    tenant = (
        find_tenant(request, value) if value and value != "all" and not value.startswith("group:") else None
    )
    if tenant is not None and not can(request.user, service.PERMISSION, tenant):
        return HttpResponse(status=204)
    query = "?" + urlencode({"tenant": str(tenant.tenant_id)}) if tenant is not None else ""
    return render(request, "users/bulkadd/button.html", {"query": query})


@require_GET
def template_file(request, fmt: str):
    """The template: exactly the importer's columns, as CSV (UTF-8 with BOM) or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise Http404("No such template.")
    kind = _kind(request.GET.get("kind", "users"))
    header = columns.template_header(kind)
    name = "bulk-add-users" if kind == "users" else "bulk-invite-guests"
    if fmt == "xlsx":
        response = StreamingHttpResponse(
            stream_xlsx(header, [], sheet_name="Guests" if kind == "guests" else "Users"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(stream_csv(header, []), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@never_cache
@sensitive_post_parameters()
@require_POST
def upload(request):
    kind = _kind(request.POST.get("kind", "users"))
    tenant = find_tenant(request, request.POST.get("tenant", ""))
    if tenant is None:
        return refusal(request, value=request.POST.get("tenant", ""))
    if not can(request.user, service.PERMISSION, tenant):
        return refusal(request, missing_permission=True)
    form = UploadForm(request.POST, request.FILES)
    problem = ""
    if form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            parsed = parse_upload(kind, upload_file.name, upload_file.read())
        except FileProblem as error:
            problem = str(error)
        else:
            bulk_import, private_key = intake.create_import(
                tenant, request.user, parsed, file_name=_file_name(upload_file), source_ip=client_ip(request)
            )
            validate.validate_import(bulk_import, refresh=True)
            response = redirect("users:bulk-add-preview", pk=bulk_import.pk)
            access.set_key(response, request, bulk_import, private_key)
            return response
    recent = BulkImport.objects.filter(tenant=tenant, created_by=request.user).select_related("job")[:10]
    return render(request, "users/bulkadd/start.html", {
        "tenant": tenant, "kind": kind, "kinds": KINDS, "form": form, "limits": limits_text(), "problem": problem,
        "columns": columns.columns_for(kind), "recent": recent,
    }, status=422)  # fmt: skip


# --- preview ------------------------------------------------------------------------------------------------


def _rows(bulk_import: BulkImport, show: str):
    rows = bulk_import.rows.all()
    if show == "problems":
        return rows.exclude(problems={}).exclude(status=Status.LEFT_OUT)
    if show == "left_out":
        return rows.filter(status=Status.LEFT_OUT)
    return rows


def _defaults_form(bulk_import: BulkImport, data=None):
    if bulk_import.kind == BulkImport.Kind.GUESTS:
        return GuestDefaultsForm(data, initial=bulk_import.defaults)
    facts = facts_mod.cached_facts(bulk_import.tenant)
    groups = [g for g in (facts.groups.values() if facts else []) if g.get("via") == "graph"]
    groups.sort(key=lambda g: g["name"].casefold())
    return UserDefaultsForm(
        data, initial=bulk_import.defaults, licence_options=ff.licence_options(bulk_import.tenant),
        country=facts.country if facts else "", groups=groups[:300],
    )  # fmt: skip


def preview_context(request, bulk_import: BulkImport, *, show: str | None = None, page=None) -> dict:
    counts = {
        "rows": bulk_import.rows.count(),
        "problems": bulk_import.rows.exclude(problems={}).exclude(status=Status.LEFT_OUT).count(),
        "left_out": bulk_import.rows.filter(status=Status.LEFT_OUT).count(),
    }
    counts["to_run"] = counts["rows"] - counts["left_out"]
    show = show or request.GET.get("show") or ("problems" if counts["problems"] else "all")
    paginator = Paginator(_rows(bulk_import, show), PAGE_SIZE)
    page_obj = paginator.get_page(page or request.GET.get("page"))
    rows = list(page_obj.object_list)
    for row in rows:
        row.cells = cells_of(bulk_import, row)
    return {
        "bulk_import": bulk_import, "tenant": bulk_import.tenant, "counts": counts, "show": show, "page": page_obj,
        "rows": rows, "guests": bulk_import.kind == BulkImport.Kind.GUESTS,
        "can_run": bulk_import.is_draft and counts["to_run"] > 0 and not counts["problems"] and not bulk_import.problems,
        "query": urlencode({"show": show}),
    }  # fmt: skip


def cells_of(bulk_import: BulkImport, row: BulkImportRow) -> list[dict]:
    """The preview's cells of a row: value and the problems of the columns shown in it."""
    from .display import row_cells

    return row_cells(bulk_import.kind, row)


@never_cache
@_guarded
@require_GET
def preview(request, pk: int):
    bulk_import = access.load(request, pk)
    if not bulk_import.is_draft:
        return redirect("users:bulk-add-progress", pk=bulk_import.pk)
    context = preview_context(request, bulk_import)
    if htmx_partial(request):
        return render(request, "users/bulkadd/preview.html#bulk-table", context)
    context.update({
        "defaults_form": _defaults_form(bulk_import), "upload_form": UploadForm(), "limits": limits_text(),
        "facts": facts_mod.cached_facts(bulk_import.tenant),
    })  # fmt: skip
    return render(request, "users/bulkadd/preview.html", context)


def _draft(request, pk: int) -> BulkImport:
    bulk_import = access.load(request, pk)
    if not bulk_import.is_draft:
        raise _AlreadyRunning(bulk_import)
    return bulk_import


class _AlreadyRunning(Exception):
    def __init__(self, bulk_import):
        self.bulk_import = bulk_import


def _draft_view(view):
    def wrapper(request, pk, *args, **kwargs):
        try:
            return view(request, pk, *args, **kwargs)
        except _AlreadyRunning as running:
            if htmx_partial(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = reverse("users:bulk-add-progress", args=[running.bulk_import.pk])
                return response
            return redirect("users:bulk-add-progress", pk=running.bulk_import.pk)

    wrapper.__name__ = view.__name__
    return _guarded(wrapper)


def _table(request, bulk_import: BulkImport, message: str = "", level: str = "success"):
    validate.validate_import(bulk_import)
    bulk_import.refresh_from_db()
    context = preview_context(
        request, bulk_import, show=request.POST.get("show"), page=request.POST.get("page")
    )
    response = render(request, "users/bulkadd/preview.html#bulk-table", context)
    return toast(response, message, level) if message else response


def _no_such_row() -> HttpResponse:
    # With a reason (htmx callers show their own toast; a link opened directly shows this text).
    return HttpResponse("No such row in this import (it may have been removed).", status=404,
                        content_type="text/plain; charset=utf-8")  # fmt: skip


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@_draft_view
def row(request, pk: int, row_id: int):
    """GET: the row (display); POST: save the fix, check the whole file again, re-render the table."""
    bulk_import = _draft(request, pk)
    item = bulk_import.rows.filter(pk=row_id).first()
    if item is None:
        return _no_such_row()
    if request.method == "GET":
        item.cells = cells_of(bulk_import, item)
        return render(request, "users/bulkadd/preview.html#bulk-row",
                      {"row": item, "bulk_import": bulk_import, "guests": bulk_import.kind == "guests"})  # fmt: skip
    form = RowForm(request.POST, kind=bulk_import.kind, row=item)
    if not form.is_valid():
        return _edit_response(request, bulk_import, item, form, status=422)
    data = {key: value for key, value in item.data.items() if key.startswith("_")}
    for column in columns.columns_for(bulk_import.kind):
        if column.kind != "password":
            data[column.key] = str(form.cleaned_data.get(column.key) or "").strip()
    item.data = data
    if form.cleaned_data.get("clear_password"):
        intake.set_password(bulk_import, item, "")
    elif form.cleaned_data.get("password"):
        intake.set_password(bulk_import, item, form.cleaned_data["password"])
    item.save(
        update_fields=["data", "password_source", "password_for_worker", "password_sealed", "updated_at"]
    )
    return _table(request, bulk_import, f"Row {item.position} saved and checked.")


def _edit_response(request, bulk_import, item, form, status=200):
    item.cells = cells_of(bulk_import, item)
    context = {"row": item, "bulk_import": bulk_import, "form": form, "guests": bulk_import.kind == "guests",
               "show": request.GET.get("show") or request.POST.get("show") or "",
               "page_number": request.GET.get("page") or request.POST.get("page") or ""}  # fmt: skip
    return render(request, "users/bulkadd/preview.html#bulk-row-edit", context, status=status)


@never_cache
@require_GET
@_draft_view
def row_edit(request, pk: int, row_id: int):
    bulk_import = _draft(request, pk)
    item = bulk_import.rows.filter(pk=row_id).first()
    if item is None:
        return _no_such_row()
    return _edit_response(request, bulk_import, item, RowForm(kind=bulk_import.kind, row=item))


@require_POST
@_draft_view
def row_leave_out(request, pk: int, row_id: int):
    """Leave a row out of the run, or take it back in."""
    bulk_import = _draft(request, pk)
    item = bulk_import.rows.filter(pk=row_id).first()
    if item is None:
        return _no_such_row()
    item.status = Status.DRAFT if item.status == Status.LEFT_OUT else Status.LEFT_OUT
    item.save(update_fields=["status", "updated_at"])
    verb = "left out" if item.status == Status.LEFT_OUT else "taken back in"
    return _table(request, bulk_import, f"Row {item.position} {verb}.")


@require_POST
@_draft_view
def leave_out_problems(request, pk: int):
    bulk_import = _draft(request, pk)
    count = (
        bulk_import.rows.exclude(problems={}).exclude(status=Status.LEFT_OUT).update(status=Status.LEFT_OUT)
    )
    return _table(request, bulk_import, f"{count:,} row(s) with problems left out.", "warning")


@require_POST
@_draft_view
def defaults(request, pk: int):
    bulk_import = _draft(request, pk)
    form = _defaults_form(bulk_import, request.POST)
    if form.is_valid():
        bulk_import.defaults = {**bulk_import.defaults, **form.cleaned_data}
        bulk_import.save(update_fields=["defaults", "updated_at"])
        validate.validate_import(bulk_import)
        messages.success(request, "Defaults saved; every row was checked again.")
    else:
        messages.error(request, "The defaults were not saved: " + "; ".join(
            f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items() if name in form.fields))  # fmt: skip
    return redirect("users:bulk-add-preview", pk=bulk_import.pk)


@require_POST
@_draft_view
def check_again(request, pk: int):
    bulk_import = _draft(request, pk)
    validate.forget_availability(bulk_import)
    summary = validate.validate_import(bulk_import, refresh=True)
    messages.info(
        request,
        f"Checked {summary['rows']:,} row(s) again with Microsoft: {summary['with_problems']:,} with problems.",
    )
    return redirect("users:bulk-add-preview", pk=bulk_import.pk)


@sensitive_post_parameters()
@require_POST
@_draft_view
def reupload(request, pk: int):
    bulk_import = _draft(request, pk)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            parsed = parse_upload(bulk_import.kind, upload_file.name, upload_file.read())
        except FileProblem as error:
            messages.error(request, str(error))
        else:
            intake.replace_rows(bulk_import, parsed, file_name=_file_name(upload_file))
            validate.validate_import(bulk_import, refresh=True)
            messages.success(
                request, f"{_file_name(upload_file)}: {len(parsed.rows):,} row(s) read and checked."
            )
    else:
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
    return redirect("users:bulk-add-preview", pk=bulk_import.pk)


@require_POST
@_draft_view
def delete(request, pk: int):
    bulk_import = _draft(request, pk)
    tenant = bulk_import.tenant
    response = redirect(
        reverse("users:bulk-add") + "?" + urlencode({"tenant": tenant.slug, "kind": bulk_import.kind})
    )
    access.forget_key(response, bulk_import)
    bulk_import.delete()
    messages.success(request, "The draft import was deleted; nothing had been sent.")
    return response


@require_POST
@_draft_view
def run(request, pk: int):
    """Check once more (fresh licence units), then queue the Job."""
    bulk_import = _draft(request, pk)
    validate.validate_import(bulk_import, fresh_facts=True)  # licence units as they are now
    bulk_import.refresh_from_db()
    rows_with_problems, file_problems = validate.blocking(bulk_import)
    if rows_with_problems or file_problems:
        messages.error(request, "Not started: fix or leave out the rows with problems first.")
        return redirect("users:bulk-add-preview", pk=bulk_import.pk)
    if not bulk_import.rows.exclude(status=Status.LEFT_OUT).exists():
        messages.error(request, "Not started: every row is left out.")
        return redirect("users:bulk-add-preview", pk=bulk_import.pk)
    service.start(bulk_import, request)
    return redirect("users:bulk-add-progress", pk=bulk_import.pk)
