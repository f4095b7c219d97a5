"""Find a tenant from whatever a link or a technician hands us: its GUID or any of its verified domains."""

from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef, Q

from .models import FavouriteTenant, Tenant, TenantDomain

# No name or domain is longer (domains: 253). Longer input matches nothing, and asking the database anyway
# fails on SQLite ("LIKE or GLOB pattern too complex" past 50,000 bytes): a 500 instead of "not found". Same
# for control characters (no domain has one; PostgreSQL refuses a NUL in a query parameter outright).
MAX_LOOKUP = 256


def _unsearchable(text: str) -> bool:
    return len(text) > MAX_LOOKUP or not text.isprintable()


def parse_guid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError, TypeError):
        return None


def resolve_tenant(value) -> Tenant | None:
    """The tenant whose GUID, default/initial domain or any verified domain is ``value`` (case-insensitive),
    or None. Links from other tools may carry either form, so both must work."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or _unsearchable(text):
        return None
    guid = parse_guid(text)
    if guid is not None:
        return Tenant.objects.filter(tenant_id=guid).first()
    name = text.lower()
    domain = TenantDomain.objects.select_related("tenant").filter(name=name).first()
    if domain is not None:
        return domain.tenant
    # Rows synced before their domains were recorded still carry the default/initial domain themselves.
    return (
        Tenant.objects.filter(default_domain__iexact=name).first()
        or Tenant.objects.filter(initial_domain__iexact=name).first()
    )


def search_tenants(q: str, queryset=None):
    """Tenants whose name or any domain contains ``q``, or whose GUID is ``q`` (the list and the picker)."""
    qs = queryset if queryset is not None else Tenant.objects.all()
    text = (q or "").strip()
    if not text:
        return qs
    if _unsearchable(text):
        return qs.none()
    guid = parse_guid(text)
    if guid is not None:
        return qs.filter(tenant_id=guid)
    matching_domains = TenantDomain.objects.filter(name__icontains=text.lower()).values("tenant_id")
    return qs.filter(
        Q(display_name__icontains=text)
        | Q(default_domain__icontains=text)
        | Q(initial_domain__icontains=text)
        | Q(pk__in=matching_domains)
    )


def with_favourite_flag(queryset, user):
    """Annotate ``is_favourite`` for ``user`` (one subquery instead of a query per row)."""
    return queryset.annotate(
        is_favourite=Exists(FavouriteTenant.objects.filter(user=user, tenant=OuterRef("pk")))
    )
