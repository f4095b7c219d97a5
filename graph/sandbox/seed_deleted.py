"""Seed step for Deleted users: every demo customer has a few users in deleted items, as Microsoft keeps
them for 30 days after a DELETE /users/{id}: deleted 2, 11 and 26 days ago, one of them a member of a
group (a restore brings the membership back), and one whose UPN a live user of the tenant has taken
since (its restore fails with Graph's "Another object with the same value for property userPrincipalName
already exists.").

They hold no licences (deleted users' units are free, and ``finish_tenant`` sizes the prepaid units from
the assignments), are not in any role, and leave every live count unchanged. Deterministic: no random draws.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F

from .models import SandboxGroup, SandboxGroupMember, SandboxUser, smtp_address_key
from .seed_people import TenantSeed, iso

# (given name, surname, mailbox nickname, days since deletion)
DELETED_PEOPLE = (
    ("Quinn", "Leftover", "quinn.leftover", 2),
    ("Robin", "Departed", "robin.departed", 11),
)
CLASH_DAYS = 26  # the user whose UPN a live user now holds: close to removal for good


def _is_demo_customer(ctx: TenantSeed) -> bool:
    return ctx.tenant is not None and not ctx.tenant.is_partner and not ctx.spec.get("scale")


def _deleted_user(ctx: TenantSeed, index: int, given: str, surname: str, upn: str, days: int) -> SandboxUser:
    deleted = ctx.days_ago(days)
    created = deleted - timedelta(days=400 + 37 * index)
    user_id = ctx.id_for("deleted-user", index)
    display = f"{given} {surname}"
    props = {
        "id": str(user_id), "accountEnabled": True, "displayName": display, "givenName": given, "surname": surname,
        "userPrincipalName": upn, "mailNickname": upn.split("@")[0], "mail": None, "userType": "Member",
        "jobTitle": "Former staff", "department": "Operations", "usageLocation": ctx.spec.get("usage_location"),
        "createdDateTime": iso(created), "creationType": None, "businessPhones": [], "otherMails": [],
        "imAddresses": [], "proxyAddresses": [], "assignedLicenses": [], "assignedPlans": [],
        "identities": [{"signInType": "userPrincipalName", "issuer": ctx.initial_domain, "issuerAssignedId": upn}],
        "lastPasswordChangeDateTime": iso(created), "onPremisesSyncEnabled": None, "deletedDateTime": iso(deleted),
        "passwordPolicies": None,
        "signInActivity": {"lastSignInDateTime": iso(deleted - timedelta(days=1)),
                           "lastNonInteractiveSignInDateTime": iso(deleted - timedelta(hours=20)),
                           "lastSuccessfulSignInDateTime": iso(deleted - timedelta(days=1))},
    }  # fmt: skip
    return SandboxUser(
        id=user_id, tenant=ctx.tenant, upn_lower=upn.lower(), display_name=display, mail_lower="",
        smtp_addresses=smtp_address_key(props), account_enabled=True, user_type="Member",
        created_datetime=created, deleted_datetime=deleted, version=ctx.next_version(), properties=props,
        password_hash=ctx.unusable_hash,
    )  # fmt: skip


def seed_deleted_users(ctx: TenantSeed) -> None:
    if not _is_demo_customer(ctx):
        return
    domain = ctx.default_domain
    users = [
        _deleted_user(ctx, index, given, surname, f"{nickname}@{domain}", days)
        for index, (given, surname, nickname, days) in enumerate(DELETED_PEOPLE)
    ]
    # The clash: a live member's UPN, held by an older account deleted before that member was given it.
    live = (
        SandboxUser.objects.filter(tenant=ctx.tenant, deleted_datetime__isnull=True, user_type="Member")
        .exclude(properties__onPremisesSyncEnabled=True)
        .order_by(F("created_datetime").desc(), "id")
        .first()
    )
    if live is not None:
        given, surname = (
            (live.properties.get("givenName") or "Former"),
            (live.properties.get("surname") or "User"),
        )
        users.append(
            _deleted_user(ctx, len(users), given, surname, live.properties["userPrincipalName"], CLASH_DAYS)
        )
    SandboxUser.objects.bulk_create(users)
    group = SandboxGroup.objects.filter(tenant=ctx.tenant, security_enabled=True, is_assignable_to_role=False)
    group = (
        group.filter(membership_rule="", on_premises_sync_enabled__isnull=True)
        .order_by("display_name")
        .first()
    )
    if group is not None:
        SandboxGroupMember.objects.create(group=group, user=users[0])
