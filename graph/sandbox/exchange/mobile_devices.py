"""Exchange ActiveSync partnerships of a mailbox: ``Get-MobileDevice``, ``Get-MobileDeviceStatistics`` and
``Remove-MobileDevice``, shaped like Exchange Online's output.

``Remove-MobileDevice`` deletes the partnership only, as in Exchange: no wipe is recorded, and the device
would create a new partnership at its next sync. The sandbox keeps the partnerships in
``SandboxTenant.settings["mobileDevices"]`` (a list of dicts with the mailbox's user id): nothing else reads
them, so they need no table of their own.
"""

from __future__ import annotations

import uuid

from . import errors
from .cmdlets import cmdlet, require
from .errors import CmdletError
from .mailbox import _alias, find_mailbox

SETTING = "mobileDevices"
ACCESS_STATES = ("Allowed", "Blocked", "Quarantined", "DeviceDiscovery")


def devices_of(tenant) -> list[dict]:
    return [
        d for d in (tenant.settings or {}).get(SETTING) or [] if isinstance(d, dict) and d.get("DeviceId")
    ]


def _save(tenant, devices: list[dict]) -> None:
    tenant.settings = {**(tenant.settings or {}), SETTING: devices}
    tenant.save(update_fields=["settings"])


def add_device(tenant, user_id, **fields) -> dict:
    """Seed/test helper: a partnership of the mailbox of ``user_id``."""
    device = {"UserId": str(user_id), "DeviceType": "iPhone", "DeviceModel": "iPhone", "DeviceOS": "iOS 18.1",
              "FriendlyName": "", "ClientType": "EAS", "DeviceAccessState": "Allowed",
              "FirstSyncTime": None, "LastSuccessSync": None, **fields}  # fmt: skip
    device.setdefault("DeviceId", uuid.uuid4().hex[:24].upper())
    _save(tenant, [*devices_of(tenant), device])
    return device


def _guid(tenant, device: dict) -> str:
    return str(
        uuid.uuid5(uuid.NAMESPACE_OID, f"mobile-device:{tenant.pk}:{device['UserId']}:{device['DeviceId']}")
    )


def _identity(mailbox, device: dict) -> str:
    return f"{_alias(mailbox)}\\ExchangeActiveSyncDevices\\{device['DeviceType']}§{device['DeviceId']}"


def device_object(tenant, mailbox, device: dict) -> dict:
    identity = _identity(mailbox, device)
    return {
        "Identity": identity,
        "Name": f"{device['DeviceType']}§{device['DeviceId']}",
        "Guid": _guid(tenant, device),
        "DeviceId": device["DeviceId"],
        "DeviceType": device["DeviceType"],
        "DeviceModel": device["DeviceModel"],
        "DeviceOS": device["DeviceOS"],
        "FriendlyName": device.get("FriendlyName") or "",
        "ClientType": device.get("ClientType") or "EAS",
        "DeviceAccessState": device.get("DeviceAccessState") or "Allowed",
        "DeviceAccessStateReason": "Global",
        "FirstSyncTime": device.get("FirstSyncTime"),
        "UserDisplayName": f"{_alias(mailbox)}",
        "IsManaged": False,
        "IsCompliant": False,
    }


def _mailbox_devices(tenant, mailbox) -> list[dict]:
    return [d for d in devices_of(tenant) if d["UserId"] == str(mailbox.user_id)]


def _not_found(identity) -> CmdletError:
    return CmdletError(
        404,
        errors.NOT_FOUND,
        f"The operation couldn't be performed because object '{identity}' couldn't be found.",
        target=str(identity),
    )


def _find(tenant, identity) -> tuple[object, dict]:
    """(mailbox, device) for an Identity given as the device's Guid or its full Identity text."""
    from ..models import SandboxMailbox

    value = str(identity or "").strip()
    for device in devices_of(tenant):
        mailbox = SandboxMailbox.objects.filter(user_id=device["UserId"]).select_related("user").first()
        if mailbox is None:
            continue
        if value.lower() in (_guid(tenant, device), _identity(mailbox, device).lower()):
            return mailbox, device
    raise _not_found(identity)


def _listing(tenant, params: dict) -> list[tuple[object, dict]]:
    if params.get("Identity") not in (None, ""):
        return [_find(tenant, params["Identity"])]
    require(params, "Mailbox")
    mailbox = find_mailbox(tenant, params["Mailbox"])
    return [(mailbox, d) for d in _mailbox_devices(tenant, mailbox)]


@cmdlet(
    "Get-MobileDevice", parameters=("Mailbox", "Identity", "ResultSize"), output_type="Exchange.MobileDevice"
)
def get_mobile_device(tenant, params: dict, request) -> list[dict]:
    return [device_object(tenant, mailbox, device) for mailbox, device in _listing(tenant, params)]


@cmdlet("Get-MobileDeviceStatistics", parameters=("Mailbox", "Identity"),
        output_type="Exchange.MobileDeviceStatistics")  # fmt: skip
def get_mobile_device_statistics(tenant, params: dict, request) -> list[dict]:
    rows = []
    for mailbox, device in _listing(tenant, params):
        item = device_object(tenant, mailbox, device)
        rows.append({key: item[key] for key in ("Identity", "Guid", "DeviceId", "DeviceType", "DeviceModel",
                                               "DeviceOS", "FriendlyName", "ClientType", "DeviceAccessState",
                                               "FirstSyncTime")}
                    | {"LastSuccessSync": device.get("LastSuccessSync"),
                       "LastSyncAttemptTime": device.get("LastSuccessSync")})  # fmt: skip
    return rows


@cmdlet("Remove-MobileDevice", parameters=("Identity",))
def remove_mobile_device(tenant, params: dict, request) -> list[dict]:
    require(params, "Identity")
    mailbox, device = _find(tenant, params["Identity"])
    kept = [
        d
        for d in devices_of(tenant)
        if not (d["UserId"] == device["UserId"] and d["DeviceId"] == device["DeviceId"])
    ]
    _save(tenant, kept)
    return []
