"""Finding customer tenants through a partner connection and keeping their rows current.

Views call these functions; they never talk to Graph themselves. Every Graph failure arrives as one of
``graph.errors``' exceptions: discovery records it on the tenant it concerns and carries on with the
others, a manual add turns it into a message for the form field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from graph.client import GraphClient
from graph.errors import AuthError, GraphError, NotFoundError
from graph.services.organization import get_tenant_profile
from graph.services.partner import list_gdap_customers

from .lookup import parse_guid, resolve_tenant
from .models import PartnerConnection, Tenant, TenantDomain

logger = logging.getLogger(__name__)


@dataclass
class DiscoverySummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (tenant name or id, reason)

    def as_message(self) -> str:
        parts = [f"{len(self.created)} new", f"{len(self.updated)} updated"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return "Discovery finished: " + ", ".join(parts) + "."


class ManualAddError(Exception):
    """Why a tenant could not be added by hand; the text is meant for the technician."""


def describe_graph_error(exc: GraphError) -> str:
    """A one-line reason a technician can act on (the AADSTS code stays in, request ids help support)."""
    text = exc.message or exc.code or exc.__class__.__name__
    if exc.request_id:
        text = f"{text} (request-id {exc.request_id})"
    return text


def discover_customers(connection: PartnerConnection) -> DiscoverySummary:
    """Upsert a Tenant row for every GDAP customer of ``connection``, with its name and verified domains.

    Listing the customers is all-or-nothing (its GraphError propagates to the caller). Reading each
    customer's profile is not: a failure is stored on that tenant's row and reported in the summary, and
    discovery moves on to the next one.
    """
    summary = DiscoverySummary()
    for customer in list_gdap_customers(connection):
        tenant_id = parse_guid(customer.get("tenant_id"))
        listed_name = customer.get("display_name") or str(customer.get("tenant_id"))
        if tenant_id is None:
            summary.failed.append((listed_name, "the partner listing returned no valid tenant id"))
            continue
        existed = Tenant.objects.filter(tenant_id=tenant_id).exists()
        try:
            profile = get_tenant_profile(GraphClient(connection, str(tenant_id)))
        except GraphError as exc:
            reason = describe_graph_error(exc)
            logger.warning("discovery: profile of tenant %s failed: %s", tenant_id, reason)
            _record_failure(connection, tenant_id, listed_name, reason)
            summary.failed.append((listed_name, reason))
            continue
        tenant = upsert_tenant(connection, tenant_id, profile, fallback_name=listed_name)
        (summary.updated if existed else summary.created).append(tenant.display_name)
    return summary


ALREADY_LISTED = "That tenant is already in the list."


def add_tenant_manually(connection: PartnerConnection, tenant_id_or_domain: str, *, visible=None) -> Tenant:
    """Add (or refresh) one tenant that discovery does not list, e.g. reached through app-only consent.

    ``visible``: the tenants the technician may see; one that is listed but outside them is refused
    without its name. Raises ManualAddError with a message for the form field.
    """
    value = (tenant_id_or_domain or "").strip()
    if not value:
        raise ManualAddError("Enter a tenant id (GUID) or one of its domains.")
    existing = resolve_tenant(value)
    if existing is not None:
        named = visible is None or visible.filter(pk=existing.pk).exists()
        raise ManualAddError(f"{existing.display_name} is already in the list." if named else ALREADY_LISTED)
    guid = parse_guid(value)
    # The identity platform accepts a verified domain wherever it accepts the tenant GUID, so the client is
    # built with what the technician typed and the GUID comes back from the organization profile.
    try:
        profile = get_tenant_profile(GraphClient(connection, str(guid) if guid else value.lower()))
    except AuthError as exc:
        raise ManualAddError(
            "This partner connection cannot sign in to that tenant (no active GDAP relationship or "
            f"consent?): {describe_graph_error(exc)}"
        ) from exc
    except NotFoundError as exc:
        raise ManualAddError(f"No tenant found for {value!r}: {describe_graph_error(exc)}") from exc
    except GraphError as exc:
        raise ManualAddError(f"Microsoft did not answer as expected: {describe_graph_error(exc)}") from exc
    tenant_id = parse_guid(profile.get("tenant_id")) or guid
    if tenant_id is None:
        raise ManualAddError("The tenant's profile did not include its id; enter the tenant GUID instead.")
    if Tenant.objects.filter(tenant_id=tenant_id).exists():
        raise ManualAddError(ALREADY_LISTED)
    tenant = upsert_tenant(connection, tenant_id, profile, fallback_name=value)
    Tenant.objects.filter(pk=tenant.pk).update(added_manually=True)
    tenant.added_manually = True
    return tenant


@transaction.atomic
def upsert_tenant(connection: PartnerConnection, tenant_id, profile: dict, *, fallback_name: str) -> Tenant:
    """Create or update the tenant and replace its domain list with the verified domains in ``profile``."""
    domains = [d for d in profile.get("domains") or [] if d.get("name") and d.get("is_verified", True)]
    default = next((d["name"].lower() for d in domains if d.get("is_default")), "")
    initial = next((d["name"].lower() for d in domains if d.get("is_initial")), "")
    tenant, created = Tenant.objects.get_or_create(
        tenant_id=tenant_id,
        defaults={"connection": connection, "display_name": profile.get("display_name") or fallback_name},
    )
    tenant.connection = connection
    tenant.display_name = profile.get("display_name") or tenant.display_name or fallback_name
    tenant.default_domain = default or tenant.default_domain
    tenant.initial_domain = initial or tenant.initial_domain
    tenant.kind = Tenant.Kind.SANDBOX if connection.is_sandbox else Tenant.Kind.CUSTOMER
    if tenant.last_sync_error.startswith(DISCOVERY_ERROR_PREFIX):
        # A discovery failure is cleared by a successful discovery; a directory-sync error is the sync's
        # to clear.
        tenant.last_sync_error = ""
        if tenant.last_sync_status == Tenant.SyncStatus.FAILED:
            tenant.last_sync_status = (
                Tenant.SyncStatus.NEVER if tenant.last_sync_at is None else Tenant.SyncStatus.OK
            )
    tenant.save()
    names = {d["name"].lower() for d in domains}
    if names:
        TenantDomain.objects.filter(tenant=tenant).exclude(name__in=names).delete()
        for d in domains:
            TenantDomain.objects.update_or_create(
                name=d["name"].lower(),
                defaults={
                    "tenant": tenant,
                    "is_default": bool(d.get("is_default")),
                    "is_initial": bool(d.get("is_initial")),
                },
            )
    return tenant


DISCOVERY_ERROR_PREFIX = "Discovery: "


def _record_failure(connection: PartnerConnection, tenant_id, name: str, reason: str) -> None:
    """Keep the customer visible with its failure, so it is not silently missing from the list."""
    tenant, _ = Tenant.objects.get_or_create(
        tenant_id=tenant_id,
        defaults={
            "connection": connection,
            "display_name": name,
            "kind": Tenant.Kind.SANDBOX if connection.is_sandbox else Tenant.Kind.CUSTOMER,
        },
    )
    tenant.last_sync_status = Tenant.SyncStatus.FAILED
    tenant.last_sync_error = DISCOVERY_ERROR_PREFIX + reason
    tenant.save(update_fields=["last_sync_status", "last_sync_error"])
