"""The sandbox's View-user reads over the client (every exchange checked against Microsoft's contract)."""

from __future__ import annotations

import pytest

from graph.client import GraphClient
from graph.errors import AuthError, BadRequestError, NotFoundError
from graph.exchange import ExchangeClient
from graph.services import auth_methods, devices, onedrive, signins


def _client(world, name, **kwargs):
    return GraphClient(world.connection, str(world.sandbox[name].pk), **kwargs)


def test_authentication_methods_list_password_first_with_types(activity_world):
    from graph.sandbox.models import SandboxAuthMethod

    user = activity_world.member_with(
        "Fabrikam Inc", lambda u: SandboxAuthMethod.objects.filter(user=u).count() >= 2
    )
    raw = _client(activity_world, "Fabrikam Inc").get(f"/users/{user.pk}/authentication/methods")["value"]
    assert (
        raw[0]["@odata.type"] == "#microsoft.graph.passwordAuthenticationMethod"
        and raw[0]["password"] is None
    )
    seeded = {f"#microsoft.graph.{m.method_type}" for m in SandboxAuthMethod.objects.filter(user=user)}
    assert {item["@odata.type"] for item in raw[1:]} == seeded
    assert auth_methods.parse_methods(raw)[0]["label"] == "Password"


def test_per_user_mfa_requirements_are_beta_only(activity_world):
    from graph.sandbox.models import SandboxUserAuthentication

    row = SandboxUserAuthentication.objects.filter(
        user__tenant=activity_world.sandbox["Fabrikam Inc"]
    ).first()
    assert row is not None, "the seed gives some users per-user MFA"
    beta = _client(activity_world, "Fabrikam Inc", version="beta")
    assert auth_methods.get_per_user_mfa_state(beta, str(row.user_id)) == row.per_user_mfa_state
    other = activity_world.member_with(
        "Fabrikam Inc", lambda u: not SandboxUserAuthentication.objects.filter(user=u).exists()
    )
    assert auth_methods.get_per_user_mfa_state(beta, str(other.pk)) == "disabled"
    with pytest.raises(BadRequestError):
        _client(activity_world, "Fabrikam Inc").get(f"/users/{row.user_id}/authentication/requirements")


def test_sign_ins_are_the_users_newest_first_and_page(activity_world):
    from graph.sandbox.models import SandboxSignIn

    user = activity_world.member_with(
        "Fabrikam Inc", lambda u: SandboxSignIn.objects.filter(user=u).count() >= 4
    )
    client = _client(activity_world, "Fabrikam Inc")
    rows = signins.list_recent_sign_ins(client, str(user.pk))
    assert len(rows) == SandboxSignIn.objects.filter(user=user).count()
    assert [r["when"] for r in rows] == sorted((r["when"] for r in rows), reverse=True)
    pages = list(client.iter_pages("/auditLogs/signIns", params=signins.sign_ins_params(str(user.pk), top=2)))
    assert len(pages) >= 2 and sum(len(p) for p in pages) == len(rows)
    assert {item["userId"] for page in pages for item in page} == {str(user.pk)}


def test_sign_ins_need_entra_premium(activity_world):
    user = activity_world.member_with("Tailspin Toys", lambda u: True)
    with pytest.raises(AuthError) as caught:
        signins.list_recent_sign_ins(_client(activity_world, "Tailspin Toys"), str(user.pk))
    assert caught.value.status == 403
    assert caught.value.code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


def test_drive_provisioned_and_missing(activity_world):
    from graph.sandbox.models import SandboxDrive

    client = _client(activity_world, "Fabrikam Inc")
    drive = SandboxDrive.objects.filter(user__tenant=activity_world.sandbox["Fabrikam Inc"]).first()
    status = onedrive.get_onedrive_status(client, str(drive.user_id))
    assert (
        status["provisioned"] and status["used"] == drive.quota_used and status["total"] == drive.quota_total
    )
    without = activity_world.member_with(
        "Fabrikam Inc", lambda u: not SandboxDrive.objects.filter(user=u).exists()
    )
    with pytest.raises(NotFoundError) as caught:
        client.get(f"/users/{without.pk}/drive")
    assert caught.value.code == "itemNotFound"
    assert onedrive.get_onedrive_status(client, str(without.pk)) == {"provisioned": False}


def test_owned_and_registered_devices(activity_world):
    from graph.sandbox.models import SandboxDeviceUser

    user = activity_world.member_with(
        "Northwind Traders", lambda u: SandboxDeviceUser.objects.filter(user=u).exists()
    )
    rows = devices.list_user_devices(_client(activity_world, "Northwind Traders"), str(user.pk))
    expected = set(SandboxDeviceUser.objects.filter(user=user).values_list("device__display_name", flat=True))
    assert {r["name"] for r in rows} == expected and all(r["owner"] and r["registered_user"] for r in rows)


def test_mailbox_settings_mirror_exchange_auto_replies(activity_world):
    from graph.sandbox.models import SandboxMailbox

    mailbox = (
        SandboxMailbox.objects.filter(auto_reply__AutoReplyState="Enabled").select_related("user").first()
    )
    name = mailbox.user.tenant.display_name
    settings = _client(activity_world, name).get(f"/users/{mailbox.user_id}/mailboxSettings")
    assert settings["automaticRepliesSetting"]["status"] == "alwaysEnabled"
    exchange = ExchangeClient(activity_world.connection, str(mailbox.user.tenant_id))
    config = exchange.invoke("Get-MailboxAutoReplyConfiguration", {"Identity": mailbox.user.upn_lower})
    assert config[0]["AutoReplyState"] == "Enabled" and "out of the office" in config[0]["InternalMessage"]


def test_mailbox_settings_without_a_mailbox(activity_world):
    from graph.sandbox.models import SandboxMailbox

    user = activity_world.member_with(
        "Fabrikam Inc", lambda u: not SandboxMailbox.objects.filter(user=u).exists()
    )
    with pytest.raises(NotFoundError) as caught:
        _client(activity_world, "Fabrikam Inc").get(f"/users/{user.pk}/mailboxSettings")
    assert caught.value.code == "MailboxNotEnabledForRESTAPI"


def test_seed_is_repeatable(activity_world):
    import random

    from graph.sandbox.models import SandboxSignIn
    from graph.sandbox.seed_activity import seed_user_activity

    tenant = activity_world.sandbox["Northwind Traders"]
    before = sorted(SandboxSignIn.objects.filter(tenant=tenant).values_list("id", flat=True))
    seed_user_activity(tenant, random.Random(0 + 7 + 1))  # Northwind was seeded second (index 1)
    after = sorted(SandboxSignIn.objects.filter(tenant=tenant).values_list("id", flat=True))
    assert before == after and before
