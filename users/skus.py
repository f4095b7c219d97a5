"""Microsoft's licence catalogue: SKU id → product name, from the CSV shipped at graph/data/.

Graph only ever gives a SKU id (``assignedLicenses``) or a part number (``subscribedSkus``); technicians
know licences by product name ("Microsoft 365 E3"). The catalogue is Microsoft's "Product names and service
plan identifiers for licensing" list, read once per process. A SKU it does not know yet is shown by its
part number (see ``users.sync.skus``), never as a GUID.
"""

from __future__ import annotations

import csv
import uuid
from functools import cache
from pathlib import Path

CATALOGUE_CSV = Path(__file__).resolve().parent.parent / "graph" / "data" / "m365-sku-names.csv"


def _normalise_id(sku_id) -> str | None:
    try:
        return str(uuid.UUID(str(sku_id).strip()))
    except (ValueError, TypeError, AttributeError):
        return None


@cache
def _catalogue() -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case sku id → product name, part number → product name)."""
    by_id: dict[str, str] = {}
    by_part: dict[str, str] = {}
    with CATALOGUE_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("product_name") or "").strip()
            sku_id = _normalise_id(row.get("sku_id"))
            if not name or sku_id is None:
                continue
            by_id[sku_id] = name
            part = (row.get("sku_part_number") or "").strip()
            if part:
                by_part.setdefault(part.upper(), name)
    return by_id, by_part


def product_name(sku_id=None, part_number: str | None = None) -> str | None:
    """The product name Microsoft gives a SKU (by id first, then part number), or None when unknown."""
    by_id, by_part = _catalogue()
    normalised = _normalise_id(sku_id) if sku_id is not None else None
    if normalised and normalised in by_id:
        return by_id[normalised]
    if part_number:
        return by_part.get(part_number.strip().upper())
    return None


def catalogue_size() -> int:
    return len(_catalogue()[0])
