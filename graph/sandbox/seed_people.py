"""The people of a seeded tenant: the shared seeding context and the builder that turns one index into a
SandboxUser (full Graph user JSON + mirrored columns), its licences and its mailbox.

Split from ``graph.sandbox.seed`` (the steps and orchestration) to keep each module small.
"""

from __future__ import annotations

import base64
import random
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import seed_data as data
from .models import (
    SandboxDirectoryRole,
    SandboxGroup,
    SandboxMailbox,
    SandboxSku,
    SandboxTenant,
    SandboxUser,
    smtp_address_key,
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


# --- people ----------------------------------------------------------------------------------------------


class PersonBuilder:
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
        title = data.DEPARTMENTS[department][
            0 if rng.random() < 0.6 else rng.randrange(len(data.DEPARTMENTS[department]))
        ]
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
            display, given, surname, title, department = (
                "Break Glass (emergency access)",
                None,
                None,
                None,
                None,
            )
        elif kind == "shared":
            alias, label = data.SHARED_MAILBOXES[(index - ctx.spec["users"]) % len(data.SHARED_MAILBOXES)]
            nickname, display, given, surname, title, department = (
                self._nickname(alias),
                label,
                None,
                None,
                None,
                None,
            )
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
        mobile = (
            f"{data.MOBILE_PREFIX.get(office[6], '+1 555 010')} {rng.randint(100, 999)}"
            if kind == "member"
            else None
        )
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
            mail_lower=(mail or "").lower(), smtp_addresses=smtp_address_key(props),
            account_enabled=enabled, user_type=props["userType"],
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

    def _mailbox(
        self, user_id: uuid.UUID, kind: str, props: dict, licences: tuple[str, ...], index: int
    ) -> None:
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
