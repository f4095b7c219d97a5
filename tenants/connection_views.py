"""Partner connections: list, create/edit, the partner admin's sign-in, and discovery.

Only Admins over all tenants (``tenants.manage``, see tenants/access_global.py): everybody else gets 403
on every page here before any connection is looked up, so a real and an unknown id answer alike. Every
change is audited (tenant-less ``connection.*`` / ``tenants.discover`` entries, field names, never values).
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from graph.errors import GraphError
from users.audit import record

from .consent import ConsentError, finish_consent, start_consent
from .forms import PartnerConnectionForm
from .models import PartnerConnection
from .permissions import manage_tenants_required
from .services import describe_graph_error, discover_customers

logger = logging.getLogger(__name__)

CREDENTIALS_DROPPED = (
    "The endpoints changed, so the stored client secret, certificate and partner admin sign-in were "
    "removed (credentials never follow a changed endpoint). Enter the secret or certificate again and use "
    "“Connect partner admin” to consent again."
)


def _connection_target(connection: PartnerConnection) -> tuple[None, str]:
    return (None, f"connection:{connection.name}")


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
        with transaction.atomic():
            saved = form.save()
            record(request, tenant=None, target=_connection_target(saved),
                   action="connection.update" if connection else "connection.create",
                   parameters={"connection_id": saved.pk, "changed": form.changed_fields(),
                               "credentials_removed": form.credentials_dropped},
                   result="success")  # fmt: skip
        messages.success(request, f"Saved partner connection {saved.name}.")
        if form.credentials_dropped:
            messages.warning(request, CREDENTIALS_DROPPED)
            return redirect("tenants:connection-edit", saved.pk)
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
        _audit_consent(request, connection, "failed", f"Could not start the partner sign-in: {exc}")
        messages.error(request, f"Could not start the partner sign-in: {exc}")
        return redirect("tenants:connections")
    _audit_consent(request, connection, "accepted", "Partner admin sign-in started.")
    return redirect(auth_uri)


def _audit_consent(request, connection, result: str, message: str, upn: str = "") -> None:
    target = _connection_target(connection) if connection else None
    record(request, tenant=None, target=target, action="connection.consent",
           parameters={"connection_id": connection.pk if connection else None, "partner_admin": upn},
           result=result, message=message)  # fmt: skip


@require_GET
@manage_tenants_required
def consent_callback(request):
    try:
        result = finish_consent(request, request.GET.dict())
    except ConsentError as exc:
        _audit_consent(request, None, "failed", f"Partner sign-in failed. {exc}")
        messages.error(request, f"Partner sign-in failed. {exc}")
    else:
        who = f" as {result.upn}" if result.upn else ""
        _audit_consent(request, result.connection, "success", "Partner admin consented; refresh token stored.",
                       upn=result.upn)  # fmt: skip
        messages.success(request, f"{result.connection.name}: partner admin signed in{who}.")
    return redirect("tenants:connections")


@require_POST
@manage_tenants_required
def discover(request, pk):
    connection = get_object_or_404(PartnerConnection, pk=pk)
    try:
        summary = discover_customers(connection)
    except GraphError as exc:
        reason = describe_graph_error(exc)
        record(request, tenant=None, target=_connection_target(connection), action="tenants.discover",
               parameters={"connection_id": connection.pk}, result="failed",
               message=f"Could not list GDAP customers: {reason}")  # fmt: skip
        messages.error(request, f"{connection.name}: could not list GDAP customers: {reason}")
        return redirect("tenants:list")
    record(request, tenant=None, target=_connection_target(connection), action="tenants.discover",
           parameters={"connection_id": connection.pk, "created": summary.created, "updated": len(summary.updated),
                       "failed": len(summary.failed)},
           result="failed" if summary.failed and not (summary.created or summary.updated) else "success",
           message=summary.as_message())  # fmt: skip
    level = messages.WARNING if summary.failed else messages.SUCCESS
    messages.add_message(request, level, f"{connection.name}: {summary.as_message()}")
    for name, reason in summary.failed[:10]:
        messages.warning(request, f"{name}: {reason}")
    if len(summary.failed) > 10:
        messages.warning(request, f"…and {len(summary.failed) - 10} more failures (see the tenant list).")
    return redirect("tenants:list")
