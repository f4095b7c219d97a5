"""Seed step for Add user / Edit user: what those forms must handle exists in every demo customer.

* hybrid-synced users (Entra Connect): tenants seeded without any get a few of their newest members
  converted, with the on-premises attributes Entra Connect writes;
* an on-premises synced security group beside the four cloud kinds (create_groups makes those and the
  dynamic group), holding the synced users;
* managers: in each department, the longest-serving member manages the others;
* a cloud-only member with a leftover immutable id (once synced, no longer), for Clear immutable ID.

Guests and a SKU without free units come from the people plan and ``seed_data`` (spare units 0).
Deterministic (no random draws, so adding this step shifts nothing seeded before it) and cheap: a handful of
UPDATEs per tenant. Load-test tenants are skipped to keep the large seed fast; they are half hybrid anyway.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from .models import SandboxGroup, SandboxGroupMember, SandboxUser
from .seed_people import ROLE_SEATS, TenantSeed, ascii_slug, iso

HYBRID_CONVERTED = 3


def _demo_customer(ctx: TenantSeed) -> bool:
    return ctx.tenant is not None and not ctx.tenant.is_partner and not ctx.spec.get("scale")


def _on_premises(ctx: TenantSeed, user: SandboxUser, index: int) -> dict:
    props = user.properties
    ad_domain = ctx.spec.get("on_premises_domain") or f"corp.{ctx.default_domain}"
    dc = ",".join(f"DC={part}" for part in ad_domain.split("."))
    sam = ascii_slug(f"{(props.get('givenName') or 'x')[0]}{props.get('surname') or ''}").replace("-", "")[
        :20
    ]
    return {
        "onPremisesSyncEnabled": True,
        "onPremisesImmutableId": base64.b64encode(ctx.id_for("objectGUID", index).bytes_le).decode(),
        "onPremisesLastSyncDateTime": iso(ctx.as_of - timedelta(minutes=17 + index % 30)),
        "onPremisesSamAccountName": sam,
        "onPremisesDomainName": ad_domain,
        "onPremisesUserPrincipalName": f"{sam}@{ad_domain}",
        "onPremisesDistinguishedName": (
            f"CN={props.get('displayName')},OU={props.get('department') or 'Users'},OU=Staff,{dc}"
        ),
    }


def _ensure_hybrid_users(ctx: TenantSeed) -> None:
    if any(p.synced for p in ctx.people):
        return
    people = {p.id: p for p in ctx.people if p.kind == "member" and p.enabled and p.index >= len(ROLE_SEATS)}
    newest = SandboxUser.objects.filter(pk__in=list(people)).order_by("-created_datetime", "id")
    for user in newest[:HYBRID_CONVERTED]:
        person = people[user.pk]
        user.properties = {**user.properties, **_on_premises(ctx, user, person.index)}
        user.save(update_fields=["properties"])
        person.synced = True


def _ensure_synced_group(ctx: TenantSeed) -> None:
    if SandboxGroup.objects.filter(tenant=ctx.tenant, on_premises_sync_enabled=True).exists():
        return
    group_id = ctx.id_for("group", "gg-synced-staff")
    created = ctx.days_ago(700)
    name = "GG-Synced-Staff"
    group = SandboxGroup.objects.create(
        id=group_id, tenant=ctx.tenant, display_name=name, mail_enabled=False, security_enabled=True,
        group_types=[], on_premises_sync_enabled=True, created_datetime=created,
        properties={
            "id": str(group_id), "displayName": name, "description": "Synced from on-premises AD.",
            "mail": None, "mailEnabled": False, "mailNickname": "GG-Synced-Staff", "securityEnabled": True,
            "groupTypes": [], "membershipRule": None, "membershipRuleProcessingState": None,
            "onPremisesSyncEnabled": True, "createdDateTime": iso(created), "visibility": None,
            "proxyAddresses": [],
        },
    )  # fmt: skip
    SandboxGroupMember.objects.bulk_create(
        [SandboxGroupMember(group=group, user_id=p.id) for p in ctx.people if p.synced]
    )


def _set_managers(ctx: TenantSeed) -> None:
    by_department: dict[str, list] = {}
    for person in ctx.people:
        if person.kind == "member" and person.department:
            by_department.setdefault(person.department, []).append(person)
    for staff in by_department.values():
        head, *reports = sorted(staff, key=lambda p: p.index)
        if reports:
            SandboxUser.objects.filter(pk__in=[p.id for p in reports]).update(manager_id=head.id)


def _leave_an_immutable_id(ctx: TenantSeed) -> None:
    """One cloud-only member keeps the immutable id of the AD account it was once synced from (taken out of
    sync scope and restored: Graph then says onPremisesSyncEnabled false), so "Clear immutable ID" has a
    user to run on in every demo tenant. Chosen after the hybrid conversions above, outside the admin seats."""
    candidates = [p for p in ctx.people if p.kind == "member" and not p.synced and p.index >= len(ROLE_SEATS)]
    if not candidates:
        return
    # A disabled account (a former employee's: the typical leftover) where there is one: the other demo
    # casts (mailbox features, the compromised user, the privileged roles) take enabled members, from the
    # start and from the end of the plan, so otherwise the middle one.
    disabled = [p for p in candidates if not p.enabled]
    person = disabled[-1] if disabled else candidates[len(candidates) // 2]
    user = SandboxUser.objects.get(pk=person.id)
    user.properties = {
        **user.properties,
        "onPremisesSyncEnabled": False,
        "onPremisesImmutableId": base64.b64encode(ctx.id_for("objectGUID", person.index).bytes_le).decode(),
        "onPremisesLastSyncDateTime": iso(ctx.as_of - timedelta(days=200)),
    }
    user.save(update_fields=["properties"])


def seed_provisioning(ctx: TenantSeed) -> None:
    if not _demo_customer(ctx):
        return
    _ensure_hybrid_users(ctx)
    _ensure_synced_group(ctx)
    _set_managers(ctx)
    _leave_an_immutable_id(ctx)
