"""Add user: /users/add/?tenant=... and the reference product's /identity/administration/users/add?customerId=...

GET renders the form, filled from the link's query string (``prefill``): it never creates anything. POST
(CSRF, users.edit on the tenant) validates, creates the user through ``create.provision_user`` and renders
the result page directly in the POST response: the one-time password goes to the technician's browser and
nowhere else (no redirect, no session, no database row, no log line).

An unknown tenant and a tenant outside the technician's scope get the same 404 page, so a link cannot be
used to learn which tenants exist.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from tenants.access import PERMISSIONS, can, sees_tenant, visible_tenants
from tenants.lookup import resolve_tenant
from tenants.selection import current_tenant
from users.audit import client_ip

from . import prefill as prefill_mod
from .forms_add import AddUserForm, load_options

log = logging.getLogger(__name__)
PERMISSION = "users.edit"


# --- tenant resolution shared by the provisioning views ---------------------------------------------------------


def find_tenant(request, value: str):
    """The tenant ``value`` names (GUID or any domain, also as a web address) if the technician may see it;
    None for unknown and hidden tenants alike."""
    tenant = resolve_tenant(value)
    if tenant is None:
        reduced = prefill_mod.normalise_domain(value)
        tenant = resolve_tenant(reduced) if reduced and reduced != value.strip().lower() else None
    if tenant is None or not sees_tenant(request.user, tenant):
        return None
    return tenant


def refusal(request, *, value: str = "", missing_permission: bool = False, status: int | None = None):
    """The one refusal page: "no such tenant" (unknown and out of scope alike, 404) or "your role may not"
    (403, only for a tenant the technician can see anyway)."""
    context = {"value": value[:255], "missing_permission": missing_permission}
    if missing_permission:
        context["permission_text"] = PERMISSIONS[PERMISSION]
    code = status or (403 if missing_permission else 404)
    return render(request, "users/provisioning/add_refused.html", context, status=code)


def editable_tenants(user):
    """Tenants the technician may create users in (for the tenant chooser), by name."""
    if not can(user, PERMISSION):
        return []
    return list(visible_tenants(user).filter(enabled=True).order_by("display_name")[:500])


def choose_tenant(request, *, page: str):
    """No tenant named and none selected: ask which one (a plain GET form, so the link stays a link)."""
    if not can(request.user, PERMISSION):
        return refusal(request, missing_permission=True)
    return render(
        request,
        "users/provisioning/add_choose_tenant.html",
        {"tenants": editable_tenants(request.user), "page": page, "action": request.path},
    )


# --- the form page -------------------------------------------------------------------------------------------


ADDRESS_INPUTS = ("username", "domain", "aliases")
USER_PICKERS = ("manager", "copy_from")
COPY_INCLUDE = ("job_title", "department", "company_name", "street_address", "city", "state", "postal_code",
                "country", "business_phone", "usage_location")  # fmt: skip


def wire_live_checks(form) -> None:
    """htmx attributes for the live checks and the pickers, and the prefill-link parameter of each field.
    Each request includes only the fields it needs: never the password (no secret in a URL)."""
    scope = "#add-user-form "
    address_url = reverse("users:add-check-address")
    for name in ADDRESS_INPUTS:
        form.fields[name].widget.attrs.update(
            {
                "hx-get": address_url,
                "hx-trigger": "input changed delay:500ms, change",
                "hx-target": "#address-check",
                "hx-include": ", ".join(scope + f"[name={n}]" for n in ("tenant", *ADDRESS_INPUTS)),
                "hx-sync": "#address-check:replace",
                "aria-describedby": "address-check",
            }
        )
    field_url = reverse("users:add-check-field")
    for name in prefill_mod.GRAPH_PROPERTY:
        if name in form.fields:
            form.fields[name].widget.attrs.update(
                {
                    "hx-get": f"{field_url}?field={name}",
                    "hx-trigger": "input changed delay:400ms",
                    "hx-target": f"#id_{name}-live",
                    "hx-sync": "this:replace",
                }
            )
    users_url = reverse("users:add-check-users")
    for name in USER_PICKERS:
        form.fields[name].widget.attrs.update(
            {
                "list": f"users-{name}",
                "hx-get": f"{users_url}?field={name}",
                "hx-trigger": "input changed delay:300ms",
                "hx-target": f"#users-{name}",
                "hx-include": f"{scope}[name=tenant]",
                "hx-sync": "this:replace",
            }
        )
    for name in COPY_INCLUDE:
        form.fields[name].widget.attrs["data-copy-include"] = ""
    for name, parameter in prefill_mod.LINK_PARAMETERS.items():
        if name in form.fields:
            form.fields[name].widget.attrs["data-link-param"] = parameter


def _form_context(request, tenant, form, *, prefill=None) -> dict:
    wire_live_checks(form)
    options = form.options
    return {
        "tenant": tenant,
        "form": form,
        "options": options,
        "prefill": prefill,
        "link_parameters": prefill_mod.LINK_PARAMETERS,
        "link_base": request.build_absolute_uri(reverse("identity-users-add")),
        "add_url": reverse("users:add"),
        "tenant_country_name": form.fields["usage_location"].choices[0][1],
        "copy_include": ", ".join(
            f"#add-user-form [name={n}]" for n in ("tenant", "copy_from", *COPY_INCLUDE)
        ),
    }


def prefilled_form(tenant, params, *, options=None):
    """(form, prefill) for a GET: the link's values as initial values, its problems as field errors."""
    options = options or load_options(tenant)
    prefill = prefill_mod.parse_prefill(params, domains=options.domains)
    form = AddUserForm(tenant=tenant, options=options, initial=dict(prefill.initial))
    for name in ("domain", "usage_location"):
        value = prefill.initial.get(name)
        if value and name in prefill.errors:
            form.show_invalid_choice(name, value)
    form.add_initial_errors(prefill.errors)
    return form, prefill


@never_cache
@login_required
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def add_user(request):
    """Both paths. GET: the (prefilled) form. POST: create and show the result once."""
    if request.method == "POST":
        return _create(request)
    page = "reference" if request.resolver_match.url_name.startswith("identity-users-add") else "ours"
    value = prefill_mod.tenant_value(request.GET)
    tenant = None
    if value:
        tenant = find_tenant(request, value)
        if tenant is None:
            return refusal(request, value=value)
    else:
        tenant = current_tenant(request)
        if tenant is None:
            return choose_tenant(request, page=page)
    if not can(request.user, PERMISSION, tenant):
        return refusal(request, value=value, missing_permission=True)
    form, prefill = prefilled_form(tenant, request.GET)
    return render(
        request, "users/provisioning/add.html", _form_context(request, tenant, form, prefill=prefill)
    )


@sensitive_variables("new", "result")
def _create(request) -> HttpResponse:
    from users.actions.runner import build_context

    from .create import provision_user

    value = request.POST.get("tenant", "")
    tenant = find_tenant(request, value) if value else None
    if tenant is None:
        return refusal(request, value=value)
    if not can(request.user, PERMISSION, tenant):
        return refusal(request, value=value, missing_permission=True)
    form = AddUserForm(request.POST, tenant=tenant, options=load_options(tenant))
    if not form.is_valid():
        return render(
            request, "users/provisioning/add.html", _form_context(request, tenant, form), status=422
        )
    new = form.to_new_user()
    ctx = build_context(tenant, request.user, source_ip=client_ip(request))
    result = provision_user(ctx, new, request=request)
    log.info(
        "add user %s in tenant %s: created=%s, failed steps=%d",
        result.user_principal_name,
        tenant.tenant_id,
        result.created,
        len(result.failed_steps),
    )
    context = {
        "tenant": tenant,
        "result": result,
        "steps": result.steps,
        "user_url": reverse("users:detail", args=[tenant.slug, result.user_id]) if result.user_id else "",
        "again_url": reverse("users:add") + "?" + urlencode({"tenant": str(tenant.tenant_id)}),
        "list_url": reverse("users:list") + "?" + urlencode({"tenant": tenant.slug}),
        "must_change": new.must_change_password,
    }
    response = render(request, "users/provisioning/result.html", context, status=200)
    response["Cache-Control"] = "no-store"  # the page holds a password: never from a cache or history
    return response


@login_required
def add_buttons(request):
    """The users list's "Add user" / "Invite guest" buttons, loaded by the list page (htmx) so they show
    only to technicians who may use them: 204 (nothing) otherwise."""
    if not can(request.user, PERMISSION):
        return HttpResponse(status=204)
    value = request.GET.get("tenant", "")
    tenant = (
        find_tenant(request, value) if value and value != "all" and not value.startswith("group:") else None
    )
    if tenant is not None and not can(request.user, PERMISSION, tenant):
        return HttpResponse(status=204)
    query = "?" + urlencode({"tenant": str(tenant.tenant_id)}) if tenant is not None else ""
    return render(request, "users/provisioning/add_buttons.html", {"query": query, "tenant": tenant})
