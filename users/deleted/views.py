"""Pages of Deleted users: the list (GET), the confirmation of a restore or a permanent deletion (POST
from the list's selection), and the run (POST from the confirmation).

``?tenant=`` (or ``tenantFilter=``, CIPP's name) takes a tenant GUID or domain, ``all`` or ``group:<id>``,
as the users table does. Selected rows are ``<tenant GUID>:<user id>`` so a selection on All tenants can
span tenants; every tenant is checked against the technician's scope (out of scope answers 404).
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from graph.client import GraphClient
from graph.errors import GraphError
from graph.services import deleted_users as service
from tenants.access import can, require, sees_tenant
from tenants.lookup import resolve_tenant
from users.views.scope import ScopeError, resolve_scope

from .operations import MAX_SELECTION, purge_users, restore_users
from .reading import RETENTION_DAYS, read_deleted, to_row

ACTIONS = {"restore": "users.edit", "purge": "users.actions.admin"}


def _tenant_param(request) -> str:
    return request.GET.get("tenant") or request.GET.get("tenantFilter") or ""


@require_GET
def deleted_list(request):
    require(request.user, "users.view")
    context = {"search": request.GET.get("q", "")[:200], "retention_days": RETENTION_DAYS}
    try:
        scope = resolve_scope(request, _tenant_param(request), "users.view")
    except ScopeError as error:
        return render(request, "users/deleted/list.html", {**context, "scope_error": error.message},
                      status=error.status)  # fmt: skip
    tenants = list(scope.tenants().order_by("display_name"))
    listing = read_deleted(tenants, search=context["search"])
    may_restore = any(can(request.user, "users.edit", t) for t in tenants)
    may_purge = any(can(request.user, "users.actions.admin", t) for t in tenants)
    return render(request, "users/deleted/list.html", {
        **context, "scope": scope, "listing": listing, "may_restore": may_restore, "may_purge": may_purge,
        "tenant_count": len(tenants),
    })  # fmt: skip


def _safe_back(value: str) -> str:
    """Only a link back to this page (the posted value is user input: no other URL or scheme)."""
    return value if value.startswith("/users/deleted/") and "//" not in value else "/users/deleted/"


def _selection(request) -> dict:
    """{tenant: [user ids]} from the posted ``selected`` values; 404 for a tenant out of scope."""
    chosen: dict = defaultdict(list)
    tenants: dict[str, object] = {}
    for value in request.POST.getlist("selected")[: MAX_SELECTION + 1]:
        tenant_key, _, user_id = value.partition(":")
        try:
            user_id = str(uuid.UUID(user_id))
        except ValueError:
            raise Http404 from None
        if tenant_key not in tenants:
            tenant = resolve_tenant(tenant_key)
            if tenant is None or not sees_tenant(request.user, tenant):
                raise Http404
            tenants[tenant_key] = tenant
        chosen[tenants[tenant_key]].append(user_id)
    return chosen


def _named(tenant, user_ids: list[str]) -> tuple[list, list[str]]:
    """The deleted users as rows (read live, so the confirmation names what is there now) and the ids
    that are no longer in deleted items."""
    client = GraphClient.for_tenant(tenant, priority="high")
    rows, gone = [], []
    for user_id in user_ids:
        try:
            rows.append(to_row(tenant, service.get_deleted_user(client, user_id)))
        except GraphError:
            gone.append(user_id)
    return rows, gone


def expected_phrase(rows: list) -> str:
    """What a technician types to delete permanently: the UPN for one user, DELETE n USERS for several."""
    return rows[0].upn if len(rows) == 1 else f"DELETE {len(rows)} USERS"


@require_POST
def deleted_restore(request):
    return _confirm(request, "restore")


@require_POST
def deleted_purge(request):
    return _confirm(request, "purge")


def _refuse(action: str):
    raise PermissionDenied(
        "Restoring a deleted user needs the Editor role." if action == "restore"
        else "Deleting a user permanently needs the Admin role."
    )  # fmt: skip


def _confirm(request, action: str):
    """The confirmation page: names users, tenants and the consequence; for a permanent deletion it asks
    for the typed phrase and, once it matches, runs."""
    if request.POST.get("tenant"):  # the page's tenant, when posted: checked like every selected row's
        named = resolve_tenant(request.POST["tenant"])
        if named is None or not sees_tenant(request.user, named):
            raise Http404
        if not can(request.user, ACTIONS[action], named):
            _refuse(action)
    back = _safe_back(request.POST.get("back", ""))
    chosen = _selection(request)
    if not chosen:
        return HttpResponseBadRequest("Select at least one deleted user.")
    if sum(len(ids) for ids in chosen.values()) > MAX_SELECTION:
        return HttpResponseBadRequest(f"Select at most {MAX_SELECTION} users at once.")
    for tenant in chosen:
        if not can(request.user, ACTIONS[action], tenant):
            _refuse(action)
    if request.POST.get("go") == "1":
        return _run(request, action, chosen, back)
    rows, gone = [], []
    for tenant, ids in chosen.items():
        found, missing = _named(tenant, ids)
        rows += found
        gone += missing
    return render(request, "users/deleted/confirm.html", {
        "action": action, "rows": rows, "gone": gone, "back": back, "phrase": expected_phrase(rows) if rows else "",
        "tenants": sorted({row.tenant.display_name for row in rows}),
    })  # fmt: skip


def _run(request, action: str, chosen: dict, back: str):
    if action == "purge":
        rows = [row for tenant, ids in chosen.items() for row in _named(tenant, ids)[0]]
        phrase = expected_phrase(rows) if rows else ""
        typed = request.POST.get("typed", "").strip()
        if not rows or typed.casefold() != phrase.casefold():
            return render(request, "users/deleted/confirm.html", {
                "action": action, "rows": rows, "gone": [], "back": back, "phrase": phrase, "typed": typed,
                "tenants": sorted({row.tenant.display_name for row in rows}),
                "typed_error": f"Type {phrase} exactly to confirm; nothing was deleted." if rows else "",
            }, status=400)  # fmt: skip
    run = purge_users if action == "purge" else restore_users
    results = []
    for tenant, ids in chosen.items():
        results += [(tenant, result) for result in run(request, tenant, ids)]
    return render(request, "users/deleted/result.html", {"action": action, "results": results, "back": back})
