"""Mail actions: the exact Exchange requests (``responses``), then each action run by the runner against the
seeded sandbox with the sandbox's mailbox state checked afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import responses

from graph.exchange import ExchangeClient
from graph.sandbox.models import SandboxInboxRule, SandboxMailbox
from graph.services import mailbox_admin as mbx
from tests.exchange_kit import EXO
from tests.exchange_kit import sent as _sent
from users.actions import registry
from users.actions.mail_forms import OutOfOfficeForm

from . import examples_mail as ex

# --- exact requests ----------------------------------------------------------------------------------------


@responses.activate
def test_exact_exchange_requests(exchange):
    responses.post(EXO, json={"value": []})
    mbx.set_mailbox_type(exchange, "a@x.com", "Shared")
    mbx.enable_archive(exchange, "a@x.com")
    mbx.clear_forwarding(exchange, "a@x.com")
    mbx.disable_auto_reply(exchange, "a@x.com")
    start, end = datetime(2030, 8, 1, 8, tzinfo=UTC), datetime(2030, 8, 8, 17, tzinfo=UTC)
    mbx.set_auto_reply(exchange, "a@x.com", mbx.AutoReply("In <b>\nx", "Out & about", "Known", start, end))
    mbx.add_distribution_group_member(exchange, "dl@x.com", "a@x.com")
    sent = [_sent(call) for call in responses.calls]
    assert sent[0] == ("Set-Mailbox", {"Identity": "a@x.com", "Type": "Shared"}, "UPN:a@x.com")
    assert sent[1][:2] == ("Enable-Mailbox", {"Identity": "a@x.com", "Archive": True})
    assert sent[1][2].startswith("APP:SystemMailbox")
    assert sent[2] == ("Set-Mailbox", {"Identity": "a@x.com", "ForwardingSmtpAddress": None,
                                       "ForwardingAddress": None, "DeliverToMailboxAndForward": False}, "UPN:a@x.com")  # fmt: skip
    assert sent[3][1] == {"Identity": "a@x.com", "AutoReplyState": "Disabled"}
    name, params, _ = sent[4]
    assert name == "Set-MailboxAutoReplyConfiguration" and params["AutoReplyState"] == "Scheduled"
    assert params["InternalMessage"] == "<html>\n<body>\nIn &lt;b&gt;<br>\nx\n</body>\n</html>\n"
    assert "Out &amp; about" in params["ExternalMessage"] and params["ExternalAudience"] == "Known"
    assert (params["StartTime"], params["EndTime"]) == ("2030-08-01T08:00:00Z", "2030-08-08T17:00:00Z")
    assert sent[5][:2] == ("Add-DistributionGroupMember",
                           {"Identity": "dl@x.com", "Member": "a@x.com", "BypassSecurityGroupManagerCheck": True})  # fmt: skip


@responses.activate
def test_already_a_member_is_not_an_error_and_rules_are_filtered(exchange):
    detail = 'Ex9C2D41|Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException|The recipient "a" is already a member of the group "G".'
    responses.post(EXO, status=400, json={"error": {"code": "BadRequest", "message": "x",
                                                    "details": [{"code": "Context", "message": detail}]}})  # fmt: skip
    assert mbx.add_distribution_group_member(exchange, "dl@x.com", "a@x.com") is False
    responses.replace(responses.POST, EXO, json={"value": [
        {"Name": "Microsoft.Exchange.OOF.AllExternalSenders.Extension", "ForwardTo": None},
        {"Name": "Fwd", "Enabled": True, "ForwardTo": ['"x" [SMTP:x@gmail.com]'], "RedirectTo": None},
        {"Name": "Move", "MoveToFolder": "Inbox\\News"},
    ]})  # fmt: skip
    rules = mbx.forwarding_rules(mbx.list_inbox_rules(exchange, "a@x.com"))
    assert rules == [
        {"name": "Fwd", "enabled": True, "action": "ForwardTo", "targets": ['"x" [SMTP:x@gmail.com]']}
    ]
    assert _sent(responses.calls[-1])[1] == {"Mailbox": "a@x.com", "IncludeHidden": True}


def test_out_of_office_form_rules(settings):
    settings.TIME_ZONE = "UTC"
    base = {"internal_message": "Away", "external_audience": "All", "external_message": ""}
    assert "external_message" in OutOfOfficeForm(base).errors
    assert "start" in OutOfOfficeForm({**base, "external_message": "x", "end": "2031-01-01T10:00"}).errors
    assert (
        "end"
        in OutOfOfficeForm(
            {**base, "external_message": "x", "start": "2031-01-02T10:00", "end": "2031-01-01T10:00"}
        ).errors
    )
    form = OutOfOfficeForm({**base, "external_audience": "None", "external_message": "ignored"})
    assert form.is_valid() and form.cleaned_data["external_message"] == ""
    form = OutOfOfficeForm(
        {**base, "external_message": "x", "start": "2031-01-01T10:00", "end": "2031-01-02T10:00"}
    )
    assert form.is_valid() and form.cleaned_data["start"].startswith("2031-01-01T10:00")


# --- against the sandbox ------------------------------------------------------------------------------


@pytest.fixture
def mail_world(sandbox_connection, django_user_model):
    from graph.sandbox.models import SandboxTenant
    from tenants.models import Tenant

    tenants = {}
    for sandbox_tenant in SandboxTenant.objects.filter(is_partner=False):
        tenants[sandbox_tenant.display_name] = Tenant.objects.create(
            tenant_id=sandbox_tenant.pk, connection=sandbox_connection, display_name=sandbox_tenant.display_name,
            default_domain=sandbox_tenant.domains.get(is_default=True).name, has_exchange=True,
        )  # fmt: skip
    admin = django_user_model.objects.create_superuser(username="boss", password="x")
    return SimpleNamespace(tenants=list(SandboxTenant.objects.all()), cache=tenants, admin=admin)


def cached(world, sandbox_user):
    from users.models import DirectoryUser

    props = sandbox_user.properties
    row, _ = DirectoryUser.objects.get_or_create(
        tenant=world.cache[sandbox_user.tenant.display_name], user_id=sandbox_user.pk,
        defaults={"user_principal_name": props["userPrincipalName"], "display_name": props.get("displayName", ""),
                  "mail": props.get("mail") or "", "user_type": props.get("userType", "Member"), "graph": props},
    )  # fmt: skip
    return row


def run(world, key, sandbox_user, data=None):
    from users.actions.runner import run_action

    action = registry.get(key)
    user = cached(world, sandbox_user)
    [result] = run_action(action, [registry.Target(user.tenant, user)], data or {}, technician=world.admin)
    return result.outcome


def _box(user):
    return SandboxMailbox.objects.get(user=user)


def test_convert_to_shared_and_back(mail_world):
    user = ex.mailbox_user(mail_world)
    outcome = run(mail_world, "convert-to-shared", user)
    assert outcome.status == "success" and "licence stays" in outcome.message
    assert _box(user).recipient_type_details == "SharedMailbox"
    again = run(mail_world, "convert-to-shared", user)
    assert again.status == "skipped" and "Already a shared mailbox" in again.message
    assert run(mail_world, "convert-to-user", user).status == "success"
    assert _box(user).recipient_type_details == "UserMailbox"


def test_large_mailbox_warning_before_converting(mail_world):
    from graph.sandbox.models import SandboxUser

    user = ex.mailbox_user(mail_world)
    SandboxMailbox.objects.filter(user=user).update(total_item_size_bytes=53 * 1024**3)
    cache_row = cached(mail_world, SandboxUser.objects.get(pk=user.pk))
    warnings = registry.get("convert-to-shared").warnings([registry.Target(cache_row.tenant, cache_row)])
    assert len(warnings) == 1 and "53.0 GB" in warnings[0] and "50 GB" in warnings[0]


def test_no_mailbox_is_skipped_honestly(mail_world):
    from graph.sandbox.models import SandboxUser

    user = ex.mailbox_user(mail_world)
    SandboxMailbox.objects.filter(user=user).delete()
    user = SandboxUser.objects.get(pk=user.pk)
    for key in ("convert-to-shared", "enable-archive", "disable-forwarding", "disable-out-of-office"):
        outcome = run(mail_world, key, user)
        assert outcome.status == "skipped" and "No mailbox" in outcome.message, key


def test_enable_archive_then_skipped(mail_world):
    user = ex.EXAMPLES["enable-archive"]["target"](mail_world)
    assert run(mail_world, "enable-archive", user).status == "success"
    assert _box(user).archive_guid is not None
    outcome = run(mail_world, "enable-archive", user)
    assert outcome.status == "skipped" and "already enabled" in outcome.message


def test_set_and_disable_out_of_office(mail_world):
    user = ex.mailbox_user(mail_world)
    form = OutOfOfficeForm(ex.schedule_data())
    assert form.is_valid(), form.errors
    outcome = run(mail_world, "set-out-of-office", user, form.cleaned_data)
    assert outcome.status == "success" and "scheduled" in outcome.message
    reply = _box(user).auto_reply
    assert reply["AutoReplyState"] == "Scheduled" and reply["ExternalAudience"] == "All"
    assert "Away until Monday.<br>" in reply["InternalMessage"]
    # Markup typed by the technician arrives escaped, never as HTML.
    assert "&lt;b&gt;until&lt;/b&gt;" in reply["ExternalMessage"] and "<b>" not in reply["ExternalMessage"]
    assert reply["StartTime"] < reply["EndTime"]
    assert run(mail_world, "disable-out-of-office", user).status == "success"
    reply = _box(user).auto_reply
    assert reply["AutoReplyState"] == "Disabled" and "Away until Monday." in reply["InternalMessage"]
    assert run(mail_world, "disable-out-of-office", user).status == "skipped"


def test_script_in_out_of_office_stays_inert_on_view_user(mail_world):
    from graph.services.mailbox import get_mailbox_summary

    user = ex.mailbox_user(mail_world)
    data = {
        "internal_message": "<script>alert(1)</script>",
        "external_audience": "None",
        "start": None,
        "end": None,
    }
    assert run(mail_world, "set-out-of-office", user, data).status == "success"
    stored = _box(user).auto_reply["InternalMessage"]
    assert "<script>" not in stored and "&lt;script&gt;" in stored
    tenant = mail_world.cache[user.tenant.display_name]
    summary = get_mailbox_summary(ExchangeClient.for_tenant(tenant), str(user.pk), user.upn_lower)
    # The summary is the message as plain text (what the technician typed); the page escapes it.
    assert summary["auto_reply_internal"] == "<script>alert(1)</script>"
    from django.template.loader import render_to_string

    page = render_to_string("users/detail_mailbox.html", {"data": {**summary, "auto_reply_on": True}})
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_disable_forwarding_lists_remaining_rules(mail_world):
    user = ex.forwarding_user(mail_world)
    assert SandboxInboxRule.objects.filter(mailbox__user=user, properties__has_key="ForwardTo").exists()
    outcome = run(mail_world, "disable-forwarding", user)
    assert outcome.status == "success"
    box = _box(user)
    assert (box.forwarding_smtp_address, box.forwarding_address, box.deliver_to_mailbox_and_forward) == (
        "",
        "",
        False,
    )
    names = [rule["name"] for rule in outcome.details["forwarding_rules"]]
    assert names == ["Invoices"] and "invoices.archive@outlook.com" in outcome.message
    assert outcome.details["removed_forwarding"] == "someone@gmail.com"
    again = run(mail_world, "disable-forwarding", user)
    assert again.status == "skipped" and "still forward" in again.message


def test_mailbox_actions_do_not_apply_to_guests_or_users_without_mail(mail_world):
    from users.models import DirectoryUser

    guest = DirectoryUser(user_type="Guest", mail="g@x.com")
    nomail = DirectoryUser(user_type="Member", mail="")
    for key in ("convert-to-shared", "convert-to-user", "enable-archive", "set-out-of-office",
                "disable-out-of-office", "disable-forwarding"):  # fmt: skip
        action = registry.get(key)
        assert action.why_not(guest) and action.why_not(nomail), key
        assert action.why_not(DirectoryUser(user_type="Member", mail="m@x.com")) is None, key


def test_helpdesk_may_set_out_of_office_but_not_convert(mail_world, django_user_model):
    from tenants.access import can
    from tenants.models import TechnicianProfile

    helper = django_user_model.objects.create_user(username="helpdesk", password="x")
    TechnicianProfile.objects.create(user=helper, role=TechnicianProfile.Role.HELPDESK,
                                     scope=TechnicianProfile.Scope.ALL)  # fmt: skip
    tenant = next(iter(mail_world.cache.values()))
    assert can(helper, registry.get("set-out-of-office").permission, tenant)
    assert not can(helper, registry.get("convert-to-shared").permission, tenant)
