"""Subscribed licences (SKUs) of a tenant and the capabilities they unlock."""

from __future__ import annotations

from collections.abc import Iterable

from graph.client import GraphClient

# Service plans that grant Entra ID Premium (service plan ids are stable across SKUs).
ENTRA_P1_PLAN = "AAD_PREMIUM"
ENTRA_P2_PLAN = "AAD_PREMIUM_P2"
ENTRA_P1_PLAN_ID = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
ENTRA_P2_PLAN_ID = "eec0eb4f-6444-4f95-aba0-50c24d67f998"
EXCHANGE_PLAN_PREFIX = "EXCHANGE_S_"
# Provisioning states in which a plan is actually usable.
_USABLE = {"Success", "PendingActivation", "PendingProvisioning"}


def list_subscribed_skus(client: GraphClient) -> list[dict]:
    """All subscriptions of the tenant (skuId, skuPartNumber, capabilityStatus, units, servicePlans)."""
    skus: list[dict] = []
    for page in client.iter_pages("/subscribedSkus"):
        skus.extend(page)
    return skus


def _active_plans(skus: Iterable[dict]) -> list[dict]:
    plans = []
    for sku in skus:
        if sku.get("capabilityStatus", "Enabled") not in ("Enabled", "Warning"):
            continue
        if sku.get("appliesTo", "User") != "User":
            continue
        for plan in sku.get("servicePlans") or []:
            if plan.get("provisioningStatus", "Success") in _USABLE:
                plans.append(plan)
    return plans


def detect_capabilities(skus: Iterable[dict]) -> dict:
    """``{"entra_p1", "entra_p2", "exchange"}`` booleans from the tenant's enabled service plans.

    P2 includes P1. Plans are matched by id, with the plan name as a fallback."""
    plans = _active_plans(skus)
    ids = {str(p.get("servicePlanId", "")).lower() for p in plans}
    names = {str(p.get("servicePlanName", "")).upper() for p in plans}
    p2 = ENTRA_P2_PLAN_ID in ids or ENTRA_P2_PLAN in names
    p1 = p2 or ENTRA_P1_PLAN_ID in ids or ENTRA_P1_PLAN in names
    exchange = any(name.startswith(EXCHANGE_PLAN_PREFIX) for name in names)
    return {"entra_p1": p1, "entra_p2": p2, "exchange": exchange}
