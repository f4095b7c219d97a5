"""Tenant list, row actions (favourite, enable/disable), manual add, and the header tenant picker.

One template per page; htmx requests get the named partial of the same template, so markup exists once.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from users.audit import record

from . import access
from .forms import AddTenantForm
from .lookup import parse_guid, search_tenants, with_favourite_flag
from .models import FavouriteTenant, PartnerConnection, Tenant
from .permissions import MANAGE, can_manage_tenants, manage_tenants_required, visible_tenants
from .selection import select_tenant
from .services import ManualAddError, add_tenant_manually
from .ui import htmx_partial, safe_next, toast

PAGE_SIZE = 50
PICKER_LIMIT = 15
MAX_QUERY_LENGTH = 200


def _query(request) -> str:
    return request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]


def _tenant_for_row(request, tenant_id) -> Tenant:
    qs = with_favourite_flag(visible_tenants(request.user).select_related("connection"), request.user)
    return get_object_or_404(qs, tenant_id=tenant_id)


@require_GET
def tenant_list(request):
    q = _query(request)
    visible = visible_tenants(request.user)
    tenants = with_favourite_flag(search_tenants(q, visible.select_related("connection")), request.user)
    page = Paginator(tenants.order_by("display_name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    can_manage = can_manage_tenants(request.user)
    context = {
        "q": q,
        "page": page,
        "total": visible.count(),
        "can_manage": can_manage,
        "connections": PartnerConnection.objects.all() if can_manage else [],
    }
    template = "tenants/list.html#tenant-table" if htmx_partial(request) else "tenants/list.html"
    return render(request, template, context)


@require_POST
def toggle_favourite(request, tenant_id):
    tenant = get_object_or_404(visible_tenants(request.user), tenant_id=tenant_id)
    access.require(request.user, "users.view", tenant)
    deleted, _ = FavouriteTenant.objects.filter(user=request.user, tenant=tenant).delete()
    if not deleted:
        FavouriteTenant.objects.get_or_create(user=request.user, tenant=tenant)
    if htmx_partial(request):
        tenant = _tenant_for_row(request, tenant_id)
        return render(request, "tenants/list.html#favourite-button", {"tenant": tenant})
    return redirect(safe_next(request))


@require_POST
def toggle_enabled(request, tenant_id):
    tenant = get_object_or_404(Tenant, tenant_id=tenant_id)
    # 404 outside the technician's scope, else 403 unless an Admin over all tenants.
    access.require(request.user, MANAGE, tenant)
    with transaction.atomic():
        tenant.enabled = not tenant.enabled
        tenant.save(update_fields=["enabled"])
        record(request, tenant=tenant, target=None, action="tenant.enable" if tenant.enabled else "tenant.disable",
               parameters={"enabled": tenant.enabled}, result="success")  # fmt: skip
    message = f"{tenant.display_name} {'enabled' if tenant.enabled else 'disabled'}."
    if htmx_partial(request):
        tenant = _tenant_for_row(request, tenant_id)
        response = render(request, "tenants/list.html#tenant-row", {"tenant": tenant, "can_manage": True})
        return toast(response, message)
    messages.success(request, message)
    return redirect(safe_next(request))


@require_http_methods(["GET", "POST"])
@manage_tenants_required
def add_tenant(request):
    form = AddTenantForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            connection = form.cleaned_data["connection"]
            try:
                tenant = add_tenant_manually(
                    connection, form.cleaned_data["tenant"], visible=visible_tenants(request.user)
                )
            except ManualAddError as exc:
                form.add_error("tenant", str(exc))
            else:
                record(request, tenant=tenant, target=None, action="tenant.add",
                       parameters={"connection_id": connection.pk, "connection": connection.name,
                                   "typed": form.cleaned_data["tenant"]},
                       result="success")  # fmt: skip
                message = f"Added {tenant.display_name}."
                if htmx_partial(request):
                    # 204: nothing to swap; the events close the modal and refresh the table.
                    response = toast(HttpResponse(status=204), message)
                    trigger_client_event(response, "closeModal")
                    return trigger_client_event(response, "tenantsChanged")
                messages.success(request, message)
                return redirect("tenants:list")
        status = 422
    template = "tenants/add.html#add-form" if htmx_partial(request) else "tenants/add.html"
    return render(request, template, {"form": form}, status=status)


@require_GET
def picker_results(request):
    q = _query(request)
    return render(request, "includes/tenant_picker.html#picker-results", picker_context(request, q))


def picker_context(request, q: str = "") -> dict:
    """Favourites first, then other matches; enabled tenants only (a disabled one cannot be worked on)."""
    enabled = with_favourite_flag(
        search_tenants(q, visible_tenants(request.user).filter(enabled=True)), request.user
    )
    favourites = list(enabled.filter(is_favourite=True).order_by("display_name")[:PICKER_LIMIT])
    others = list(
        enabled.filter(is_favourite=False).order_by("display_name")[: PICKER_LIMIT - len(favourites)]
    )
    return {"picker_q": q, "picker_favourites": favourites, "picker_matches": others}


@require_POST
def select(request):
    value = request.POST.get("tenant", "").strip()
    if not value:
        select_tenant(request, None)
    else:
        guid = parse_guid(value)
        tenant = visible_tenants(request.user).filter(tenant_id=guid, enabled=True).first() if guid else None
        if tenant is None:
            messages.error(request, "That tenant does not exist or is disabled.")
        else:
            select_tenant(request, tenant)
    return redirect(safe_next(request))
