"""Seed the sandbox with a believable world: an MSP partner tenant and customer tenants with people,
licences, groups, admin roles and mailboxes.

Deterministic: every id is a uuid5 of (seed, tenant key, kind, index) and every choice comes from a
``random.Random`` seeded per tenant, so re-running with the same arguments rebuilds the same ids. A run first
removes the tenants it is about to create (cascade), so it is idempotent. Timestamps are relative to today
(midnight UTC), so sign-in recency stays realistic whenever the seed is run.

Rows are written in bulk (``bulk_create`` in chunks of ``CHUNK`` users, one transaction per chunk) rather
than through ``graph.sandbox.directory`` so 100,000 users take seconds, but they keep the same invariants:
``properties`` is the full Graph user JSON, the indexed columns mirror it, every user row carries a distinct
increasing ``version`` and the tenant's ``change_counter`` ends at the highest one.

A tenant is built by the functions in ``SEED_STEPS``, in order, all sharing one ``TenantSeed``; later
features (sign-in history, a compromised user, inbox rules, ...) add a step there.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import random
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import models, transaction
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
from .skus import plan_services, sku

CHUNK = 5000
NAMESPACE = uuid.UUID("6f1f3c2e-2b7a-4e0c-9d57-1f6c0b5a7e21")
DEFAULT_ADMIN_PASSWORD = "Sandbox-Demo-2026!"
ADMIN_PASSWORD_ENV = "SANDBOX_ADMIN_PASSWORD"
VIRAL_UNITS = 10000
MAILBOX_QUOTA = "50 GB (53,687,091,200 bytes)"
# Role holders by person index in every tenant; these people are enabled, cloud members of IT.
ROLE_SEATS = {
    0: ("Global Administrator",),
    1: ("Global Administrator",),
    2: ("User Administrator", "Exchange Administrator"),
    3: ("Helpdesk Administrator",),
    4: ("Authentication Administrator",),
    5: ("Privileged Role Administrator", "Privileged Authentication Administrator"),
    6: ("Helpdesk Administrator",),
}


def stable_id(seed: int, *parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(str(p) for p in (seed, *parts)))


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9.-]", "", folded.replace(" ", "-"))


@dataclass(slots=True)
class Person:
    """What later steps and group rules need to know about a seeded user."""

    index: int
    id: uuid.UUID
    kind: str  # member | guest | shared | breakglass | partner-admin
    upn: str
    department: str
    enabled: bool
    synced: bool
    sample: float  # a per-person random draw for sampled groups
    licences: tuple[str, ...]


@dataclass
class TenantSeed:
    seed: int
    spec: dict
    as_of: datetime
    unusable_hash: str
    admin_hash: str = ""
    tenant: SandboxTenant | None = None
    rng: random.Random = field(init=False)
    default_domain: str = ""
    skus: dict[str, SandboxSku] = field(default_factory=dict)
    roles: dict[str, SandboxDirectoryRole] = field(default_factory=dict)
    groups: list[tuple[SandboxGroup, Callable[[Person], bool]]] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    version: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}:{self.key}")

    @property
    def key(self) -> str:
        return self.spec["key"]

    @property
    def initial_domain(self) -> str:
        return self.spec["initial_domain"]

    def id_for(self, *parts: object) -> uuid.UUID:
        return stable_id(self.seed, self.key, *parts)

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def days_ago(self, days: float) -> datetime:
        return self.as_of - timedelta(days=days)


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
        ("all-company", "All Company", "unified", "Everyone in the organisation.", lambda p: member(p) and p.enabled),
        ("sales-dl", "Sales Team", "distribution", "Sales distribution list.", dept("Sales")),
        ("finance-approvers", "Finance Approvers", "mailsecurity", "Approve invoices and expenses.",
         dept("Finance", "Executive")),
        ("dyn-sales", "All Sales (dynamic)", "dynamic", "Everyone whose department is Sales.", dept("Sales")),
    ]
    if ctx.spec.get("scale"):
        plans += [(f"sg-{ascii_slug(d)}", f"SG-Dept-{d.replace(' ', '')}", "security", f"{d} department.", dept(d))
                  for d in data.DEPARTMENTS]
    else:
        plans += [
            ("marketing", "Marketing Team", "unified", "Campaigns and brand.", dept("Marketing", "Sales")),
            ("project-phoenix", "Project Phoenix", "unified", "Cross-company project with partners.",
             lambda p: (member(p) and p.sample < 0.12) or p.kind == "guest"),
            ("sg-vpn", "SG-VPN-Users", "security", "Allowed to use the VPN.", dept("IT", "Engineering", "Executive")),
            ("sg-intune-pilot", "SG-Intune-Pilot", "security", "Intune pilot ring.",
             lambda p: member(p) and p.sample > 0.85),
            ("it-alerts", "IT Alerts", "distribution", "Monitoring alerts.", dept("IT")),
        ]
    if ctx.spec["hybrid_share"]:
        plans += [
            ("gg-all-staff", "GG-All-Staff", "synced", "Synced from on-premises AD.", lambda p: p.synced),
            ("gg-finance", "GG-Finance-Share", "synced", "Synced from on-premises AD.",
             lambda p: p.synced and p.department == "Finance"),
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
    builder = _PersonBuilder(ctx)
    for start in range(0, len(kinds), CHUNK):
        batch = [builder.build(index, kinds[index]) for index in range(start, min(start + CHUNK, len(kinds)))]
        with transaction.atomic():
            SandboxUser.objects.bulk_create([user for user, _ in batch], batch_size=2000)
            people = [person for _, person in batch]
            SandboxLicenseAssignment.objects.bulk_create(
                [SandboxLicenseAssignment(user_id=p.id, sku=ctx.skus[part]) for p in people for part in p.licences],
                batch_size=2000,
            )
            SandboxMailbox.objects.bulk_create(builder.take_mailboxes(), batch_size=2000)
            SandboxGroupMember.objects.bulk_create(
                [SandboxGroupMember(group=g, user_id=p.id) for p in people for g, rule in ctx.groups if rule(p)],
                batch_size=2000,
            )
            SandboxRoleMember.objects.bulk_create(
                [SandboxRoleMember(role=ctx.roles[name], user_id=p.id)
                 for p in people for name in _roles_of(ctx, p)]
            )  # fmt: skip
        ctx.people.extend(people)


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
        SandboxMailbox.objects.filter(user_id=boxes[2].id).update(total_item_size_bytes=52_613_349_376)  # 49.0 GiB


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


SEED_STEPS: list[Callable[[TenantSeed], None]] = [
    create_tenant,
    create_skus,
    create_roles,
    create_groups,
    create_people,
    demo_mailbox_features,
    finish_tenant,
]


# --- people ----------------------------------------------------------------------------------------------


class _PersonBuilder:
    """Builds one SandboxUser (Graph JSON + mirrored columns) and its Person record per call."""

    def __init__(self, ctx: TenantSeed) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.used: set[str] = set()
        self.mailboxes: list[SandboxMailbox] = []
        self.services = plan_services()
        self.departments = list(data.DEPARTMENT_WEIGHTS)
        self.weights = list(data.DEPARTMENT_WEIGHTS.values())
        self.offices = data.OFFICES[ctx.spec["country"]]
        self.company = ctx.spec["display_name"].replace(" (sandbox partner)", "")
        self.guest_domains = [d for d in data.GUEST_DOMAINS if d not in ctx.spec["custom_domains"]]
        self.primary = [(part, share) for part, share, _ in ctx.spec["licences"] if isinstance(share, float)]
        self.addons = [(part, float(share.split(":")[1])) for part, share, _ in ctx.spec["licences"]
                       if isinstance(share, str)]  # fmt: skip

    def take_mailboxes(self) -> list[SandboxMailbox]:
        taken, self.mailboxes = self.mailboxes, []
        return taken

    def _nickname(self, base: str) -> str:
        nickname, n = base, 1
        while nickname in self.used:
            n += 1
            nickname = f"{base}{n}"
        self.used.add(nickname)
        return nickname

    def _licences(self, kind: str) -> tuple[str, ...]:
        if kind in {"guest", "shared", "breakglass"}:
            return ()
        draw, chosen = self.rng.random(), []
        for part, share in self.primary:
            if draw < share:
                chosen.append(part)
                break
            draw -= share
        if kind == "partner-admin" and not chosen and self.primary:
            chosen.append(self.primary[0][0])
        chosen += [part for part, p in self.addons if self.rng.random() < p]
        return tuple(chosen)

    def build(self, index: int, kind: str) -> tuple[SandboxUser, Person]:
        ctx, rng = self.ctx, self.rng
        first, last = rng.choice(data.FIRST_NAMES), rng.choice(data.LAST_NAMES)
        last_display = last.replace("-", " ")
        seat = index in ROLE_SEATS and kind in {"member", "breakglass", "partner-admin"}
        department = "IT" if seat else rng.choices(self.departments, self.weights)[0]
        office = rng.choice(self.offices)
        created = ctx.days_ago(rng.uniform(20, 2400))
        user_id = ctx.id_for("user", index)
        display, given, surname = f"{first} {last_display}", first, last_display
        title = data.DEPARTMENTS[department][0 if rng.random() < 0.6 else rng.randrange(len(data.DEPARTMENTS[department]))]
        synced = kind == "member" and rng.random() < ctx.spec["hybrid_share"]
        enabled = kind != "shared" and (seat or rng.random() >= 0.05)
        if kind == "member" and index == ctx.spec["users"] - 2 and not seat:
            enabled = False  # at least one disabled member in every tenant
        licences = self._licences(kind)
        base = ascii_slug(f"{first}.{last}")
        domain, mail_domain = ctx.default_domain, ctx.default_domain
        extra: dict = {}
        if kind == "partner-admin":
            nickname, domain, mail_domain = self._nickname("admin"), ctx.initial_domain, ctx.initial_domain
            display, given, surname, title = f"{self.company} Admin", "MSP", "Admin", "Partner Administrator"
        elif kind == "breakglass":
            nickname, domain = self._nickname("breakglass"), ctx.initial_domain
            display, given, surname, title, department = "Break Glass (emergency access)", None, None, None, None
        elif kind == "shared":
            alias, label = data.SHARED_MAILBOXES[(index - ctx.spec["users"]) % len(data.SHARED_MAILBOXES)]
            nickname, display, given, surname, title, department = self._nickname(alias), label, None, None, None, None
        elif kind == "guest":
            guest_domain = rng.choice(self.guest_domains)
            external = f"{base}@{guest_domain}"
            nickname = self._nickname(f"{base}_{guest_domain}#EXT#")
            domain, mail_domain = ctx.initial_domain, None
            state = "Accepted" if rng.random() < 0.7 else "PendingAcceptance"
            extra = {"mail": external, "otherMails": [external], "creationType": "Invitation",
                     "externalUserState": state, "externalUserStateChangeDateTime": iso(created)}  # fmt: skip
            title = department = None
        else:
            nickname = self._nickname(base)
        upn = f"{nickname}@{domain}"
        mail = f"{nickname}@{mail_domain}" if mail_domain else extra.get("mail")
        mobile = f"{data.MOBILE_PREFIX.get(office[6], '+1 555 010')} {rng.randint(100, 999)}" if kind == "member" else None
        props = {
            "id": str(user_id), "userPrincipalName": upn, "displayName": display, "givenName": given,
            "surname": surname, "mail": mail, "mailNickname": nickname,
            "accountEnabled": enabled, "userType": "Guest" if kind == "guest" else "Member",
            "createdDateTime": iso(created), "creationType": None, "externalUserState": None,
            "jobTitle": title, "department": department, "companyName": None if kind == "guest" else self.company,
            "officeLocation": office[0] if kind == "member" else None, "streetAddress": office[1] if kind == "member" else None,
            "city": office[2] if kind != "shared" and kind != "guest" else None,
            "state": office[3] if kind == "member" else None, "postalCode": office[4] if kind == "member" else None,
            "country": office[5] if kind not in {"shared", "guest"} else None,
            "usageLocation": office[6] if kind != "guest" else None,
            "mobilePhone": mobile,
            "businessPhones": [f"{office[7]} {rng.randint(1000, 9999)}"] if kind in {"member", "partner-admin"} else [],
            "proxyAddresses": [], "otherMails": [], "imAddresses": [],
            "preferredLanguage": data.PREFERRED_LANGUAGE.get(office[6]) if kind == "member" else None,
            "employeeId": f"E{100000 + index}" if kind == "member" else None,
            "identities": [{"signInType": "userPrincipalName", "issuer": ctx.initial_domain, "issuerAssignedId": upn}],
            "lastPasswordChangeDateTime": iso(ctx.days_ago(rng.uniform(1, 300))),
            "passwordPolicies": "DisablePasswordExpiration" if kind == "breakglass" else None,
            "deletedDateTime": None, "signInSessionsValidFromDateTime": iso(created),
            "onPremisesSyncEnabled": None, "onPremisesImmutableId": None, "onPremisesLastSyncDateTime": None,
            "onPremisesSamAccountName": None, "onPremisesDomainName": None, "onPremisesUserPrincipalName": None,
            "onPremisesDistinguishedName": None,
        }  # fmt: skip
        props.update(extra)
        if synced:
            sam = ascii_slug(f"{first[0]}{last}")[:20]
            ad_domain = ctx.spec.get("on_premises_domain", "corp.local")
            dc = ",".join(f"DC={part}" for part in ad_domain.split("."))
            props.update(
                onPremisesSyncEnabled=True,
                onPremisesImmutableId=base64.b64encode(ctx.id_for("objectGUID", index).bytes_le).decode(),
                onPremisesLastSyncDateTime=iso(ctx.as_of - timedelta(minutes=rng.randint(5, 55))),
                onPremisesSamAccountName=sam, onPremisesDomainName=ad_domain,
                onPremisesUserPrincipalName=f"{sam}@{ad_domain}",
                onPremisesDistinguishedName=f"CN={display},OU={department or 'Users'},OU=Staff,{dc}",
            )  # fmt: skip
        self._licence_properties(props, licences, created)
        has_mailbox = kind == "shared" or any(sku(part).has_exchange for part in licences)
        if has_mailbox:
            props["proxyAddresses"] = [f"SMTP:{mail}", f"smtp:{nickname}@{ctx.initial_domain}"]
            if len(ctx.spec["custom_domains"]) > 1 and rng.random() < 0.5:
                props["proxyAddresses"].append(f"smtp:{nickname}@{ctx.spec['custom_domains'][1]}")
            self._mailbox(user_id, kind, props, licences, index)
        elif kind == "guest":
            props["proxyAddresses"] = [f"SMTP:{mail}"]
        props["signInActivity"] = self._sign_in(kind, enabled, created)
        user = SandboxUser(
            id=user_id, tenant=ctx.tenant, upn_lower=upn.lower(), display_name=display,
            mail_lower=(mail or "").lower(), account_enabled=enabled, user_type=props["userType"],
            created_datetime=created, version=ctx.next_version(), properties=props,
            password_hash=ctx.admin_hash if kind == "partner-admin" else ctx.unusable_hash,
        )  # fmt: skip
        person = Person(index, user_id, kind, upn, department or "", enabled, synced, rng.random(), licences)
        return user, person

    def _licence_properties(self, props: dict, licences: tuple[str, ...], created: datetime) -> None:
        assigned, plans, states = [], [], []
        stamp = iso(created + timedelta(hours=1))
        for part in licences:
            info = sku(part)
            assigned.append({"disabledPlans": [], "skuId": info.sku_id})
            states.append({"assignedByGroup": None, "disabledPlans": [], "error": "None",
                           "lastUpdatedDateTime": stamp, "skuId": info.sku_id, "state": "Active"})  # fmt: skip
            plans += [{"assignedDateTime": stamp, "capabilityStatus": "Enabled",
                       "service": self.services[plan.id], "servicePlanId": plan.id} for plan in info.service_plans]  # fmt: skip
        props.update(assignedLicenses=assigned, assignedPlans=plans, licenseAssignmentStates=states)

    def _sign_in(self, kind: str, enabled: bool, created: datetime) -> dict:
        rng = self.rng
        never = {"lastSignInDateTime": None, "lastNonInteractiveSignInDateTime": None,
                 "lastSuccessfulSignInDateTime": None}  # fmt: skip
        if kind == "shared" or (kind == "guest" and rng.random() < 0.4):
            return never
        age = rng.uniform(0, 2) if rng.random() < 0.8 else rng.uniform(2, 200)
        if not enabled or kind == "breakglass":
            age = rng.uniform(45, 400)
        last = max(self.ctx.days_ago(age), created)
        non_interactive = max(last - timedelta(minutes=rng.randint(-600, 600)), created)
        return {"lastSignInDateTime": iso(last), "lastNonInteractiveSignInDateTime": iso(non_interactive),
                "lastSuccessfulSignInDateTime": iso(last)}  # fmt: skip

    def _mailbox(self, user_id: uuid.UUID, kind: str, props: dict, licences: tuple[str, ...], index: int) -> None:
        rng, ctx = self.rng, self.ctx
        archive = kind != "shared" and any(sku(p).has_archive for p in licences) and rng.random() < 0.3
        size = int(min(rng.lognormvariate(21, 1.1), 40e9))
        self.mailboxes.append(
            SandboxMailbox(
                user_id=user_id, recipient_type_details="SharedMailbox" if kind == "shared" else "UserMailbox",
                exchange_guid=ctx.id_for("mailbox", index),
                archive_guid=ctx.id_for("archive", index) if archive else None,
                total_item_size_bytes=size,
                auto_reply={"AutoReplyState": "Disabled", "InternalMessage": "", "ExternalMessage": "",
                            "ExternalAudience": "None", "StartTime": None, "EndTime": None},
                properties={"Alias": props["mailNickname"], "ItemCount": size // 75_000,
                            "ArchiveStatus": "Active" if archive else "None",
                            "ProhibitSendReceiveQuota": MAILBOX_QUOTA, "RetentionPolicy": "Default MRM Policy"},
            )
        )  # fmt: skip


# --- orchestration ---------------------------------------------------------------------------------------


def wipe_tenants(tenant_ids: list[uuid.UUID] | None = None) -> None:
    """Delete tenants (all when None) and everything under them, fast at 100,000 users: rows pointing at
    users go first with set-based deletes, then the users in one statement, then the tenants."""
    tenants = SandboxTenant.objects.all() if tenant_ids is None else SandboxTenant.objects.filter(pk__in=tenant_ids)
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
