"""Seed step: Exchange ActiveSync partnerships (``Get-MobileDevice``) on the first three ordinary user mailboxes
of every customer tenant: a phone with Outlook and a quarantined Android on the first, one phone on the second,
a blocked tablet on the third. Deterministic (seed order, stable ids)."""

from __future__ import annotations

from .exchange.mobile_devices import add_device
from .models import SandboxMailbox
from .seed_people import ROLE_SEATS, TenantSeed, iso

# (mailbox index, DeviceType, DeviceModel, DeviceOS, FriendlyName, ClientType, access state, first sync days ago,
#  last sync days ago)
DEVICES = (
    (0, "Outlook", "Outlook for iOS and Android", "iOS 18.1", "Work iPhone", "Outlook", "Allowed", 300, 0.1),
    (0, "Android", "SM-S918B", "Android 14", "Galaxy S23", "EAS", "Quarantined", 12, 11),
    (1, "iPhone", "iPhone15,3", "iOS 17.6.1", "iPhone 14 Pro", "EAS", "Allowed", 540, 2),
    (2, "iPad", "iPad13,18", "iPadOS 17.5", "Meeting-room iPad", "EAS", "Blocked", 800, 190),
)


def seed_mobile_devices(ctx: TenantSeed) -> None:
    if ctx.tenant is None or ctx.tenant.is_partner:
        return
    member_ids = [p.id for p in ctx.people if p.kind == "member" and p.enabled and p.index >= len(ROLE_SEATS)]
    boxes = set(
        SandboxMailbox.objects.filter(
            user_id__in=member_ids, recipient_type_details="UserMailbox"
        ).values_list("user_id", flat=True)
    )
    ordered = [i for i in member_ids if i in boxes][:3]
    for index, kind, model, os_name, friendly, client, state, first, last in DEVICES:
        if index >= len(ordered):
            continue
        add_device(
            ctx.tenant, ordered[index], DeviceId=ctx.id_for("mobile", index, kind).hex[:24].upper(),
            DeviceType=kind, DeviceModel=model, DeviceOS=os_name, FriendlyName=friendly, ClientType=client,
            DeviceAccessState=state, FirstSyncTime=iso(ctx.days_ago(first)), LastSuccessSync=iso(ctx.days_ago(last)),
        )  # fmt: skip
