"""Sandbox sources of "Research compromised account": directory audits (retention, filters, paging), sign-in
gating, OAuth grants and app role assignments, risky users (P2 gating), Search-UnifiedAuditLog sessions,
Get-MessageTraceV2 rounds, inbox-rule writes, and the seeded compromised / clean users."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from graph.sandbox.models import (
    SandboxAppRoleAssignment,
    SandboxDirectoryAudit,
    SandboxInboxRule,
    SandboxMessageTrace,
    SandboxOAuth2PermissionGrant,
    SandboxRiskyUser,
    SandboxServicePrincipal,
    SandboxServicePrincipalDetail,
    SandboxSku,
    SandboxUnifiedAuditRecord,
)
from graph.sandbox.seed_compromise_data import audit_event, exchange_record

from .factories import make_sku
from .identity_factories import BASE, make_mailbox, make_tenant, make_user, sandbox_session
from .test_exchange_invoke import _token, invoke

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC)


@pytest.fixture
def tenant():
    return make_tenant("contoso")


@pytest.fixture
def adele(tenant):
    user = make_user(tenant, "adele", display_name="Adele Vance")
    make_mailbox(user)
    return user


def premium(tenant, *, p1=True, p2=False):
    if p1:
        make_sku(tenant, premium=True)
    if p2:
        plan = {"servicePlanId": "eec0eb4f-6444-4f95-aba0-50c24d67f998", "servicePlanName": "AAD_PREMIUM_P2",
                "provisioningStatus": "Success", "appliesTo": "User"}  # fmt: skip
        SandboxSku.objects.create(tenant=tenant, sku_id=uuid.uuid4(), sku_part_number="AAD_PREMIUM_P2",
                                  prepaid_enabled=5, service_plans=[plan])  # fmt: skip


def audit(tenant, key, days_ago, actor, targets, activity="Update user"):
    row = audit_event(f"Directory_{key}", NOW - timedelta(days=days_ago), activity=activity,
                      category="UserManagement", operation="Update",
                      actor={"id": str(actor.pk), "upn": actor.upn_lower, "name": actor.display_name},
                      targets=[{"id": str(t.pk), "type": "User", "name": t.display_name} for t in targets])  # fmt: skip
    return SandboxDirectoryAudit.objects.create(tenant=tenant, **row)


# --- directory audits ------------------------------------------------------------------------------------


def test_directory_audits_retention_depends_on_premium(graph, tenant, adele):
    admin = make_user(tenant, "admin")
    for key, days in (("a", 1), ("b", 6), ("c", 10), ("d", 40)):
        audit(tenant, key, days, admin, [adele])
    ids = [a["id"] for a in graph.get("auditLogs/directoryAudits").json()["value"]]
    assert ids == ["Directory_a", "Directory_b"]  # free tenants: 7 days
    premium(tenant)
    ids = [a["id"] for a in graph.get("auditLogs/directoryAudits").json()["value"]]
    assert ids == ["Directory_a", "Directory_b", "Directory_c"]  # P1: 30 days
    assert graph.get("auditLogs/directoryAudits/Directory_c").json()["activityDisplayName"] == "Update user"
    assert graph.get("auditLogs/directoryAudits/Directory_d").status_code == 404


def test_directory_audit_filters_actor_target_date_and_activity(graph, tenant, adele):
    admin, other = make_user(tenant, "admin"), make_user(tenant, "other")
    audit(tenant, "by-adele", 1, adele, [other])
    audit(tenant, "on-adele", 2, admin, [other, adele], activity="Reset user password")
    audit(tenant, "unrelated", 3, admin, [other])
    audit(tenant, "old-on-adele", 5, admin, [adele])

    def ids(query):
        response = graph.get(f"auditLogs/directoryAudits?$filter={query}")
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["value"]]

    assert ids(f"initiatedBy/user/id eq '{adele.pk}'") == ["Directory_by-adele"]
    assert ids(f"targetResources/any(t:t/id eq '{adele.pk}')") == [
        "Directory_on-adele",
        "Directory_old-on-adele",
    ]
    since = (NOW - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"targetResources/any(x: x/id eq '{adele.pk}') and activityDateTime ge {since}") == [
        "Directory_on-adele"
    ]
    assert ids("activityDisplayName eq 'Reset user password'") == ["Directory_on-adele"]
    assert ids(f"(initiatedBy/user/userPrincipalName eq '{adele.upn_lower.upper()}')") == [
        "Directory_by-adele"
    ]
    bad = graph.get(
        f"auditLogs/directoryAudits?$filter=initiatedBy/user/id eq '{adele.pk}' or category eq 'x'"
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_directory_audits_page_with_next_links_bound_to_the_query(graph, tenant, adele):
    for n in range(5):
        audit(tenant, f"n{n}", n / 10 + 0.01, adele, [adele])
    seen, url = [], "auditLogs/directoryAudits?$top=2"
    while url:
        body = graph.get(url).json()
        seen += [a["id"] for a in body["value"]]
        url = body.get("@odata.nextLink")
    assert seen == [f"Directory_n{n}" for n in range(5)]
    first = graph.get("auditLogs/directoryAudits?$top=2").json()["@odata.nextLink"]
    token = first.split("$skiptoken=")[1]
    other = graph.get(f"auditLogs/directoryAudits?$top=2&$filter=category eq 'x'&$skiptoken={token}")
    assert other.status_code == 400 and other.json()["error"]["code"] == "Directory_ExpiredPageToken"


def test_sign_ins_need_premium(graph, tenant, adele):
    response = graph.get(f"auditLogs/signIns?$filter=userId eq '{adele.pk}'")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


# --- OAuth grants, app role assignments, service principals ------------------------------------------------


@pytest.fixture
def consent(tenant, adele):
    graph_sp = SandboxServicePrincipal.objects.create(
        tenant=tenant, app_id=uuid.uuid4(), display_name="Microsoft Graph"
    )
    app = SandboxServicePrincipal.objects.create(
        tenant=tenant, app_id=uuid.uuid4(), display_name="Mail Sync Pro"
    )
    SandboxServicePrincipalDetail.objects.create(service_principal=app, properties={
        "appOwnerOrganizationId": "3b9d6e1f-0a4c-4e8b-9f2d-7c5a1e6b8d40", "publisherName": "mailsyncpro",
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None}})  # fmt: skip
    grant = SandboxOAuth2PermissionGrant.objects.create(
        id="grant-1",
        tenant=tenant,
        client=app,
        resource=graph_sp,
        principal=adele,
        scope="Mail.ReadWrite offline_access",
    )
    SandboxOAuth2PermissionGrant.objects.create(
        id="grant-all",
        tenant=tenant,
        client=app,
        resource=graph_sp,
        consent_type="AllPrincipals",
        scope="User.Read",
    )
    SandboxAppRoleAssignment.objects.create(
        id="assign-1", principal=adele, resource=app, app_role_id=uuid.UUID(int=0)
    )
    return grant, app, graph_sp


def test_user_grants_filter_update_and_revoke(graph, adele, consent):
    grant, app, graph_sp = consent
    listed = graph.get(f"users/{adele.pk}/oauth2PermissionGrants").json()["value"]
    assert listed == [{"id": "grant-1", "clientId": str(app.pk), "consentType": "Principal",
                       "principalId": str(adele.pk), "resourceId": str(graph_sp.pk),
                       "scope": "Mail.ReadWrite offline_access"}]  # fmt: skip
    everyone = graph.get(
        f"oauth2PermissionGrants?$filter=clientId eq '{app.pk}' and consentType eq 'AllPrincipals'"
    )
    assert [g["id"] for g in everyone.json()["value"]] == ["grant-all"]
    assert graph("PATCH", "oauth2PermissionGrants/grant-1", {"scope": "User.Read"}).status_code == 204
    assert graph.get("oauth2PermissionGrants/grant-1").json()["scope"] == "User.Read"
    assert graph("DELETE", "oauth2PermissionGrants/grant-1").status_code == 204
    assert graph.get(f"users/{adele.pk}/oauth2PermissionGrants").json()["value"] == []
    assert graph("DELETE", "oauth2PermissionGrants/grant-1").status_code == 404


def test_app_role_assignments_and_publisher_facts(graph, adele, consent):
    _grant, app, _graph_sp = consent
    rows = graph.get(f"users/{adele.upn_lower}/appRoleAssignments").json()["value"]
    assert [(r["id"], r["resourceId"], r["resourceDisplayName"], r["appRoleId"]) for r in rows] == [
        ("assign-1", str(app.pk), "Mail Sync Pro", str(uuid.UUID(int=0)))
    ]
    sp = graph.get(f"servicePrincipals/{app.pk}").json()
    assert sp["appOwnerOrganizationId"] == "3b9d6e1f-0a4c-4e8b-9f2d-7c5a1e6b8d40"
    assert sp["verifiedPublisher"]["verifiedPublisherId"] is None and sp["publisherName"] == "mailsyncpro"
    listed = graph.get("servicePrincipals").json()["value"]
    assert {s["displayName"]: s.get("publisherName") for s in listed}["Mail Sync Pro"] == "mailsyncpro"
    assert graph.get(f"servicePrincipals/{uuid.uuid4()}").status_code == 404
    assert graph("DELETE", f"users/{adele.pk}/appRoleAssignments/assign-1").status_code == 204
    assert graph.get(f"users/{adele.pk}/appRoleAssignments").json()["value"] == []


# --- risky users ------------------------------------------------------------------------------------------


def test_risky_users_need_p2_then_filter_get_and_dismiss(graph, tenant, adele):
    SandboxRiskyUser.objects.create(user=adele, risk_level="high", risk_state="atRisk")
    premium(tenant)  # P1 is not enough
    refused = graph.get(f"identityProtection/riskyUsers?$filter=id eq '{adele.pk}'")
    assert refused.status_code == 403
    premium(tenant, p1=False, p2=True)
    found = graph.get(f"identityProtection/riskyUsers?$filter=id eq '{adele.pk}'").json()["value"]
    assert [(r["riskLevel"], r["riskState"], r["userPrincipalName"]) for r in found] == [
        ("high", "atRisk", adele.upn_lower)
    ]
    calm = make_user(tenant, "calm")
    assert graph.get(f"identityProtection/riskyUsers?$filter=id eq '{calm.pk}'").json()["value"] == []
    assert graph.get(f"identityProtection/riskyUsers/{calm.pk}").status_code == 404
    assert (
        graph("POST", "identityProtection/riskyUsers/dismiss", {"userIds": [str(adele.pk)]}).status_code
        == 204
    )
    item = graph.get(f"identityProtection/riskyUsers/{adele.pk}").json()
    assert (item["riskLevel"], item["riskState"], item["riskDetail"]) == (
        "none",
        "dismissed",
        "adminDismissedAllRiskForUser",
    )
    assert (
        graph(
            "POST", "identityProtection/riskyUsers/confirmCompromised", {"userIds": [str(calm.pk)]}
        ).status_code
        == 204
    )
    assert graph.get(f"identityProtection/riskyUsers/{calm.pk}").json()["riskState"] == "confirmedCompromised"


# --- unified audit log ---------------------------------------------------------------------------------------


def ual(tenant, n, actor, operation="New-InboxRule", minutes_ago=None):
    row = exchange_record(tenant, "contoso.onmicrosoft.com", NOW - timedelta(minutes=minutes_ago or 10 + n),
                          operation=operation, actor=actor, ip="102.89.33.17", alias=actor.split("@")[0],
                          object_suffix=f"{actor.split('@')[0]}\\rule{n}", parameters=[("Name", f"rule{n}")])  # fmt: skip
    return SandboxUnifiedAuditRecord.objects.create(**row)


WINDOW = {"StartDate": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
          "EndDate": (NOW + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip


def search(tenant, headers=None, **params):
    return invoke(tenant, "Search-UnifiedAuditLog", WINDOW | params, headers=headers)


def test_unified_audit_search_filters_and_default_cap(tenant, adele):
    for n in range(3):
        ual(tenant, n, adele.upn_lower)
    ual(tenant, 9, "other@contoso.onmicrosoft.com", operation="Set-Mailbox")
    rows = search(tenant, UserIds=[adele.upn_lower.upper()], Operations=["new-inboxrule"]).json()["value"]
    assert [r["ResultIndex"] for r in rows] == [1, 2, 3] and {r["ResultCount"] for r in rows} == {3}
    assert [r["UserIds"] for r in rows] == [adele.upn_lower] * 3 and rows[0]["RecordType"] == "ExchangeAdmin"
    assert '"Value":"rule0"' in rows[0]["AuditData"]  # newest first, AuditData is a JSON string
    capped = search(tenant, ResultSize=2).json()["value"]
    assert len(capped) == 2 and capped[0]["ResultCount"] == 4
    assert search(tenant, ResultSize=5001).status_code == 400
    assert invoke(tenant, "Search-UnifiedAuditLog", {"StartDate": "2026-01-01"}).status_code == 400


def search_pages(tenant, params: dict, page_size: int) -> list[dict]:
    """One Search-UnifiedAuditLog call read over all its InvokeCommand pages (nextLink re-posts the body)."""
    body = {"CmdletInput": {"CmdletName": "Search-UnifiedAuditLog", "Parameters": {**WINDOW, **params}}}
    headers = {"Authorization": f"Bearer {_token(tenant.pk)}", "Prefer": f"odata.maxpagesize={page_size}"}
    url, rows = f"{BASE}/exchange/adminapi/beta/{tenant.pk}/InvokeCommand", []
    while url:
        page = sandbox_session().post(url, json=body, headers=headers).json()
        rows += page["value"]
        url = page.get("@odata.nextLink")
    return rows


def test_large_set_session_pages_through_everything_once(tenant, adele):
    for n in range(7):
        ual(tenant, n, adele.upn_lower)
    params = {"SessionId": "s1", "SessionCommand": "ReturnLargeSet", "ResultSize": 3}
    seen = []
    for _ in range(5):
        # A block of 3 arrives as three HTTP pages; only a new call advances the session.
        block = search_pages(tenant, params, page_size=1)
        if not block:
            break
        assert {r["ResultCount"] for r in block} == {7}
        seen += [r["ResultIndex"] for r in block]
    assert seen == list(range(1, 8))
    assert search_pages(tenant, {**params, "SessionId": "s2"}, page_size=1000)[0]["ResultIndex"] == 1


def test_audit_off_returns_nothing_and_config_tells_why(tenant, adele):
    ual(tenant, 1, adele.upn_lower)
    config = invoke(tenant, "Get-AdminAuditLogConfig").json()["value"][0]
    assert config["UnifiedAuditLogIngestionEnabled"] is True
    assert (
        invoke(tenant, "Set-AdminAuditLogConfig", {"UnifiedAuditLogIngestionEnabled": False}).status_code
        == 200
    )
    assert (
        invoke(tenant, "Get-AdminAuditLogConfig").json()["value"][0]["UnifiedAuditLogIngestionEnabled"]
        is False
    )
    assert search(tenant).json()["value"] == []  # documented: no results while auditing is off
    tenant.refresh_from_db()
    assert tenant.settings["unifiedAuditLogIngestionEnabled"] is False


# --- message trace -----------------------------------------------------------------------------------------------


def trace(tenant, sender, recipient, received, subject="Hello"):
    return SandboxMessageTrace.objects.create(tenant=tenant, sender_address=sender, recipient_address=recipient,
                                              received=received, subject=subject)  # fmt: skip


def test_message_trace_rounds_read_every_row_once(tenant, adele):
    sender = adele.upn_lower
    moment = (NOW - timedelta(hours=3)).replace(microsecond=0)
    for n in range(5):  # one message to five recipients (same Received), then three more
        trace(tenant, sender, f"r{n}@gmail.com", moment)
    for n in range(3):
        trace(tenant, sender, f"late{n}@gmail.com", moment + timedelta(minutes=n + 1))
    trace(tenant, "someone@contoso.onmicrosoft.com", "x@gmail.com", moment)
    start, end = (NOW - timedelta(days=1)).isoformat(), NOW.isoformat()
    params = {"SenderAddress": sender, "StartDate": start, "EndDate": end, "ResultSize": 3}
    seen = []
    for _ in range(6):
        page = invoke(tenant, "Get-MessageTraceV2", params).json()["value"]
        seen += [r["RecipientAddress"] for r in page]
        if len(page) < 3:
            break
        params = {
            **params,
            "EndDate": page[-1]["Received"],
            "StartingRecipientAddress": page[-1]["RecipientAddress"],
        }
    assert seen == ["late2@gmail.com", "late1@gmail.com", "late0@gmail.com"] + [
        f"r{n}@gmail.com" for n in range(5)
    ]


def test_message_trace_limits(tenant, adele):
    trace(tenant, adele.upn_lower, "old@gmail.com", NOW - timedelta(days=3))
    trace(tenant, adele.upn_lower, "new@gmail.com", NOW - timedelta(hours=1))
    default = invoke(tenant, "Get-MessageTraceV2", {"SenderAddress": adele.upn_lower}).json()["value"]
    assert [r["RecipientAddress"] for r in default] == ["new@gmail.com"]  # last 48 hours
    wide = {"StartDate": (NOW - timedelta(days=11)).isoformat(), "EndDate": NOW.isoformat()}
    assert invoke(tenant, "Get-MessageTraceV2", wide).status_code == 400
    ancient = {
        "StartDate": (NOW - timedelta(days=95)).isoformat(),
        "EndDate": (NOW - timedelta(days=91)).isoformat(),
    }
    assert invoke(tenant, "Get-MessageTraceV2", ancient).status_code == 400
    assert invoke(tenant, "Get-MessageTraceV2", {"ResultSize": 0}).status_code == 400


# --- inbox rule writes ----------------------------------------------------------------------------------------------


def test_disable_enable_remove_inbox_rules_including_hidden(tenant, adele):
    box = adele.mailbox
    SandboxInboxRule.objects.create(
        mailbox=box, rule_id=1, name=".", properties={"ForwardTo": ['"x" [SMTP:x@y.com]']}
    )
    SandboxInboxRule.objects.create(
        mailbox=box, rule_id=2, name="Sync", hidden=True, properties={"DeleteMessage": True}
    )
    SandboxInboxRule.objects.create(mailbox=box, rule_id=3, name="Dup")
    SandboxInboxRule.objects.create(mailbox=box, rule_id=4, name="Dup")
    rules = invoke(tenant, "Get-InboxRule", {"Mailbox": adele.upn_lower, "IncludeHidden": True}).json()[
        "value"
    ]
    hidden = next(r for r in rules if r["Name"] == "Sync")
    assert invoke(tenant, "Disable-InboxRule", {"Identity": hidden["Identity"]}).status_code == 200
    assert (
        invoke(tenant, "Disable-InboxRule", {"Identity": ".", "Mailbox": adele.upn_lower}).status_code == 200
    )
    assert set(SandboxInboxRule.objects.filter(enabled=False).values_list("name", flat=True)) == {".", "Sync"}
    assert invoke(tenant, "Enable-InboxRule", {"Identity": "adele\\1"}).status_code == 200
    assert (
        invoke(tenant, "Remove-InboxRule", {"Identity": "2", "Mailbox": adele.upn_lower}).status_code == 200
    )
    assert not SandboxInboxRule.objects.filter(name="Sync").exists()
    assert (
        invoke(tenant, "Disable-InboxRule", {"Identity": "Dup", "Mailbox": adele.upn_lower}).status_code
        == 400
    )
    assert (
        invoke(tenant, "Disable-InboxRule", {"Identity": "nope", "Mailbox": adele.upn_lower}).status_code
        == 404
    )
    assert invoke(tenant, "Disable-InboxRule", {"Identity": "."}).status_code == 400  # no mailbox given
