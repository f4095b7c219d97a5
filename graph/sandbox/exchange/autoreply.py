"""Get-MailboxAutoReplyConfiguration: a mailbox's automatic replies (Exchange's view; Graph's
mailboxSettings reads the same SandboxMailbox.auto_reply)."""

from __future__ import annotations

from .cmdlets import cmdlet, require
from .mailbox import find_mailbox

STATES = {"enabled": "Enabled", "disabled": "Disabled", "scheduled": "Scheduled"}
AUDIENCES = {"none": "None", "known": "Known", "all": "All"}


def _html(message: str) -> str:
    """Exchange stores plain-text messages wrapped in HTML and returns them that way."""
    if not message:
        return ""
    return (
        message
        if message.lstrip().lower().startswith("<html")
        else f"<html>\n<body>\n{message}\n</body>\n</html>\n"
    )


@cmdlet(
    "Get-MailboxAutoReplyConfiguration",
    parameters=("Identity", "ResultSize"),
    output_type="Exchange.MailboxAutoReplyConfiguration",
)
def get_mailbox_auto_reply_configuration(tenant, params: dict, request) -> list[dict]:
    require(params, "Identity")
    mailbox = find_mailbox(tenant, params["Identity"])
    reply = mailbox.auto_reply or {}
    user = mailbox.user
    alias = mailbox.properties.get("Alias") or user.upn_lower.split("@")[0]
    return [
        {
            "Identity": alias,
            "MailboxOwnerId": alias,
            "AutoReplyState": STATES.get(str(reply.get("AutoReplyState", "Disabled")).lower(), "Disabled"),
            "ExternalAudience": AUDIENCES.get(str(reply.get("ExternalAudience", "All")).lower(), "All"),
            "InternalMessage": _html(reply.get("InternalMessage") or ""),
            "ExternalMessage": _html(reply.get("ExternalMessage") or ""),
            "StartTime": reply.get("StartTime"),
            "EndTime": reply.get("EndTime"),
            "CreateOOFEvent": bool(reply.get("CreateOOFEvent", False)),
            "AutoDeclineFutureRequestsWhenOOF": bool(reply.get("AutoDeclineFutureRequestsWhenOOF", False)),
            "IsValid": True,
        }
    ]
