"""Whether a user's licences include a OneDrive, read from the directory cache only.

A OneDrive comes with a SharePoint Online (or OneDrive for Business) service plan. The cache holds what is
needed to tell: the user's ``assignedLicenses`` (SKU ids and the plans switched off for them, in the synced
Graph record) and each subscribed SKU's ``servicePlans`` (TenantSku rows, refreshed with every sync from
``/subscribedSkus``). Plans are recognised by their service plan name, as in Microsoft's "Product names and
service plan identifiers for licensing" list: SHAREPOINTSTANDARD / SHAREPOINTENTERPRISE (and their _EDU,
_GOV variants), SHAREPOINTDESKLESS (F1/F3), ONEDRIVESTANDARD / ONEDRIVEENTERPRISE / ONEDRIVE_BASIC.
SHAREPOINTWAC is Office for the web and carries no OneDrive; Project Online, extra storage and
Multi-Geo plans neither.

When the cache cannot tell (a SKU the tenant's cached subscriptions do not list, or listed without its
plans), the action is offered: SharePoint itself then has the last word, and the runner reports it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from users.models import DirectoryUser

ONEDRIVE_PLAN_PREFIXES = ("SHAREPOINT", "ONEDRIVE")
NOT_ONEDRIVE_PREFIXES = (
    "SHAREPOINTWAC",  # Office for the web
    "SHAREPOINT_PROJECT",  # Project Online
    "SHAREPOINTSTORAGE",  # extra tenant storage
    "SHAREPOINTONLINE_MULTIGEO",
    "ONEDRIVECLIPCHAMP",
)


def gives_onedrive(plan_name: str) -> bool:
    name = (plan_name or "").strip().upper()
    return name.startswith(ONEDRIVE_PLAN_PREFIXES) and not name.startswith(NOT_ONEDRIVE_PREFIXES)


def _uuid(value) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def assigned_licences(user: DirectoryUser) -> dict[str, set[str]]:
    """{sku id: ids of the plans switched off for this user} from the cached record; the SKU id column
    alone (nothing switched off) when the record has no ``assignedLicenses``."""
    items = (user.graph or {}).get("assignedLicenses") if isinstance(user.graph, dict) else None
    if not isinstance(items, list):
        return {sku: set() for sku in (_uuid(s) for s in user.license_sku_ids or []) if sku}
    out: dict[str, set[str]] = {}
    for item in items:
        if not isinstance(item, dict) or (sku := _uuid(item.get("skuId"))) is None:
            continue
        out[sku] = {p for p in (_uuid(d) for d in item.get("disabledPlans") or []) if p}
    return out


def _tenant_skus(tenant_id: int, sku_ids: Iterable[str]) -> dict[str, tuple[str, list]]:
    """{sku id: (product name, servicePlans)} for the SKUs the tenant's cached subscriptions list."""
    from users.models import TenantSku

    rows = TenantSku.objects.filter(tenant_id=tenant_id, sku_id__in=list(sku_ids))
    return {
        str(sku_id): (name, plans if isinstance(plans, list) else [])
        for sku_id, name, plans in rows.values_list("sku_id", "product_name", "service_plans")
    }


def onedrive_why_not(user: DirectoryUser) -> str | None:
    """None when a licence of the user includes a OneDrive plan that is switched on, or when the cache
    cannot tell; otherwise why there is no OneDrive to create."""
    held = assigned_licences(user)
    if not held:
        return None  # the caller decides what an unlicensed user means
    known = _tenant_skus(user.tenant_id, held)
    names: list[str] = []
    switched_off: list[str] = []
    for sku_id, disabled in held.items():
        if sku_id not in known or not known[sku_id][1]:
            return None  # plans unknown: let SharePoint decide
        name, plans = known[sku_id]
        names.append(name)
        onedrive = [p for p in plans if isinstance(p, dict) and gives_onedrive(str(p.get("servicePlanName")))]
        if any(_uuid(p.get("servicePlanId")) not in disabled for p in onedrive):
            return None
        if onedrive:
            switched_off.append(name)
    if switched_off:
        return (
            f"The SharePoint Online plan of {', '.join(sorted(switched_off))} is switched off for this user, "
            "so there is no OneDrive to create. Switch it on under Licences in Edit user first."
        )
    return (
        f"No licence of this user includes SharePoint Online or OneDrive ({', '.join(sorted(names))}), "
        "so there is no OneDrive to create."
    )
