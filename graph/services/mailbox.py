"""A mailbox summary from Exchange Online (type, archive, forwarding, size, automatic replies).

Mailbox type, archive and forwarding exist only in Exchange (Get-Mailbox); the size comes from
Get-MailboxStatistics and automatic replies from Get-MailboxAutoReplyConfiguration, all anchored on the
user's mailbox. A user without a mailbox answers ``{"exists": False}``.
"""

from __future__ import annotations

import html
import re

from graph.errors import NotFoundError
from graph.exchange import ExchangeClient

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
MAILBOX_SELECT = [
    "DisplayName", "UserPrincipalName", "PrimarySmtpAddress", "RecipientTypeDetails", "ArchiveGuid",
    "ArchiveStatus", "AutoExpandingArchiveEnabled", "ForwardingAddress", "ForwardingSmtpAddress",
    "DeliverToMailboxAndForward", "HiddenFromAddressListsEnabled", "LitigationHoldEnabled",
    "ProhibitSendReceiveQuota", "EmailAddresses",
]  # fmt: skip
TYPE_LABELS = {
    "UserMailbox": "User mailbox",
    "SharedMailbox": "Shared mailbox",
    "RoomMailbox": "Room mailbox",
    "EquipmentMailbox": "Equipment mailbox",
}
_BYTES = re.compile(r"\(([\d,.\s]+)bytes\)")


def parse_byte_quantity(text) -> int | None:
    """Exchange's ``"1.234 GB (1,325,000,000 bytes)"`` → 1325000000."""
    if isinstance(text, int | float):
        return int(text)
    match = _BYTES.search(str(text or ""))
    if not match:
        return None
    digits = re.sub(r"[^\d]", "", match.group(1))
    return int(digits) if digits else None


def _strip_html(text: str) -> str:
    """The auto-reply as plain text: tags dropped, entities decoded (``&lt;b&gt;`` shows as ``<b>``).
    The result is plain text, which templates escape when they render it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text or "")).split())


def summarise(mailbox: dict, statistics: dict | None, auto_reply: dict | None) -> dict:
    details = mailbox.get("RecipientTypeDetails") or ""
    archive_guid = str(mailbox.get("ArchiveGuid") or ZERO_GUID)
    forward_smtp = str(mailbox.get("ForwardingSmtpAddress") or "")
    if forward_smtp.lower().startswith("smtp:"):
        forward_smtp = forward_smtp[5:]
    size = parse_byte_quantity((statistics or {}).get("TotalItemSize"))
    quota = parse_byte_quantity(mailbox.get("ProhibitSendReceiveQuota"))
    reply = auto_reply or {}
    state = str(reply.get("AutoReplyState") or "Disabled")
    return {
        "exists": True,
        "type": details,
        "type_label": TYPE_LABELS.get(details, details or "Mailbox"),
        "primary_smtp": mailbox.get("PrimarySmtpAddress") or "",
        "archive": archive_guid != ZERO_GUID,
        "archive_status": mailbox.get("ArchiveStatus") or ("Active" if archive_guid != ZERO_GUID else "None"),
        "auto_expanding_archive": bool(mailbox.get("AutoExpandingArchiveEnabled")),
        "forwarding_smtp": forward_smtp,
        "forwarding_address": mailbox.get("ForwardingAddress") or "",
        "forwarding_keeps_copy": bool(mailbox.get("DeliverToMailboxAndForward")),
        "hidden": bool(mailbox.get("HiddenFromAddressListsEnabled")),
        "litigation_hold": bool(mailbox.get("LitigationHoldEnabled")),
        "size": size,
        "quota": quota,
        "percent": round(100 * size / quota, 1) if size is not None and quota else None,
        "item_count": (statistics or {}).get("ItemCount"),
        "auto_reply_state": state,
        "auto_reply_on": state.lower() in ("enabled", "scheduled"),
        "auto_reply_internal": _strip_html(reply.get("InternalMessage") or ""),
        "auto_reply_external": _strip_html(reply.get("ExternalMessage") or ""),
        "auto_reply_audience": reply.get("ExternalAudience") or "",
        "auto_reply_start": reply.get("StartTime"),
        "auto_reply_end": reply.get("EndTime"),
    }


def get_mailbox_summary(exchange: ExchangeClient, user_id: str, upn: str) -> dict:
    """Three read cmdlets anchored on the mailbox; ``{"exists": False}`` when the user has none."""
    try:
        found = exchange.invoke(
            "Get-Mailbox", {"Identity": str(user_id)}, anchor_mailbox=upn, select=MAILBOX_SELECT
        )
    except NotFoundError:
        return {"exists": False}
    if not found:
        return {"exists": False}
    identity = found[0].get("PrimarySmtpAddress") or str(user_id)
    statistics = exchange.invoke("Get-MailboxStatistics", {"Identity": identity}, anchor_mailbox=upn)
    auto_reply = exchange.invoke(
        "Get-MailboxAutoReplyConfiguration", {"Identity": identity}, anchor_mailbox=upn
    )
    return summarise(found[0], statistics[0] if statistics else None, auto_reply[0] if auto_reply else None)
