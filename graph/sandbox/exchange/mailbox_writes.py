"""Mailbox write cmdlets: Set-Mailbox (type, forwarding, address-list visibility, email addresses through
``email_addresses``), Enable-Mailbox -Archive
and Set-MailboxAutoReplyConfiguration, with the parameter rules of contract Part A.5.

Values are validated like PowerShell's parameter binding (a wrong type or enum value fails the whole call,
nothing is changed); a Set- that changes nothing succeeds with Exchange's "no settings modified" warning.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from django.db import transaction

from .. import directory
from ..models import SandboxMailbox
from ..proxy_addresses import primary_address
from . import errors
from .autoreply import AUDIENCES, STATES
from .autoreply import _html as wrap_html
from .cmdlets import CmdletOutput, cmdlet, require
from .email_addresses import new_proxy_addresses
from .errors import CmdletError
from .mail_contacts import find_contact
from .mailbox import _alias, find_mailbox

# Set-Mailbox -Type (ConvertibleMailboxSubType) → RecipientTypeDetails. Workspace is a room mailbox with a
# workspace resource type; Desk has no sandbox counterpart and is refused as an unsupported value.
MAILBOX_TYPES = {
    "regular": "UserMailbox",
    "shared": "SharedMailbox",
    "room": "RoomMailbox",
    "equipment": "EquipmentMailbox",
    "workspace": "RoomMailbox",
}
_SMTP = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# Sandbox-own error ids (see errors.py): stable so tests can match them.
ARCHIVE_EXISTS = ("ExA1C0E5", "Microsoft.Exchange.Management.Tasks.RecipientTaskException")
AUTO_REPLY_INVALID = ("Ex7D21B3", "Microsoft.Exchange.Data.DataValidationException")
SYNCED_WRITE_SCOPE = ("ExE1A7C9", "Microsoft.Exchange.Configuration.Tasks.TaskException")
# Set-Mailbox parameters whose attribute is mastered in on-premises AD for a directory-synced user.
ON_PREMISES_MASTERED = ("HiddenFromAddressListsEnabled",)


def no_change_warning(identity: str) -> str:
    return f"The command completed successfully but no settings of '{identity}' have been modified."


def binding_error(parameter: str, value, type_name: str, extra: str = "") -> CmdletError:
    return CmdletError(
        400,
        errors.PARAMETER_BINDING,
        f"Cannot process argument transformation on parameter '{parameter}'. Cannot convert value "
        f'"{value}" to type "{type_name}".{extra}',
    )


def as_bool(params: dict, name: str) -> bool:
    value = params[name]
    if not isinstance(value, bool):
        raise binding_error(name, value, "System.Boolean", " Boolean parameters accept only Boolean values.")
    return value


def as_switch(params: dict, name: str) -> bool:
    """A switch sent as ``true`` (present) or ``false`` (absent); anything else fails binding."""
    if name not in params:
        return False
    return as_bool(params, name)


def as_enum(params: dict, name: str, choices: dict[str, str], type_name: str) -> str:
    value = params[name]
    found = choices.get(str(value).strip().lower()) if isinstance(value, str) else None
    if found is None:
        valid = ", ".join(dict.fromkeys(choice.title() if choice != "none" else "None" for choice in choices))
        raise binding_error(name, value, type_name, f" The possible enumeration values are {valid}.")
    return found


def as_datetime(params: dict, name: str) -> str:
    """A DateTime parameter, kept as UTC ISO 8601 (naive values are read as UTC)."""
    value = params[name]
    parsed = None
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        raise binding_error(name, value, "System.DateTime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Set-Mailbox ------------------------------------------------------------------------------------------


def _forwarding_smtp(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise binding_error("ForwardingSmtpAddress", value, "Microsoft.Exchange.Data.ProxyAddress")
    address = value.strip()
    if address.lower().startswith("smtp:"):
        address = address[5:]
    if not _SMTP.match(address):
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            f"Cannot bind parameter 'ForwardingSmtpAddress' to the target. Exception setting "
            f'"ForwardingSmtpAddress": "The address \'{value}\' is not a valid SMTP address."',
        )
    return f"smtp:{address}"  # the service stores and returns the SMTP prefix


def _forwarding_recipient(tenant, value) -> str:
    if value is None:
        return ""
    try:
        target = find_mailbox(tenant, value)
    except CmdletError as exc:
        if exc.error_id != errors.NOT_FOUND[0]:
            raise
        contact = find_contact(tenant, value)  # any mail-enabled recipient: a mail contact too
        if contact is not None:
            return contact["Alias"]
        raise CmdletError(
            404,
            errors.NOT_FOUND,
            f'Couldn\'t find object "{value}". Please make sure that it was spelled correctly or specify a '
            "different object.",
            target=str(value),
        ) from None
    return _alias(target)


@cmdlet(
    "Set-Mailbox",
    parameters=(
        "Identity", "Type", "ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward",
        "HiddenFromAddressListsEnabled", "EmailAddresses",
    ),
)  # fmt: skip
def set_mailbox(tenant, params: dict, request) -> CmdletOutput:
    require(params, "Identity")
    with transaction.atomic():
        mailbox = find_mailbox(tenant, params["Identity"])
        mailbox = SandboxMailbox.objects.select_for_update().select_related("user").get(pk=mailbox.pk)
        # Bind and validate every value before changing anything, as PowerShell does.
        changes: dict = {}
        if "Type" in params:
            details = as_enum(
                params,
                "Type",
                MAILBOX_TYPES,
                "Microsoft.Exchange.Data.Directory.Management.ConvertibleMailboxSubType",
            )
            changes["recipient_type_details"] = details
        if "ForwardingSmtpAddress" in params:
            changes["forwarding_smtp_address"] = _forwarding_smtp(params["ForwardingSmtpAddress"])
        if "ForwardingAddress" in params:
            changes["forwarding_address"] = _forwarding_recipient(tenant, params["ForwardingAddress"])
        if "DeliverToMailboxAndForward" in params:
            changes["deliver_to_mailbox_and_forward"] = as_bool(params, "DeliverToMailboxAndForward")
        if "HiddenFromAddressListsEnabled" in params:
            changes["hidden_from_address_lists"] = as_bool(params, "HiddenFromAddressListsEnabled")
        user = mailbox.user
        _refuse_on_premises_mastered(mailbox, params)
        proxies = None
        if "EmailAddresses" in params:
            proxies = new_proxy_addresses(tenant, user, params["EmailAddresses"])
            if proxies == list(user.properties.get("proxyAddresses") or []):
                proxies = None
        changed = [field for field, value in changes.items() if getattr(mailbox, field) != value]
        for field in changed:
            setattr(mailbox, field, changes[field])
        if "Type" in params and str(params["Type"]).strip().lower() == "workspace":
            mailbox.properties["ResourceType"] = "Workspace"
            changed.append("properties")
        if changed:
            mailbox.save(update_fields=sorted(set(changed)))
        if proxies is not None:
            # Exchange writes back to Entra ID: proxyAddresses, and mail = the primary SMTP address.
            mail = primary_address(proxies) or user.properties.get("mail")
            user.properties = {**user.properties, "proxyAddresses": proxies, "mail": mail}
            directory.save_user(user)
    warnings = [] if changed or proxies is not None else [no_change_warning(_alias(mailbox))]
    return CmdletOutput(rows=[], warnings=warnings)


def _refuse_on_premises_mastered(mailbox: SandboxMailbox, params: dict) -> None:
    """Exchange Online refuses to write an attribute of a dir-synced object that on-premises AD masters."""
    if not mailbox.user.properties.get("onPremisesSyncEnabled"):
        return
    for name in ON_PREMISES_MASTERED:
        if name in params:
            identity = _alias(mailbox)
            raise CmdletError(
                400,
                SYNCED_WRITE_SCOPE,
                f"The operation on mailbox \"{identity}\" failed because it's out of the current user's write "
                f"scope. The action 'Set-Mailbox', '{name}', can't be performed on the object '{identity}' "
                "because the object is being synchronized from your on-premises organization. This action "
                "should be performed on the object in your on-premises organization.",
                target=str(params.get("Identity") or identity),
            )


# --- Enable-Mailbox -Archive ------------------------------------------------------------------------------


@cmdlet("Enable-Mailbox", parameters=("Identity", "Archive", "AutoExpandingArchive"))
def enable_mailbox(tenant, params: dict, request) -> list[dict]:
    require(params, "Identity")
    archive, auto_expanding = as_switch(params, "Archive"), as_switch(params, "AutoExpandingArchive")
    if archive == auto_expanding:
        # Creating a new mailbox for a user belongs to the licensing flow in Exchange Online; the sandbox
        # models the two archive parameter sets only (they are mutually exclusive).
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            "Parameter set cannot be resolved using the specified named parameters. Specify either -Archive "
            "or -AutoExpandingArchive.",
        )
    with transaction.atomic():
        mailbox = find_mailbox(tenant, params["Identity"])
        mailbox = SandboxMailbox.objects.select_for_update().select_related("user").get(pk=mailbox.pk)
        name = mailbox.user.display_name
        if archive:
            if mailbox.archive_guid:
                raise CmdletError(
                    400,
                    ARCHIVE_EXISTS,
                    f'The mailbox "{name}" already has an archive.',
                    target=str(params["Identity"]),
                )
            mailbox.archive_guid = uuid.uuid4()
            # Seeded mailboxes carry an explicit ArchiveStatus that Get-Mailbox prefers; keep it in step.
            mailbox.properties["ArchiveStatus"] = "Active"
            mailbox.save(update_fields=["archive_guid", "properties"])
        else:
            if not mailbox.archive_guid:
                raise CmdletError(
                    400,
                    ARCHIVE_EXISTS,
                    f'The archive of mailbox "{name}" must be enabled before auto-expanding archiving is turned on.',
                )
            mailbox.properties["AutoExpandingArchiveEnabled"] = True
            mailbox.save(update_fields=["properties"])
    return []


# --- Set-MailboxAutoReplyConfiguration -------------------------------------------------------------------

_AUTO_REPLY_PARAMETERS = (
    "Identity", "AutoReplyState", "InternalMessage", "ExternalMessage", "ExternalAudience", "StartTime",
    "EndTime", "CreateOOFEvent", "OOFEventSubject", "AutoDeclineFutureRequestsWhenOOF",
    "DeclineEventsForScheduledOOF", "DeclineAllEventsForScheduledOOF", "DeclineMeetingMessage",
)  # fmt: skip
_BOOL_EXTRAS = (
    "CreateOOFEvent", "AutoDeclineFutureRequestsWhenOOF", "DeclineEventsForScheduledOOF",
    "DeclineAllEventsForScheduledOOF",
)  # fmt: skip


def _message(params: dict, name: str) -> str:
    value = params[name]
    if value is None:
        return ""  # $null clears the message
    if not isinstance(value, str):
        raise binding_error(name, value, "System.String")
    return wrap_html(value) if value.strip() else ""


def _invalid(message: str) -> CmdletError:
    return CmdletError(400, AUTO_REPLY_INVALID, message)


@cmdlet("Set-MailboxAutoReplyConfiguration", parameters=_AUTO_REPLY_PARAMETERS)
def set_mailbox_auto_reply_configuration(tenant, params: dict, request) -> CmdletOutput:
    require(params, "Identity")
    updates: dict = {}
    if "AutoReplyState" in params:
        updates["AutoReplyState"] = as_enum(
            params, "AutoReplyState", STATES, "Microsoft.Exchange.Data.Storage.Management.OofState"
        )
    if "ExternalAudience" in params:
        updates["ExternalAudience"] = as_enum(
            params,
            "ExternalAudience",
            AUDIENCES,
            "Microsoft.Exchange.Data.Storage.Management.ExternalAudience",
        )
    for name in ("InternalMessage", "ExternalMessage"):
        if name in params:
            updates[name] = _message(params, name)
    for name in ("StartTime", "EndTime"):
        if name in params:
            updates[name] = as_datetime(params, name)
    for name in _BOOL_EXTRAS:
        if name in params:
            updates[name] = as_bool(params, name)
    for name in ("OOFEventSubject", "DeclineMeetingMessage"):
        if name in params:
            updates[name] = "" if params[name] is None else str(params[name])
    with transaction.atomic():
        mailbox = find_mailbox(tenant, params["Identity"])
        mailbox = SandboxMailbox.objects.select_for_update().select_related("user").get(pk=mailbox.pk)
        current = dict(mailbox.auto_reply or {})
        merged = {**current, **updates}
        state = str(merged.get("AutoReplyState") or "Disabled")
        audience = str(merged.get("ExternalAudience") or "All")
        if state in ("Enabled", "Scheduled"):
            if not merged.get("InternalMessage"):
                raise _invalid(
                    "An internal message is required when automatic replies are Enabled or Scheduled."
                )
            if audience in ("Known", "All") and not merged.get("ExternalMessage"):
                raise _invalid(
                    f"An external message is required when ExternalAudience is {audience}. Set ExternalAudience "
                    "to None to send no reply outside the organization."
                )
        if state == "Scheduled":
            start, end = merged.get("StartTime"), merged.get("EndTime")
            if not start or not end:
                raise _invalid("Scheduled automatic replies need a StartTime and an EndTime.")
            if start >= end:  # both are normalised UTC ISO strings, so text order is time order
                raise _invalid("The EndTime must be later than the StartTime.")
        if merged == current:
            return CmdletOutput(rows=[], warnings=[no_change_warning(_alias(mailbox))])
        mailbox.auto_reply = merged
        mailbox.save(update_fields=["auto_reply"])
    return CmdletOutput(rows=[])
