"""The licence catalogue the sandbox sells: real SKU ids, part numbers and product names.

Two files ship under ``data/``:

* ``m365-sku-names.csv`` (sku_id, sku_part_number, product_name) — Microsoft's product list, unchanged.
* ``m365-sku-service-plans.csv`` (sku_part_number, service_plan_id, service_plan_name, service) — the
  service plans of the SKUs the seed uses. The names file carries no plan columns, so these rows are a
  hand-picked subset of each SKU's real plans, copied from Microsoft's "Product names and service plan
  identifiers for licensing" (learn.microsoft.com, Oct 2025). The subset keeps what the portal reasons
  about: Entra ID P1/P2 (AAD_PREMIUM / AAD_PREMIUM_P2), Exchange (EXCHANGE_S_*), Office, Teams, SharePoint.

Loading checks that every plan row names a SKU of the names file, so a typo fails loudly, not silently.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
NAMES_CSV = DATA_DIR.parent.parent / "data" / "m365-sku-names.csv"  # the catalogue shared with users.skus
PLANS_CSV = DATA_DIR / "m365-sku-service-plans.csv"

AAD_PREMIUM_PLAN = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
AAD_PREMIUM_P2_PLAN = "eec0eb4f-6444-4f95-aba0-50c24d67f998"


@dataclass(frozen=True)
class ServicePlan:
    id: str
    name: str
    service: str  # the assignedPlans "service" value (exchange, SharePoint, AADPremiumService, ...)


@dataclass(frozen=True)
class SkuInfo:
    sku_id: str
    part_number: str
    product_name: str
    service_plans: tuple[ServicePlan, ...] = field(default=())

    @property
    def has_exchange(self) -> bool:
        """A mailbox comes with this SKU (a real Exchange Online plan, not just the foundation)."""
        return any(
            p.name.startswith("EXCHANGE_S_") and p.name != "EXCHANGE_S_FOUNDATION" for p in self.service_plans
        )

    @property
    def has_archive(self) -> bool:
        return any(
            p.name in {"EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_ARCHIVE_ADDON"} for p in self.service_plans
        )

    def graph_service_plans(self) -> list[dict]:
        """The subscribedSku.servicePlans shape stored in SandboxSku.service_plans."""
        return [
            {
                "servicePlanId": plan.id,
                "servicePlanName": plan.name,
                "provisioningStatus": "Success",
                "appliesTo": "User",
            }
            for plan in self.service_plans
        ]


class UnknownSku(LookupError):
    pass


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def catalogue() -> dict[str, SkuInfo]:
    """Every SKU of the names file keyed by part number; plans attached where the plans file has them."""
    plans: dict[str, list[ServicePlan]] = {}
    for row in _read_rows(PLANS_CSV):
        plan_id = str(uuid.UUID(row["service_plan_id"]))  # validates the GUID
        plans.setdefault(row["sku_part_number"], []).append(
            ServicePlan(id=plan_id, name=row["service_plan_name"], service=row["service"])
        )
    skus: dict[str, SkuInfo] = {}
    for row in _read_rows(NAMES_CSV):
        part = row["sku_part_number"]
        skus[part] = SkuInfo(
            sku_id=str(uuid.UUID(row["sku_id"])),
            part_number=part,
            product_name=row["product_name"],
            service_plans=tuple(plans.get(part, ())),
        )
    orphans = sorted(set(plans) - set(skus))
    if orphans:
        raise UnknownSku(f"{PLANS_CSV.name} names SKUs missing from {NAMES_CSV.name}: {', '.join(orphans)}")
    return skus


def sku(part_number: str) -> SkuInfo:
    try:
        return catalogue()[part_number]
    except KeyError:
        raise UnknownSku(f"unknown SKU part number {part_number!r}") from None


def sku_by_id(sku_id: str) -> SkuInfo | None:
    wanted = str(sku_id).lower()
    return next((info for info in catalogue().values() if info.sku_id == wanted), None)


def plan_services() -> dict[str, str]:
    """servicePlanId -> assignedPlans service name, across the catalogue."""
    return {plan.id: plan.service for info in catalogue().values() for plan in info.service_plans}
