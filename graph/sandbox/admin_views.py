"""The sandbox admin page (``/sandbox/admin/``): per-tenant switches (latency, throttling budget, random
429/5xx) and "expire delta tokens". Staff technicians only; it changes how the sandbox answers everyone."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from .models import SandboxTenant
from .switches import SwitchesForm, expire_delta_tokens


def staff_required(view):
    """Signed-in staff only. A signed-in non-staff technician gets 403 rather than a login loop."""

    @functools.wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("The sandbox admin page is for staff technicians.")
        return view(request, *args, **kwargs)

    return wrapper


def _rows(bound_form: SwitchesForm | None = None):
    tenants = SandboxTenant.objects.annotate(
        user_count=Count("users", filter=Q(users__deleted_datetime__isnull=True))
    ).order_by("-is_partner", "display_name")
    rows = []
    for tenant in tenants:
        if bound_form is not None and bound_form.instance.pk == tenant.pk:
            form = bound_form
        else:
            form = SwitchesForm(instance=tenant, prefix=str(tenant.pk))
        rows.append({"tenant": tenant, "form": form})
    return rows


@staff_required
@require_GET
def tenant_switches(request):
    return render(request, "sandbox/admin.html", {"rows": _rows()})


@staff_required
@require_POST
def update_switches(request, tenant_id):
    tenant = get_object_or_404(SandboxTenant, pk=tenant_id)
    form = SwitchesForm(request.POST, instance=tenant, prefix=str(tenant.pk))
    if not form.is_valid():
        # 422 so htmx (and tests) can tell a refused form from a saved one; browsers render it as usual.
        return render(request, "sandbox/admin.html", {"rows": _rows(form)}, status=422)
    form.save()
    messages.success(request, f"Switches saved for {tenant.display_name}.")
    return redirect("sandbox:admin")


@staff_required
@require_POST
def expire_delta(request, tenant_id):
    tenant = get_object_or_404(SandboxTenant, pk=tenant_id)
    expire_delta_tokens(tenant)
    messages.success(request, f"Delta tokens issued so far for {tenant.display_name} now answer 410 Gone.")
    return redirect("sandbox:admin")
