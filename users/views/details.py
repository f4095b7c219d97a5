"""The More info panel: a user's common profile fields (each copyable), the actions area, and previous /
next through the table's current order and filters.

/users/<tenant>/<user id>/panel/?<table query>. htmx loads it into the page's off-canvas panel; a plain
GET renders it as a page of its own, so the links work without JS too. The neighbours come from the same
queryset and ordering as the table (``queries.neighbours``), so "next" is always the next row the
technician would have seen.
"""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from tenants.access import require
from tenants.lookup import resolve_tenant
from tenants.selection import show_scope
from tenants.ui import htmx_partial

from ..filters import parse_table_query
from ..models import DirectoryUser
from ..queries import neighbours, table_queryset
from ..tables import cell_time, export_last_sign_in, export_licences, export_mfa
from .scope import ScopeError, resolve_scope, scope_skus


def user_detail_url(tenant, user_id) -> str:
    """The View user page (another module's): by URL name when it is installed, else its documented path.
    The only place that knows that URL's shape."""
    try:
        return reverse("users:detail", args=[tenant.slug, user_id])
    except NoReverseMatch:
        return f"/users/{tenant.slug}/{user_id}/"


def panel_url(user: DirectoryUser, query_string: str = "") -> str:
    url = reverse("users:panel", args=[user.tenant.slug, user.user_id])
    return f"{url}?{query_string}" if query_string else url


def profile_fields(user: DirectoryUser) -> list[tuple[str, str, bool]]:
    """(label, value, monospace) in the order technicians look for them; empty values show as "—"."""
    phones = ", ".join(str(p) for p in user.business_phones or ())
    return [
        ("User principal name", user.user_principal_name, False),
        ("Email", user.mail, False),
        ("Given name", user.given_name, False),
        ("Surname", user.surname, False),
        ("Job title", user.job_title, False),
        ("Department", user.department, False),
        ("Office", user.office_location, False),
        ("Company", user.company_name, False),
        ("City", user.city, False),
        ("Country", user.country, False),
        ("Usage location", user.usage_location, False),
        ("Mobile", user.mobile_phone, False),
        ("Business phones", phones, False),
        ("Licences", export_licences(user), False),
        ("User type", user.user_type, False),
        ("Per-user MFA", export_mfa(user), False),
        ("Last sign-in", export_last_sign_in(user), False),
        ("On-premises immutable id", user.on_premises_immutable_id, True),
    ]


@require_GET
def user_panel(request, tenant, user_id):
    target = resolve_tenant(tenant)
    if target is None:
        raise Http404("No such tenant.")
    require(request.user, "users.view", target)
    user = DirectoryUser.objects.select_related("tenant").filter(tenant=target, user_id=user_id).first()
    if user is None:
        raise Http404("This user is not in the directory cache (deleted, or not synced yet).")

    context = {
        "user_row": user,
        "tenant": target,
        "fields": profile_fields(user),
        "detail_url": user_detail_url(target, user.user_id),
        "created": cell_time(user.created_datetime),
        "last_ad_sync": cell_time(user.on_premises_last_sync),
        "cached": cell_time(user.synced_at),
    }
    context.update(_navigation(request, user))
    show_scope(request, target, leave_to=reverse("users:list"))  # the full page's header names this tenant
    template = "users/panel.html#panel-body" if htmx_partial(request) else "users/panel.html"
    return render(request, template, context)


def _navigation(request, user: DirectoryUser) -> dict:
    """Previous / next in the table the panel was opened from; nothing when that table's scope is gone."""
    try:
        scope = resolve_scope(request, request.GET.get("tenant", ""), "users.view")
    except ScopeError:
        return {"nav": None, "table_query": ""}
    query = parse_table_query(request.GET, sku_ids={sku_id for sku_id, _ in scope_skus(scope)})
    query = replace(query, tenant=scope.param)
    table_query = query.urlencode()
    nav = neighbours(table_queryset(scope.target, query), user, query)
    return {
        "nav": nav,
        "table_query": table_query,
        "previous_url": panel_url(nav.previous, table_query) if nav.previous else "",
        "next_url": panel_url(nav.next, table_query) if nav.next else "",
        "table_url": reverse("users:list") + "?" + table_query,
    }
