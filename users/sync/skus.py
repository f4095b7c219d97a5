"""A tenant's subscribed SKUs (TenantSku rows), its licence-driven capabilities, and licence names.

Refreshed at every sync from one GET /subscribedSkus: cheap, and it is what tells us whether the tenant has
Entra ID P1/P2 (sign-in activity) and Exchange. A product name comes from Microsoft's catalogue
(``users.skus``), else the tenant's part number; a SKU known to neither is "Unknown licence", never a GUID.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from graph.client import GraphClient
from graph.services.skus import detect_capabilities, list_subscribed_skus
from tenants.models import Tenant
from users import skus as catalogue
from users.models import TenantSku

UNKNOWN_LICENCE = "Unknown licence"


class LicenceNamer:
    """sku id → product name for one tenant: its TenantSku rows first, then the catalogue."""

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self._names = {key.lower(): value for key, value in (names or {}).items()}

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> LicenceNamer:
        rows = TenantSku.objects.filter(tenant=tenant).values_list("sku_id", "product_name")
        return cls({str(sku_id): name for sku_id, name in rows})

    def __call__(self, sku_id: str) -> str:
        key = str(sku_id).lower()
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = catalogue.product_name(key) or UNKNOWN_LICENCE
        return name


def _int(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def sku_product_name(sku: dict) -> str:
    part = str(sku.get("skuPartNumber") or "").strip()
    return catalogue.product_name(sku.get("skuId"), part) or part or UNKNOWN_LICENCE


def store_subscribed_skus(tenant: Tenant, skus: list[dict]) -> LicenceNamer:
    """Replace the tenant's TenantSku rows and capability flags with what /subscribedSkus returned."""
    now = timezone.now()
    rows: dict[uuid.UUID, TenantSku] = {}
    for sku in skus:
        try:
            sku_id = uuid.UUID(str(sku.get("skuId")))
        except (ValueError, TypeError):
            continue
        prepaid = sku.get("prepaidUnits") or {}
        rows[sku_id] = TenantSku(
            tenant=tenant,
            sku_id=sku_id,
            part_number=str(sku.get("skuPartNumber") or "")[:128],
            product_name=sku_product_name(sku)[:256],
            prepaid_units=_int(prepaid.get("enabled")) + _int(prepaid.get("warning")),
            consumed_units=_int(sku.get("consumedUnits")),
            capability_status=str(sku.get("capabilityStatus") or "Enabled")[:16],
            service_plans=list(sku.get("servicePlans") or []),
            refreshed_at=now,
        )
    capabilities = detect_capabilities(skus)
    with transaction.atomic():
        TenantSku.objects.filter(tenant=tenant).exclude(sku_id__in=list(rows)).delete()
        TenantSku.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["tenant", "sku_id"],
            update_fields=[
                "part_number",
                "product_name",
                "prepaid_units",
                "consumed_units",
                "capability_status",
                "service_plans",
                "refreshed_at",
            ],  # fmt: skip
        )
        tenant.has_entra_p1 = capabilities["entra_p1"]
        tenant.has_entra_p2 = capabilities["entra_p2"]
        tenant.has_exchange = capabilities["exchange"]
        tenant.capabilities_checked_at = now
        Tenant.objects.filter(pk=tenant.pk).update(
            has_entra_p1=tenant.has_entra_p1,
            has_entra_p2=tenant.has_entra_p2,
            has_exchange=tenant.has_exchange,
            capabilities_checked_at=now,
        )
    return LicenceNamer({str(sku_id): row.product_name for sku_id, row in rows.items()})


def refresh_tenant_skus(tenant: Tenant, client: GraphClient) -> LicenceNamer:
    """One GET /subscribedSkus → TenantSku rows, capability flags, and the namer for this sync."""
    return store_subscribed_skus(tenant, list_subscribed_skus(client))
