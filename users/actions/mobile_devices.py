"""Remove mobile devices: Exchange ActiveSync partnerships of one user (one device, from View user) or of a
selection (all their devices; the leaver flow uses it). ``Get-MobileDevice -Mailbox`` then
``Remove-MobileDevice -Identity`` per device. The confirmation and the result say plainly that this is not a
wipe. Editor (a mailbox change); on privileged targets the guard asks for an Admin.
"""

from __future__ import annotations

from graph.errors import GraphError
from graph.services import mobile_devices as service

from .mail import mailbox_why_not
from .mobile_devices_forms import ALL, RemoveMobileDevicesForm
from .registry import Action, ActionContext, Group, Outcome, Status, Target, register
from .wording import in_tenant, who


def _confirm(targets: list[Target], tenant) -> str:
    return (
        f"Remove the mobile devices chosen below (phones and tablets syncing mail) from the mailbox of "
        f"{who(targets)} {in_tenant(targets, tenant)}. {service.NOT_A_WIPE}"
    )


def _run(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    upn = target.user.user_principal_name
    chosen = str(data.get("device") or ALL)
    devices = service.list_mobile_devices(ctx.exchange, upn)
    if chosen != ALL:
        devices = [d for d in devices if d["identity"] == chosen]
        if not devices:
            return Outcome(Status.SKIPPED, "That mobile device no longer syncs with this mailbox; nothing to "
                           "remove.", details={"device": chosen})  # fmt: skip
    if not devices:
        return Outcome(Status.SKIPPED, "No mobile device syncs with this mailbox; nothing to remove.")
    removed, failed, rows = [], [], []
    for device in devices:
        title = service.device_title(device)
        try:
            service.remove_mobile_device(ctx.exchange, upn, device["identity"])
        except GraphError as error:
            if error.status == 404:
                removed.append(title)  # already gone counts as removed
                rows.append({"device": title, "result": "already gone"})
                continue
            failed.append(f"{title}: {error.message}")
            rows.append({"device": title, "result": "failed", "reason": error.message})
            continue
        removed.append(title)
        rows.append({"device": title, "result": "removed"})
    details = {"devices": rows}
    if failed:
        done = f"Removed {', '.join(removed)}. " if removed else ""
        return Outcome(Status.FAILED, f"{done}Could not remove {'; '.join(failed)}.", details=details)
    return Outcome(Status.SUCCESS, f"Removed {', '.join(removed)}. Not wiped: a device may sync again.",
                   details=details)  # fmt: skip


REMOVE_MOBILE_DEVICES = register(
    Action(
        key="remove-mobile-devices",
        label="Remove mobile devices",
        group=Group.MAIL,
        icon="phone-vibrate",
        permission="users.edit",
        confirm=_confirm,
        applies=mailbox_why_not,
        form_class=RemoveMobileDevicesForm,
        bulk=True,
        danger=True,
        run=_run,
    )
)
