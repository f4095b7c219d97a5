"""The sandbox's Exchange write cmdlets: Set-Mailbox, Enable-Mailbox -Archive,
Set-MailboxAutoReplyConfiguration, Get-InboxRule and Add-DistributionGroupMember, with their error paths."""

from __future__ import annotations

import uuid

import pytest

from graph.sandbox.models import SandboxGroup, SandboxGroupMember, SandboxInboxRule, SandboxMailbox

from .identity_factories import make_mailbox, make_tenant, make_user
from .test_exchange_invoke import _detail, invoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    tenant = make_tenant("contoso")
    adele = make_user(tenant, "adele", display_name="Adele Vance")
    make_mailbox(adele, forwarding_smtp_address="smtp:x@fabrikam.com", deliver_to_mailbox_and_forward=True)
    make_mailbox(make_user(tenant, "info", display_name="Info"), recipient_type_details="SharedMailbox")
    make_user(tenant, "nomailbox")
    return tenant


def _box(tenant, local):
    return SandboxMailbox.objects.get(user__tenant=tenant, user__upn_lower=f"{local}@contoso.onmicrosoft.com")


def _group(tenant, name, *, mail=True, security=False, types=(), synced=None):
    nickname = name.replace(" ", "")
    return SandboxGroup.objects.create(
        tenant=tenant, display_name=name, mail_enabled=mail, security_enabled=security,
        mail_lower=f"{nickname.lower()}@contoso.onmicrosoft.com" if mail else "", group_types=list(types),
        on_premises_sync_enabled=synced, properties={"mailNickname": nickname, "displayName": name},
    )  # fmt: skip


# --- Set-Mailbox --------------------------------------------------------------------------------------


def test_set_mailbox_converts_type_and_reports_no_change(tenant):
    response = invoke(tenant, "Set-Mailbox", {"Identity": "adele@contoso.onmicrosoft.com", "Type": "Shared"})
    assert response.status_code == 200 and response.json()["value"] == []
    assert _box(tenant, "adele").recipient_type_details == "SharedMailbox"
    again = invoke(tenant, "Set-Mailbox", {"Identity": "adele", "Type": "shared"}).json()
    assert "no settings of 'adele' have been modified" in again["@adminapi.warnings"][0]
    invoke(tenant, "Set-Mailbox", {"Identity": "adele", "Type": "Regular"})
    assert _box(tenant, "adele").recipient_type_details == "UserMailbox"


def test_set_mailbox_clears_and_sets_forwarding(tenant):
    params = {"Identity": "adele", "ForwardingSmtpAddress": None, "ForwardingAddress": None,
              "DeliverToMailboxAndForward": False}  # fmt: skip
    assert invoke(tenant, "Set-Mailbox", params).status_code == 200
    box = _box(tenant, "adele")
    assert (box.forwarding_smtp_address, box.forwarding_address, box.deliver_to_mailbox_and_forward) == (
        "", "", False,
    )  # fmt: skip
    invoke(tenant, "Set-Mailbox", {"Identity": "adele", "ForwardingSmtpAddress": "y@fabrikam.com"})
    assert _box(tenant, "adele").forwarding_smtp_address == "smtp:y@fabrikam.com"
    invoke(tenant, "Set-Mailbox", {"Identity": "adele", "ForwardingAddress": "info@contoso.onmicrosoft.com"})
    assert _box(tenant, "adele").forwarding_address == "info"
    shown = invoke(tenant, "Get-Mailbox", {"Identity": "adele"}).json()["value"][0]
    assert shown["ForwardingSmtpAddress"] == "smtp:y@fabrikam.com" and shown["ForwardingAddress"] == "info"


@pytest.mark.parametrize(
    "params, status, kind",
    [
        ({"Type": "Mansion"}, 400, "ParameterBindingException"),
        ({"DeliverToMailboxAndForward": "yes"}, 400, "ParameterBindingException"),
        ({"ForwardingSmtpAddress": "not an address"}, 400, "ParameterBindingException"),
        ({"ForwardingAddress": "nobody@contoso.onmicrosoft.com"}, 404, "ManagementObjectNotFoundException"),
        ({"LitigationHoldDuration": 5}, 400, "ParameterBindingException"),
    ],
)
def test_set_mailbox_rejects_bad_input_without_changing_anything(tenant, params, status, kind):
    response = invoke(tenant, "Set-Mailbox", {"Identity": "adele", "Type": "Shared", **params})
    exception_type, _ = _detail(response, status)
    assert exception_type.endswith(kind)
    assert _box(tenant, "adele").recipient_type_details == "UserMailbox"


def test_set_mailbox_unknown_identity(tenant):
    exception_type, message = _detail(
        invoke(tenant, "Set-Mailbox", {"Identity": "ghost", "Type": "Shared"}), 404
    )
    assert exception_type.endswith("ManagementObjectNotFoundException") and "'ghost'" in message


# --- Enable-Mailbox -Archive ----------------------------------------------------------------------------


def test_enable_archive_once_then_error(tenant):
    assert invoke(tenant, "Enable-Mailbox", {"Identity": "adele", "Archive": True}).status_code == 200
    box = _box(tenant, "adele")
    assert box.archive_guid is not None
    shown = invoke(tenant, "Get-Mailbox", {"Identity": "adele"}).json()["value"][0]
    assert shown["ArchiveStatus"] == "Active" and shown["ArchiveGuid"] == str(box.archive_guid)
    exception_type, message = _detail(
        invoke(tenant, "Enable-Mailbox", {"Identity": "adele", "Archive": True}), 400
    )
    assert "already has an archive" in message and exception_type.endswith("RecipientTaskException")
    assert _box(tenant, "adele").archive_guid == box.archive_guid


def test_enable_mailbox_needs_one_archive_switch(tenant):
    exception_type, _ = _detail(invoke(tenant, "Enable-Mailbox", {"Identity": "adele"}), 400)
    assert exception_type.endswith("ParameterBindingException")
    _detail(invoke(tenant, "Enable-Mailbox", {"Identity": "adele", "AutoExpandingArchive": True}), 400)
    _detail(invoke(tenant, "Enable-Mailbox", {"Identity": "nomailbox", "Archive": True}), 404)


# --- Set-MailboxAutoReplyConfiguration -----------------------------------------------------------------


def test_auto_reply_enabled_wraps_plain_text_and_graph_sees_it(tenant):
    params = {"Identity": "adele", "AutoReplyState": "Enabled", "ExternalAudience": "Known",
              "InternalMessage": "Away", "ExternalMessage": "<html><body>Out</body></html>"}  # fmt: skip
    assert invoke(tenant, "Set-MailboxAutoReplyConfiguration", params).status_code == 200
    reply = _box(tenant, "adele").auto_reply
    assert reply["AutoReplyState"] == "Enabled" and reply["ExternalAudience"] == "Known"
    assert reply["InternalMessage"].startswith("<html>") and "Away" in reply["InternalMessage"]
    assert reply["ExternalMessage"] == "<html><body>Out</body></html>"
    shown = invoke(tenant, "Get-MailboxAutoReplyConfiguration", {"Identity": "adele"}).json()["value"][0]
    assert shown["AutoReplyState"] == "Enabled" and "Away" in shown["InternalMessage"]


def test_auto_reply_disable_keeps_messages(tenant):
    invoke(tenant, "Set-MailboxAutoReplyConfiguration",
           {"Identity": "adele", "AutoReplyState": "Enabled", "ExternalAudience": "None", "InternalMessage": "Hi"})  # fmt: skip
    invoke(tenant, "Set-MailboxAutoReplyConfiguration", {"Identity": "adele", "AutoReplyState": "Disabled"})
    reply = _box(tenant, "adele").auto_reply
    assert reply["AutoReplyState"] == "Disabled" and "Hi" in reply["InternalMessage"]


def test_auto_reply_scheduled_stores_utc_times(tenant):
    params = {"Identity": "adele", "AutoReplyState": "Scheduled", "ExternalAudience": "None",
              "InternalMessage": "Away", "StartTime": "2030-08-01T10:00:00+02:00", "EndTime": "2030-08-08T17:00:00Z"}  # fmt: skip
    assert invoke(tenant, "Set-MailboxAutoReplyConfiguration", params).status_code == 200
    reply = _box(tenant, "adele").auto_reply
    assert (reply["StartTime"], reply["EndTime"]) == ("2030-08-01T08:00:00Z", "2030-08-08T17:00:00Z")


@pytest.mark.parametrize(
    "params, text",
    [
        ({"AutoReplyState": "Enabled", "ExternalAudience": "None"}, "internal message is required"),
        ({"AutoReplyState": "Enabled", "InternalMessage": "x", "ExternalAudience": "All"}, "external message"),
        ({"AutoReplyState": "Scheduled", "InternalMessage": "x", "ExternalAudience": "None",
          "StartTime": "2030-01-02T00:00:00Z", "EndTime": "2030-01-01T00:00:00Z"}, "later than the StartTime"),
        ({"AutoReplyState": "Scheduled", "InternalMessage": "x", "ExternalAudience": "None"}, "StartTime and an EndTime"),
        ({"AutoReplyState": "Sometimes"}, "Cannot convert value"),
        ({"AutoReplyState": "Enabled", "StartTime": "tomorrow"}, "System.DateTime"),
    ],
)  # fmt: skip
def test_auto_reply_validation(tenant, params, text):
    before = _box(tenant, "adele").auto_reply
    response = invoke(tenant, "Set-MailboxAutoReplyConfiguration", {"Identity": "adele", **params})
    _, message = _detail(response, 400)
    assert text in message
    assert _box(tenant, "adele").auto_reply == before


# --- Get-InboxRule ------------------------------------------------------------------------------------


def test_get_inbox_rule_hides_hidden_rules_unless_asked(tenant):
    box = _box(tenant, "adele")
    SandboxInboxRule.objects.create(mailbox=box, rule_id=1, name="Fwd", priority=1,
                                    properties={"ForwardTo": ['"x" [SMTP:x@gmail.com]']})  # fmt: skip
    SandboxInboxRule.objects.create(mailbox=box, rule_id=2, name="Junk E-mail Rule", priority=2, hidden=True)
    visible = invoke(tenant, "Get-InboxRule", {"Mailbox": "adele"}).json()["value"]
    assert [r["Name"] for r in visible] == ["Fwd"]
    assert visible[0]["ForwardTo"] == ['"x" [SMTP:x@gmail.com]'] and visible[0]["RedirectTo"] is None
    assert visible[0]["Identity"] == "adele\\1"
    everything = invoke(tenant, "Get-InboxRule", {"Mailbox": "adele", "IncludeHidden": True}).json()["value"]
    assert [r["Name"] for r in everything] == ["Fwd", "Junk E-mail Rule"]
    assert (
        invoke(tenant, "Get-InboxRule", {"Mailbox": "adele", "Identity": "adele\\1"}).json()["value"][0][
            "Name"
        ]
        == "Fwd"
    )
    _detail(invoke(tenant, "Get-InboxRule", {"Mailbox": "adele", "Identity": "99"}), 404)
    _detail(invoke(tenant, "Get-InboxRule", {"Mailbox": "ghost"}), 404)
    _detail(invoke(tenant, "Get-InboxRule", {}), 400)


# --- Add-DistributionGroupMember -----------------------------------------------------------------------


def test_add_distribution_group_member_then_already_a_member(tenant):
    group = _group(tenant, "Sales Team")
    params = {"Identity": "salesteam@contoso.onmicrosoft.com", "Member": "adele@contoso.onmicrosoft.com",
              "BypassSecurityGroupManagerCheck": True}  # fmt: skip
    assert invoke(tenant, "Add-DistributionGroupMember", params).status_code == 200
    assert SandboxGroupMember.objects.filter(group=group, user__upn_lower__startswith="adele").exists()
    exception_type, message = _detail(invoke(tenant, "Add-DistributionGroupMember", params), 400)
    assert exception_type.endswith("MemberAlreadyExistsException")
    assert (
        message
        == 'The recipient "adele@contoso.onmicrosoft.com" is already a member of the group "Sales Team".'
    )
    by_id = {**params, "Identity": str(group.pk)}
    _detail(invoke(tenant, "Add-DistributionGroupMember", by_id), 400)


def test_add_distribution_group_member_errors(tenant):
    _group(tenant, "Sales Team")
    _group(tenant, "Synced DL", synced=True)
    _group(tenant, "Team Site", types=("Unified",))
    _group(tenant, "Plain Security", mail=False, security=True)
    base = {"Member": "adele@contoso.onmicrosoft.com", "BypassSecurityGroupManagerCheck": True}
    for identity in ("Team Site", "Plain Security", "Nope", str(uuid.uuid4())):
        exception_type, _ = _detail(
            invoke(tenant, "Add-DistributionGroupMember", {**base, "Identity": identity}), 404
        )
        assert exception_type.endswith("ManagementObjectNotFoundException")
    _, message = _detail(
        invoke(tenant, "Add-DistributionGroupMember", {**base, "Identity": "Synced DL"}), 400
    )
    assert "synchronized from your on-premises organization" in message
    _, message = _detail(invoke(tenant, "Add-DistributionGroupMember",
                                {"Identity": "Sales Team", "Member": "adele@contoso.onmicrosoft.com"}), 400)  # fmt: skip
    assert "manager of the group" in message
    exception_type, _ = _detail(invoke(tenant, "Add-DistributionGroupMember",
                                       {**base, "Identity": "Sales Team", "Member": "ghost@contoso.onmicrosoft.com"}), 404)  # fmt: skip
    assert exception_type.endswith("ManagementObjectNotFoundException")
    assert not SandboxGroupMember.objects.exists()
