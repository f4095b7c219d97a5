"""Invite guest: /users/invite/?tenant=... (GET the form, POST sends the invitation through Graph).

The result is rendered in the POST response: the redemption link (when no e-mail was sent) is as good as
a password for whoever holds it first, so it is shown to the technician and not kept anywhere.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tenants.access import can
from tenants.selection import current_tenant
from users.actions.registry import Status
from users.audit import client_ip

from . import prefill as prefill_mod
from .forms_invite import InviteGuestForm
from .views_add import PERMISSION, choose_tenant, find_tenant, refusal


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def invite_guest_view(request):
    data = request.POST if request.method == "POST" else request.GET
    value = prefill_mod.tenant_value(data)
    if value:
        tenant = find_tenant(request, value)
        if tenant is None:
            return refusal(request, value=value)
    elif request.method == "GET":
        tenant = current_tenant(request)
        if tenant is None:
            return choose_tenant(request, page="invite")
    else:
        return refusal(request)
    if not can(request.user, PERMISSION, tenant):
        return refusal(request, value=value, missing_permission=True)
    if request.method == "GET":
        return render(
            request,
            "users/provisioning/invite.html",
            {"tenant": tenant, "form": InviteGuestForm(tenant=tenant)},
        )
    form = InviteGuestForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return render(request, "users/provisioning/invite.html", {"tenant": tenant, "form": form}, status=422)
    return _send(request, tenant, form.cleaned_data)


def _send(request, tenant, data):
    from users.actions.runner import build_context

    from .invite import invite_guest

    ctx = build_context(tenant, request.user, source_ip=client_ip(request))
    known_guest = _cached_guest(tenant, data["email"])
    step = invite_guest(
        ctx,
        display_name=data["display_name"],
        email=data["email"],
        redirect_url=data["redirect_url"],
        send_email=bool(data["send_email"]),
        message=data["message"],
        request=request,
    )
    details = step.details or {}
    user_id = details.get("user_id") or ""
    context = {
        "tenant": tenant,
        "step": step,
        "ok": step.status in (Status.SUCCESS, Status.ACCEPTED),
        "sent_email": bool(data["send_email"]),
        "email": data["email"],
        "display_name": data["display_name"],
        "redeem_url": details.get("invite_redeem_url") or "",
        # A member holding the address is refused with their id; an existing guest is re-invited (the
        # step's message says so).
        "already_exists": bool(details.get("already_exists"))
        or (step.status == Status.FAILED and bool(details.get("user_id")))
        or (step.status == Status.SUCCESS and known_guest),
        "user_url": reverse("users:detail", args=[tenant.slug, user_id]) if _is_guid(user_id) else "",
        "again_url": reverse("users:invite") + "?" + urlencode({"tenant": str(tenant.tenant_id)}),
        "list_url": reverse("users:list") + "?" + urlencode({"tenant": tenant.slug}),
    }
    response = render(request, "users/provisioning/invite_result.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _cached_guest(tenant, email: str) -> bool:
    """Was a guest with this address already in the directory cache before inviting? (The heading says
    "already in this tenant"; invite_guest's message says what Graph did either way.)"""
    from django.db.models import Q

    from users.models import DirectoryUser

    lower = email.strip().lower()
    return (
        DirectoryUser.objects.filter(tenant=tenant, user_type="Guest")
        .filter(Q(mail__iexact=lower) | Q(proxy_search__contains=f"smtp:{lower}"))
        .exists()
    )


def _is_guid(value: str) -> bool:
    from tenants.lookup import parse_guid

    return bool(value) and parse_guid(value) is not None
