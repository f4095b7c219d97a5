"""A mailbox's Exchange ActiveSync partnerships (phones and tablets syncing mail): list and remove.

* ``list_mobile_devices(exchange, upn)``: ``Get-MobileDevice -Mailbox <upn>`` (model, OS, type, friendly name,
  client, access state, first sync) merged with ``Get-MobileDeviceStatistics -Mailbox <upn>`` (last successful
  sync), by the device's Guid.
* ``remove_mobile_device(exchange, upn, identity)``: ``Remove-MobileDevice -Identity <Guid>``. This removes the
  partnership only: it is not a wipe, and the device may sync again and come back (wiping is Intune's, or
  ``Clear-MobileDevice``'s).
"""

from __future__ import annotations

from graph.exchange import ExchangeClient

NOT_A_WIPE = (
    "Removing a mobile device only deletes its mail partnership: it does not wipe the device, and the device "
    "may sync again (then it reappears) unless the user's password or access changes. To wipe it, use Intune "
    "or Exchange's Clear-MobileDevice."
)


def list_mobile_devices(exchange: ExchangeClient, upn: str) -> list[dict]:
    devices = exchange.invoke("Get-MobileDevice", {"Mailbox": upn}, anchor_mailbox=upn)
    statistics = {
        str(s.get("Guid")): s
        for s in exchange.invoke("Get-MobileDeviceStatistics", {"Mailbox": upn}, anchor_mailbox=upn)
    }
    rows = []
    for item in devices:
        stats = statistics.get(str(item.get("Guid"))) or {}
        rows.append({
            "identity": str(item.get("Guid") or item.get("Identity") or ""),
            "model": item.get("DeviceModel") or "",
            "os": item.get("DeviceOS") or "",
            "type": item.get("DeviceType") or "",
            "friendly_name": item.get("FriendlyName") or "",
            "client": item.get("ClientType") or "",
            "access_state": item.get("DeviceAccessState") or "",
            "first_sync": item.get("FirstSyncTime"),
            "last_sync": stats.get("LastSuccessSync"),
        })  # fmt: skip
    rows.sort(key=lambda r: (str(r["last_sync"] or ""), r["identity"]), reverse=True)
    return rows


def device_title(device: dict) -> str:
    name = device.get("friendly_name") or device.get("model") or device.get("type") or "Mobile device"
    extra = " · ".join(
        x for x in (device.get("model") if device.get("friendly_name") else "", device.get("os")) if x
    )
    return f"{name} ({extra})" if extra else name


def remove_mobile_device(exchange: ExchangeClient, upn: str, identity: str):
    return exchange.invoke(
        "Remove-MobileDevice", {"Identity": identity, "Confirm": False}, anchor_mailbox=upn
    )
