"""Privileged roles beyond the classic admin seats, in every customer tenant:

* one member holds **Domain Name Administrator** directly: a role Microsoft labels privileged (whoever
  controls the domains can take over federated sign-in) that older guards did not know;
* a role-assignable security group, "Password Admins (role-assignable)", holds **Password Administrator**,
  and one member belongs to it: the role reaches the user only through the group (``transitiveMemberOf``),
  never in ``memberOf``.

Both people are taken from the end of the tenant's enabled members without a role (licensed cloud ones
first), so the people earlier steps and the demo talk about keep who they are. Runs after every other people step, so their choices
(which users have no role, and so on) are made before these two get one.
"""

from __future__ import annotations

import uuid

from .models import (
    SandboxDirectoryRole,
    SandboxGroup,
    SandboxGroupMember,
    SandboxGroupRoleMember,
    SandboxRoleMember,
)
from .role_catalogue import BY_TEMPLATE
from .seed_people import TenantSeed, iso

DOMAIN_NAME_ADMINISTRATOR = "8329153b-31d0-4727-b945-745eb3bc5f31"
PASSWORD_ADMINISTRATOR = "966707d0-3269-4727-9be2-8c3a10f19b9d"
ROLE_GROUP_NAME = "Password Admins (role-assignable)"


def activate_role(tenant, template: str, *, role_id: uuid.UUID | None = None) -> SandboxDirectoryRole:
    """The tenant's directory role for a built-in template, activated (created) if it is not yet."""
    built_in = BY_TEMPLATE[template]
    defaults = {"display_name": built_in.display_name, "description": built_in.description}
    if role_id is not None:
        defaults["id"] = role_id
    role, _ = SandboxDirectoryRole.objects.get_or_create(
        tenant=tenant, role_template_id=uuid.UUID(template), defaults=defaults
    )
    return role


def _candidates(ctx: TenantSeed) -> list:
    """Enabled members without a role: licensed cloud members first, each kind from the last one back."""
    held = set(SandboxRoleMember.objects.filter(role__tenant=ctx.tenant).values_list("user_id", flat=True))
    people = [p for p in ctx.people if p.kind == "member" and p.enabled and p.id not in held]
    return sorted(people, key=lambda p: (p.synced or not p.licences, -p.index))


def seed_privileged_roles(ctx: TenantSeed) -> None:
    if ctx.key == "partner":
        return
    people = _candidates(ctx)
    if len(people) < 2:
        return
    domain_admin, via_group = people[0], people[1]
    SandboxRoleMember.objects.create(
        role=activate_role(
            ctx.tenant, DOMAIN_NAME_ADMINISTRATOR, role_id=ctx.id_for("role", DOMAIN_NAME_ADMINISTRATOR)
        ),
        user_id=domain_admin.id,
    )

    created = ctx.days_ago(400)
    group_id = ctx.id_for("group", "password-admins")
    nickname = "PasswordAdmins"
    group = SandboxGroup.objects.create(
        id=group_id, tenant=ctx.tenant, display_name=ROLE_GROUP_NAME, mail_enabled=False,
        security_enabled=True, group_types=[], created_datetime=created, is_assignable_to_role=True,
        properties={
            "id": str(group_id), "displayName": ROLE_GROUP_NAME, "isAssignableToRole": True,
            "description": "Members hold Password Administrator through this group.",
            "mail": None, "mailEnabled": False, "mailNickname": nickname, "securityEnabled": True,
            "groupTypes": [], "createdDateTime": iso(created), "visibility": "Private",
        },
    )  # fmt: skip
    SandboxGroupRoleMember.objects.create(
        role=activate_role(
            ctx.tenant, PASSWORD_ADMINISTRATOR, role_id=ctx.id_for("role", PASSWORD_ADMINISTRATOR)
        ),
        group=group,
    )
    SandboxGroupMember.objects.create(group=group, user_id=via_group.id)
