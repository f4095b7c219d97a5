"""Devices a user owns or has registered in Entra ID (``ownedDevices`` / ``registeredDevices``)."""

from __future__ import annotations

from graph.batch import BatchRequest
from graph.client import GraphClient

DEVICE_SELECT = (
    "id,deviceId,displayName,operatingSystem,operatingSystemVersion,trustType,isCompliant,isManaged,"
    "manufacturer,model,approximateLastSignInDateTime,registrationDateTime,accountEnabled"
)
TRUST_LABELS = {"AzureAd": "Entra joined", "ServerAd": "Hybrid joined", "Workplace": "Registered"}
RELATIONS = {"ownedDevices": "owner", "registeredDevices": "user"}


def devices_path(user_id: str, relation: str) -> str:
    if relation not in RELATIONS:
        raise ValueError(f"relation must be one of {sorted(RELATIONS)}")
    return f"/users/{user_id}/{relation}"


def devices_request(user_id: str, relation: str, request_id: str | None = None) -> BatchRequest:
    return BatchRequest(
        request_id or relation, "GET", f"{devices_path(user_id, relation)}?$select={DEVICE_SELECT}"
    )


def list_devices(client: GraphClient, user_id: str, relation: str) -> list[dict]:
    items: list[dict] = []
    for page in client.iter_pages(devices_path(user_id, relation), params={"$select": DEVICE_SELECT}):
        items.extend(page)
    return items


def merge_devices(owned: list[dict], registered: list[dict]) -> list[dict]:
    """One row per device (``[{id, name, os, trust, compliant, managed, model, last_sign_in, registered,
    enabled, owner, registered_user}]``) sorted by most recent activity; non-device objects are skipped."""
    rows: dict[str, dict] = {}
    for relation, items in (("owner", owned), ("registered_user", registered)):
        for item in items:
            odata_type = item.get("@odata.type", "#microsoft.graph.device")
            if odata_type != "#microsoft.graph.device" or not item.get("id"):
                continue
            row = rows.setdefault(item["id"], _row(item))
            row[relation] = True
    return sorted(rows.values(), key=lambda r: r["last_sign_in"] or "", reverse=True)


def _row(item: dict) -> dict:
    os_name = " ".join(x for x in (item.get("operatingSystem"), item.get("operatingSystemVersion")) if x)
    maker = " ".join(x for x in (item.get("manufacturer"), item.get("model")) if x)
    trust = item.get("trustType") or ""
    return {
        "id": item["id"],
        "device_id": item.get("deviceId") or "",
        "name": item.get("displayName") or "(unnamed device)",
        "os": os_name,
        "model": maker,
        "trust": TRUST_LABELS.get(trust, trust),
        "compliant": item.get("isCompliant"),
        "managed": item.get("isManaged"),
        "enabled": item.get("accountEnabled"),
        "last_sign_in": item.get("approximateLastSignInDateTime"),
        "registered": item.get("registrationDateTime"),
        "owner": False,
        "registered_user": False,
    }


def list_user_devices(client: GraphClient, user_id: str) -> list[dict]:
    return merge_devices(
        list_devices(client, user_id, "ownedDevices"), list_devices(client, user_id, "registeredDevices")
    )
