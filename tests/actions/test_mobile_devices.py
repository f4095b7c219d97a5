"""Remove mobile devices: the exact Exchange requests (``responses``), the sandbox's Get-MobileDevice /
Get-MobileDeviceStatistics / Remove-MobileDevice, one device removed from View user's Remove button and all of
a selection's devices, the "not a wipe" wording, and refusals by role and out of scope."""

from __future__ import annotations

import pytest
import responses
from django.urls import reverse

from graph.services import mobile_devices
from tests.exchange_kit import EXO
from tests.exchange_kit import sent as _sent
from users.models import AuditEntry


@responses.activate
def test_exact_exchange_requests(exchange):
    device = {"Guid": "g1", "DeviceModel": "iPhone15,3", "DeviceOS": "iOS 17", "DeviceType": "iPhone",
              "FriendlyName": "Work phone", "ClientType": "EAS", "DeviceAccessState": "Allowed",
              "FirstSyncTime": "2026-01-02T03:04:05Z"}  # fmt: skip
    responses.post(EXO, json={"value": [device]})
    responses.post(EXO, json={"value": [{"Guid": "g1", "LastSuccessSync": "2026-12-01T10:00:00Z"}]})
    responses.post(EXO, json={"value": []})
    [row] = mobile_devices.list_mobile_devices(exchange, "a@x.com")
    assert row["identity"] == "g1" and row["last_sync"] == "2026-12-01T10:00:00Z" and row["os"] == "iOS 17"
    assert mobile_devices.device_title(row) == "Work phone (iPhone15,3 · iOS 17)"
    mobile_devices.remove_mobile_device(exchange, "a@x.com", "g1")
    assert [_sent(c) for c in responses.calls] == [
        ("Get-MobileDevice", {"Mailbox": "a@x.com"}, "UPN:a@x.com"),
        ("Get-MobileDeviceStatistics", {"Mailbox": "a@x.com"}, "UPN:a@x.com"),
        ("Remove-MobileDevice", {"Identity": "g1", "Confirm": False}, "UPN:a@x.com"),
    ]


def _holders(world, count=1):
    from graph.sandbox.exchange.mobile_devices import devices_of
    from graph.sandbox.models import SandboxTenant, SandboxUser

    tenant = SandboxTenant.objects.get(display_name="Northwind Traders")
    ids = list(dict.fromkeys(d["UserId"] for d in devices_of(tenant)))
    assert len(ids) >= count, "the seed gives several Northwind mailboxes mobile devices"
    return tenant, [SandboxUser.objects.get(pk=i) for i in ids[:count]]


def _post(client, world, rows, **data):
    return client.post(reverse("users:action", args=["remove-mobile-devices"]), {
        "user": [world.value(r) for r in rows], "confirmed": "1", "expected_count": str(len(rows)), **data},
        HTTP_HX_REQUEST="true")  # fmt: skip


def test_view_user_lists_and_removes_one_device(action_world, role_client):
    from graph.sandbox.exchange.mobile_devices import _guid, devices_of

    tenant, [user] = _holders(action_world)
    row = action_world.cache(user)
    mine = [d for d in devices_of(tenant) if d["UserId"] == str(user.id)]
    chosen = _guid(tenant, mine[0])
    client = role_client("editor")
    section = client.get(reverse("users:detail-mobile-devices", args=[row.tenant.slug, row.user_id]))
    text = section.content.decode()
    assert f'data-remove-device="{chosen}"' in text and mine[0]["DeviceOS"] in text and "not wipe" in text
    page = client.get(reverse("users:action", args=["remove-mobile-devices"]),
                      {"user": action_world.value(row), "device": chosen}, HTTP_HX_REQUEST="true")  # fmt: skip
    body = page.content.decode()
    assert "does not wipe" in body and "Northwind Traders" in body
    assert "checked" in body.split(f'value="{chosen}"')[1].split(">")[0]
    response = _post(client, action_world, [row], device=chosen)
    assert 'data-result="success"' in response.content.decode()
    tenant.refresh_from_db()
    left = [d for d in devices_of(tenant) if d["UserId"] == str(user.id)]
    assert [d["DeviceId"] for d in left] == [d["DeviceId"] for d in mine[1:]]
    assert AuditEntry.objects.get(result="success").parameters == {"device": chosen}


def test_selection_removes_every_device(action_world, role_client):
    from graph.sandbox.exchange.mobile_devices import devices_of

    tenant, users = _holders(action_world, count=2)
    rows = [action_world.cache(u) for u in users]
    others = [d for d in devices_of(tenant) if d["UserId"] not in {str(u.id) for u in users}]
    response = _post(role_client("editor"), action_world, rows, device="")
    assert response.content.decode().count('data-result="success"') == 2
    tenant.refresh_from_db()
    assert devices_of(tenant) == others
    again = _post(role_client("editor"), action_world, rows[:1], device="")
    assert 'data-result="skipped"' in again.content.decode()


def test_refusals_and_sandbox_errors(action_world, role_client):
    from graph.sandbox.exchange.cmdlets import invoke
    from graph.sandbox.exchange.errors import CmdletError
    from graph.sandbox.exchange.mobile_devices import devices_of

    tenant, [user] = _holders(action_world)
    row = action_world.cache(user)
    before = devices_of(tenant)
    for role in ("reader", "helpdesk"):
        assert _post(role_client(role), action_world, [row], device="").status_code == 403
    other = next(t for t in action_world.tenants.values() if t.pk != row.tenant.pk)
    assert _post(role_client("admin", tenants=[other]), action_world, [row], device="").status_code == 404
    tenant.refresh_from_db()
    assert devices_of(tenant) == before
    with pytest.raises(CmdletError) as missing:
        invoke(tenant, "Remove-MobileDevice", {"Identity": "no-such-device"}, None)
    assert missing.value.status == 404
    with pytest.raises(CmdletError):
        invoke(tenant, "Get-MobileDevice", {}, None)  # -Mailbox or -Identity is mandatory
