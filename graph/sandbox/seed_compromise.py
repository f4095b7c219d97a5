"""Seed step: one clearly compromised user per demo customer tenant, two clean ones, and the tenant-wide
evidence sources of "Research compromised account" (directory audits, OAuth consents, the unified audit
log, message trace, risky users).

The compromised user (``COMPROMISED_USERS`` below names them by tenant after a seed; ``compromise_cast``
finds them again) shows, within the last four days:

* a home-country sign-in, then 45 minutes later successful sign-ins from Lagos (impossible travel) and an
  IMAP4 (legacy authentication) sign-in from Moscow after two failed attempts;
* inbox rule "." forwarding invoice/payment mail to an external address, rule ".." moving security
  warnings to "RSS Feeds" and marking them read, and a hidden rule deleting mail from the help desk; their
  creation in the unified audit log (New-InboxRule, UpdateInboxRules) from the Lagos address;
* mailbox forwarding (ForwardingSmtpAddress) to an external address, set with Set-Mailbox from Lagos;
* a Microsoft Authenticator registered two days ago ("User registered security info");
* consent to "Mail Sync Pro" (unverified publisher, registered in a foreign tenant, added to the tenant the
  same morning) for Mail.ReadWrite, Mail.Send and offline_access, with its audit events and app role
  assignment;
* 40 messages to 80 external recipients in message trace;
* in tenants with Entra ID P2, an Identity Protection risky-user record (high, atRisk).

The clean users sign in from their home city only, with modern clients; they have no inbox rules besides
Outlook's hidden junk-mail rule, no forwarding, no consents, no recently registered methods, no recent
password change, a handful of ordinary messages and one ordinary "Update user" audit event by an admin.

Licences and switches decide what research can read: Northwind has Entra ID P1 (SPB) but not P2, Fabrikam
has P1 and P2 (SPE_E5), Tailspin has neither and its unified audit log is switched off (so no audit records
exist there, as with ingestion off). Everything is relative to the seed day and bulk-created.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timedelta

from .graph_views.identity_protection import tenant_has_p2
from .models import (
    SandboxAppRoleAssignment,
    SandboxAuthMethod,
    SandboxDirectoryAudit,
    SandboxInboxRule,
    SandboxMailbox,
    SandboxMessageTrace,
    SandboxOAuth2PermissionGrant,
    SandboxRiskyUser,
    SandboxServicePrincipal,
    SandboxServicePrincipalDetail,
    SandboxSignIn,
    SandboxTenant,
    SandboxUnifiedAuditRecord,
    SandboxUser,
)
from .seed_activity import APPS, HOME_LOCATIONS, HOSTILE
from .seed_compromise_data import (
    GRAPH_APP_ID,
    MAIL_SYNC_APP,
    MICROSOFT_TENANT,
    audit_event,
    exchange_record,
    message_rows,
    sign_in_properties,
)
from .seed_people import ROLE_SEATS, TenantSeed, iso

DEMO_TENANTS = ("northwind", "fabrikam", "tailspin")
AUDIT_OFF_TENANTS = {"tailspin"}
ATTACKER_FORWARD = "remit.accounts.dept@protonmail.com"
LAGOS, MOSCOW = HOSTILE[0], HOSTILE[1]
LAGOS_IP, MOSCOW_IP = f"{LAGOS[5]}17", f"{MOSCOW[5]}201"
# Filled by the step (tenant key -> UPN); the test suites and the lead's report read it.
COMPROMISED_USERS: dict[str, str] = {}
CLEAN_USERS: dict[str, list[str]] = {}


def opaque_id(*parts: object) -> str:
    """A Graph-style opaque id (43 base64url characters), stable for the parts."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _candidates(ctx: TenantSeed) -> list[SandboxUser]:
    """Licensed cloud members with a user mailbox that no other demo feature uses, in seed order; cloud-only
    people first (blocking a synced account's sign-in is refused by Graph)."""
    ids = [p.id for p in ctx.people if p.kind == "member" and p.enabled and p.index >= len(ROLE_SEATS)]
    synced = {p.id for p in ctx.people if p.synced}
    busy = set(
        SandboxInboxRule.objects.filter(mailbox__user_id__in=ids, hidden=False).values_list(
            "mailbox__user_id", flat=True
        )
    )
    busy |= set(
        SandboxMailbox.objects.filter(user_id__in=ids)
        .exclude(forwarding_smtp_address="")
        .values_list("user_id", flat=True)
    )
    busy |= set(
        SandboxMailbox.objects.filter(user_id__in=ids, auto_reply__AutoReplyState="Enabled").values_list(
            "user_id", flat=True
        )
    )
    boxes = set(
        SandboxMailbox.objects.filter(user_id__in=ids, recipient_type_details="UserMailbox").values_list(
            "user_id", flat=True
        )
    )
    users = {
        u.pk: u for u in SandboxUser.objects.filter(pk__in=[i for i in ids if i in boxes and i not in busy])
    }
    ordered = [users[i] for i in ids if i in users]
    return [u for u in ordered if u.pk not in synced] + [u for u in ordered if u.pk in synced]


def compromise_cast(tenant: SandboxTenant) -> tuple[SandboxUser | None, list[SandboxUser]]:
    """(compromised user, clean users) of a seeded tenant, found by their seed markers."""
    marked = SandboxUser.objects.filter(tenant=tenant, properties__has_key="employeeType")
    compromised = marked.filter(properties__employeeType="Contractor (compromise demo)").first()
    clean = list(marked.filter(properties__employeeType="Employee (clean demo)").order_by("upn_lower"))
    return compromised, clean


class _Plan:
    def __init__(self, ctx: TenantSeed) -> None:
        self.ctx, self.tenant = ctx, ctx.tenant
        self.home = HOME_LOCATIONS.get(self.tenant.country_letter_code, HOME_LOCATIONS["US"])[0]
        self.p2 = tenant_has_p2(self.tenant)
        self.audit_on = ctx.key not in AUDIT_OFF_TENANTS
        self.domain = ctx.initial_domain
        self.sign_ins: list[SandboxSignIn] = []
        self.audits: list[SandboxDirectoryAudit] = []
        self.records: list[SandboxUnifiedAuditRecord] = []
        self.traces: list = []

    def at(self, days: float, hour: float) -> datetime:
        return self.ctx.as_of - timedelta(days=days) + timedelta(hours=hour)

    def sign_in(self, user, key, moment, app, place, ip, client=None, failure=None, risky=False) -> None:
        props = sign_in_properties(user, moment, app, place, ip, client=client, failure=failure)
        props["correlationId"] = str(self.ctx.id_for("compromise-correlation", key))
        if risky:
            level = "high" if self.p2 else "hidden"
            props.update(
                riskLevelDuringSignIn=level,
                riskLevelAggregated=level,
                riskState="atRisk" if self.p2 else "none",
                riskEventTypes_v2=["unfamiliarFeatures", "impossibleTravel"] if self.p2 else [],
            )
        self.sign_ins.append(
            SandboxSignIn(
                id=self.ctx.id_for("compromise-signin", key),
                tenant=self.tenant,
                user=user,
                created_datetime=moment,
                properties=props,
            )
        )

    def audit(self, key: str, moment: datetime, **fields) -> None:
        row = audit_event(f"Directory_{self.ctx.id_for('audit', key)}", moment, **fields)
        self.audits.append(SandboxDirectoryAudit(tenant=self.tenant, **row))

    def record(self, key: str, moment: datetime, **fields) -> None:
        if self.audit_on:  # with ingestion off nothing is recorded
            row = exchange_record(self.tenant, self.domain, moment, **fields)
            self.records.append(SandboxUnifiedAuditRecord(id=self.ctx.id_for("ual", key), **row))


def _service_principals(
    ctx: TenantSeed, plan: _Plan
) -> tuple[SandboxServicePrincipal, SandboxServicePrincipal]:
    graph, _ = SandboxServicePrincipal.objects.get_or_create(
        tenant=ctx.tenant,
        app_id=GRAPH_APP_ID,
        defaults={
            "id": ctx.id_for("sp", "graph"),
            "display_name": "Microsoft Graph",
            "created_datetime": ctx.days_ago(900),
        },
    )
    attacker = SandboxServicePrincipal.objects.create(
        id=ctx.id_for("sp", "mail-sync"),
        tenant=ctx.tenant,
        app_id=MAIL_SYNC_APP["appId"],
        display_name=MAIL_SYNC_APP["displayName"],
        created_datetime=plan.at(3, 9.7),
    )
    first_party = {
        "appOwnerOrganizationId": MICROSOFT_TENANT,
        "publisherName": "Microsoft Services",
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "signInAudience": "AzureADMultipleOrgs",
    }
    details = [
        SandboxServicePrincipalDetail(service_principal=graph, properties={**first_party, "appRoles": []})
    ]
    details.append(
        SandboxServicePrincipalDetail(
            service_principal=attacker,
            properties={
                key: value for key, value in MAIL_SYNC_APP.items() if key not in ("appId", "displayName")
            },
        )
    )
    for sp in SandboxServicePrincipal.objects.filter(tenant=ctx.tenant).exclude(
        pk__in=[graph.pk, attacker.pk]
    ):
        details.append(SandboxServicePrincipalDetail(service_principal=sp, properties=dict(first_party)))
    SandboxServicePrincipalDetail.objects.bulk_create(details, ignore_conflicts=True)
    return graph, attacker


def _compromise(ctx: TenantSeed, plan: _Plan, user: SandboxUser) -> None:
    upn, alias = user.upn_lower, user.upn_lower.split("@")[0]
    home_ip = f"{plan.home[5]}{40 + ctx.rng.randint(0, 50)}"
    outlook, office, exchange = APPS[1], APPS[2], APPS[7]
    # Sign-ins: home, then Lagos 45 minutes later (impossible travel), then IMAP from Moscow.
    plan.sign_in(user, "home", plan.at(3, 8.9), outlook, plan.home, home_ip)
    plan.sign_in(user, "lagos-1", plan.at(3, 9.65), office, LAGOS, LAGOS_IP, risky=True)
    plan.sign_in(user, "lagos-2", plan.at(3, 10.1), outlook, LAGOS, LAGOS_IP, risky=True)
    for n in range(2):
        plan.sign_in(
            user,
            f"imap-fail-{n}",
            plan.at(3, 10.5 + n / 60),
            exchange,
            MOSCOW,
            MOSCOW_IP,
            client="IMAP4",
            failure=(50126, "Error validating credentials due to invalid username or password."),
        )
    plan.sign_in(user, "imap", plan.at(3, 10.6), exchange, MOSCOW, MOSCOW_IP, client="IMAP4", risky=True)
    plan.sign_in(user, "lagos-3", plan.at(1, 7.2), office, LAGOS, LAGOS_IP, risky=True)
    graph_sp, attacker = _service_principals(ctx, plan)
    actor = {"id": str(user.pk), "upn": upn, "name": user.display_name, "ip": LAGOS_IP}
    sp_target = {"id": str(attacker.pk), "type": "ServicePrincipal", "name": attacker.display_name}
    user_target = {"id": str(user.pk), "type": "User", "name": user.display_name, "upn": upn}
    scope = "Mail.ReadWrite Mail.Send offline_access User.Read"
    plan.audit(
        "add-sp",
        plan.at(3, 9.7),
        activity="Add service principal",
        category="ApplicationManagement",
        operation="Add",
        actor=actor,
        targets=[sp_target],
    )
    plan.audit(
        "consent",
        plan.at(3, 9.71),
        activity="Consent to application",
        category="ApplicationManagement",
        operation="Assign",
        actor=actor,
        targets=[sp_target],
        modified=[("ConsentContext.IsAdminConsent", "False"), ("ConsentAction.Permissions", scope)],
    )
    plan.audit(
        "grant",
        plan.at(3, 9.71),
        activity="Add delegated permission grant",
        category="ApplicationManagement",
        operation="Assign",
        actor=actor,
        targets=[{"id": str(graph_sp.pk), "type": "ServicePrincipal", "name": "Microsoft Graph"}],
        modified=[("DelegatedPermissionGrant.Scope", scope)],
    )
    plan.audit(
        "assign",
        plan.at(3, 9.72),
        activity="Add app role assignment grant to user",
        category="UserManagement",
        operation="Assign",
        actor=actor,
        targets=[sp_target, user_target],
    )
    SandboxOAuth2PermissionGrant.objects.create(
        id=opaque_id(ctx.tenant.pk, attacker.pk, user.pk, graph_sp.pk),
        tenant=ctx.tenant,
        client=attacker,
        resource=graph_sp,
        consent_type="Principal",
        principal=user,
        scope=scope,
    )
    SandboxAppRoleAssignment.objects.create(
        id=opaque_id("assignment", attacker.pk, user.pk),
        principal=user,
        resource=attacker,
        app_role_id=uuid.UUID(int=0),
        created_datetime=plan.at(3, 9.72),
    )
    # Inbox rules: forward payments out, hide security warnings in RSS Feeds, a hidden deleting rule.
    box = SandboxMailbox.objects.get(user=user)
    next_id = (
        SandboxInboxRule.objects.filter(mailbox=box)
        .order_by("-rule_id")
        .values_list("rule_id", flat=True)
        .first()
        or 0
    ) + 1
    forward = f'"{ATTACKER_FORWARD}" [SMTP:{ATTACKER_FORWARD}]'
    SandboxInboxRule.objects.bulk_create(
        [
            SandboxInboxRule(
                mailbox=box,
                rule_id=next_id,
                name=".",
                priority=1,
                properties={
                    "SubjectOrBodyContainsWords": ["invoice", "payment", "remittance", "bank details"],
                    "ForwardTo": [forward],
                    "StopProcessingRules": True,
                },
            ),
            SandboxInboxRule(
                mailbox=box,
                rule_id=next_id + 1,
                name="..",
                priority=2,
                properties={
                    "SubjectOrBodyContainsWords": [
                        "password",
                        "suspicious",
                        "security",
                        "hacked",
                        "phishing",
                    ],
                    "MoveToFolder": "RSS Feeds",
                    "MarkAsRead": True,
                    "StopProcessingRules": True,
                },
            ),
            SandboxInboxRule(
                mailbox=box,
                rule_id=next_id + 2,
                name="Sync",
                priority=3,
                hidden=True,
                properties={
                    "FromAddressContainsWords": ["helpdesk", "it-support", "security"],
                    "DeleteMessage": True,
                },
            ),
        ]
    )
    SandboxMailbox.objects.filter(pk=box.pk).update(
        forwarding_smtp_address=f"smtp:{ATTACKER_FORWARD}", deliver_to_mailbox_and_forward=True
    )
    rule_path = f"{alias}\\"
    plan.record(
        "rule-1",
        plan.at(3, 10.05),
        operation="New-InboxRule",
        actor=upn,
        ip=LAGOS_IP,
        alias=alias,
        object_suffix=rule_path + ".",
        parameters=[
            ("Name", "."),
            ("SubjectOrBodyContainsWords", "invoice;payment;remittance;bank details"),
            ("ForwardTo", ATTACKER_FORWARD),
            ("StopProcessingRules", "True"),
        ],
    )
    plan.record(
        "rule-2",
        plan.at(3, 10.07),
        operation="New-InboxRule",
        actor=upn,
        ip=LAGOS_IP,
        alias=alias,
        object_suffix=rule_path + "..",
        parameters=[
            ("Name", ".."),
            ("MoveToFolder", "RSS Feeds"),
            ("MarkAsRead", "True"),
            ("StopProcessingRules", "True"),
        ],
    )
    plan.record(
        "rule-3",
        plan.at(3, 10.09),
        operation="UpdateInboxRules",
        actor=upn,
        ip=LAGOS_IP,
        alias=alias,
        record_type="ExchangeItem",
        object_suffix=rule_path + "Sync",
        owner=upn,
        parameters=[("RuleName", "Sync"), ("RuleOperation", "AddMailboxRule"), ("RuleActions", "Delete")],
    )
    plan.record(
        "forward",
        plan.at(3, 10.12),
        operation="Set-Mailbox",
        actor=upn,
        ip=LAGOS_IP,
        alias=alias,
        object_suffix=alias,
        parameters=[
            ("Identity", upn),
            ("ForwardingSmtpAddress", f"smtp:{ATTACKER_FORWARD}"),
            ("DeliverToMailboxAndForward", "True"),
        ],
    )
    # A Microsoft Authenticator registered from the attacker's phone two days ago.
    registered = plan.at(2, 14.3)
    SandboxAuthMethod.objects.create(
        id=ctx.id_for("compromise-method", "authenticator"),
        user=user,
        method_type="microsoftAuthenticatorAuthenticationMethod",
        created_datetime=registered,
        properties={
            "displayName": "SM-A125F",
            "deviceTag": "SoftwareTokenActivated",
            "phoneAppVersion": "6.2401.0119",
            "createdDateTime": iso(registered),
        },
    )
    plan.audit(
        "security-info",
        registered,
        activity="User registered security info",
        category="UserManagement",
        operation="Add",
        actor={**actor, "ip": LAGOS_IP},
        targets=[user_target],
        service="Authentication Methods",
        reason="User registered Authenticator App with Notification and Code",
    )
    # Outbound spray, and an ordinary internal message the day before.
    plan.traces += message_rows(ctx, upn, plan.at(2, 9), count=40, per_message=2, external=True, ip=LAGOS_IP)
    plan.traces += message_rows(ctx, upn, plan.at(6, 11), count=3, per_message=1, external=False, ip=home_ip)
    if plan.p2:
        SandboxRiskyUser.objects.create(
            user=user,
            risk_level="high",
            risk_state="atRisk",
            risk_detail="none",
            risk_last_updated=plan.at(1, 7.3),
        )
    marker = {**user.properties, "employeeType": "Contractor (compromise demo)"}
    SandboxUser.objects.filter(pk=user.pk).update(properties=marker)


def _clean(ctx: TenantSeed, plan: _Plan, user: SandboxUser, admin: SandboxUser | None, n: int) -> None:
    """Replace whatever random activity the user got with an unremarkable month."""
    SandboxSignIn.objects.filter(user=user).delete()
    SandboxInboxRule.objects.filter(mailbox__user=user, hidden=False).delete()
    SandboxMailbox.objects.filter(user=user).update(forwarding_smtp_address="", forwarding_address="")
    SandboxAuthMethod.objects.filter(user=user, created_datetime__gt=ctx.days_ago(60)).update(
        created_datetime=ctx.days_ago(120 + n)
    )
    ip = f"{plan.home[5]}{120 + n}"
    for day in range(1, 29, 2):
        app = (APPS[0], APPS[1], APPS[2])[day % 3]
        plan.sign_in(user, f"clean-{n}-{day}", plan.at(day, 8.5 + (day % 5)), app, plan.home, ip)
    plan.traces += message_rows(
        ctx, user.upn_lower, plan.at(3, 10), count=5, per_message=1, external=False, ip=ip
    )
    plan.traces += message_rows(
        ctx, user.upn_lower, plan.at(5, 15), count=1, per_message=1, external=True, ip=ip
    )
    if admin is not None:
        plan.audit(
            f"clean-update-{n}",
            plan.at(4, 11),
            activity="Update user",
            category="UserManagement",
            operation="Update",
            actor={
                "id": str(admin.pk),
                "upn": admin.upn_lower,
                "name": admin.display_name,
                "ip": f"{plan.home[5]}9",
            },
            targets=[{"id": str(user.pk), "type": "User", "name": user.display_name, "upn": user.upn_lower}],
            modified=[("JobTitle", "Sales Executive")],
        )
    props = {
        **user.properties,
        "employeeType": "Employee (clean demo)",
        "lastPasswordChangeDateTime": iso(ctx.days_ago(95 + n)),
    }
    SandboxUser.objects.filter(pk=user.pk).update(properties=props)


def _noise(ctx: TenantSeed, plan: _Plan, compromised: SandboxUser) -> None:
    """Another mailbox's ordinary rule creation, so research must keep to its own user's records."""
    other = (
        SandboxInboxRule.objects.filter(mailbox__user__tenant=ctx.tenant, hidden=False)
        .exclude(mailbox__user=compromised)
        .select_related("mailbox__user")
        .first()
    )
    if other is not None:
        owner = other.mailbox.user.upn_lower
        plan.record(
            "noise-rule",
            plan.at(5, 13),
            operation="New-InboxRule",
            actor=owner,
            ip=f"{plan.home[5]}77",
            alias=owner.split("@")[0],
            object_suffix=f"{owner.split('@')[0]}\\{other.name}",
            parameters=[("Name", other.name), ("MoveToFolder", "Newsletters")],
        )


def seed_compromise(ctx: TenantSeed) -> None:
    if ctx.tenant is None or ctx.key not in DEMO_TENANTS:
        return
    if ctx.key in AUDIT_OFF_TENANTS:
        settings = {**(ctx.tenant.settings or {}), "unifiedAuditLogIngestionEnabled": False}
        SandboxTenant.objects.filter(pk=ctx.tenant.pk).update(settings=settings)
        ctx.tenant.settings = settings
    candidates = _candidates(ctx)
    if not candidates:
        return
    plan = _Plan(ctx)
    admin = SandboxUser.objects.filter(
        tenant=ctx.tenant, role_memberships__role__display_name="Helpdesk Administrator"
    ).first()
    compromised, clean = candidates[0], candidates[1:3]
    _compromise(ctx, plan, compromised)
    for n, user in enumerate(clean):
        _clean(ctx, plan, user, admin, n)
    _noise(ctx, plan, compromised)
    SandboxSignIn.objects.bulk_create(plan.sign_ins)
    SandboxDirectoryAudit.objects.bulk_create(plan.audits)
    SandboxUnifiedAuditRecord.objects.bulk_create(plan.records)
    SandboxMessageTrace.objects.bulk_create(plan.traces)
    COMPROMISED_USERS[ctx.key] = compromised.upn_lower
    CLEAN_USERS[ctx.key] = [u.upn_lower for u in clean]
