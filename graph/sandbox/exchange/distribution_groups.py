"""Add-DistributionGroupMember: membership of distribution lists and mail-enabled security groups, the two
group kinds Graph cannot write (contract Part A.5).

Exchange only knows mail-enabled, non-Unified groups as distribution groups: a Microsoft 365 or plain
security group is "not found" here. Groups synchronised from on-premises AD are read-only, and the caller
must manage the group unless ``-BypassSecurityGroupManagerCheck`` is given (the partner's admins never
manage customer groups). Membership rows are shared with Graph's ``/groups/{id}/members``.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.db.models import Q

from ..models import SandboxGroup, SandboxGroupMember, SandboxUser
from . import errors
from .cmdlets import cmdlet, require
from .errors import CmdletError
from .mailbox import DIRECTORY_SERVER
from .mailbox_writes import as_switch

# Sandbox-own ids for these failures (errors.py keeps Microsoft's id for not-found only).
ALREADY_MEMBER = ("Ex9C2D41", "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException")
NOT_MANAGER = ("Ex3F5B19", "Microsoft.Exchange.Configuration.Tasks.OperationRequiresGroupManagerException")
SYNCED_GROUP = ("Ex6E0A72", "Microsoft.Exchange.Configuration.Tasks.TaskException")


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


@cmdlet("Add-DistributionGroupMember", parameters=("Identity", "Member", "BypassSecurityGroupManagerCheck"))
def add_distribution_group_member(tenant, params: dict, request) -> list[dict]:
    require(params, "Identity", "Member")
    bypass = as_switch(params, "BypassSecurityGroupManagerCheck")
    group = find_distribution_group(tenant, params["Identity"])
    user = find_recipient(tenant, params["Member"])
    if group.on_premises_sync_enabled:
        raise CmdletError(
            400,
            SYNCED_GROUP,
            f"The action 'Add-DistributionGroupMember', 'Members', can't be performed on the object "
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
