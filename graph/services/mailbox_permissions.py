"""Mailbox access through Exchange Online (InvokeCommand): Full Access (``*-MailboxPermission``), Send As
(``*-RecipientPermission``), Send on Behalf (``Set-Mailbox -GrantSendOnBehalfTo``) and calendar folder
permissions (``*-MailboxFolderPermission`` on ``<upn>:\\Calendar``), each anchored on the mailbox's owner.

Exchange lists inherited and system entries (``NT AUTHORITY\\SELF``, ``Deny`` rows) next to real delegations;
only explicit, non-denied grants to a trustee are delegations a technician manages, so the readers here keep
those alone.
"""

from __future__ import annotations

from graph.errors import GraphError
from graph.exchange import ExchangeClient, ExchangeResult

# Documented MailboxFolderPermission roles (Microsoft Learn, Add-MailboxFolderPermission -AccessRights).
CALENDAR_ROLES = (
    "Owner", "PublishingEditor", "Editor", "PublishingAuthor", "Author", "NonEditingAuthor", "Reviewer",
    "Contributor", "AvailabilityOnly", "LimitedDetails", "None",
)  # fmt: skip
# SharingPermissionFlags are only valid with the Editor role.
SHARING_FLAGS = ("Delegate", "CanViewPrivateItems")
# Exchange refuses Add- for a user who already has an entry on the folder; Set- must be used instead.
_ALREADY_HAS_ENTRY = "UserAlreadyExistsInPermissionEntryException"
_SYSTEM_TRUSTEES = ("NT AUTHORITY\\SELF", "S-1-5-")


def calendar_identity(upn: str) -> str:
    return f"{upn}:\\Calendar"


def _is_delegation(entry: dict, trustee_key: str) -> bool:
    trustee = str(entry.get(trustee_key) or "")
    if not trustee or trustee.startswith(_SYSTEM_TRUSTEES):
        return False
    return not entry.get("Deny") and not entry.get("IsInherited")


def full_access(exchange: ExchangeClient, upn: str) -> list[dict]:
    """Explicit Full Access grants on the mailbox (``Get-MailboxPermission``)."""
    rows = exchange.invoke("Get-MailboxPermission", {"Identity": upn}, anchor_mailbox=upn)
    return [
        row for row in rows if _is_delegation(row, "User") and "FullAccess" in (row.get("AccessRights") or [])
    ]


def send_as(exchange: ExchangeClient, upn: str) -> list[dict]:
    """Explicit Send As grants on the mailbox (``Get-RecipientPermission``)."""
    rows = exchange.invoke("Get-RecipientPermission", {"Identity": upn}, anchor_mailbox=upn)
    return [
        row for row in rows if _is_delegation(row, "Trustee") and "SendAs" in (row.get("AccessRights") or [])
    ]


def grant_full_access(
    exchange: ExchangeClient, upn: str, trustee: str, *, automapping: bool
) -> ExchangeResult:
    params = {"Identity": upn, "User": trustee, "AccessRights": ["FullAccess"], "AutoMapping": automapping}
    return exchange.invoke("Add-MailboxPermission", params, anchor_mailbox=upn)


def remove_full_access(exchange: ExchangeClient, upn: str, trustee: str) -> ExchangeResult:
    params = {"Identity": upn, "User": trustee, "AccessRights": ["FullAccess"], "Confirm": False}
    return exchange.invoke("Remove-MailboxPermission", params, anchor_mailbox=upn)


def grant_send_as(exchange: ExchangeClient, upn: str, trustee: str) -> ExchangeResult:
    params = {"Identity": upn, "Trustee": trustee, "AccessRights": ["SendAs"], "Confirm": False}
    return exchange.invoke("Add-RecipientPermission", params, anchor_mailbox=upn)


def remove_send_as(exchange: ExchangeClient, upn: str, trustee: str) -> ExchangeResult:
    params = {"Identity": upn, "Trustee": trustee, "AccessRights": ["SendAs"], "Confirm": False}
    return exchange.invoke("Remove-RecipientPermission", params, anchor_mailbox=upn)


def send_on_behalf(exchange: ExchangeClient, upn: str) -> list[str]:
    """Who may send on behalf of the mailbox (``GrantSendOnBehalfTo``)."""
    found = exchange.invoke(
        "Get-Mailbox",
        {"Identity": upn},
        anchor_mailbox=upn,
        select=["UserPrincipalName", "GrantSendOnBehalfTo"],
    )
    return list(found[0].get("GrantSendOnBehalfTo") or []) if found else []


def set_send_on_behalf(exchange: ExchangeClient, upn: str, trustee: str, *, grant: bool) -> ExchangeResult:
    """Adds or removes one trustee without touching the others (the multi-valued ``@{Add=}/@{Remove=}``)."""
    # Without the GenericHashTable tag Exchange cannot bind the hashtable (contract, InvokeCommand notes).
    change = {"@odata.type": "#Exchange.GenericHashTable", ("add" if grant else "remove"): trustee}
    params = {"Identity": upn, "GrantSendOnBehalfTo": change}
    return exchange.invoke("Set-Mailbox", params, anchor_mailbox=upn)


def calendar_permissions(exchange: ExchangeClient, upn: str) -> list[dict]:
    """Every entry on the calendar, Default and Anonymous included (they set what everyone else sees)."""
    return list(
        exchange.invoke(
            "Get-MailboxFolderPermission", {"Identity": calendar_identity(upn)}, anchor_mailbox=upn
        )
    )


def set_calendar_permission(
    exchange: ExchangeClient, upn: str, trustee: str, role: str, flags: tuple[str, ...] = ()
) -> ExchangeResult:
    """Adds the trustee's entry, or changes it when the trustee already has one (Exchange refuses a second
    Add- with UserAlreadyExistsInPermissionEntryException). Default and Anonymous always exist: Set- only."""
    if role not in CALENDAR_ROLES:
        raise ValueError(f"calendar access must be one of {', '.join(CALENDAR_ROLES)}")
    if flags and role != "Editor":
        raise ValueError("sharing flags (Delegate, CanViewPrivateItems) are only valid with Editor")
    if any(flag not in SHARING_FLAGS for flag in flags):
        raise ValueError(f"sharing flags must be among {', '.join(SHARING_FLAGS)}")
    params = {"Identity": calendar_identity(upn), "User": trustee, "AccessRights": [role]}
    if flags:
        params["SharingPermissionFlags"] = ",".join(flags)
    if trustee not in ("Default", "Anonymous"):
        try:
            return exchange.invoke("Add-MailboxFolderPermission", params, anchor_mailbox=upn)
        except GraphError as error:
            if _ALREADY_HAS_ENTRY not in f"{error.exception_type or ''} {error.message}":
                raise
    return exchange.invoke("Set-MailboxFolderPermission", params, anchor_mailbox=upn)


def remove_calendar_permission(exchange: ExchangeClient, upn: str, trustee: str) -> ExchangeResult:
    if trustee in ("Default", "Anonymous"):
        raise ValueError("Default and Anonymous cannot be removed; set them to None instead")
    params = {"Identity": calendar_identity(upn), "User": trustee, "Confirm": False}
    return exchange.invoke("Remove-MailboxFolderPermission", params, anchor_mailbox=upn)
