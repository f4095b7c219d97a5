"""Example of Remove mobile devices for the shared per-action tests: a Northwind mailbox the seed gives
Exchange ActiveSync devices, all of them removed (the selection's form)."""

from __future__ import annotations

from tests.actions.examples import ActionExample, tenant_named


def device_holder(world):
    from graph.sandbox.exchange.mobile_devices import devices_of
    from graph.sandbox.models import SandboxUser

    tenant = tenant_named(world)
    tenant.refresh_from_db()
    return SandboxUser.objects.get(pk=devices_of(tenant)[0]["UserId"])


def _check_removed(user):
    from graph.sandbox.exchange.mobile_devices import devices_of

    user.tenant.refresh_from_db()
    assert not [d for d in devices_of(user.tenant) if d["UserId"] == str(user.id)]


EXAMPLES = {
    "remove-mobile-devices": ActionExample(device_holder, {"device": ""}, check=_check_removed),
}
