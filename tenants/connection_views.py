"""Partner connections (staff only): list, create/edit, the partner admin's sign-in, and discovery."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from graph.errors import GraphError

from .consent import ConsentError, finish_consent, start_consent
from .forms import PartnerConnectionForm
from .models import PartnerConnection
from .permissions import manage_tenants_required
from .services import describe_graph_error, discover_customers

logger = logging.getLogger(__name__)


@require_GET
@manage_tenants_required
def connection_list(request):
    return render(request, "tenants/connections.html", {"connections": PartnerConnection.objects.all()})


@require_http_methods(["GET", "POST"])
@manage_tenants_required
def connection_edit(request, pk=None):
    connection = get_object_or_404(PartnerConnection, pk=pk) if pk else None
    form = PartnerConnectionForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Saved partner connection {saved.name}.")
        return redirect("tenants:connections")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "tenants/connection_form.html", {"form": form, "connection": connection}, status=status
    )


@require_POST
@manage_tenants_required
def connection_consent(request, pk):
    connection = get_object_or_404(PartnerConnection, pk=pk)
    try:
        auth_uri = start_consent(request, connection)
    except (GraphError, ValueError) as exc:
        messages.error(request, f"Could not start the partner sign-in: {exc}")
        return redirect("tenants:connections")
    return redirect(auth_uri)


@require_GET
@manage_tenants_required
def consent_callback(request):
    try:
        result = finish_consent(request, request.GET.dict())
    except ConsentError as exc:
        messages.error(request, f"Partner sign-in failed. {exc}")
    else:
        who = f" as {result.upn}" if result.upn else ""
        messages.success(request, f"{result.connection.name}: partner admin signed in{who}.")
    return redirect("tenants:connections")


@require_POST
@manage_tenants_required
def discover(request, pk):
    connection = get_object_or_404(PartnerConnection, pk=pk)
    try:
        summary = discover_customers(connection)
    except GraphError as exc:
        messages.error(
            request, f"{connection.name}: could not list GDAP customers: {describe_graph_error(exc)}"
        )
        return redirect("tenants:list")
    level = messages.WARNING if summary.failed else messages.SUCCESS
    messages.add_message(request, level, f"{connection.name}: {summary.as_message()}")
    for name, reason in summary.failed[:10]:
        messages.warning(request, f"{name}: {reason}")
    if len(summary.failed) > 10:
        messages.warning(request, f"…and {len(summary.failed) - 10} more failures (see the tenant list).")
    return redirect("tenants:list")
