"""The users table page (/users/): search, filters, sort, pages, selection, over the local directory cache.

htmx requests (search box, filters, sort headers, pager, column chooser) get only the ``users-table``
partial of the same template; a plain GET gets the whole page, so everything also works without JS.
Per page: a constant number of queries (scope, SKU list, preferences, notices, COUNT, the page).
"""

from __future__ import annotations

from dataclasses import replace

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from tenants.models import TenantDomain
from tenants.selection import show_scope
from tenants.ui import htmx_partial

from ..filters import (
    ATTRIBUTE_FILTERS,
    LICENCE_CHOICES,
    PAGE_SIZES,
    SOURCE_CHOICES,
    STATUS_CHOICES,
    TYPE_CHOICES,
    parse_table_query,
)
from ..queries import paginate, table_queryset
from ..tables import CHOOSABLE, saved_keys, visible_columns
from .details import panel_url
from .scope import ALL, ScopeError, groups_for, resolve_scope, scope_skus, sync_notices
from .sync import first_sync_waiting

TEMPLATE = "users/list.html"
PARTIAL = "users/list.html#users-table"


def table_context(request, params) -> dict:
    """Everything the page and its partial need, from a QueryDict of table parameters.
    Raises ScopeError / PermissionDenied for the tenant parameter."""
    scope = resolve_scope(request, params.get("tenant", ""), "users.view")
    skus = scope_skus(scope)
    query = parse_table_query(params, sku_ids={sku_id for sku_id, _ in skus})
    query = replace(query, tenant=scope.param)
    keys = saved_keys(request.user)
    columns = visible_columns(keys, multi_tenant=scope.multi)
    page = paginate(table_queryset(scope.target, query), query)
    notices, notice_total = sync_notices(scope)
    row_query = query.urlencode()
    rows = [
        {
            "user": user,
            "cells": [(column, column.render(user)) for column in columns],
            "panel_url": panel_url(user, row_query),
        }
        for user in page.rows
    ]
    return {
        "scope": scope,
        "query": query,
        "attribute_params": tuple(ATTRIBUTE_FILTERS),
        "query_string": row_query,
        "filter_query": query.urlencode(page=1),
        "page": page,
        "rows": rows,
        "columns": columns,
        "headers": [_header(query, column) for column in columns],
        "chooser": [(c, c.key in keys or c.required) for c in CHOOSABLE],
        "notices": notices,
        "notice_total": notice_total,
        "notice_more": max(0, notice_total - len(notices)),
        "skus": skus,
        "domains": _domains(scope),
        "page_sizes": PAGE_SIZES,
        "status_choices": STATUS_CHOICES,
        "licence_choices": LICENCE_CHOICES,
        "source_choices": SOURCE_CHOICES,
        "type_choices": TYPE_CHOICES,
        "page_links": [(n, query.page_url(n) if n else "") for n in page.window()],
        "prev_url": query.page_url(page.number - 1),
        "next_url": query.page_url(page.number + 1),
        "export_csv": reverse("users:export-csv") + "?" + query.urlencode(page=1),
        "export_xlsx": reverse("users:export-xlsx") + "?" + query.urlencode(page=1),
        # An empty, unfiltered table says which tenants still wait for their first sync, with Refresh.
        "first_sync": (
            first_sync_waiting(request.user, notices) if not page.count and not query.has_filters else None
        ),
    }


def _header(query, column) -> dict:
    active = query.sort_key == column.key
    if not column.sortable:
        aria = None
    elif active:
        aria = "descending" if query.descending else "ascending"
    else:
        aria = "none"
    return {
        "column": column,
        "active": active,
        "descending": active and query.descending,
        "aria_sort": aria,
        "url": query.sort_url(column.key) if column.sortable else "",
    }


def _domains(scope) -> list[str]:
    """Verified domains offered by the domain filter: one tenant's (All tenants takes free text)."""
    if scope.tenant is None:
        return []
    return list(
        TenantDomain.objects.filter(tenant=scope.tenant).order_by("name").values_list("name", flat=True)
    )


def render_table(request, params, *, partial: bool | None = None, push: bool = False):
    """The page, or its table partial. ``push``: tell htmx to put the canonical URL (defaults left out)
    in the address bar instead of the raw form serialisation, so what gets bookmarked is clean."""
    partial = htmx_partial(request) if partial is None else partial
    try:
        context = table_context(request, params)
    except ScopeError as error:
        context = {"scope_error": error.message, "groups": groups_for(request.user)}
        return render(request, PARTIAL if partial else TEMPLATE, context, status=error.status)
    if partial:
        context["oob"] = True  # also refresh the search form's hidden sort (it lives outside the partial)
    else:
        context["groups"] = groups_for(request.user)
        scope = context.get("scope")
        if scope is not None:
            # The header picker names what this table shows (also when opened by URL); picking another
            # tenant there opens that tenant's table, not this URL again.
            show_scope(request, scope.tenant, scope.label, all_tenants=scope.param == ALL,
                       leave_to=reverse("users:list"))  # fmt: skip
        if scope is not None and getattr(scope, "tenant", None) is not None:
            # The one tenant's last sync and its Refresh button, above the table.
            from .sync import sync_status_context

            context["sync"] = sync_status_context(request.user, scope.tenant)
    response = render(request, PARTIAL if partial else TEMPLATE, context)
    if partial and push:
        push_url(response, reverse("users:list") + "?" + context["query_string"])
    return response


@require_GET
def user_table(request):
    return render_table(request, request.GET, push=True)
