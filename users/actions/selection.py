"""Which users an action is about: one user, the rows ticked in the table, or "all N matching".

Requests carry the choice in three ways (GET or POST, same names):
  * ``user=<tenant GUID>/<user id>`` — once per user (the row menu, More info, View user, ticked rows);
  * ``query=<the table's query string>`` — every user the table's search and filters match (the bulk bar's
    "Select all N matching"); the filters are re-applied here, so the selection is exactly what the table
    counts, and the count shown in the confirmation is posted back (``expected_count``) so a selection that
    changed in between is confirmed again instead of run.
Users outside the technician's tenants are "not found" (404), like everywhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import Http404, QueryDict

from tenants.access import require
from tenants.models import Tenant
from users.filters import parse_table_query
from users.models import DirectoryUser
from users.queries import table_queryset
from users.views.scope import ScopeError, resolve_scope, scope_skus

from .registry import Target

MAX_LISTED_USERS = 1000  # more than this: use "all matching", which sends the query instead of ids
PREVIEW = 8


class SelectionError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Selection:
    queryset: QuerySet  # DirectoryUser rows, tenant selected, in a stable order
    count: int
    tenants: list[Tenant]
    user_values: list[str] = field(default_factory=list)
    query_string: str = ""
    missing: int = 0  # listed users no longer in the directory cache

    @property
    def all_matching(self) -> bool:
        return bool(self.query_string)

    @property
    def single(self) -> DirectoryUser | None:
        return self.preview[0] if self.count == 1 else None

    @property
    def tenant(self) -> Tenant | None:
        return self.tenants[0] if len(self.tenants) == 1 else None

    @property
    def tenant_label(self) -> str:
        if len(self.tenants) == 1:
            return self.tenants[0].display_name
        return f"{len(self.tenants)} tenants"

    @property
    def preview(self) -> list[DirectoryUser]:
        if not hasattr(self, "_preview"):
            self._preview = list(self.queryset[:PREVIEW])
        return self._preview

    def targets(self) -> list[Target]:
        return [Target(tenant=user.tenant, user=user) for user in self.queryset]

    def hidden_fields(self) -> list[tuple[str, str]]:
        """What the confirmation form posts back to name the same users."""
        if self.query_string:
            return [("query", self.query_string)]
        return [("user", value) for value in self.user_values]

    def encoded(self) -> str:
        return urlencode(self.hidden_fields())


def user_value(user: DirectoryUser) -> str:
    return f"{user.tenant.tenant_id}/{user.user_id}"


def _parse_value(value: str) -> tuple[uuid.UUID, uuid.UUID]:
    tenant_part, _, user_part = (value or "").strip().partition("/")
    try:
        return uuid.UUID(tenant_part), uuid.UUID(user_part)
    except ValueError:
        raise SelectionError(f"“{value[:80]}” does not name a user (expected tenant id/user id).") from None


def resolve_selection(request, data: QueryDict, permission: str) -> Selection:
    """The users named by ``data``. Raises Http404 (a tenant outside the technician's scope), PermissionDenied
    (the role may not ``permission``) or SelectionError (nothing or nonsense selected)."""
    query = (data.get("query") or "").strip()
    if query:
        return _matching(request, query, permission)
    values = [v for v in data.getlist("user") if v.strip()]
    if not values:
        raise SelectionError("No user was selected.")
    if len(values) > MAX_LISTED_USERS:
        raise SelectionError(
            f"{len(values)} users were listed; above {MAX_LISTED_USERS} use “Select all matching” instead."
        )
    pairs = list(dict.fromkeys(_parse_value(v) for v in values))
    tenants: dict[uuid.UUID, Tenant] = {}
    for tenant_id in {t for t, _ in pairs}:
        tenant = Tenant.objects.select_related("connection").filter(tenant_id=tenant_id).first()
        if tenant is None:
            raise Http404("No such tenant.")
        require(request.user, "users.view", tenant)  # 404 outside the scope, before any other answer
        tenants[tenant_id] = tenant
    for tenant in tenants.values():
        require(request.user, permission, tenant)
    condition = Q()
    for tenant_id, user_id in pairs:
        condition |= Q(tenant=tenants[tenant_id], user_id=user_id)
    queryset = (
        DirectoryUser.objects.select_related("tenant", "tenant__connection")
        .filter(condition)
        .order_by("display_name", "user_principal_name", "pk")
    )
    count = queryset.count()
    if count == 0:
        raise SelectionError("This user is not in the directory cache (deleted, or not synced yet).", 404)
    present = set(queryset.values_list("tenant__tenant_id", "user_id"))
    kept = [f"{t}/{u}" for t, u in pairs if (t, u) in present]
    used = {tenants[t] for t, u in pairs if (t, u) in present} or set(tenants.values())
    used_tenants = sorted(used, key=lambda t: t.display_name)
    return Selection(queryset, count, used_tenants, user_values=kept, missing=len(pairs) - count)


def _matching(request, query: str, permission: str) -> Selection:
    params = QueryDict(query)
    try:
        scope = resolve_scope(request, params.get("tenant", ""), "users.view")
    except ScopeError as error:
        raise SelectionError(error.message, 404) from None
    table_query = parse_table_query(params, sku_ids={sku_id for sku_id, _ in scope_skus(scope)})
    queryset = table_queryset(scope.target, table_query)
    queryset = (
        DirectoryUser.objects.select_related("tenant", "tenant__connection")
        .filter(pk__in=queryset.values("pk"))
        .order_by("display_name", "user_principal_name", "pk")
    )
    count = queryset.count()
    if count == 0:
        raise SelectionError("No user matches the table's search and filters any more.")
    tenant_ids = set(queryset.values_list("tenant_id", flat=True).distinct())
    tenants = sorted(Tenant.objects.filter(pk__in=tenant_ids), key=lambda t: t.display_name)
    for tenant in tenants:
        require(request.user, permission, tenant)
    return Selection(queryset, count, tenants, query_string=query)
