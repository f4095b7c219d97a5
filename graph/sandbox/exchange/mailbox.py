"""Mailbox cmdlets: Get-Mailbox and Get-MailboxStatistics, built from SandboxMailbox + SandboxUser with
Exchange's PascalCase property names (contract Part A.5)."""

from __future__ import annotations

import uuid

from django.db.models import Q

from ..models import SandboxDomain, SandboxMailbox
from . import errors
from .cmdlets import CmdletOutput, QueryRows, as_list, cmdlet, require
from .errors import CmdletError

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESULT_SIZE = 1000
RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number "
    'of items returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending on '
    "the actual number of items, returning all items can take a long time and consume a large amount of "
    "memory. Also, we don't recommend storing the results in a variable. Instead, pipe the results to another "
    "task or script to perform batch changes."
)
RECIPIENT_TYPE_DETAILS = (
    "UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "GroupMailbox", "SchedulingMailbox",
    "TeamMailbox", "DiscoveryMailbox", "LinkedMailbox", "LegacyMailbox", "LinkedRoomMailbox",
)  # fmt: skip
# The "domain controller" Exchange names in not-found messages.
DIRECTORY_SERVER = "SANDBOX01A001.PROD.OUTLOOK.COM"


def mailboxes_of(tenant):
    return (
        SandboxMailbox.objects.filter(user__tenant=tenant, user__deleted_datetime__isnull=True)
        .select_related("user")
        .order_by("user__display_name", "user_id")
    )


def not_found(identity: str) -> CmdletError:
    return CmdletError(
        404,
        errors.NOT_FOUND,
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'{DIRECTORY_SERVER}'.",
        target=identity,
    )


def _alias(mailbox: SandboxMailbox) -> str:
    user = mailbox.user
    return (
        mailbox.properties.get("Alias") or user.properties.get("mailNickname") or user.upn_lower.split("@")[0]
    )


def _primary_smtp(mailbox: SandboxMailbox) -> str:
    user = mailbox.user
    return (
        user.properties.get("mail")
        or user.mail_lower
        or user.properties.get("userPrincipalName")
        or user.upn_lower
    )


def find_mailbox(tenant, identity) -> SandboxMailbox:
    """Resolve ``-Identity`` like Exchange: GUID (ExchangeGuid or ExternalDirectoryObjectId), UPN, any SMTP
    proxy address, alias or display name."""
    if not isinstance(identity, str | int) or isinstance(identity, bool) or not str(identity).strip():
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            "Cannot bind parameter 'Identity'. Provide a name, alias, GUID, email address or user principal name.",
        )
    value = str(identity).strip()
    lower = value.lower()
    try:
        guid = uuid.UUID(value)
    except ValueError:
        guid = None
    if guid is not None:
        condition = Q(exchange_guid=guid) | Q(user_id=guid)
    elif "@" in lower:
        condition = (
            Q(user__upn_lower=lower)
            | Q(user__mail_lower=lower)
            | Q(user__properties__proxyAddresses__icontains=f':{lower}"')
        )
    else:
        condition = (
            Q(properties__Alias__iexact=value)
            | Q(user__properties__mailNickname__iexact=value)
            | Q(user__display_name__iexact=value)
        )
    matches = list(mailboxes_of(tenant).filter(condition)[:50])
    if "@" in lower:  # the proxy-address test above is a substring match; confirm it exactly
        matches = [m for m in matches if lower in _addresses_lower(m)]
    if not matches:
        raise not_found(value)
    if len(matches) > 1:
        raise CmdletError(
            400,
            errors.AMBIGUOUS,
            f"The operation couldn't be performed because '{value}' matches multiple entries.",
            target=value,
        )
    return matches[0]


def _addresses_lower(mailbox: SandboxMailbox) -> set[str]:
    user = mailbox.user
    found = {user.upn_lower, user.mail_lower, _primary_smtp(mailbox).lower()}
    for address in user.properties.get("proxyAddresses") or []:
        found.add(str(address).split(":", 1)[-1].lower())
    return found


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def mailbox_object(mailbox: SandboxMailbox, initial_domain: str) -> dict:
    user = mailbox.user
    alias = _alias(mailbox)
    primary = _primary_smtp(mailbox)
    forwarding_smtp = mailbox.forwarding_smtp_address
    if forwarding_smtp and not forwarding_smtp.lower().startswith("smtp:"):
        forwarding_smtp = f"smtp:{forwarding_smtp}"
    details = mailbox.recipient_type_details
    item = {
        "Identity": alias,
        "Id": alias,
        "Name": alias,
        "DisplayName": user.display_name,
        "Alias": alias,
        "UserPrincipalName": user.properties.get("userPrincipalName") or user.upn_lower,
        "PrimarySmtpAddress": primary,
        "WindowsEmailAddress": primary,
        "EmailAddresses": list(user.properties.get("proxyAddresses") or [f"SMTP:{primary}"]),
        # Exchange reports every user/shared/resource mailbox as RecipientType UserMailbox.
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": details,
        "IsShared": details == "SharedMailbox",
        "IsResource": details in ("RoomMailbox", "EquipmentMailbox"),
        "ExchangeGuid": str(mailbox.exchange_guid),
        "Guid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"mailbox:{user.pk}")),
        "ExternalDirectoryObjectId": str(user.pk),
        "ArchiveGuid": str(mailbox.archive_guid) if mailbox.archive_guid else ZERO_GUID,
        "ArchiveStatus": "Active" if mailbox.archive_guid else "None",
        "ArchiveName": [f"In-Place Archive -{user.display_name}"] if mailbox.archive_guid else [],
        "AutoExpandingArchiveEnabled": bool(mailbox.properties.get("AutoExpandingArchiveEnabled", False)),
        "ForwardingAddress": mailbox.forwarding_address or None,
        "ForwardingSmtpAddress": forwarding_smtp or None,
        "DeliverToMailboxAndForward": mailbox.deliver_to_mailbox_and_forward,
        "HiddenFromAddressListsEnabled": mailbox.hidden_from_address_lists,
        "GrantSendOnBehalfTo": list(mailbox.properties.get("GrantSendOnBehalfTo", [])),
        "LitigationHoldEnabled": bool(mailbox.properties.get("LitigationHoldEnabled", False)),
        "RetentionPolicy": mailbox.properties.get("RetentionPolicy", "Default MRM Policy"),
        "AccountDisabled": not user.account_enabled,
        "IsMailboxEnabled": True,
        "ProhibitSendQuota": "49.5 GB (53,150,220,288 bytes)",
        "ProhibitSendReceiveQuota": "50 GB (53,687,091,200 bytes)",
        "DistinguishedName": (
            f"CN={alias},OU={initial_domain},OU=Microsoft Exchange Hosted Organizations,DC=SANDBOX01A001,"
            "DC=PROD,DC=OUTLOOK,DC=COM"
        ),
        "OrganizationalUnit": f"SANDBOX01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{initial_domain}",
        "WhenCreated": _iso(user.created_datetime),
        "WhenCreatedUTC": _iso(user.created_datetime),
        "WhenMailboxCreated": _iso(user.created_datetime),
    }
    # Extra Exchange-only properties set by later cmdlets (PascalCase) win over the defaults above.
    item.update({key: value for key, value in mailbox.properties.items() if key[:1].isupper()})
    return item


def _initial_domain(tenant) -> str:
    domain = (
        SandboxDomain.objects.filter(tenant=tenant, is_initial=True).values_list("name", flat=True).first()
    )
    return domain or f"{tenant.pk}.onmicrosoft.com"


def _result_size(value) -> int | None:
    """``ResultSize``: a positive number or "Unlimited" (None)."""
    if value is None:
        return DEFAULT_RESULT_SIZE
    if isinstance(value, str) and value.strip().lower() == "unlimited":
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if isinstance(value, bool) or size < 1:
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            f"Cannot bind parameter 'ResultSize'. Cannot convert value \"{value}\" to type "
            '"Microsoft.Exchange.Data.Unlimited`1[System.UInt32]". Use a positive number or "Unlimited".',
        )
    return size


@cmdlet(
    "Get-Mailbox",
    parameters=("Identity", "RecipientTypeDetails", "ResultSize", "Archive"),
    output_type="Exchange.Mailbox",
)
def get_mailbox(tenant, params: dict, request) -> CmdletOutput:
    domain = _initial_domain(tenant)

    def convert(mailbox):
        return mailbox_object(mailbox, domain)

    if params.get("Identity") not in (None, ""):
        return CmdletOutput(rows=[convert(find_mailbox(tenant, params["Identity"]))])
    queryset = mailboxes_of(tenant)
    kinds = as_list(params.get("RecipientTypeDetails"))
    unknown = [kind for kind in kinds if kind not in RECIPIENT_TYPE_DETAILS]
    if unknown:
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            f"Cannot bind parameter 'RecipientTypeDetails'. Cannot convert value \"{unknown[0]}\" to type "
            f'"Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails". Valid values: '
            f"{', '.join(RECIPIENT_TYPE_DETAILS)}.",
        )
    if kinds:
        queryset = queryset.filter(recipient_type_details__in=kinds)
    if params.get("Archive") is True:
        queryset = queryset.filter(archive_guid__isnull=False)
    limit = _result_size(params.get("ResultSize"))
    warnings = []
    if "ResultSize" not in params and queryset[limit : limit + 1].exists():
        warnings.append(RESULT_SIZE_WARNING)
    return CmdletOutput(rows=QueryRows(queryset, convert, limit), warnings=warnings)


def format_byte_quantity(size: int) -> str:
    """Exchange's ByteQuantifiedSize text: ``1.234 GB (1,325,000,000 bytes)``."""
    value, unit = float(size), "B"
    for candidate in ("KB", "MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, candidate
    number = f"{int(value)}" if unit == "B" else f"{value:.4g}"
    return f"{number} {unit} ({size:,} bytes)"


@cmdlet("Get-MailboxStatistics", parameters=("Identity",), output_type="Exchange.MailboxStatistics")
def get_mailbox_statistics(tenant, params: dict, request) -> list[dict]:
    require(params, "Identity")
    mailbox = find_mailbox(tenant, params["Identity"])
    size = mailbox.total_item_size_bytes
    # A seeded mailbox has a size but no item list; ~75 kB per item is a typical average.
    item_count = mailbox.properties.get("ItemCount", size // 75_000)
    return [
        {
            "DisplayName": mailbox.user.display_name,
            "MailboxGuid": str(mailbox.exchange_guid),
            "ItemCount": item_count,
            "DeletedItemCount": mailbox.properties.get("DeletedItemCount", 0),
            "TotalItemSize": format_byte_quantity(size),
            "TotalDeletedItemSize": format_byte_quantity(
                mailbox.properties.get("TotalDeletedItemSizeBytes", 0)
            ),
            "MailboxTypeDetail": mailbox.recipient_type_details,
            "LastLogonTime": mailbox.properties.get("LastLogonTime"),
            "IsArchiveMailbox": False,
        }
    ]
