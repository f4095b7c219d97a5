"""``/technicians/``: the role page (everyone), technician accounts and tenant groups (Admins).

Which accounts and groups an Admin may manage is ``tenants.access``'s to say (``manageable_*``): an Admin
scoped to some tenants sees and changes only those wholly inside its scope, and any other id answers
exactly like an unknown one. Every change is written to the audit log (tenant-less entries, target = the
technician's username, or ``group:<name>`` for a tenant group) with the names of the fields it changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
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


GROUP_TARGET = "group:"  # the audit target of a tenant-group entry, so the log can be filtered by group


def _audit(request, action: str, technician_name: str, parameters: dict, message: str = "") -> None:
    record(request, tenant=None, target=(None, technician_name), action=action, parameters=parameters,
           result="success", message=message)  # fmt: skip


def _technician_state(user) -> dict:
    """What an edit can change, as the audit log compares it (no password: it is never edited here)."""
    profile = TechnicianProfile.objects.filter(user_id=user.pk).first()
    state = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
    if profile is not None:
        state.update(
            role=profile.role,
            scope=profile.scope,
            tenants=sorted(str(t.tenant_id) for t in profile.tenants.all()),
            tenant_groups=sorted(g.name for g in profile.tenant_groups.all()),
            entra_object_id=str(profile.entra_object_id) if profile.entra_object_id else None,
        )
    return state


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def _form_parameters(form) -> dict:
    data = form.cleaned_data
    return {
        **form.scope_snapshot(),
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
    """Admins over all tenants see every account (a superuser's read-only unless they are one); a scoped
    Admin sees only the accounts it may manage, and of their scopes only its own tenants and groups."""
    viewer = request.user
    everyone = access.manages_global(viewer)
    users = get_user_model().objects.all() if everyone else access.manageable_technicians(viewer)
    users = (
        users.select_related("technician")
        .prefetch_related(
            Prefetch("technician__tenants", queryset=access.visible_tenants(viewer).order_by("display_name")),
            Prefetch("technician__tenant_groups", queryset=access.manageable_groups(viewer).order_by("name")),
        )
        .order_by("-is_active", "username")
    )
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"user": u, "profile": getattr(u, "technician", None),
         "editable": not u.is_superuser or viewer.is_superuser}
        for u in page.object_list
    ]  # fmt: skip
    return render(request, "tenants/technician_list.html", {"page": page, "rows": rows})


def _editable_technician(request, pk: int):
    return access.manageable_technician_or_404(request.user, pk)


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
            before = _technician_state(technician)
            with transaction.atomic():
                form.save()
                changed = _changed(before, _technician_state(technician))
                _audit(request, "technician.update", technician.get_username(),
                       {**_form_parameters(form), "changed": changed})  # fmt: skip
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
    groups = (
        access.manageable_groups(request.user)
        .annotate(tenant_count=Count("tenants", distinct=True))
        .order_by("name")
    )
    return render(request, "tenants/technician_groups.html", {"groups": groups})


@require_http_methods(["GET", "POST"])
@access.permission_required_for(MANAGE)
def group_edit(request, pk: int | None = None):
    group = get_object_or_404(access.manageable_groups(request.user), pk=pk) if pk is not None else None
    before = _group_state(group) if group is not None else {}
    form = TenantGroupForm(request.POST or None, instance=group, editor=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with transaction.atomic():
                saved = form.save()
                after = _group_state(saved)
                action = "tenant_group.create" if group is None else "tenant_group.update"
                record(request, tenant=None, target=(None, f"{GROUP_TARGET}{saved.name}"), action=action,
                       parameters={**after, "changed": _changed(before, after)}, result="success")  # fmt: skip
            messages.success(request, f"Tenant group {saved.name} saved.")
            return redirect("technicians:groups")
        status = 422
    return render(
        request, "tenants/technician_group_form.html", {"form": form, "group": group}, status=status
    )


@require_POST
@access.permission_required_for(MANAGE)
def group_delete(request, pk: int):
    group = get_object_or_404(access.manageable_groups(request.user), pk=pk)
    in_use = TechnicianProfile.objects.filter(tenant_groups=group, scope=TechnicianProfile.Scope.GROUPS)
    if in_use.exists():
        # Only accounts the viewer may manage are named; the rest are "other technicians".
        mine = access.manageable_technicians(request.user).filter(technician__in=in_use)
        names = list(mine.order_by("username").values_list("username", flat=True)[:5])
        who = ", ".join(names) if names else "other technicians"
        if names and in_use.count() > len(names):
            who += " and others"
        messages.error(request, f"{group.name} is the scope of {who}; change their scope first.")
        return redirect("technicians:groups")
    with transaction.atomic():
        before = _group_state(group)
        name = group.name
        group.delete()
        record(request, tenant=None, target=(None, f"{GROUP_TARGET}{name}"), action="tenant_group.delete",
               parameters=before, result="success")  # fmt: skip
    messages.success(request, f"Tenant group {name} deleted.")
    return redirect("technicians:groups")


def _group_state(group: TenantGroup) -> dict:
    return {
        "name": group.name,
        "description": group.description,
        "tenants": sorted(str(t) for t in group.tenants.values_list("tenant_id", flat=True)),
    }


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
