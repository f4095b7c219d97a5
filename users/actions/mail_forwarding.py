"""Mail actions on forwarding and visibility: "Set forwarding" (an internal recipient or an outside address,
keeping a copy or not) and "Hide from address list" / "Show in address list".

Forwarding is ``Set-Mailbox`` ForwardingAddress / ForwardingSmtpAddress / DeliverToMailboxAndForward, as CIPP
sets it (contract Part A.5): the other address is cleared, since ForwardingAddress wins when both are set.
External forwarding is also governed by the tenant's outbound spam policy (Get-HostedOutboundSpamFilterPolicy
AutoForwardingMode): "Automatic" and "Off" block it, so the modal warns before and the result says it after
(Exchange stores the address either way; the policy stops the mail, with a bounce to the sender).

``HiddenFromAddressListsEnabled`` of a user synced from on-premises AD is mastered there: Exchange Online
refuses the write, so such users are refused up front with that reason (and the sandbox refuses as EXO does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.errors import GraphError
from graph.exchange import ExchangeClient
from graph.services import mailbox_admin as mbx

from .mail import NO_MAILBOX, mailbox_why_not, reports_failures, skipped
from .mail_forwarding_forms import SetForwardingForm
from .registry import Action, Group, Outcome, Status, Target, register
from .wording import in_tenant, who

if TYPE_CHECKING:
    from users.models import DirectoryUser

POLICY_CHECK_TENANTS = 5  # the modal reads each selected tenant's policy live; keep it bounded
BLOCKED_WORDS = {
    "Automatic": "set to Automatic, which Microsoft has treated as blocked since 2020",
    "Off": "turned off",
}


def _policy_message(tenant_name: str, mode: str) -> str:
    return (
        f"{tenant_name}'s outbound spam policy blocks automatic forwarding to outside addresses "
        f"(AutoForwardingMode {BLOCKED_WORDS.get(mode, mode)}): mail forwarded outside is not delivered and "
        "the sender gets a bounce. Forwarding inside the organisation is not affected. An admin can allow it "
        "in Microsoft Defender (Anti-spam policies, outbound)."
    )


def forwarding_warnings(targets: list[Target]) -> list[str]:
    """Shown before confirming: tenants whose outbound policy blocks external forwarding, read live."""
    warnings: list[str] = []
    tenants = list({t.tenant.pk: t.tenant for t in targets}.values())
    for tenant in tenants[:POLICY_CHECK_TENANTS]:
        try:
            mode = mbx.outbound_forwarding_mode(ExchangeClient.for_tenant(tenant))
        except GraphError as error:
            warnings.append(
                f"{tenant.display_name}'s outbound spam policy could not be read ({error.message}); if it "
                "blocks external forwarding, forwarding outside will not deliver."
            )
            continue
        if mbx.external_forwarding_blocked(mode):
            warnings.append(_policy_message(tenant.display_name, mode))
    if len(tenants) > POLICY_CHECK_TENANTS:
        warnings.append(
            f"The outbound spam policy was checked for the first {POLICY_CHECK_TENANTS} tenants only."
        )
    return warnings


def _own_addresses(user: DirectoryUser) -> set[str]:
    found = {user.user_principal_name.lower(), (user.mail or "").lower()}
    found |= {str(a).split(":", 1)[-1].lower() for a in user.proxy_addresses or []}
    return found - {""}


@reports_failures
def set_forwarding(ctx, target: Target, data: dict) -> Outcome:
    upn = target.user.user_principal_name
    internal = str(data.get("internal_recipient") or "")
    external = str(data.get("external_address") or "")
    keep_copy = bool(data.get("keep_copy"))
    address = internal or external
    if not address:
        return Outcome(Status.FAILED, "No forwarding address was given.")
    if address.lower() in _own_addresses(target.user):
        return skipped("A mailbox cannot forward to itself.")
    mailbox = mbx.get_mailbox(ctx.exchange, upn)
    if mailbox is None:
        return skipped(NO_MAILBOX)
    before = mbx.describe_forwarding(mailbox)
    mbx.set_forwarding(ctx.exchange, upn, internal=internal, external=external, keep_copy=keep_copy)
    name = str(data.get("recipient_name") or "")
    to = f"{name} ({address})" if internal and name and name != address else address
    message = f"Mail now forwards to {to}"
    message += ", with a copy kept in the mailbox." if keep_copy else "; the mailbox keeps no copy."
    if before and before.lower() != address.lower():
        message += f" It forwarded to {before} before."
    details: dict = {"to": address, "kind": "internal" if internal else "external", "keep_copy": keep_copy,
                     "before": before}  # fmt: skip
    if external:
        try:
            mode = mbx.outbound_forwarding_mode(ctx.exchange)
        except GraphError as error:
            details["policy_error"] = error.message
            message += " The outbound spam policy could not be read to tell whether it delivers."
        else:
            details["auto_forwarding_mode"] = mode
            if mbx.external_forwarding_blocked(mode):
                message += " " + _policy_message(ctx.tenant.display_name, mode)
    return Outcome(Status.SUCCESS, message, details=details)


def _forwarding_confirm(targets, tenant) -> str:
    return (
        f"Forward the mail of {who(targets)} {in_tenant(targets, tenant)} to the address chosen below. Any "
        "forwarding set on the mailbox before is replaced; inbox rules are not changed."
    )


register(Action(
    key="set-forwarding", label="Set email forwarding", group=Group.MAIL, icon="forward",
    permission="users.edit", form_class=SetForwardingForm, confirm=_forwarding_confirm,
    applies=mailbox_why_not, warnings=forwarding_warnings, run=set_forwarding,
))  # fmt: skip


# --- hide from / show in the address list -----------------------------------------------------------------

SYNCED_ADDRESS_LIST = (
    "Synced from on-premises AD: whether the mailbox shows in the address list is mastered there "
    "(msExchHideFromAddressLists), and Exchange Online refuses the change. Set it in on-premises AD; the "
    "next directory sync brings it here."
)


def address_list_why_not(user: DirectoryUser) -> str | None:
    if why := mailbox_why_not(user):
        return why
    return SYNCED_ADDRESS_LIST if user.on_premises_sync_enabled else None


def visibility_handler(hidden: bool):
    @reports_failures
    def run(ctx, target: Target, data: dict) -> Outcome:
        upn = target.user.user_principal_name
        mailbox = mbx.get_mailbox_visibility(ctx.exchange, upn)
        if mailbox is None:
            return skipped(NO_MAILBOX)
        if bool(mailbox.get("HiddenFromAddressListsEnabled")) == hidden:
            state = "hidden from" if hidden else "shown in"
            return skipped(f"Already {state} the address list.")
        mbx.set_hidden_from_address_lists(ctx.exchange, upn, hidden)
        message = (
            "Hidden from the address list: colleagues no longer find it in Outlook's address book (offline "
            "address books update within a day); mail sent to the address still arrives."
            if hidden
            else "Shown in the address list again (offline address books update within a day)."
        )
        return Outcome(Status.SUCCESS, message, details={"hidden": hidden})

    return run


register(Action(
    key="hide-from-address-list", label="Hide from address list", group=Group.MAIL, icon="eye-slash",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Hide the mailbox of {who(targets)} {in_tenant(targets, tenant)} from the global address list. "
        "Colleagues no longer find it in the address book; mail to the address still arrives."
    ),
    applies=address_list_why_not, run=visibility_handler(True),
))  # fmt: skip

register(Action(
    key="show-in-address-list", label="Show in address list", group=Group.MAIL, icon="eye",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Show the mailbox of {who(targets)} {in_tenant(targets, tenant)} in the global address list again, "
        "so colleagues find it in the address book."
    ),
    applies=address_list_why_not, run=visibility_handler(False),
))  # fmt: skip
