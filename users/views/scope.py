"""Which tenants a users-table request covers: one tenant, All tenants, or a tenant group.

``?tenant=`` takes a tenant GUID or any verified domain, ``all``, or ``group:<id>``. Without it the
header picker's current tenant is used (the picker's "All tenants" is the absence of one). Every branch
goes through ``tenants.access``: a technician's scope always narrows what is listed, and a tenant
outside it answers exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tenants.access import groups_within_scope, require, visible_tenants
from tenants.lookup import resolve_tenant
from tenants.models import Tenant, TenantGroup
from tenants.selection import current_tenant
from users.models import TenantSku

ALL = "all"
GROUP_PREFIX = "group:"
NOTICE_LIMIT = 8


class ScopeError(Exception):
    """The ``tenant`` parameter names nothing this technician can see (status 404: not revealed)."""

    def __init__(self, message: str, status: int = 404):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class TableScope:
    param: str  # the canonical ?tenant= value
    label: str
    tenant: Tenant | None = None
    group: TenantGroup | None = None
    tenant_set: QuerySet | None = None  # All tenants / group: the visible, enabled tenants covered

    @property
    def multi(self) -> bool:
        return self.tenant is None

    @property
    def target(self):
        """What ``queries.users_for_tenants`` takes: the tenant, or the tenant queryset (a subquery)."""
        return self.tenant if self.tenant is not None else self.tenant_set

    def tenants(self) -> QuerySet:
        return Tenant.objects.filter(pk=self.tenant.pk) if self.tenant is not None else self.tenant_set


def resolve_scope(request, raw: str, perm: str) -> TableScope:
    """Raises ScopeError for unknown/out-of-scope values and PermissionDenied when the role lacks ``perm``."""
    user = request.user
    value = (raw or "").strip()
    if not value:
        chosen = current_tenant(request)
        value = chosen.slug if chosen is not None else ALL
    if value.lower() == ALL:
        require(user, perm)
        return TableScope(
            param=ALL, label="All tenants", tenant_set=visible_tenants(user).filter(enabled=True)
        )
    if value.lower().startswith(GROUP_PREFIX):
        require(user, perm)
        group_id = value[len(GROUP_PREFIX) :]
        # Only groups offered to this technician resolve: another group's name is not revealed by its id.
        group = groups_for(user).filter(pk=int(group_id)).first() if group_id.isdigit() else None
        if group is None:
            raise ScopeError(f"There is no tenant group “{group_id}”.")
        members = TenantGroup.tenants.through.objects.filter(tenantgroup_id=group.pk).values("tenant_id")
        tenant_set = visible_tenants(user).filter(enabled=True, pk__in=members)
        return TableScope(
            param=f"{GROUP_PREFIX}{group.pk}", label=group.name, group=group, tenant_set=tenant_set
        )
    tenant = resolve_tenant(value)
    try:
        if tenant is None:
            raise Http404
        require(user, perm, tenant)
    except Http404:
        raise ScopeError(f"No tenant “{value[:100]}” among the tenants you can see.") from None
    return TableScope(param=tenant.slug, label=tenant.display_name, tenant=tenant)


def groups_for(user) -> QuerySet:
    """Tenant groups offered as a scope: those lying wholly inside this technician's scope (a group's name
    can name a customer, so the others are not shown, nor found by id)."""
    return groups_within_scope(user).order_by("name")


def scope_skus(scope: TableScope) -> list[tuple[str, str]]:
    """(sku_id, product name) subscribed in the scope, one entry per SKU, for the licence filter."""
    qs = (
        TenantSku.objects.filter(tenant=scope.tenant)
        if scope.tenant
        else TenantSku.objects.filter(tenant__in=scope.tenant_set)
    )
    seen: dict[str, str] = {}
    for sku_id, name in qs.order_by("product_name").values_list("sku_id", "product_name"):
        seen.setdefault(sku_id, name)
    return sorted(seen.items(), key=lambda item: item[1].lower())


def stale_after() -> timedelta:
    return timedelta(minutes=2 * settings.USERS_SYNC_INTERVAL_MINUTES)


def sync_notices(scope: TableScope, *, now=None) -> tuple[list[dict], int]:
    """Tenants in scope whose cached users may be missing or out of date, worded for the page, and how
    many there are in all (only the first ``NOTICE_LIMIT`` are named). Never silently left out."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    problem = (
        Q(last_sync_status__in=[Tenant.SyncStatus.FAILED, Tenant.SyncStatus.NEVER])
        | Q(last_sync_at__isnull=True)
        | Q(last_sync_at__lt=cutoff)
    )
    qs = scope.tenants().filter(problem).order_by("display_name")
    rows = list(
        qs.only(
            "display_name",
            "default_domain",
            "tenant_id",
            "last_sync_status",
            "last_sync_at",
            "last_sync_error",
        )[: NOTICE_LIMIT + 1]
    )
    total = len(rows) if len(rows) <= NOTICE_LIMIT else qs.count()
    notices = [_notice(t, cutoff) for t in rows[:NOTICE_LIMIT]]
    return notices, total


def _notice(tenant: Tenant, cutoff) -> dict:
    status = tenant.last_sync_status
    if status == Tenant.SyncStatus.FAILED:
        kind, text = "failed", "last sync failed"
    elif tenant.last_sync_at is None:
        kind = "never"
        text = "first sync in progress" if status == Tenant.SyncStatus.RUNNING else "never synced"
    else:
        kind, text = "stale", "not synced since"
    return {
        "tenant": tenant,
        "kind": kind,
        "text": text,
        "when": tenant.last_sync_at,
        "error": tenant.last_sync_error if kind == "failed" else "",
    }
