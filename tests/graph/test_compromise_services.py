"""graph.services.compromise with `responses`: paging of every source, the error -> "could not check" mapping,
the unified-audit session loop (and its split past 50,000), message-trace rounds and windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from graph.errors import BadRequestError
from graph.exchange import ExchangeClient
from graph.services import compromise, compromise_exchange
from graph.services.compromise import SourceUnavailable

from .conftest import CUSTOMER, EXCHANGE, GRAPH, graph_error

USER = "0b5e7f4e-6a35-4a8a-9a64-2d3c5e3b1a11"
SP = "9c1f3a2b-1d4e-4f5a-8b6c-7d8e9f0a1b2c"
INVOKE = f"{EXCHANGE}/adminapi/beta/{CUSTOMER}/InvokeCommand"
SINCE = datetime.now(UTC) - timedelta(days=7)


@pytest.fixture
def exo(connection, tokens, sleeps):
    return ExchangeClient(connection, CUSTOMER, token_provider=tokens, sleep=sleeps.append)


def query(call) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def cmdlets(mocked) -> list[tuple[str, dict]]:
    out = []
    for call in mocked.calls:
        if call.request.url.startswith(INVOKE):
            body = json.loads(call.request.body)["CmdletInput"]
            out.append((body["CmdletName"], body["Parameters"]))
    return out


def exchange_router(mocked, handlers: dict):
    """Answer InvokeCommand by cmdlet name: handlers[name](parameters) -> (status, body)."""

    def callback(request):
        body = json.loads(request.body)["CmdletInput"]
        status, payload = handlers[body["CmdletName"]](body["Parameters"])
        return status, {"Content-Type": "application/json"}, json.dumps(payload)

    mocked.add_callback(responses.POST, INVOKE, callback=callback)


# --- sign-ins and the error mapping --------------------------------------------------------------------------


def test_sign_ins_follow_every_page_and_flag_legacy_auth(graph_client, mocked):
    url = f"{GRAPH}/v1.0/auditLogs/signIns"
    first = {"id": "1", "createdDateTime": "2026-11-20T10:00:00Z", "clientAppUsed": "IMAP4", "status": {"errorCode": 0},
             "location": {"countryOrRegion": "RU", "city": "Moscow", "geoCoordinates": {"latitude": 55.7, "longitude": 37.6}}}  # fmt: skip
    second = {
        "id": "2",
        "createdDateTime": "2026-11-19T10:00:00Z",
        "clientAppUsed": "Browser",
        "status": {"errorCode": 50126},
    }

    def pages(request):
        if "skiptoken" in request.url:
            return 200, {}, json.dumps({"value": [second]})
        return 200, {}, json.dumps({"value": [first], "@odata.nextLink": f"{url}?$skiptoken=abc"})

    mocked.add_callback(responses.GET, url, callback=pages)
    rows = compromise.user_sign_ins(graph_client, USER, SINCE)
    assert [(r["id"], r["legacy_auth"], r["ok"]) for r in rows] == [("1", True, True), ("2", False, False)]
    assert (rows[0]["latitude"], rows[0]["country"]) == (55.7, "RU")
    sent = query(mocked.calls[0])
    assert (
        sent["$filter"].startswith(f"userId eq '{USER}' and createdDateTime ge ") and sent["$top"] == "1000"
    )


@pytest.mark.parametrize(
    ("status", "code", "message", "reason"),
    [
        (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license", compromise.NEEDS_P1),
        (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", compromise.PERMISSION),
        (429, "TooManyRequests", "Too many requests", compromise.THROTTLED),
        (503, "ServiceUnavailable", "Try later", compromise.UNAVAILABLE),
    ],
)  # fmt: skip
def test_sign_in_failures_become_reasons(graph_client, mocked, sleeps, status, code, message, reason):
    mocked.get(f"{GRAPH}/v1.0/auditLogs/signIns", status=status, json=graph_error(code, message))
    with pytest.raises(SourceUnavailable) as caught:
        compromise.user_sign_ins(graph_client, USER, SINCE)
    assert caught.value.reason == reason and caught.value.error.status == status
    assert len(sleeps) == (3 if status in (429, 503) else 0)  # retried first, then reported


def test_a_malformed_request_is_not_hidden_as_unavailable(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/auditLogs/signIns", status=400, json=graph_error("BadRequest", "bad filter"))
    with pytest.raises(BadRequestError):
        compromise.user_sign_ins(graph_client, USER, SINCE)
    with pytest.raises(ValueError):
        compromise.user_sign_ins(graph_client, "x' or 1 eq 1", SINCE)


# --- directory audits, methods, apps, risk -------------------------------------------------------------------


def audit_item(audit_id, when, activity="Update user", actor=USER, target=USER, target_type="User"):
    return {"id": audit_id, "activityDateTime": when, "activityDisplayName": activity, "category": "UserManagement",
            "initiatedBy": {"user": {"id": actor, "userPrincipalName": "a@contoso.com", "ipAddress": "1.2.3.4"}},
            "targetResources": [{"id": target, "type": target_type, "displayName": "T", "modifiedProperties": []}]}  # fmt: skip


def test_directory_audits_merge_actor_and_target_queries(graph_client, mocked):
    url = f"{GRAPH}/v1.0/auditLogs/directoryAudits"

    def callback(request):
        text = parse_qs(urlsplit(request.url).query)["$filter"][0]
        if "$skiptoken" in request.url:
            return 200, {}, json.dumps({"value": [audit_item("c", "2026-11-20T09:00:00Z", target="other")]})
        if text.startswith("initiatedBy"):
            body = {
                "value": [audit_item("a", "2026-11-21T09:00:00Z")],
                "@odata.nextLink": f"{request.url}&$skiptoken=2",
            }
            return 200, {}, json.dumps(body)
        return (
            200,
            {},
            json.dumps(
                {
                    "value": [
                        audit_item("a", "2026-11-21T09:00:00Z"),
                        audit_item("b", "2026-11-22T09:00:00Z", actor="adm"),
                    ]
                }
            ),
        )

    mocked.add_callback(responses.GET, url, callback=callback)
    rows = compromise.directory_audits_for_user(graph_client, USER, SINCE)
    assert [(r["id"], r["role"]) for r in rows] == [("b", "target"), ("a", "both"), ("c", "actor")]
    assert rows[1]["actor"] == {
        "type": "user",
        "id": USER,
        "upn": "a@contoso.com",
        "display_name": "",
        "ip": "1.2.3.4",
    }
    filters = [query(c)["$filter"] for c in mocked.calls if "skiptoken" not in c.request.url]
    assert filters[0].startswith(f"initiatedBy/user/id eq '{USER}' and activityDateTime ge ")
    assert filters[1].startswith(f"targetResources/any(t:t/id eq '{USER}') and activityDateTime ge ")


def test_auth_method_changes_split_recent_methods_and_events(graph_client, mocked):
    recent = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    mocked.get(f"{GRAPH}/v1.0/users/{USER}/authentication/methods", json={"value": [
        {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": "m1", "createdDateTime": recent},
        {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "p"},
        {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": "f", "createdDateTime": "2025-01-01T00:00:00Z"}]})  # fmt: skip
    mocked.get(
        f"{GRAPH}/v1.0/users/{USER}", json={"id": USER, "lastPasswordChangeDateTime": "2026-01-01T00:00:00Z"}
    )
    audits = [dict(compromise.parse_audit(audit_item("s", recent, "User registered security info")), role="target"),
              dict(compromise.parse_audit(audit_item("u", recent)), role="target"),
              dict(compromise.parse_audit(audit_item("r", recent, "Reset user password")), role="actor")]  # fmt: skip
    found = compromise.auth_method_changes(graph_client, USER, SINCE, audits=audits)
    assert [m["id"] for m in found["recent"]] == ["m1"] and len(found["current"]) == 3
    assert [e["id"] for e in found["events"]] == ["s"] and found["events_unavailable"] is None
    assert found["last_password_change"] == "2026-01-01T00:00:00Z"


def test_auth_method_changes_say_when_the_audit_log_is_unreadable(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/users/{USER}/authentication/methods", json={"value": []})
    mocked.get(f"{GRAPH}/v1.0/users/{USER}", json={"id": USER})
    mocked.get(
        f"{GRAPH}/v1.0/auditLogs/directoryAudits",
        status=403,
        json=graph_error("Authorization_RequestDenied", "no"),
    )
    found = compromise.auth_method_changes(graph_client, USER, SINCE)
    assert found["events"] == [] and found["events_unavailable"] == compromise.PERMISSION


def test_oauth_grants_carry_publisher_and_audit_history(graph_client, mocked):
    graph_sp = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
    mocked.get(f"{GRAPH}/v1.0/users/{USER}/oauth2PermissionGrants", json={"value": [
        {"id": "g1", "clientId": SP, "resourceId": graph_sp, "consentType": "Principal", "scope": " Mail.ReadWrite offline_access"}]})  # fmt: skip
    mocked.get(f"{GRAPH}/v1.0/servicePrincipals/{SP}", json={"id": SP, "appId": "app", "displayName": "Mail Sync Pro",
               "appOwnerOrganizationId": "3B9D6E1F-0A4C-4E8B-9F2D-7C5A1E6B8D40", "verifiedPublisher": {"verifiedPublisherId": None}})  # fmt: skip
    mocked.get(f"{GRAPH}/v1.0/servicePrincipals/{graph_sp}", json={"id": graph_sp, "displayName": "Microsoft Graph",
               "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a"})  # fmt: skip
    mocked.get(f"{GRAPH}/v1.0/auditLogs/directoryAudits", json={"value": [
        audit_item("x", "2026-11-21T09:42:00Z", "Add service principal", target=SP, target_type="ServicePrincipal"),
        audit_item("y", "2026-11-21T09:43:00Z", "Consent to application", target=SP, target_type="ServicePrincipal")]})  # fmt: skip
    (grant,) = compromise.oauth_grants(graph_client, USER)
    assert grant["scopes"] == ["Mail.ReadWrite", "offline_access"] and grant["resource"] == "Microsoft Graph"
    app = grant["app"]
    assert (app["display_name"], app["verified"], app["first_party"], app["home_tenant"]) == (
        "Mail Sync Pro",
        False,
        False,
        False,
    )
    assert (app["created"], app["consented"]) == ("2026-11-21T09:42:00Z", "2026-11-21T09:43:00Z")


def test_new_service_principals_and_revoking_a_grant(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/auditLogs/directoryAudits", json={"value": [
        audit_item("x", "2026-11-21T09:42:00Z", "Add service principal", target=SP, target_type="ServicePrincipal")]})  # fmt: skip
    mocked.get(
        f"{GRAPH}/v1.0/servicePrincipals/{SP}",
        status=404,
        json=graph_error("Request_ResourceNotFound", "gone"),
    )
    (row,) = compromise.new_service_principals(graph_client, SINCE)
    assert (row["id"], row["deleted"], row["created"], row["created_by"]) == (
        SP,
        True,
        "2026-11-21T09:42:00Z",
        "a@contoso.com",
    )
    assert "activityDisplayName eq 'Add service principal'" in query(mocked.calls[0])["$filter"]
    mocked.delete(f"{GRAPH}/v1.0/oauth2PermissionGrants/g1", status=204)
    mocked.delete(
        f"{GRAPH}/v1.0/oauth2PermissionGrants/g2",
        status=404,
        json=graph_error("Request_ResourceNotFound", "x"),
    )
    assert compromise.revoke_oauth_grant(graph_client, "g1") is True
    assert compromise.revoke_oauth_grant(graph_client, "g2") is False


def test_risky_user_states_and_p2_refusal(graph_client, mocked):
    url = f"{GRAPH}/v1.0/identityProtection/riskyUsers"
    mocked.get(
        url, json={"value": [{"id": USER, "riskLevel": "high", "riskState": "atRisk", "riskDetail": "none"}]}
    )
    assert compromise.risky_user(graph_client, USER)["at_risk"] is True
    mocked.replace(responses.GET, url, json={"value": []})
    assert compromise.risky_user(graph_client, USER) == {"risk_level": "none", "risk_state": "none",
                                                         "risk_detail": "none", "updated": None, "at_risk": False}  # fmt: skip
    mocked.replace(
        responses.GET,
        url,
        status=403,
        json=graph_error("Forbidden", "Your tenant is not licensed for this feature."),
    )
    with pytest.raises(SourceUnavailable) as caught:
        compromise.risky_user(graph_client, USER)
    assert caught.value.reason == compromise.NEEDS_P2
    mocked.replace(responses.GET, url, status=403, json=graph_error("Forbidden", "Missing role"))
    with pytest.raises(SourceUnavailable) as caught:
        compromise.risky_user(graph_client, USER)
    assert caught.value.reason == compromise.PERMISSION


# --- Exchange sources -----------------------------------------------------------------------------------------


def test_inbox_rules_mark_hidden_ones_and_missing_mailbox(exo, mocked):
    everything = [{"Identity": "adele\\1", "Name": ".", "Enabled": True, "ForwardTo": ['"x" [SMTP:X@Evil.com]']},
                  {"Identity": "adele\\2", "Name": "Sync", "Enabled": True, "DeleteMessage": True},
                  {"Identity": "adele\\3", "Name": "Junk E-mail Rule", "Enabled": True}]  # fmt: skip
    exchange_router(
        mocked,
        {
            "Get-InboxRule": lambda p: (
                200,
                {"value": everything if p.get("IncludeHidden") else everything[:1]},
            )
        },
    )
    rules = compromise.inbox_rules(exo, "adele@contoso.com")
    assert [(r["name"], r["hidden"], r["system"]) for r in rules] == [
        (".", False, False),
        ("Sync", True, False),
        ("Junk E-mail Rule", True, True),
    ]
    assert rules[0]["forward_to"] == ["x@evil.com"] and rules[1]["delete_message"] is True
    missing = {
        "error": {
            "code": "NotFound",
            "message": "x",
            "details": [
                {
                    "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|not found"
                }
            ],
        }
    }
    mocked.replace(responses.POST, INVOKE, status=404, json=missing)
    with pytest.raises(SourceUnavailable) as caught:
        compromise.mailbox_forwarding(exo, "nobody@contoso.com")
    assert caught.value.reason == compromise.NO_MAILBOX


def test_disable_inbox_rule_names_the_mailbox_only_when_the_identity_does_not(exo, mocked):
    exchange_router(mocked, {"Disable-InboxRule": lambda p: (200, {"value": []})})
    compromise.disable_inbox_rule(exo, "adele@contoso.com", "adele\\7")
    compromise.disable_inbox_rule(exo, "adele@contoso.com", "Sync")
    assert cmdlets(mocked) == [
        ("Disable-InboxRule", {"Identity": "adele\\7"}),
        ("Disable-InboxRule", {"Identity": "Sync", "Mailbox": "adele@contoso.com"}),
    ]
    assert mocked.calls[0].request.headers["X-AnchorMailbox"] == "UPN:adele@contoso.com"


def audit_rows(start: int, stop: int, count: int) -> list[dict]:
    return [{"ResultIndex": i, "ResultCount": count, "CreationDate": f"2026-11-2{i % 9}T10:00:00Z", "Operations": "New-InboxRule",
             "RecordType": "ExchangeAdmin", "UserIds": "adele@contoso.com",
             "AuditData": json.dumps({"Id": f"id{i}", "UserId": "adele@contoso.com", "ObjectId": "x/adele\\rule",
                                      "Parameters": [{"Name": "Name", "Value": f"r{i}"}]})}
            for i in range(start, stop)]  # fmt: skip


def test_mailbox_audit_reads_every_block_of_both_searches(exo, mocked):
    served = {}

    def search(params):
        session = params["SessionId"]
        offset = served.get(session, 0)
        served[session] = offset + params["ResultSize"]
        if "UserIds" in params:
            return 200, {"value": audit_rows(offset + 1, min(offset + 5001, 7001), 7000)}
        other = audit_rows(90001, 90002, 1)
        other[0]["AuditData"] = json.dumps({"Id": "by-admin", "UserId": "admin@contoso.com",
                                            "Parameters": [{"Name": "Identity", "Value": "Adele@contoso.com"}]})  # fmt: skip
        return 200, {"value": other if offset == 0 else []}

    exchange_router(mocked, {"Get-AdminAuditLogConfig": lambda p: (200, {"value": [{"UnifiedAuditLogIngestionEnabled": True}]}),
                             "Search-UnifiedAuditLog": search})  # fmt: skip
    events = compromise.mailbox_audit_events(exo, "adele@contoso.com", SINCE)
    assert len(events) == 7001 and any(
        e["id"] == "by-admin" and e["actor"] == "admin@contoso.com" for e in events
    )
    searches = [p for name, p in cmdlets(mocked) if name == "Search-UnifiedAuditLog"]
    assert [p["ResultSize"] for p in searches] == [5000, 5000, 5000]
    assert (
        searches[0]["SessionCommand"] == "ReturnLargeSet"
        and searches[0]["SessionId"] == searches[1]["SessionId"]
    )
    assert "New-InboxRule" in searches[0]["Operations"] and "Set-Mailbox" in searches[0]["Operations"]


def test_mailbox_audit_off_is_reported_not_empty(exo, mocked):
    exchange_router(
        mocked,
        {"Get-AdminAuditLogConfig": lambda p: (200, {"value": [{"UnifiedAuditLogIngestionEnabled": False}]})},
    )
    with pytest.raises(SourceUnavailable) as caught:
        compromise.mailbox_audit_events(exo, "adele@contoso.com", SINCE)
    assert caught.value.reason == compromise.AUDIT_OFF
    assert [name for name, _ in cmdlets(mocked)] == ["Get-AdminAuditLogConfig"]


def test_a_search_beyond_fifty_thousand_is_split_in_time(exo, mocked):
    windows = []

    def search(params):
        windows.append((params["StartDate"], params["EndDate"]))
        huge = (
            params["StartDate"] == compromise.graph_iso(SINCE)
            and params["EndDate"].endswith("Z")
            and len(windows) == 1
        )
        return 200, {"value": audit_rows(1, 2, 60_000) if huge else []}

    exchange_router(mocked, {"Search-UnifiedAuditLog": search})
    compromise_exchange._search(exo, SINCE, SINCE + timedelta(days=2), {"Operations": ["Set-Mailbox"]})
    assert windows[1:] == [(compromise.graph_iso(SINCE), compromise.graph_iso(SINCE + timedelta(days=1))),
                           (compromise.graph_iso(SINCE + timedelta(days=1)), compromise.graph_iso(SINCE + timedelta(days=2)))]  # fmt: skip


def test_sent_messages_use_ten_day_windows_and_continue_full_pages(exo, mocked, monkeypatch):
    monkeypatch.setattr(compromise_exchange, "TRACE_PAGE", 2)
    rows = [{"Received": f"2026-11-2{n}T10:00:00Z", "RecipientAddress": f"r{n}@gmail.com", "SenderAddress": "adele@contoso.com",
             "MessageTraceId": f"t{n}"} for n in range(3)]  # fmt: skip

    asked = []

    def trace(params):
        asked.append(params)
        if params.get("StartingRecipientAddress") == "r1@gmail.com":
            return 200, {"value": rows[2:]}
        return 200, {"value": rows[:2] if len(asked) == 1 else []}

    exchange_router(mocked, {"Get-MessageTraceV2": trace})
    found = compromise.sent_messages(exo, "adele@contoso.com", datetime.now(UTC) - timedelta(days=25))
    assert [r["recipient"] for r in found] == ["r2@gmail.com", "r1@gmail.com", "r0@gmail.com"]
    calls = [p for _name, p in cmdlets(mocked)]
    assert (
        calls[1]["EndDate"] == rows[1]["Received"] and calls[1]["StartingRecipientAddress"] == "r1@gmail.com"
    )
    windows = [p for p in calls if "StartingRecipientAddress" not in p]

    def span(p):
        return datetime.fromisoformat(p["EndDate"].replace("Z", "+00:00")) - datetime.fromisoformat(
            p["StartDate"].replace("Z", "+00:00")
        )

    assert len(windows) == 3 and all(span(p) <= timedelta(days=10) for p in windows)
    assert all(p["SenderAddress"] == "adele@contoso.com" and p["ResultSize"] == 2 for p in calls)
    assert compromise.external_recipients(found, ["contoso.com"]) == sorted({r["recipient"] for r in found})


# --- against the seeded sandbox ----------------------------------------------------------------------------------


@pytest.fixture
def seeded(sandbox_connection, settings):
    """(graph client, exchange client, compromised user, clean users) per demo tenant name, real HTTP."""
    from cippusers import test_settings
    from graph.client import GraphClient
    from graph.sandbox.models import SandboxTenant
    from graph.sandbox.seed_compromise import compromise_cast
    from graph.tokens import TokenProvider

    settings.GRAPH_TRANSPORT_ADAPTERS = dict(test_settings.GRAPH_TRANSPORT_ADAPTERS)
    provider = TokenProvider()

    def world(name: str):
        tenant = SandboxTenant.objects.get(display_name=name)
        graph = GraphClient(sandbox_connection, str(tenant.pk), token_provider=provider)
        exchange = ExchangeClient(sandbox_connection, str(tenant.pk), token_provider=provider)
        compromised, clean = compromise_cast(tenant)
        return graph, exchange, compromised, clean

    return world


def reason(call) -> str:
    with pytest.raises(SourceUnavailable) as caught:
        call()
    return caught.value.reason


def test_seeded_compromised_user_shows_every_planted_indicator(seeded):
    graph, exchange, user, clean = seeded("Northwind Traders")  # Entra ID P1, no P2, audit on
    since, upn = datetime.now(UTC) - timedelta(days=7), user.upn_lower
    sign_ins = compromise.user_sign_ins(graph, str(user.pk), since)
    ok = [s for s in sign_ins if s["ok"]]
    assert {"NG", "RU", "GB"} <= {s["country"] for s in ok}
    assert any(s["legacy_auth"] and s["client"] == "IMAP4" and s["country"] == "RU" for s in ok)
    lagos = next(s for s in reversed(sign_ins) if s["ok"] and s["country"] == "NG")
    home = next(s for s in sign_ins if s["ok"] and s["country"] == "GB" and s["when"] < lagos["when"])
    gap = datetime.fromisoformat(lagos["when"].replace("Z", "+00:00")) - datetime.fromisoformat(
        home["when"].replace("Z", "+00:00")
    )
    assert timedelta(0) < gap <= timedelta(hours=1) and lagos["latitude"] is not None
    rules = {r["name"]: r for r in compromise.inbox_rules(exchange, upn)}
    assert rules["."]["forward_to"] == ["remit.accounts.dept@protonmail.com"] and not rules["."]["hidden"]
    assert rules[".."]["move_to_folder"] == "RSS Feeds" and rules[".."]["mark_as_read"]
    assert rules["Sync"]["hidden"] and rules["Sync"]["delete_message"]
    assert compromise.mailbox_forwarding(exchange, upn)["target"] == "remit.accounts.dept@protonmail.com"
    changes = compromise.mailbox_audit_events(exchange, upn, since)
    assert sorted(e["operation"] for e in changes) == [
        "New-InboxRule",
        "New-InboxRule",
        "Set-Mailbox",
        "UpdateInboxRules",
    ]
    assert {e["rule_name"] for e in changes if e["kind"] == "inbox_rule"} == {".", "..", "Sync"}
    assert {e["client_ip"].split(":")[0] for e in changes} == {"102.89.33.17"}
    audits = compromise.directory_audits_for_user(graph, str(user.pk), since)
    assert {"Consent to application", "User registered security info", "Add service principal"} <= {
        a["activity"] for a in audits
    }
    methods = compromise.auth_method_changes(graph, str(user.pk), since, audits=audits)
    assert [m["type"] for m in methods["recent"]] == ["microsoftAuthenticatorAuthenticationMethod"]
    assert [e["activity"] for e in methods["events"]] == ["User registered security info"]
    (grant,) = compromise.oauth_grants(graph, str(user.pk))
    assert {"Mail.ReadWrite", "offline_access"} <= set(grant["scopes"]) and grant[
        "resource"
    ] == "Microsoft Graph"
    assert (
        grant["app"]["display_name"] == "Mail Sync Pro"
        and not grant["app"]["verified"]
        and grant["app"]["created"]
    )
    assert [a["app"]["display_name"] for a in compromise.app_role_assignments(graph, str(user.pk))] == [
        "Mail Sync Pro"
    ]
    assert [s["display_name"] for s in compromise.new_service_principals(graph, since)] == ["Mail Sync Pro"]
    sent = compromise.sent_messages(exchange, upn, since)
    assert (
        len(
            compromise.external_recipients(
                sent, ["northwindtraders.com", "northwind.co.uk", "northwindtraders.onmicrosoft.com"]
            )
        )
        == 80
    )
    assert reason(lambda: compromise.risky_user(graph, str(user.pk))) == compromise.NEEDS_P2


def test_seeded_clean_users_look_normal(seeded):
    graph, exchange, _user, clean = seeded("Northwind Traders")
    since = datetime.now(UTC) - timedelta(days=7)
    assert len(clean) == 2
    for user in clean:
        sign_ins = compromise.user_sign_ins(graph, str(user.pk), since)
        assert (
            sign_ins and {s["country"] for s in sign_ins} == {"GB"} and len({s["ip"] for s in sign_ins}) == 1
        )
        assert all(s["ok"] and not s["legacy_auth"] for s in sign_ins)
        assert [r for r in compromise.inbox_rules(exchange, user.upn_lower) if not r["system"]] == []
        assert compromise.mailbox_forwarding(exchange, user.upn_lower)["target"] == ""
        assert compromise.mailbox_audit_events(exchange, user.upn_lower, since) == []
        changes = compromise.auth_method_changes(graph, str(user.pk), since)
        assert (
            changes["recent"] == []
            and changes["events"] == []
            and changes["last_password_change"] < since.isoformat()
        )
        assert (
            compromise.oauth_grants(graph, str(user.pk)) == []
            and compromise.app_role_assignments(graph, str(user.pk)) == []
        )
        audits = compromise.directory_audits_for_user(graph, str(user.pk), since)
        assert [(a["activity"], a["role"]) for a in audits] == [("Update user", "target")]
        sent = compromise.sent_messages(exchange, user.upn_lower, since)
        assert len(compromise.external_recipients(sent, ["northwindtraders.com", "northwind.co.uk"])) <= 1


def test_licences_and_audit_switch_decide_what_can_be_checked(seeded):
    since = datetime.now(UTC) - timedelta(days=7)
    graph, exchange, user, clean = seeded("Fabrikam Inc")  # P1 + P2
    assert compromise.risky_user(graph, str(user.pk))["risk_level"] == "high"
    assert compromise.risky_user(graph, str(user.pk))["at_risk"] is True
    assert compromise.risky_user(graph, str(clean[0].pk))["at_risk"] is False
    graph, exchange, user, _clean = seeded("Tailspin Toys")  # no P1/P2, unified audit log off
    assert reason(lambda: compromise.user_sign_ins(graph, str(user.pk), since)) == compromise.NEEDS_P1
    assert reason(lambda: compromise.risky_user(graph, str(user.pk))) == compromise.NEEDS_P2
    assert (
        reason(lambda: compromise.mailbox_audit_events(exchange, user.upn_lower, since))
        == compromise.AUDIT_OFF
    )
    assert "Consent to application" in {
        a["activity"] for a in compromise.directory_audits_for_user(graph, str(user.pk), since)
    }
    assert any(r["hidden"] for r in compromise.inbox_rules(exchange, user.upn_lower))


def test_remediation_is_reflected_by_the_sandbox(seeded):
    from graph.sandbox.models import SandboxUser
    from graph.services import account, mailbox_admin, mfa

    graph, exchange, user, _clean = seeded("Northwind Traders")
    user_id, upn = str(user.pk), user.upn_lower
    account.set_account_enabled(graph, user_id, False)
    account.revoke_sessions(graph, user_id)
    before = SandboxUser.objects.get(pk=user.pk).password_hash
    account.reset_password_cloud(graph, user_id, "Tmp-Passw0rd-4-Reset!", force_change=True)
    for method in mfa.removable_methods(graph, user_id):
        mfa.delete_method(graph, user_id, method["type"], method["id"])
    for rule in compromise.inbox_rules(exchange, upn):
        if not rule["system"]:
            compromise.disable_inbox_rule(exchange, upn, rule["identity"])
    mailbox_admin.clear_forwarding(exchange, upn)
    for grant in compromise.oauth_grants(graph, user_id):
        assert compromise.revoke_oauth_grant(graph, grant["id"]) is True

    fresh = SandboxUser.objects.get(pk=user.pk)
    assert fresh.account_enabled is False and fresh.sessions_valid_after is not None
    assert fresh.password_hash != before
    assert fresh.properties["lastPasswordChangeDateTime"] >= compromise.graph_iso(
        datetime.now(UTC) - timedelta(minutes=5)
    )
    assert [m["type"] for m in compromise.auth_method_changes(graph, user_id, SINCE)["current"]] == [
        "passwordAuthenticationMethod"
    ]
    assert all(not r["enabled"] for r in compromise.inbox_rules(exchange, upn) if not r["system"])
    assert compromise.mailbox_forwarding(exchange, upn)["target"] == ""
    assert compromise.oauth_grants(graph, user_id) == []
