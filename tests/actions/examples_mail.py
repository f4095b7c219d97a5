"""Examples of the Mail and Groups actions for the shared per-action test class.

Shape (until tests/actions/examples.py defines its own type): ``EXAMPLES[key] = {"target": f(world) ->
SandboxUser, "data": {form field: raw value}}`` where ``world`` holds the seeded sandbox (``sandbox_world``,
a list of SandboxTenant, partner first). Targets come from the demo seed: a member with a user mailbox
(Northwind Traders, which has the forwarding mailbox), a shared mailbox, and so on.
"""

from __future__ import annotations

from datetime import timedelta


def _tenant(world, name: str = "Northwind Traders"):
    tenants = world if isinstance(world, list | tuple) else getattr(world, "tenants", world)
    return next(t for t in tenants if getattr(t, "display_name", "") == name)


def mailbox_user(world, *, kind: str = "UserMailbox", **filters):
    from graph.sandbox.models import SandboxMailbox

    boxes = SandboxMailbox.objects.filter(user__tenant=_tenant(world), recipient_type_details=kind,
                                          user__account_enabled=True, **filters)  # fmt: skip
    box = boxes.select_related("user").order_by("user__display_name").first()
    assert box is not None, f"the seed has no {kind} matching {filters}"
    return box.user


def forwarding_user(world):
    return mailbox_user(world, forwarding_smtp_address__startswith="smtp:")


def shared_mailbox_user(world):
    from graph.sandbox.models import SandboxMailbox

    box = (SandboxMailbox.objects.filter(user__tenant=_tenant(world), recipient_type_details="SharedMailbox")
           .select_related("user").order_by("user__display_name").first())  # fmt: skip
    assert box is not None
    return box.user


def replying_user(world):
    """A mailbox with automatic replies on (the demo seed turns them on in Fabrikam)."""
    from graph.sandbox.models import SandboxMailbox

    box = (SandboxMailbox.objects.filter(auto_reply__AutoReplyState="Enabled", user__account_enabled=True)
           .select_related("user").order_by("user__display_name").first())  # fmt: skip
    assert box is not None, "the seed has no mailbox with automatic replies on"
    return box.user


def _future(days: int) -> str:
    from django.utils import timezone

    return (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


EXAMPLES = {
    "convert-to-shared": {"target": mailbox_user, "data": {}},
    "convert-to-user": {"target": shared_mailbox_user, "data": {}},
    "enable-archive": {"target": lambda world: mailbox_user(world, archive_guid__isnull=True), "data": {}},
    "set-out-of-office": {
        "target": mailbox_user,
        "data": {
            "internal_message": "Away until Monday.\nAsk the service desk.",
            "external_audience": "All",
            "external_message": "Out of office <b>until</b> Monday.",
            "start": "",
            "end": "",
        },
    },  # fmt: skip
    "disable-out-of-office": {"target": lambda world: replying_user(world), "data": {}},
    "disable-forwarding": {"target": forwarding_user, "data": {}},
    # The group is chosen from the tenant's list: the "Sales Team" distribution list's id, filled in by
    # ``group_data(world)`` because ids depend on the seed.
    "add-to-group": {"target": mailbox_user, "data": lambda world: group_data(world)},
}


def group_data(world, name: str = "Sales Team") -> dict:
    from graph.sandbox.models import SandboxGroup

    return {"group": str(SandboxGroup.objects.get(tenant=_tenant(world), display_name=name).pk)}


def schedule_data() -> dict:
    return {**EXAMPLES["set-out-of-office"]["data"], "start": _future(1), "end": _future(8)}
