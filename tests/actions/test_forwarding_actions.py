"""Set email forwarding and Hide from / Show in address list: the exact Exchange requests (``responses``),
runs through the modal against the sandbox with its mailbox state checked afterwards, the outbound spam
policy warning, the recipient checks next to the field, synced users refused (by us and by the sandbox, as
Exchange Online refuses dir-synced objects), and refusal by role."""

from __future__ import annotations

import pytest
import responses
from django.urls import reverse

from graph.errors import GraphError
from graph.exchange import ExchangeClient
from graph.sandbox.exchange.outbound_spam import forwarding_mode, set_forwarding_mode
from graph.sandbox.models import SandboxMailbox
from graph.services import mailbox_admin as mbx
from tests.actions.examples import synced_member, tenant_named
from tests.actions.examples_mail_options import cache_row, mailbox_member, recipient
from tests.exchange_kit import EXO
from tests.exchange_kit import sent as _sent
from users.models import AuditEntry


@responses.activate
def test_exact_exchange_requests(exchange):
    responses.post(EXO, json={"value": []})
    mbx.set_forwarding(exchange, "a@x.com", internal="b@x.com", keep_copy=True)
    mbx.set_forwarding(exchange, "a@x.com", external="c@fabrikam.com", keep_copy=False)
    mbx.set_hidden_from_address_lists(exchange, "a@x.com", True)
    sent = [_sent(call) for call in responses.calls]
    assert sent[0] == ("Set-Mailbox", {"Identity": "a@x.com", "ForwardingAddress": "b@x.com",
                       "ForwardingSmtpAddress": None, "DeliverToMailboxAndForward": True}, "UPN:a@x.com")  # fmt: skip
    assert sent[1] == ("Set-Mailbox", {"Identity": "a@x.com", "ForwardingAddress": None,
                       "ForwardingSmtpAddress": "smtp:c@fabrikam.com", "DeliverToMailboxAndForward": False},
                       "UPN:a@x.com")  # fmt: skip
    assert sent[2] == (
        "Set-Mailbox",
        {"Identity": "a@x.com", "HiddenFromAddressListsEnabled": True},
        "UPN:a@x.com",
    )
    with pytest.raises(ValueError):
        mbx.set_forwarding(exchange, "a@x.com", internal="b@x.com", external="c@y.com", keep_copy=True)


@responses.activate
def test_outbound_policy_read(exchange):
    responses.post(EXO, json={"value": [{"Identity": "Custom", "IsDefault": False, "AutoForwardingMode": "On"},
                                        {"Identity": "Default", "IsDefault": True, "AutoForwardingMode": "Automatic"}]})  # fmt: skip
    assert mbx.outbound_forwarding_mode(exchange) == "Automatic"
    name, params, anchor = _sent(responses.calls[0])
    assert (name, params) == ("Get-HostedOutboundSpamFilterPolicy", {}) and anchor.startswith(
        "APP:SystemMailbox"
    )
    assert "AutoForwardingMode" in responses.calls[0].request.url
    assert mbx.external_forwarding_blocked("Automatic") and mbx.external_forwarding_blocked("Off")
    assert not mbx.external_forwarding_blocked("On")


@responses.activate
def test_mail_contacts_read(exchange):
    responses.post(EXO, json={"value": [
        {"DisplayName": "Partner", "PrimarySmtpAddress": "p@partner.example", "ExternalEmailAddress": "SMTP:p@partner.example"},
        {"DisplayName": "No address"},
    ]})  # fmt: skip
    assert mbx.list_mail_contacts(exchange) == [{"name": "Partner", "address": "p@partner.example"}]
    name, params, anchor = _sent(responses.calls[0])
    assert (name, params) == ("Get-MailContact", {"ResultSize": 1000}) and anchor.startswith(
        "APP:SystemMailbox"
    )


def test_forward_to_a_mail_contact(action_world, role_client):
    target = mailbox_member(action_world.sandbox, skip=1)
    row = action_world.cache(target)
    client = role_client("editor")
    page = client.get(reverse("users:action", args=["set-forwarding"]), {"user": action_world.value(row)})
    assert '<option value="books@ledgerly.example">Accounting partner (external) (mail contact)</option>' in (
        page.content.decode()
    )
    response = _post(client, action_world, "set-forwarding", [row], destination="internal",
                     internal_recipient="Accounting partner (external) <books@ledgerly.example>", keep_copy="on")  # fmt: skip
    text = response.content.decode()
    assert (
        'data-result="success"' in text and "Accounting partner (external) (books@ledgerly.example)" in text
    )
    box = SandboxMailbox.objects.get(user=target)
    assert box.forwarding_address == "accounting.partner" and box.forwarding_smtp_address == ""
    # Exchange resolves the contact by address as well; an unknown recipient is refused with its message.
    exchange = ExchangeClient.for_tenant(row.tenant)
    with pytest.raises(GraphError) as refused:
        mbx.set_forwarding(
            exchange, row.user_principal_name, internal="nobody@nowhere.example", keep_copy=True
        )
    assert "Couldn't find object" in refused.value.message


def _post(client, world, key, rows, **data):
    return client.post(reverse("users:action", args=[key]), {
        "user": [world.value(r) for r in rows], "confirmed": "1", "expected_count": str(len(rows)), **data})  # fmt: skip


def test_external_forwarding_in_a_blocking_tenant_warns_before_and_after(action_world, role_client):
    from graph.sandbox.models import SandboxUser

    fabrikam = tenant_named(action_world.sandbox, "Fabrikam Inc")
    assert forwarding_mode(fabrikam) == "Automatic"  # the service default, kept by the demo seed
    box = SandboxMailbox.objects.filter(user__tenant=fabrikam, recipient_type_details="UserMailbox",
                                        user__role_memberships__isnull=True).order_by("user__display_name").first()  # fmt: skip
    row = action_world.cache(SandboxUser.objects.get(pk=box.user_id))
    client = role_client("editor")
    page = client.get(reverse("users:action", args=["set-forwarding"]), {"user": action_world.value(row)})
    assert "blocks automatic forwarding to outside addresses" in page.content.decode()
    response = _post(client, action_world, "set-forwarding", [row], destination="external",
                     external_address="archive@partner.example", keep_copy="")  # fmt: skip
    text = response.content.decode()
    assert 'data-result="success"' in text and "not delivered" in text
    box.refresh_from_db()
    assert (box.forwarding_smtp_address, box.forwarding_address) == ("smtp:archive@partner.example", "")
    assert box.deliver_to_mailbox_and_forward is False
    entry = AuditEntry.objects.get()
    assert entry.parameters["external_address"] == "archive@partner.example"
    assert entry.result == "success"


def test_allowing_tenant_shows_no_warning_and_internal_replaces_external(action_world, role_client):
    northwind = tenant_named(action_world.sandbox)
    assert forwarding_mode(northwind) == "On"
    target = mailbox_member(action_world.sandbox)
    SandboxMailbox.objects.filter(user=target).update(forwarding_smtp_address="smtp:old@gmail.com")
    row = action_world.cache(target)
    colleague = cache_row(recipient(action_world.sandbox))
    client = role_client("editor")
    page = client.get(reverse("users:action", args=["set-forwarding"]), {"user": action_world.value(row)})
    text = page.content.decode()
    assert "blocks automatic forwarding" not in text
    assert f'<option value="{colleague.mail}">' in text and 'list="forwarding-recipients"' in text
    # "Name <address>" as a technician may paste it resolves to the same colleague.
    response = _post(client, action_world, "set-forwarding", [row], destination="internal",
                     internal_recipient=f"{colleague.display_name} <{colleague.mail}>", keep_copy="on")  # fmt: skip
    assert 'data-result="success"' in response.content.decode()
    assert "old@gmail.com before" in response.content.decode()
    box = SandboxMailbox.objects.get(user=target)
    assert box.forwarding_smtp_address == "" and box.forwarding_address and box.deliver_to_mailbox_and_forward


def test_recipient_problems_next_to_the_field(action_world, role_client):
    target = mailbox_member(action_world.sandbox)
    row = action_world.cache(target)
    client = role_client("editor")
    cases = [
        (
            {"destination": "internal", "internal_recipient": "nobody@nowhere.example"},
            "is not a user with a mailbox",
        ),
        ({"destination": "internal", "internal_recipient": row.mail}, "cannot forward to itself"),
        ({"destination": "internal", "internal_recipient": ""}, "Choose the person"),
        ({"destination": "external", "external_address": "not an address"}, "valid email"),
        ({"destination": "external", "external_address": ""}, "Enter the address"),
    ]
    for data, expected in cases:
        response = client.post(reverse("users:action", args=["set-forwarding"]),
                               {"user": action_world.value(row), "confirmed": "1", **data}, HTTP_HX_REQUEST="true")  # fmt: skip
        text = response.content.decode()
        assert response.status_code == 422 and expected in text and "invalid-feedback" in text, (
            data,
            text[:500],
        )
    assert not AuditEntry.objects.exists()
    assert SandboxMailbox.objects.get(user=target).forwarding_address == ""


def test_hide_and_show_in_the_sandbox(action_world, role_client):
    target = mailbox_member(action_world.sandbox, skip=2)
    row = action_world.cache(target)
    client = role_client("editor")
    assert (
        'data-result="success"'
        in _post(client, action_world, "hide-from-address-list", [row]).content.decode()
    )
    assert SandboxMailbox.objects.get(user=target).hidden_from_address_lists is True
    mailbox = client.get(reverse("users:detail-mailbox", args=[str(row.tenant.tenant_id), row.user_id]))
    assert "<dt>Address lists</dt><dd>Hidden</dd>" in mailbox.content.decode()  # View user shows the state
    again = _post(client, action_world, "hide-from-address-list", [row]).content.decode()
    assert 'data-result="skipped"' in again and "Already hidden" in again
    assert (
        'data-result="success"' in _post(client, action_world, "show-in-address-list", [row]).content.decode()
    )
    assert SandboxMailbox.objects.get(user=target).hidden_from_address_lists is False


def test_synced_users_are_refused_with_the_reason_and_exchange_refuses_too(action_world, role_client):
    user = synced_member(action_world.sandbox)
    assert SandboxMailbox.objects.filter(user=user).exists()
    row = action_world.cache(user)
    response = _post(role_client("editor"), action_world, "hide-from-address-list", [row])
    assert response.status_code == 409 and "mastered there" in response.content.decode()
    # The sandbox answers the cmdlet itself as Exchange Online does for a dir-synced object.
    exchange = ExchangeClient.for_tenant(row.tenant)
    with pytest.raises(GraphError) as refused:
        mbx.set_hidden_from_address_lists(exchange, row.user_principal_name, True)
    assert "synchronized from your on-premises organization" in refused.value.message
    assert SandboxMailbox.objects.get(user=user).hidden_from_address_lists is False
    # Forwarding is an Exchange-only setting: allowed for synced users.
    mbx.set_forwarding(exchange, row.user_principal_name, external="x@partner.example", keep_copy=True)
    assert SandboxMailbox.objects.get(user=user).forwarding_smtp_address == "smtp:x@partner.example"


def test_helpdesk_may_not_and_the_policy_switch_validates(action_world, role_client):
    row = action_world.cache(mailbox_member(action_world.sandbox))
    helpdesk = role_client("helpdesk")
    for key in ("set-forwarding", "hide-from-address-list", "show-in-address-list"):
        assert (
            helpdesk.get(reverse("users:action", args=[key]), {"user": action_world.value(row)}).status_code
            == 403
        )
    with pytest.raises(ValueError):
        set_forwarding_mode(tenant_named(action_world.sandbox), "Sometimes")
