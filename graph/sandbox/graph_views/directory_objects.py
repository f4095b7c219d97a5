"""JSON shapes of groups and directory roles (the directoryObject kinds other than users)."""

from __future__ import annotations

from ..directory import graph_now
from ..models import SandboxDirectoryRole, SandboxGroup

GROUP_DEFAULTS = {
    "deletedDateTime": None,
    "classification": None,
    "description": None,
    "expirationDateTime": None,
    "isAssignableToRole": None,
    "mailNickname": None,
    "onPremisesLastSyncDateTime": None,
    "onPremisesSecurityIdentifier": None,
    "preferredDataLocation": None,
    "preferredLanguage": None,
    "proxyAddresses": [],
    "renewedDateTime": None,
    "resourceBehaviorOptions": [],
    "resourceProvisioningOptions": [],
    "securityIdentifier": None,
    "theme": None,
    "visibility": None,
}


def group_json(group: SandboxGroup, select: list[str] | None = None) -> dict:
    full = {
        "id": str(group.id),
        **GROUP_DEFAULTS,
        **(group.properties or {}),
        "createdDateTime": graph_now(group.created_datetime),
        "displayName": group.display_name,
        "groupTypes": list(group.group_types or []),
        "mail": (group.properties or {}).get("mail") or (group.mail_lower or None),
        "mailEnabled": group.mail_enabled,
        "securityEnabled": group.security_enabled,
        "membershipRule": group.membership_rule or None,
        "membershipRuleProcessingState": "On" if group.membership_rule else None,
        "onPremisesSyncEnabled": group.on_premises_sync_enabled,
    }
    if group.is_assignable_to_role:
        full["isAssignableToRole"] = True
    if select:
        return {name: full.get(name) for name in select}
    return full


def role_json(role: SandboxDirectoryRole, select: list[str] | None = None) -> dict:
    full = {
        "id": str(role.id),
        "deletedDateTime": None,
        "description": role.description,
        "displayName": role.display_name,
        "roleTemplateId": str(role.role_template_id),
    }
    if select:
        return {name: full.get(name) for name in select if name in full}
    return full
