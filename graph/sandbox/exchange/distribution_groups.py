"""Add-, Remove- and Get-DistributionGroupMember: membership of distribution lists and mail-enabled security
groups, the two group kinds Graph cannot write (contract Part A.5).

Exchange only knows mail-enabled, non-Unified groups as distribution groups: a Microsoft 365 or plain
security group is "not found" here. Groups synchronised from on-premises AD are read-only, and the caller
must manage the group unless ``-BypassSecurityGroupManagerCheck`` is given (the partner's admins never
manage customer groups). Membership rows are shared with Graph's ``/groups/{id}/members``.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.db.models import Q

from ..models import SandboxGroup, SandboxGroupMember, SandboxMailbox, SandboxUser
from . import errors
from .cmdlets import CmdletOutput, QueryRows, cmdlet, require
from .errors import CmdletError
from .mailbox import DIRECTORY_SERVER, _result_size
from .mailbox_writes import as_switch

# Sandbox-own ids for these failures (errors.py keeps Microsoft's id for not-found only).
ALREADY_MEMBER = ("Ex9C2D41", "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException")
NOT_MANAGER = ("Ex3F5B19", "Microsoft.Exchange.Configuration.Tasks.OperationRequiresGroupManagerException")
SYNCED_GROUP = ("Ex6E0A72", "Microsoft.Exchange.Configuration.Tasks.TaskException")
NOT_MEMBER = ("ExA4E5B2", "Microsoft.Exchange.Management.Tasks.MemberNotFoundException")


def _guid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def not_found(identity: str) -> CmdletError:
    return CmdletError(
        404,
        errors.NOT_FOUND,
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'{DIRECTORY_SERVER}'.",
        target=identity,
    )


def find_distribution_group(tenant, identity) -> SandboxGroup:
    """GUID, primary SMTP address, alias (mailNickname) or display name of a distribution / mail-enabled
    security group."""
    value = str(identity or "").strip()
    groups = SandboxGroup.objects.filter(tenant=tenant, mail_enabled=True)
    guid = _guid(value)
    if guid is not None:
        condition = Q(pk=guid)
    elif "@" in value:
        condition = Q(mail_lower=value.lower())
    else:
        condition = Q(properties__mailNickname__iexact=value) | Q(display_name__iexact=value)
    # Microsoft 365 (Unified) groups are group mailboxes, not distribution groups (JSON lookups differ
    # between SQLite and PostgreSQL, so the test is made here).
    matches = list(groups.filter(condition)[:20])
    matches = [g for g in matches if "Unified" not in (g.group_types or [])]
    if not matches:
        raise not_found(value)
    if len(matches) > 1:
        raise CmdletError(
            400,
            errors.AMBIGUOUS,
            f"The operation couldn't be performed because '{value}' matches multiple entries.",
        )
    return matches[0]


def find_recipient(tenant, identity) -> SandboxUser:
    """A mail-enabled user (mailbox or mail user): object id, UPN or email address."""
    value = str(identity or "").strip()
    users = SandboxUser.objects.filter(tenant=tenant, deleted_datetime__isnull=True).exclude(mail_lower="")
    guid = _guid(value)
    if guid is not None:
        user = users.filter(pk=guid).first()
    else:
        lower = value.lower()
        user = users.filter(Q(upn_lower=lower) | Q(mail_lower=lower)).first()
    if user is None:
        raise CmdletError(
            404,
            errors.NOT_FOUND,
            f'Couldn\'t find object "{value}". Please make sure that it was spelled correctly or specify a '
            "different object.",
            target=value,
        )
    return user


def _check_writable(group: SandboxGroup, cmdlet_name: str, bypass: bool) -> None:
    if group.on_premises_sync_enabled:
        raise CmdletError(
            400,
            SYNCED_GROUP,
            f"The action '{cmdlet_name}', 'Members', can't be performed on the object "
            f"'{group.display_name}' because the object is being synchronized from your on-premises "
            "organization. This action should be performed on the object in your on-premises organization.",
        )
    if not bypass:
        raise CmdletError(
            400,
            NOT_MANAGER,
            "You don't have sufficient permissions. This operation can only be performed by a manager of the "
            "group.",
        )


@cmdlet("Add-DistributionGroupMember", parameters=("Identity", "Member", "BypassSecurityGroupManagerCheck"))
def add_distribution_group_member(tenant, params: dict, request) -> list[dict]:
    require(params, "Identity", "Member")
    bypass = as_switch(params, "BypassSecurityGroupManagerCheck")
    group = find_distribution_group(tenant, params["Identity"])
    user = find_recipient(tenant, params["Member"])
    _check_writable(group, "Add-DistributionGroupMember", bypass)
    address = user.properties.get("mail") or user.mail_lower
    try:
        with transaction.atomic():
            _, created = SandboxGroupMember.objects.get_or_create(group=group, user=user)
    except IntegrityError:  # a concurrent add of the same member
        created = False
    if not created:
        raise CmdletError(
            400,
            ALREADY_MEMBER,
            f'The recipient "{address}" is already a member of the group "{group.display_name}".',
            target=str(params["Member"]),
        )
    return []


@cmdlet(
    "Remove-DistributionGroupMember", parameters=("Identity", "Member", "BypassSecurityGroupManagerCheck")
)
def remove_distribution_group_member(tenant, params: dict, request) -> list[dict]:
    require(params, "Identity", "Member")
    bypass = as_switch(params, "BypassSecurityGroupManagerCheck")
    group = find_distribution_group(tenant, params["Identity"])
    user = find_recipient(tenant, params["Member"])
    _check_writable(group, "Remove-DistributionGroupMember", bypass)
    deleted, _ = SandboxGroupMember.objects.filter(group=group, user=user).delete()
    if not deleted:
        address = user.properties.get("mail") or user.mail_lower
        raise CmdletError(
            400,
            NOT_MEMBER,
            f'The recipient "{address}" isn\'t a member of the group "{group.display_name}".',
            target=str(params["Member"]),
        )
    return []


def member_object(user: SandboxUser) -> dict:
    """A ReducedRecipient as Get-DistributionGroupMember writes it."""
    mailbox = SandboxMailbox.objects.filter(user=user).first()
    guest = user.user_type == "Guest"
    details = mailbox.recipient_type_details if mailbox else ("GuestMailUser" if guest else "MailUser")
    alias = (
        (mailbox.properties.get("Alias") if mailbox else None) or user.properties.get("mailNickname") or ""
    )
    return {
        "Identity": alias, "Name": alias, "Alias": alias, "DisplayName": user.display_name,
        "PrimarySmtpAddress": user.properties.get("mail") or user.mail_lower,
        "RecipientType": "UserMailbox" if mailbox else "MailUser", "RecipientTypeDetails": details,
        "ExternalDirectoryObjectId": str(user.pk), "Guid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"recipient:{user.pk}")),
    }  # fmt: skip


@cmdlet(
    "Get-DistributionGroupMember",
    parameters=("Identity", "ResultSize"),
    output_type="Exchange.ReducedRecipient",
)
def get_distribution_group_member(tenant, params: dict, request) -> CmdletOutput:
    require(params, "Identity")
    group = find_distribution_group(tenant, params["Identity"])
    # Exchange lists mail-enabled recipients only; users without an address are not recipients.
    members = (
        SandboxUser.objects.filter(group_memberships__group=group, deleted_datetime__isnull=True)
        .exclude(mail_lower="")
        .order_by("display_name", "id")
    )
    return CmdletOutput(rows=QueryRows(members, member_object, _result_size(params.get("ResultSize"))))
