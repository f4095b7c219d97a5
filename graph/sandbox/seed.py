"""Seed the sandbox with a believable world: an MSP partner tenant and customer tenants with people,
licences, groups, admin roles and mailboxes.

Deterministic: every id is a uuid5 of (seed, tenant key, kind, index) and every choice comes from a
``random.Random`` seeded per tenant, so re-running with the same arguments rebuilds the same ids. A run first
removes the tenants it is about to create (cascade), so it is idempotent. Timestamps are relative to today
(midnight UTC), so sign-in recency stays realistic whenever the seed is run.

Rows are written in bulk (``bulk_create`` in chunks of ``CHUNK`` users, one transaction per chunk) rather
than through ``graph.sandbox.directory`` so 100,000 users take about a minute, but they keep the same invariants:
``properties`` is the full Graph user JSON, the indexed columns mirror it, every user row carries a distinct
increasing ``version`` and the tenant's ``change_counter`` ends at the highest one.

A tenant is built by the functions in ``SEED_STEPS``, in order, all sharing one ``TenantSeed``; later
features (sign-in history, a compromised user, inbox rules, ...) add a step there.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.db.models import Count, Q

from . import seed_data as data
from .models import (
    SandboxDirectoryRole,
    SandboxDomain,
    SandboxGdapRelationship,
    SandboxGroup,
    SandboxGroupMember,
    SandboxLicenseAssignment,
    SandboxMailbox,
    SandboxRoleMember,
    SandboxSku,
    SandboxTenant,
    SandboxUser,
)
from .seed_people import (  # noqa: F401  (re-exported for callers and tests)
    ADMIN_PASSWORD_ENV,
    CHUNK,
    DEFAULT_ADMIN_PASSWORD,
    NAMESPACE,
    ROLE_SEATS,
    VIRAL_UNITS,
    Person,
    PersonBuilder,
    TenantSeed,
    ascii_slug,
    iso,
    stable_id,
)
from .skus import sku

# --- steps ------------------------------------------------------------------------------------------------


def create_tenant(ctx: TenantSeed) -> None:
    spec = ctx.spec
    ctx.tenant = SandboxTenant.objects.create(
        id=stable_id(ctx.seed, "tenant", ctx.key),
        display_name=spec["display_name"],
        is_partner=ctx.key == "partner",
        country_letter_code=spec["country"],
        created_datetime=ctx.days_ago(ctx.rng.randint(900, 3000)),
        settings=dict(spec.get("settings", {})),
    )
    names = [*spec["custom_domains"], ctx.initial_domain]
    ctx.default_domain = names[0]
    SandboxDomain.objects.bulk_create(
        SandboxDomain(tenant=ctx.tenant, name=name, is_default=name == ctx.default_domain,
                      is_initial=name == ctx.initial_domain)
        for name in names
    )  # fmt: skip


def create_skus(ctx: TenantSeed) -> None:
    # prepaid units are set by finish_tenant, once consumption is known
    for part, _share, _spare in ctx.spec["licences"]:
        info = sku(part)
        ctx.skus[part] = SandboxSku.objects.create(
            tenant=ctx.tenant, sku_id=info.sku_id, sku_part_number=info.part_number,
            service_plans=info.graph_service_plans(),
        )  # fmt: skip


def create_roles(ctx: TenantSeed) -> None:
    for name, template in data.ADMIN_ROLES.items():
        ctx.roles[name] = SandboxDirectoryRole.objects.create(
            id=ctx.id_for("role", template), tenant=ctx.tenant, role_template_id=template,
            display_name=name, description=data.ROLE_DESCRIPTIONS[name],
        )  # fmt: skip


def _group_plans(ctx: TenantSeed) -> list[tuple]:
    """(key, displayName, kind, description, membership rule)."""

    def member(p: Person) -> bool:
        return p.kind in {"member", "breakglass", "partner-admin"}

    def dept(*names: str) -> Callable[[Person], bool]:
        return lambda p: member(p) and p.department in names

    plans = [
        (
            "all-company",
            "All Company",
            "unified",
            "Everyone in the organisation.",
            lambda p: member(p) and p.enabled,
        ),
        ("sales-dl", "Sales Team", "distribution", "Sales distribution list.", dept("Sales")),
        (
            "finance-approvers",
            "Finance Approvers",
            "mailsecurity",
            "Approve invoices and expenses.",
            dept("Finance", "Executive"),
        ),
        ("dyn-sales", "All Sales (dynamic)", "dynamic", "Everyone whose department is Sales.", dept("Sales")),
    ]
    if ctx.spec.get("scale"):
        plans += [
            (f"sg-{ascii_slug(d)}", f"SG-Dept-{d.replace(' ', '')}", "security", f"{d} department.", dept(d))
            for d in data.DEPARTMENTS
        ]
    else:
        plans += [
            ("marketing", "Marketing Team", "unified", "Campaigns and brand.", dept("Marketing", "Sales")),
            (
                "project-phoenix",
                "Project Phoenix",
                "unified",
                "Cross-company project with partners.",
                lambda p: (member(p) and p.sample < 0.12) or p.kind == "guest",
            ),
            (
                "sg-vpn",
                "SG-VPN-Users",
                "security",
                "Allowed to use the VPN.",
                dept("IT", "Engineering", "Executive"),
            ),
            (
                "sg-intune-pilot",
                "SG-Intune-Pilot",
                "security",
                "Intune pilot ring.",
                lambda p: member(p) and p.sample > 0.85,
            ),
            ("it-alerts", "IT Alerts", "distribution", "Monitoring alerts.", dept("IT")),
        ]
    if ctx.spec["hybrid_share"]:
        plans += [
            ("gg-all-staff", "GG-All-Staff", "synced", "Synced from on-premises AD.", lambda p: p.synced),
            (
                "gg-finance",
                "GG-Finance-Share",
                "synced",
                "Synced from on-premises AD.",
                lambda p: p.synced and p.department == "Finance",
            ),
        ]
    return plans  # fmt: skip


def create_groups(ctx: TenantSeed) -> None:
    rows = []
    for key, name, kind, description, rule in _group_plans(ctx):
        group_id = ctx.id_for("group", key)
        nickname = re.sub(r"[^A-Za-z0-9]", "", name) or key
        mail_enabled = kind in {"unified", "distribution", "mailsecurity"}
        mail = f"{nickname}@{ctx.default_domain}" if mail_enabled else None
        group_types = ["Unified"] if kind == "unified" else ["DynamicMembership"] if kind == "dynamic" else []
        membership_rule = '(user.department -eq "Sales")' if kind == "dynamic" else ""
        synced = True if kind == "synced" else None
        created = ctx.days_ago(ctx.rng.randint(30, 1500))
        props = {
            "id": str(group_id), "displayName": name, "description": description,
            "mail": mail, "mailEnabled": mail_enabled, "mailNickname": nickname,
            "securityEnabled": kind != "unified" and kind != "distribution", "groupTypes": group_types,
            "membershipRule": membership_rule or None,
            "membershipRuleProcessingState": "On" if membership_rule else None,
            "onPremisesSyncEnabled": synced, "createdDateTime": iso(created),
            "visibility": "Private" if kind == "unified" else None,
            "proxyAddresses": [f"SMTP:{mail}"] if mail else [],
        }  # fmt: skip
        group = SandboxGroup(
            id=group_id, tenant=ctx.tenant, display_name=name, mail_lower=(mail or "").lower(),
            mail_enabled=mail_enabled, security_enabled=props["securityEnabled"], group_types=group_types,
            membership_rule=membership_rule, on_premises_sync_enabled=synced, created_datetime=created,
            properties=props,
        )  # fmt: skip
        rows.append(group)
        ctx.groups.append((group, rule))
    SandboxGroup.objects.bulk_create(rows)


def _people_plan(ctx: TenantSeed) -> list[str]:
    """The kind of each person, by index."""
    count = ctx.spec["users"]
    if ctx.key == "partner":
        return ["partner-admin"] + ["member"] * (count - 1)
    kinds = ["breakglass"] + ["member"] * (count - 1)
    for index in range(len(ROLE_SEATS), count):
        if ctx.rng.random() < 0.05 or index == count - 1:
            kinds[index] = "guest"
    shared = 2 if ctx.spec.get("scale") else min(len(data.SHARED_MAILBOXES), 2 + count // 100)
    return kinds + ["shared"] * shared


def create_people(ctx: TenantSeed) -> None:
    kinds = _people_plan(ctx)
    builder = PersonBuilder(ctx)
    for start in range(0, len(kinds), CHUNK):
        batch = [builder.build(index, kinds[index]) for index in range(start, min(start + CHUNK, len(kinds)))]
        with transaction.atomic():
            SandboxUser.objects.bulk_create([user for user, _ in batch], batch_size=2000)
            people = [person for _, person in batch]
            SandboxLicenseAssignment.objects.bulk_create(
                [
                    SandboxLicenseAssignment(user_id=p.id, sku=ctx.skus[part])
                    for p in people
                    for part in p.licences
                ],
                batch_size=2000,
            )
            SandboxMailbox.objects.bulk_create(builder.take_mailboxes(), batch_size=2000)
            SandboxGroupMember.objects.bulk_create(
                [
                    SandboxGroupMember(group=g, user_id=p.id)
                    for p in people
                    for g, rule in ctx.groups
                    if rule(p)
                ],
                batch_size=2000,
            )
            SandboxRoleMember.objects.bulk_create(
                [SandboxRoleMember(role=ctx.roles[name], user_id=p.id)
                 for p in people for name in _roles_of(ctx, p)]
            )  # fmt: skip
        ctx.people.extend(people)
        if start == 0 or start + CHUNK >= len(kinds):
            refresh_planner_statistics()


PEOPLE_TABLES = (SandboxUser, SandboxLicenseAssignment, SandboxMailbox, SandboxGroupMember, SandboxRoleMember)


def refresh_planner_statistics() -> None:
    """PostgreSQL only: ANALYZE the tables a seed fills. Without it, tables analysed while empty make the
    foreign-key checks cache a sequential-scan plan, and each inserted row then scans every user inserted
    before it (100,000 users: minutes instead of seconds). ANALYZE also invalidates such cached plans."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in PEOPLE_TABLES:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _roles_of(ctx: TenantSeed, person: Person) -> tuple[str, ...]:
    if person.kind == "partner-admin":
        return ("Global Administrator",)
    if person.kind in {"member", "breakglass"} and ctx.key != "partner":
        return ROLE_SEATS.get(person.index, ())
    if ctx.key == "partner" and person.index in (1, 2):
        return ("Helpdesk Administrator", "User Administrator")
    return ()


def demo_mailbox_features(ctx: TenantSeed) -> None:
    """The mailboxes the demo talks about: external forwarding, an auto-reply, one nearly full."""
    features = ctx.spec.get("features", {})
    if not features:
        return
    candidates = (p for p in ctx.people if p.kind == "member" and p.enabled and p.index >= len(ROLE_SEATS)
                  and SandboxMailbox.objects.filter(user_id=p.id).exists())  # fmt: skip
    boxes = list(itertools.islice(candidates, 3))
    if features.get("forwarding") and boxes:
        SandboxMailbox.objects.filter(user_id=boxes[0].id).update(
            forwarding_smtp_address="smtp:someone@gmail.com", deliver_to_mailbox_and_forward=True
        )
    if features.get("auto_reply") and len(boxes) > 1:
        message = "I am out of the office until Monday. For urgent matters please contact the service desk."
        SandboxMailbox.objects.filter(user_id=boxes[1].id).update(
            auto_reply={"AutoReplyState": "Enabled", "InternalMessage": message, "ExternalMessage": message,
                        "ExternalAudience": "All", "StartTime": None, "EndTime": None}
        )  # fmt: skip
    if features.get("huge_mailbox") and len(boxes) > 2:
        SandboxMailbox.objects.filter(user_id=boxes[2].id).update(
            total_item_size_bytes=52_613_349_376
        )  # 49.0 GiB


def finish_tenant(ctx: TenantSeed) -> None:
    """Prepaid units a little above consumption (or exactly at it), and the change counter at the top."""
    consumed = dict(
        SandboxSku.objects.filter(tenant=ctx.tenant)
        .annotate(n=Count("assignments"))
        .values_list("sku_part_number", "n")
    )
    for part, _share, spare in ctx.spec["licences"]:
        units = VIRAL_UNITS if spare is None else consumed.get(part, 0) + spare
        SandboxSku.objects.filter(pk=ctx.skus[part].pk).update(prepaid_enabled=units)
    SandboxTenant.objects.filter(pk=ctx.tenant.pk).update(change_counter=ctx.version)
    ctx.tenant.change_counter = ctx.version


def seed_activity(ctx: TenantSeed) -> None:
    """Authentication methods, per-user MFA, devices, sign-in history and OneDrive (View user's sections)."""
    from .seed_activity import seed_user_activity

    # An RNG of its own, so adding activity never shifts the people or licences drawn before it.
    seed_user_activity(ctx.tenant, random.Random(f"{ctx.seed}:{ctx.key}:activity"))


from .seed_compromise import seed_compromise  # noqa: E402  (a compromised user and research sources)
from .seed_deleted import seed_deleted_users  # noqa: E402  (users in deleted items, one UPN clash)
from .seed_mail import seed_mail_rules  # noqa: E402  (inbox rules, distribution-list member)
from .seed_mobile import seed_mobile_devices  # noqa: E402  (Exchange ActiveSync partnerships)
from .seed_provisioning import seed_provisioning  # noqa: E402  (hybrid users, synced group, managers)
from .seed_roles import seed_privileged_roles  # noqa: E402  (Domain Name Administrator, a role-assignable group)
from .seed_security import seed_security  # noqa: E402  (a step module that needs the models above)
from .seed_sharepoint import seed_sharepoint  # noqa: E402  (team sites, libraries, folders)

SEED_STEPS: list[Callable[[TenantSeed], None]] = [
    create_tenant,
    create_skus,
    create_roles,
    create_groups,
    create_people,
    demo_mailbox_features,
    seed_activity,
    seed_security,
    seed_mail_rules,
    seed_mobile_devices,
    seed_sharepoint,
    seed_provisioning,
    seed_compromise,
    seed_privileged_roles,
    seed_deleted_users,
    finish_tenant,
]


# --- orchestration ---------------------------------------------------------------------------------------


def wipe_tenants(tenant_ids: list[uuid.UUID] | None = None) -> None:
    """Delete tenants (all when None) and everything under them, fast at 100,000 users: rows pointing at
    users go first with set-based deletes, then the users in one statement, then the tenants."""
    tenants = (
        SandboxTenant.objects.all() if tenant_ids is None else SandboxTenant.objects.filter(pk__in=tenant_ids)
    )
    ids = list(tenants.values_list("pk", flat=True))
    if not ids:
        return
    with transaction.atomic():
        users = SandboxUser._base_manager.filter(tenant_id__in=ids)
        raw_ok = True
        # include_hidden: tokens and codes point at users with related_name="+"
        relations = [f for f in SandboxUser._meta.get_fields(include_hidden=True)
                     if f.auto_created and not f.concrete and (f.one_to_one or f.one_to_many)]  # fmt: skip
        for rel in relations:
            if rel.on_delete is models.CASCADE:
                rel.related_model._base_manager.filter(**{f"{rel.field.name}__tenant_id__in": ids}).delete()
            else:
                raw_ok = False  # SET_NULL & co: let Django's collector handle them
        if raw_ok:
            users._raw_delete(users.db)
        else:
            users.only("pk").delete()
        SandboxTenant.objects.filter(pk__in=ids).delete()


def _today() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def _seed_tenant(spec: dict, *, seed: int, as_of: datetime, unusable: str, admin: str = "") -> TenantSeed:
    ctx = TenantSeed(seed=seed, spec=spec, as_of=as_of, unusable_hash=unusable, admin_hash=admin)
    for step in SEED_STEPS:
        step(ctx)
    return ctx


def link_partner(partner: SandboxTenant, as_of: datetime) -> None:
    """Active GDAP from the partner to every customer tenant in the sandbox."""
    customers = SandboxTenant.objects.filter(is_partner=False)
    SandboxGdapRelationship.objects.bulk_create(
        [
            SandboxGdapRelationship(
                id=uuid.uuid5(NAMESPACE, f"gdap:{partner.pk}:{customer.pk}"), partner=partner, customer=customer,
                display_name=f"Contoso MSP - {customer.display_name}"[:100], status="active",
                created_datetime=as_of - timedelta(days=200), end_datetime=as_of + timedelta(days=530),
            )
            for customer in customers
        ],
        ignore_conflicts=True,
    )  # fmt: skip


def seed_demo(*, tenants: int | None = None, users: int | None = None, seed: int = 1) -> list[SandboxTenant]:
    """Build the partner plus the three demo customers, or ``tenants`` load-test customers of ``users``
    people each. Returns the tenants, partner first."""
    if (tenants is None) != (users is None):
        raise ValueError("tenants and users go together")
    scale = tenants is not None
    specs = [data.scale_customer(i, users) for i in range(tenants)] if scale else data.DEMO_CUSTOMERS
    specs = [data.PARTNER, *specs]
    as_of = _today()
    unusable = make_password(None)
    admin = make_password(os.environ.get(ADMIN_PASSWORD_ENV) or DEFAULT_ADMIN_PASSWORD)
    ids = [stable_id(seed, "tenant", spec["key"]) for spec in specs]
    # Domain names are unique sandbox-wide: a world seeded under another seed that holds these domains goes too.
    names = [name for spec in specs for name in (*spec["custom_domains"], spec["initial_domain"])]
    ids += SandboxDomain.objects.filter(name__in=names).values_list("tenant_id", flat=True).distinct()
    # The demo world is rebuilt in one transaction; large seeds commit per chunk instead.
    with transaction.atomic() if not scale else contextlib.nullcontext():
        wipe_tenants(ids)
        seeded = [_seed_tenant(spec, seed=seed, as_of=as_of, unusable=unusable,
                               admin=admin if spec is data.PARTNER else "") for spec in specs]  # fmt: skip
        link_partner(seeded[0].tenant, as_of)
    return [ctx.tenant for ctx in seeded]


def demo_summary() -> list[dict]:
    """Every sandbox tenant, partner first: tenant_id, display_name, default_domain, user_count, is_partner."""
    tenants = SandboxTenant.objects.annotate(
        user_count=Count("users", filter=Q(users__deleted_datetime__isnull=True))
    ).order_by("-is_partner", "display_name")
    defaults = dict(SandboxDomain.objects.filter(is_default=True).values_list("tenant_id", "name"))
    return [
        {"tenant_id": str(t.pk), "display_name": t.display_name, "default_domain": defaults.get(t.pk, ""),
         "user_count": t.user_count, "is_partner": t.is_partner}
        for t in tenants
    ]  # fmt: skip


def partner_tenant() -> SandboxTenant | None:
    return SandboxTenant.objects.filter(is_partner=True).order_by("created_datetime").first()


def partner_admin() -> SandboxUser | None:
    """The demo partner's admin (admin@<initial domain>, Global Administrator, password from
    SANDBOX_ADMIN_PASSWORD or the documented default)."""
    partner = partner_tenant()
    if partner is None:
        return None
    initial = partner.domains.filter(is_initial=True).values_list("name", flat=True).first()
    return SandboxUser.objects.filter(tenant=partner, upn_lower=f"admin@{initial}").first()
