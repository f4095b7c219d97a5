"""Live checks the Add user form asks for while the technician types (htmx, debounced on the page).

* ``check_address``: the username's pattern, and whether the UPN and every alias are free (the directory
  cache and Graph, ``availability.address_problems``).
* ``check_field``: one profile field's length as Graph enforces it.
* ``user_suggestions``: <option>s of cached users for the manager / copy-from boxes.
* ``copy_source``: what "copy from another user" fills; the values travel in an htmx event that
  static/js/user-form.js applies to the form.

Each answers a small fragment (200, also for "there is a problem") and checks users.edit on the tenant
first; unknown and hidden tenants are 404 alike.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.http import trigger_client_event

from graph.errors import GraphError
from tenants.access import can

from . import form_fields as ff
from . import rules
from .forms_add import copy_values
from .views_add import PERMISSION, find_tenant, refusal

log = logging.getLogger(__name__)
MAX_ALIASES_CHECKED = 20
PROFILE_PROPERTY = {name: prop for name, prop, _label in rules.PROFILE_FIELDS}


def _tenant_or_refusal(request):
    value = request.GET.get("tenant", "")
    tenant = find_tenant(request, value) if value else None
    if tenant is None:
        return None, refusal(request, value=value)
    if not can(request.user, PERMISSION, tenant):
        return None, refusal(request, value=value, missing_permission=True)
    return tenant, None


@login_required
@require_GET
def check_address(request):
    tenant, refused = _tenant_or_refusal(request)
    if refused:
        return refused
    username = (request.GET.get("username") or "").strip()
    domains = ff.tenant_domains(tenant)
    domain = (request.GET.get("domain") or "").strip().lower()
    if domain not in domains:
        domain = domains[0] if domains else ""
    lines: list[tuple[str, str, str]] = []  # (level, address or field, message)
    problem = rules.username_problem(username) if username else None
    upn = f"{username}@{domain}" if username and domain and not problem else ""
    if problem:
        lines.append(("error", "Username", problem))
    aliases, alias_problems = ff.parse_aliases(
        request.GET.get("aliases", ""), default_domain=domain, domains=domains
    )
    aliases = [a for a in aliases if a.lower() != upn.lower()][:MAX_ALIASES_CHECKED]
    lines += [("error", "Aliases", text) for text in alias_problems]
    to_check = ([upn] if upn else []) + aliases
    taken: dict = {}
    unchecked = ""
    if to_check:
        from .availability import address_problems

        try:
            taken = {str(k).lower(): v for k, v in (address_problems(tenant, to_check) or {}).items()}
        except GraphError as error:
            # The local checks (cache, domains) still answered: show those, and say Graph could not.
            taken = {str(k).lower(): v for k, v in (getattr(error, "partial", None) or {}).items()}
            unchecked = (
                f"Microsoft could not be asked just now ({error.code or error.status}); the directory "
                "cache was checked, Microsoft checks again on create."
            )
    for address in to_check:
        reason = taken.get(address.lower())
        if reason:
            lines.append(("error", address, reason))
        elif not unchecked:
            lines.append(("ok", address, "free"))
    return render(
        request,
        "users/provisioning/check_address.html",
        {"lines": lines, "unchecked": unchecked, "checked_any": bool(to_check)},
    )


@login_required
@require_GET
def check_field(request):
    """``?field=<form field name>&<form field name>=<value>``: the length problem, or nothing."""
    name = request.GET.get("field", "")
    prop = PROFILE_PROPERTY.get(name)
    value = request.GET.get(name, "")
    problem = rules.length_problem(prop, value) if prop else None
    limit = rules.MAX_LENGTH.get(prop or "", 0)
    return render(
        request,
        "users/provisioning/check_field.html",
        {
            "problem": problem,
            "length": len(value),
            "limit": limit,
            "near": limit and len(value) > limit * 0.9,
        },
    )


@login_required
@require_GET
def user_suggestions(request):
    tenant, refused = _tenant_or_refusal(request)
    if refused:
        return refused
    q = request.GET.get("q") or request.GET.get(request.GET.get("field", ""), "")
    users = ff.search_users(tenant, q)
    return render(request, "users/provisioning/check_users.html", {"users": users})


@login_required
@require_GET
def copy_source(request):
    """``?tenant=&copy_from=<upn|id>&<current form values>``: fills the form from that user (via the
    ``userFormCopy`` event) and says what was copied and kept."""
    tenant, refused = _tenant_or_refusal(request)
    if refused:
        return refused
    value = request.GET.get("copy_from", "")
    source = ff.find_user(tenant, value) if value.strip() else None
    context = {"value": value, "source": source}
    if source is None:
        return render(request, "users/provisioning/check_copy.html", context)
    values = copy_values(source, current=request.GET)
    offered = {o.sku_id.lower(): o for o in ff.licence_options(tenant)}
    licences = [offered[sku] for sku in values["licences"] if sku in offered]
    context.update(
        copied=[ff.PROFILE.get(n, ("", n.replace("_", " ")))[1] for n in values["fields"]],
        kept=[ff.PROFILE.get(n, ("", n.replace("_", " ")))[1] for n in values["kept"]],
        licences=licences,
    )
    response = render(request, "users/provisioning/check_copy.html", context)
    return trigger_client_event(
        response,
        "userFormCopy",
        {
            "fields": values["fields"],
            "licences": [o.sku_id for o in licences],
            "source": source.user_principal_name,
        },
    )
