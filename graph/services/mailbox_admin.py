"""Mailbox changes through Exchange Online (InvokeCommand), each anchored on the user's mailbox as CIPP
does (contract Part A.5): mailbox type, online archive, automatic replies, forwarding, inbox rules and
distribution-group membership.

Messages for automatic replies are built here from plain text: HTML-escaped, line breaks kept, wrapped in
``<html><body>`` — a technician's text is never sent as markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from graph.errors import GraphError, NotFoundError
from graph.exchange import ExchangeClient, ExchangeResult
from graph.services.mailbox import ZERO_GUID, parse_byte_quantity

MAILBOX_SELECT = [
    "UserPrincipalName", "PrimarySmtpAddress", "RecipientTypeDetails", "ArchiveGuid", "ArchiveStatus",
    "ForwardingAddress", "ForwardingSmtpAddress", "DeliverToMailboxAndForward",
]  # fmt: skip
MAILBOX_TYPES = {"Shared": "SharedMailbox", "Regular": "UserMailbox"}
AUDIENCES = ("None", "Known", "All")
# A shared mailbox without a licence is capped at 50 GB; CIPP warns from 49 GiB, and so do we.
SHARED_MAILBOX_WARN_BYTES = 49 * 1024**3
FORWARDING_ACTIONS = ("ForwardTo", "RedirectTo", "ForwardAsAttachmentTo")
OOF_RULE_PREFIX = "Microsoft.Exchange.OOF."
# Exchange's "already a member" failure (MemberAlreadyExistsException); matched on the type first and on
# the documented message as a fallback, since the Ex id is not published.
_ALREADY_MEMBER_TYPE = "MemberAlreadyExistsException"
_ALREADY_MEMBER_TEXT = "is already a member of the group"


def get_mailbox(exchange: ExchangeClient, upn: str) -> dict | None:
    """The mailbox's type, archive and forwarding; None when the user has no mailbox."""
    try:
        found = exchange.invoke("Get-Mailbox", {"Identity": upn}, anchor_mailbox=upn, select=MAILBOX_SELECT)
    except NotFoundError:
        return None
    return found[0] if found else None


def get_mailbox_visibility(exchange: ExchangeClient, upn: str) -> dict | None:
    """The mailbox's address-list visibility (``HiddenFromAddressListsEnabled``); None without a mailbox."""
    select = ["UserPrincipalName", "RecipientTypeDetails", "HiddenFromAddressListsEnabled"]
    try:
        found = exchange.invoke("Get-Mailbox", {"Identity": upn}, anchor_mailbox=upn, select=select)
    except NotFoundError:
        return None
    return found[0] if found else None


def has_archive(mailbox: dict) -> bool:
    return str(mailbox.get("ArchiveGuid") or ZERO_GUID) != ZERO_GUID


def mailbox_size(exchange: ExchangeClient, upn: str) -> int | None:
    """Total item size in bytes (Get-MailboxStatistics), None when unknown."""
    stats = exchange.invoke("Get-MailboxStatistics", {"Identity": upn}, anchor_mailbox=upn)
    return parse_byte_quantity(stats[0].get("TotalItemSize")) if stats else None


def set_mailbox_type(exchange: ExchangeClient, upn: str, kind: str) -> ExchangeResult:
    """``Set-Mailbox -Type Shared|Regular``."""
    if kind not in MAILBOX_TYPES:
        raise ValueError(f"mailbox type must be one of {', '.join(MAILBOX_TYPES)}")
    return exchange.invoke("Set-Mailbox", {"Identity": upn, "Type": kind}, anchor_mailbox=upn)


def enable_archive(exchange: ExchangeClient, upn: str) -> ExchangeResult:
    """``Enable-Mailbox -Archive`` (system-mailbox anchor, as CIPP)."""
    return exchange.invoke("Enable-Mailbox", {"Identity": upn, "Archive": True})


def plain_text_to_html(text: str) -> str:
    """A technician's plain text as the simple HTML Exchange stores: escaped, line breaks as ``<br>``."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = "<br>\n".join(html.escape(line, quote=True) for line in lines)
    return f"<html>\n<body>\n{body}\n</body>\n</html>\n"


def exchange_datetime(value: datetime) -> str:
    """An aware datetime as the UTC ISO 8601 text Exchange's DateTime parameters accept."""
    if value.tzinfo is None:
        raise ValueError("automatic-reply times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AutoReply:
    internal: str  # plain text
    external: str = ""  # plain text; required unless audience is "None"
    audience: str = "None"  # None | Known (contacts only) | All
    start: datetime | None = None
    end: datetime | None = None

    def parameters(self, upn: str) -> dict:
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
        if (self.start is None) != (self.end is None):
            raise ValueError("a schedule needs both a start and an end")
        params = {
            "Identity": upn,
            "AutoReplyState": "Scheduled" if self.start else "Enabled",
            "ExternalAudience": self.audience,
            "InternalMessage": plain_text_to_html(self.internal),
        }
        if self.audience != "None":
            params["ExternalMessage"] = plain_text_to_html(self.external)
        if self.start is not None and self.end is not None:
            if self.end <= self.start:
                raise ValueError("the end must be after the start")
            params["StartTime"] = exchange_datetime(self.start)
            params["EndTime"] = exchange_datetime(self.end)
        return params


def set_auto_reply(exchange: ExchangeClient, upn: str, reply: AutoReply) -> ExchangeResult:
    return exchange.invoke("Set-MailboxAutoReplyConfiguration", reply.parameters(upn), anchor_mailbox=upn)


def disable_auto_reply(exchange: ExchangeClient, upn: str) -> ExchangeResult:
    """State Disabled only: the messages stay for next time."""
    return exchange.invoke(
        "Set-MailboxAutoReplyConfiguration",
        {"Identity": upn, "AutoReplyState": "Disabled"},
        anchor_mailbox=upn,
    )


def get_auto_reply_state(exchange: ExchangeClient, upn: str) -> str:
    found = exchange.invoke("Get-MailboxAutoReplyConfiguration", {"Identity": upn}, anchor_mailbox=upn)
    return str(found[0].get("AutoReplyState") or "Disabled") if found else "Disabled"


def clear_forwarding(exchange: ExchangeClient, upn: str) -> ExchangeResult:
    return exchange.invoke(
        "Set-Mailbox",
        {"Identity": upn, "ForwardingSmtpAddress": None, "ForwardingAddress": None,
         "DeliverToMailboxAndForward": False},
        anchor_mailbox=upn,
    )  # fmt: skip


def describe_forwarding(mailbox: dict) -> str:
    """The mailbox-level forwarding target in words ("" when none)."""
    smtp = str(mailbox.get("ForwardingSmtpAddress") or "")
    if smtp.lower().startswith("smtp:"):
        smtp = smtp[5:]
    return str(mailbox.get("ForwardingAddress") or "") or smtp


def list_inbox_rules(exchange: ExchangeClient, upn: str) -> list[dict]:
    """All inbox rules incl. hidden ones (rules made by other clients hide there), without Exchange's own
    ``Microsoft.Exchange.OOF.*`` automatic-reply rules."""
    rules = exchange.invoke("Get-InboxRule", {"Mailbox": upn, "IncludeHidden": True}, anchor_mailbox=upn)
    return [r for r in rules if not str(r.get("Name") or "").startswith(OOF_RULE_PREFIX)]


def forwarding_rules(rules: list[dict]) -> list[dict]:
    """``[{name, enabled, action, targets}]`` for every rule that forwards or redirects mail."""
    found = []
    for rule in rules:
        for action in FORWARDING_ACTIONS:
            targets = rule.get(action) or []
            if isinstance(targets, str):
                targets = [targets]
            if targets:
                found.append(
                    {
                        "name": str(rule.get("Name") or rule.get("Identity") or ""),
                        "enabled": bool(rule.get("Enabled")),
                        "action": action,
                        "targets": [str(t) for t in targets],
                    }
                )
    return found


def is_already_member_error(error: GraphError) -> bool:
    return _ALREADY_MEMBER_TYPE in str(error.exception_type or "") or _ALREADY_MEMBER_TEXT in error.message


def add_distribution_group_member(exchange: ExchangeClient, group: str, member: str) -> bool:
    """True when added, False when the member already was one (Exchange answers that with an error)."""
    try:
        exchange.invoke(
            "Add-DistributionGroupMember",
            {"Identity": group, "Member": member, "BypassSecurityGroupManagerCheck": True},
        )
    except GraphError as error:
        if is_already_member_error(error):
            return False
        raise
    return True


# --- forwarding, address lists, outbound policy -----------------------------------------------------------

# Get-HostedOutboundSpamFilterPolicy AutoForwardingMode: "On" allows automatic external forwarding; "Off"
# blocks it; "Automatic" is system-controlled, which since late 2020 means blocked as well.
FORWARDING_MODES = ("On", "Off", "Automatic")


def set_forwarding(
    exchange: ExchangeClient, upn: str, *, internal: str = "", external: str = "", keep_copy: bool
) -> ExchangeResult:
    """``Set-Mailbox`` forwarding to one target, as CIPP's Set-CIPPForwarding: an internal recipient goes in
    ForwardingAddress, an outside SMTP address in ForwardingSmtpAddress; the other one is cleared, since
    ForwardingAddress would win if both were set. ``keep_copy`` is DeliverToMailboxAndForward."""
    if bool(internal) == bool(external):
        raise ValueError("forward to exactly one of an internal recipient or an external address")
    parameters = {
        "Identity": upn,
        "ForwardingAddress": internal or None,
        "ForwardingSmtpAddress": f"smtp:{external}" if external else None,
        "DeliverToMailboxAndForward": bool(keep_copy),
    }
    return exchange.invoke("Set-Mailbox", parameters, anchor_mailbox=upn)


def set_hidden_from_address_lists(exchange: ExchangeClient, upn: str, hidden: bool) -> ExchangeResult:
    return exchange.invoke(
        "Set-Mailbox", {"Identity": upn, "HiddenFromAddressListsEnabled": bool(hidden)}, anchor_mailbox=upn
    )


def outbound_forwarding_mode(exchange: ExchangeClient) -> str:
    """The default outbound spam policy's AutoForwardingMode (tenant-wide, system-mailbox anchor); a tenant
    whose policies do not say counts as "Automatic" (the service default)."""
    policies = exchange.invoke(
        "Get-HostedOutboundSpamFilterPolicy", {}, select=["Identity", "IsDefault", "AutoForwardingMode"]
    )
    default = next((p for p in policies if p.get("IsDefault")), policies[0] if policies else {})
    mode = str(default.get("AutoForwardingMode") or "Automatic")
    return mode if mode in FORWARDING_MODES else "Automatic"


def external_forwarding_blocked(mode: str) -> bool:
    return mode != "On"


def list_mail_contacts(exchange: ExchangeClient, limit: int = 1000) -> list[dict]:
    """``[{name, address}]`` of the tenant's mail contacts (Get-MailContact): outside addresses in the address
    book, which Exchange accepts as a ForwardingAddress like any mail-enabled recipient."""
    found = exchange.invoke(
        "Get-MailContact",
        {"ResultSize": limit},
        select=["DisplayName", "PrimarySmtpAddress", "ExternalEmailAddress"],
    )
    contacts = []
    for item in found:
        address = str(item.get("PrimarySmtpAddress") or item.get("ExternalEmailAddress") or "")
        address = address[5:] if address.lower().startswith("smtp:") else address
        if address:
            contacts.append({"name": str(item.get("DisplayName") or address), "address": address})
    return contacts
