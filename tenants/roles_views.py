"""``/technicians/``: the role page (everyone), technician accounts and tenant groups (Admins).

Every change here is written to the audit log (tenant-less entries, target = the technician's username).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from users.audit import record

from . import access
from .models import TechnicianProfile, TenantGroup
from .technician_forms import TechnicianCreateForm, TechnicianEditForm, TenantGroupForm

PAGE_SIZE = 50
MANAGE = "technicians.manage"


def _profile_summary(user) -> dict:
    return {
        "role": access.role_of(user).label,
        "scope": access.scope_description(user),
    }


def _audit(request, action: str, technician_name: str, parameters: dict, message: str = "") -> None:
    record(request, tenant=None, target=(None, technician_name), action=action, parameters=parameters,
           result="success", message=message)  # fmt: skip


def _form_parameters(form) -> dict:
    data = form.cleaned_data
    return {
        "role": data.get("role"),
        "scope": data.get("scope"),
        "tenants": sorted(str(t.tenant_id) for t in data.get("tenants") or []),
        "tenant_groups": sorted(g.name for g in data.get("tenant_groups") or []),
        "entra_object_id": str(data["entra_object_id"]) if data.get("entra_object_id") else None,
    }


# --- role page --------------------------------------------------------------------------------------------


@require_GET
def role_page(request):
    """What each role may do, in plain words, and what the viewer's own role and scope are."""
    return render(
        request,
        "tenants/roles.html",
        {"roles": list(access.ROLES.values()), "mine": _profile_summary(request.user),
         "my_role": access.role_of(request.user).key,
         "can_manage_technicians": access.can(request.user, MANAGE)},
    )  # fmt: skip


# --- technicians -----------------------------------------------------------------------------------------


@require_GET
@access.permission_required_for(MANAGE)
def technician_list(request):
    users = (
        get_user_model()
        .objects.select_related("technician")
        .prefetch_related(
            # Only tenants the viewing Admin may see are named (a partially scoped Admin sees the rest as "…").
            Prefetch(
                "technician__tenants", queryset=access.visible_tenants(request.user).order_by("display_name")
            ),
            Prefetch("technician__tenant_groups"),
        )
        .order_by("-is_active", "username")
    )
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"user": u, "profile": getattr(u, "technician", None)} for u in page.object_list]
    return render(request, "tenants/technician_list.html", {"page": page, "rows": rows})


def _editable_technician(request, pk: int):
    technician = get_object_or_404(get_user_model(), pk=pk)
    if technician.is_superuser and not request.user.is_superuser:
        raise PermissionDenied("Only a superuser may change a superuser's account.")
    return technician


@require_http_methods(["GET", "POST"])
@access.permission_required_for(MANAGE)
def technician_create(request):
    form = TechnicianCreateForm(request.POST or None, editor=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with transaction.atomic():
                user = form.save()
                _audit(request, "technician.create", user.get_username(), _form_parameters(form))
            messages.success(request, f"Technician {user.get_username()} created.")
            return redirect("technicians:list")
        status = 422
    return render(request, "tenants/technician_form.html", {"form": form, "creating": True}, status=status)


@require_http_methods(["GET", "POST"])
@access.permission_required_for(MANAGE)
def technician_edit(request, pk: int):
    technician = _editable_technician(request, pk)
    form = TechnicianEditForm(request.POST or None, editor=request.user, technician=technician)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with transaction.atomic():
                form.save()
                _audit(request, "technician.update", technician.get_username(), _form_parameters(form))
            access.forget(technician)
            messages.success(request, f"Saved {technician.get_username()}.")
            return redirect("technicians:list")
        status = 422
    context = {"form": form, "creating": False, "technician": technician}
    return render(request, "tenants/technician_form.html", context, status=status)


@require_POST
@access.permission_required_for(MANAGE)
def technician_set_active(request, pk: int):
    """Deactivate (or reactivate) an account: a deactivated technician can no longer sign in and every
    access check answers no, while their audit entries keep their name."""
    technician = _editable_technician(request, pk)
    activate = request.POST.get("active") == "1"
    if technician.pk == request.user.pk and not activate:
        messages.error(request, "You cannot deactivate your own account.")
        return redirect("technicians:list")
    if technician.is_active != activate:
        with transaction.atomic():
            technician.is_active = activate
            technician.save(update_fields=["is_active"])
            action = "technician.activate" if activate else "technician.deactivate"
            _audit(request, action, technician.get_username(), {"active": activate})
    state = "reactivated" if activate else "deactivated"
    messages.success(request, f"{technician.get_username()} {state}.")
    return redirect("technicians:list")


# --- tenant groups ---------------------------------------------------------------------------------------


@require_GET
@access.permission_required_for(MANAGE)
def group_list(request):
    groups = TenantGroup.objects.annotate(tenant_count=Count("tenants", distinct=True)).order_by("name")
    return render(request, "tenants/technician_groups.html", {"groups": groups})


@require_http_methods(["GET", "POST"])
@access.permission_required_for(MANAGE)
def group_edit(request, pk: int | None = None):
    group = get_object_or_404(TenantGroup, pk=pk) if pk is not None else None
    form = TenantGroupForm(request.POST or None, instance=group, editor=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with transaction.atomic():
                saved = form.save()
                parameters = {
                    "name": saved.name,
                    "tenants": sorted(str(t.tenant_id) for t in saved.tenants.all()),
                }
                action = "tenant_group.create" if group is None else "tenant_group.update"
                record(
                    request, tenant=None, target=None, action=action, parameters=parameters, result="success"
                )
            messages.success(request, f"Tenant group {saved.name} saved.")
            return redirect("technicians:groups")
        status = 422
    return render(
        request, "tenants/technician_group_form.html", {"form": form, "group": group}, status=status
    )


@require_POST
@access.permission_required_for(MANAGE)
def group_delete(request, pk: int):
    group = get_object_or_404(TenantGroup, pk=pk)
    in_use = TechnicianProfile.objects.filter(tenant_groups=group, scope=TechnicianProfile.Scope.GROUPS)
    if in_use.exists():
        names = ", ".join(in_use.values_list("user__username", flat=True)[:5])
        messages.error(request, f"{group.name} is the scope of {names}; change their scope first.")
        return redirect("technicians:groups")
    with transaction.atomic():
        name = group.name
        group.delete()
        record(request, tenant=None, target=None, action="tenant_group.delete", parameters={"name": name},
               result="success")  # fmt: skip
    messages.success(request, f"Tenant group {name} deleted.")
    return redirect("technicians:groups")


# Included from cippusers/urls.py as ``path("technicians/", include((technician_urlpatterns, "technicians")))``.
technician_urlpatterns = [
    path("", technician_list, name="list"),
    path("roles/", role_page, name="roles"),
    path("new/", technician_create, name="create"),
    path("<int:pk>/", technician_edit, name="edit"),
    path("<int:pk>/active/", technician_set_active, name="set-active"),
    path("tenant-groups/", group_list, name="groups"),
    path("tenant-groups/new/", group_edit, name="group-create"),
    path("tenant-groups/<int:pk>/", group_edit, name="group-edit"),
    path("tenant-groups/<int:pk>/delete/", group_delete, name="group-delete"),
]
