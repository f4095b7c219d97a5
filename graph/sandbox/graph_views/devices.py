"""/users/{id}/ownedDevices and /users/{id}/registeredDevices: directoryObject collections of devices."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..errors import unsupported_query
from ..models import SandboxDevice
from ..odata import parse_top
from .common import collection_body, get_user, graph_json

DEVICE_DEFAULTS = {
    "deletedDateTime": None,
    "accountEnabled": True,
    "approximateLastSignInDateTime": None,
    "complianceExpirationDateTime": None,
    "deviceId": None,
    "deviceMetadata": None,
    "deviceVersion": 2,
    "displayName": None,
    "isCompliant": None,
    "isManaged": None,
    "manufacturer": None,
    "model": None,
    "onPremisesLastSyncDateTime": None,
    "onPremisesSyncEnabled": None,
    "operatingSystem": None,
    "operatingSystemVersion": None,
    "physicalIds": [],
    "profileType": "RegisteredDevice",
    "registrationDateTime": None,
    "systemLabels": [],
    "trustType": None,
}


def device_json(device: SandboxDevice, select: list[str] | None = None) -> dict:
    full = {"@odata.type": "#microsoft.graph.device", "id": str(device.id), **DEVICE_DEFAULTS}
    full.update(device.properties or {})
    full["displayName"] = device.display_name
    if select:
        return {"@odata.type": full["@odata.type"], **{k: full.get(k) for k in ["id", *select]}}
    return full


def _devices(request: HttpRequest, user_key: str, relation: str) -> HttpResponse:
    user = get_user(request, user_key)
    unsupported = [k for k in request.GET if k.startswith("$") and k not in {"$top", "$select"}]
    if unsupported:
        raise unsupported_query(
            f"Query option '{unsupported[0]}' is not supported on devices by the sandbox."
        )
    top = parse_top(request.GET.get("$top"), 999) or 100
    raw = request.GET.get("$select")
    select = [s.strip() for s in raw.split(",") if s.strip()] if raw else None
    devices = SandboxDevice.objects.filter(links__user=user, links__relation=relation).order_by(
        "display_name", "id"
    )
    items = [device_json(d, select) for d in devices[:top]]
    return graph_json(collection_body(request, "directoryObjects", items))


@graph_endpoint(methods=("GET",))
def owned_devices(request: HttpRequest, user_key: str) -> HttpResponse:
    return _devices(request, user_key, "owner")


@graph_endpoint(methods=("GET",))
def registered_devices(request: HttpRequest, user_key: str) -> HttpResponse:
    return _devices(request, user_key, "user")
