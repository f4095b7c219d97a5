"""The evidence sources of a compromise research, and how each answer becomes the report's rows.

Each ``Source`` names one read in ``graph.services.compromise`` (looked up when called, so tests can replace
one function to make exactly that source fail) and a ``shape`` function turning the service's plain dicts
into the rows the rules, the tables and the CSV use. Sources marked ``section=False`` are context for the
rules (the user's profile, the tenant's domains and country, the sign-ins before the window) rather than a
section of the report of their own; they may fail too, and the report says what that changes.

``needs`` orders a source after another whose answer it reuses (the authentication-method history reads the
directory audits the directory section already fetched, instead of fetching them twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from graph.services import compromise

SIGN_IN_RETENTION_DAYS = 30  # Entra keeps sign-in logs 30 days (P1/P2): the baseline cannot reach further


@dataclass
class SourceContext:
    tenant: Any
    graph: Any  # GraphClient (v1.0)
    exchange: Any  # ExchangeClient
    user_id: str
    upn: str
    since: datetime
    until: datetime
    raw: dict  # key -> the raw answer of each finished source (for ``needs``)

    @property
    def baseline_since(self) -> datetime:
        return self.until - timedelta(days=SIGN_IN_RETENTION_DAYS)


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    what: str  # what the section checks, shown under its title
    service: str  # "graph" | "exchange": Exchange allows fewer concurrent calls
    fetch: Callable[[SourceContext], Any]
    shape: Callable[[Any], Any]
    section: bool = True
    needs: tuple[str, ...] = ()
    applies: Callable[[SourceContext], bool] = lambda ctx: True  # noqa: E731 - a declaration default


# --- small readers ---------------------------------------------------------------------------------------


def as_list(value: Any) -> list:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# --- shapes -------------------------------------------------------------------------------------------------
# The services' row keys are documented on each graph.services.compromise function; the report keeps the
# fields its tables, rules and CSV use, under short names.


def sign_in_row(item: dict) -> dict:
    ok = bool(item.get("ok"))
    return {
        "id": str(item.get("id") or ""),
        "when": item.get("when"),
        "ok": ok,
        "error_code": item.get("error_code") if item.get("error_code") is not None else 0,
        "failure": (item.get("failure") or "") if not ok else "",
        "app": item.get("app") or item.get("app_id") or "",
        "resource": item.get("resource") or "",
        "client": item.get("client") or "",
        "ip": item.get("ip") or "",
        "country": str(item.get("country") or "").upper(),
        "city": item.get("city") or "",
        "state": item.get("state") or "",
        "lat": item.get("latitude"),
        "lon": item.get("longitude"),
        "device": item.get("device") or "",
        "os": item.get("os") or "",
        "browser": item.get("browser") or "",
        "managed": bool(item.get("managed")),
        "compliant": bool(item.get("compliant")),
        "ca": item.get("conditional_access") or "",
        "risk": item.get("risk") or item.get("risk_during") or "",
        "interactive": item.get("interactive"),
    }


def sign_in_rows(items) -> list[dict]:
    return [sign_in_row(i) for i in as_list(items)]


def _conditions(conditions) -> str:
    if isinstance(conditions, str):
        return conditions
    labels = {"From": "from", "SentTo": "sent to", "SubjectContainsWords": "subject contains",
              "BodyContainsWords": "body contains", "SubjectOrBodyContainsWords": "subject or body contains",
              "FromAddressContainsWords": "sender contains"}  # fmt: skip
    parts = []
    for key, value in (conditions or {}).items():
        values = ", ".join(str(v) for v in as_list(value))
        if values:
            parts.append(f"{labels.get(key, key)} {values}")
    return "; ".join(parts)


def inbox_rule_row(item: dict) -> dict:
    return {
        "identity": str(item.get("identity") or ""),
        "name": str(item.get("name") or ""),
        "enabled": bool(item.get("enabled")),
        "hidden": bool(item.get("hidden")),
        "system": bool(item.get("system")),
        "priority": item.get("priority"),
        "forward_to": as_list(item.get("forward_to")),
        "redirect_to": as_list(item.get("redirect_to")),
        "forward_as_attachment_to": as_list(item.get("forward_as_attachment_to")),
        "delete": bool(item.get("delete_message") or item.get("soft_delete_message")),
        "mark_as_read": bool(item.get("mark_as_read")),
        "move_to": str(item.get("move_to_folder") or ""),
        "copy_to": str(item.get("copy_to_folder") or ""),
        "conditions": _conditions(item.get("conditions")),
        "stop_processing": bool(item.get("stop_processing")),
        "description": str(item.get("description") or ""),
    }


def inbox_rule_rows(items) -> list[dict]:
    return [inbox_rule_row(i) for i in as_list(items)]


def forwarding_row(item: dict) -> dict:
    item = item or {}
    return {
        "forwarding_smtp": str(item.get("forwarding_smtp_address") or ""),
        "forwarding_address": str(item.get("forwarding_address") or ""),
        "deliver_and_forward": bool(item.get("deliver_to_mailbox_and_forward")),
    }


def audit_event_row(item: dict) -> dict:
    params = item.get("parameters") if isinstance(item.get("parameters"), dict) else {}
    return {
        "id": str(item.get("id") or ""),
        "when": item.get("when"),
        "operation": str(item.get("operation") or ""),
        "kind": str(item.get("kind") or ""),
        "actor": str(item.get("actor") or ""),
        "client_ip": str(item.get("client_ip") or ""),
        "object": str(item.get("object_id") or ""),
        "mailbox_owner": str(item.get("mailbox_owner") or ""),
        "rule_name": str(item.get("rule_name") or ""),
        "parameters": {
            str(k): v if isinstance(v, str | int | float | bool) or v is None else str(v)
            for k, v in params.items()
        },  # fmt: skip
        "result": str(item.get("result_status") or ""),
    }


def audit_event_rows(items) -> list[dict]:
    return [audit_event_row(i) for i in as_list(items)]


def directory_audit_row(item: dict) -> dict:
    actor = item.get("actor") if isinstance(item.get("actor"), dict) else {}
    targets = [
        {"id": str(t.get("id") or ""), "name": str(t.get("upn") or t.get("display_name") or ""),
         "type": str(t.get("type") or ""),
         "modified": ", ".join(str(m.get("name") or "") for m in t.get("modified") or [] if m.get("name"))}
        for t in as_list(item.get("targets"))
        if isinstance(t, dict)
    ]  # fmt: skip
    return {
        "id": str(item.get("id") or ""),
        "when": item.get("when"),
        "activity": str(item.get("activity") or ""),
        "category": str(item.get("category") or ""),
        "actor": str(actor.get("upn") or actor.get("display_name") or ""),
        "actor_id": str(actor.get("id") or ""),
        "actor_ip": str(actor.get("ip") or ""),
        "targets": targets,
        "result": str(item.get("result") or ""),
        "detail": str(item.get("result_reason") or ""),
        "role": str(item.get("role") or ""),
    }


def directory_audit_rows(items) -> list[dict]:
    return [directory_audit_row(i) for i in as_list(items)]


def auth_methods_shape(data) -> dict:
    data = data or {}
    methods = [
        {"id": str(m.get("id") or ""), "type": str(m.get("type") or ""), "label": str(m.get("label") or ""),
         "detail": str(m.get("display_name") or m.get("detail") or ""), "created": m.get("created")}
        for m in as_list(data.get("current"))
    ]  # fmt: skip
    return {
        "methods": methods,
        "events": [directory_audit_row(e) for e in as_list(data.get("events"))],
        "last_pwd_change": data.get("last_password_change") or "",
        "events_unavailable": str(data.get("events_unavailable") or ""),
    }


def _app(item: dict) -> dict:
    app = item.get("app") if isinstance(item.get("app"), dict) else item
    publisher = app.get("verified_publisher") or app.get("publisher_name") or ""
    if app.get("first_party") and not publisher:
        publisher = "Microsoft"
    return {
        "app_name": str(app.get("display_name") or app.get("app_id") or ""),
        "app_id": str(app.get("app_id") or ""),
        "publisher": str(publisher),
        # Microsoft's own apps carry no verifiedPublisher but are Microsoft's by their owner tenant.
        "verified": bool(app.get("verified") or app.get("first_party")),
        "first_party": bool(app.get("first_party")),
    }


def grant_row(item: dict) -> dict:
    app = item.get("app") if isinstance(item.get("app"), dict) else {}
    return {
        "id": str(item.get("id") or ""),
        "client_id": str(item.get("client_id") or ""),
        **_app(item),
        "sp_created": app.get("created") or "",
        "consented": app.get("consented") or "",
        "consent_type": str(item.get("consent_type") or ""),
        "scopes": [str(s) for s in as_list(item.get("scopes"))],
        "resource": str(item.get("resource") or ""),
    }


def app_role_row(item: dict) -> dict:
    return {"id": str(item.get("id") or ""), **_app(item), "role": str(item.get("role") or ""),
            "created": item.get("created") or ""}  # fmt: skip


def new_app_row(item: dict) -> dict:
    app = _app(item)
    return {"id": str(item.get("id") or ""), "app_id": app["app_id"], "name": app["app_name"],
            "publisher": app["publisher"], "verified": app["verified"], "created": item.get("created") or "",
            "created_by": str(item.get("created_by") or "")}  # fmt: skip


def message_row(item: dict) -> dict:
    return {
        "when": item.get("when"),
        "recipient": str(item.get("recipient") or ""),
        "subject": str(item.get("subject") or ""),
        "status": str(item.get("status") or ""),
        "from_ip": str(item.get("from_ip") or ""),
        "message_id": str(item.get("message_id") or item.get("message_trace_id") or ""),
    }


def risk_shape(item) -> dict:
    item = item or {}
    return {
        "risk_level": str(item.get("risk_level") or "none"),
        "risk_state": str(item.get("risk_state") or "none"),
        "risk_detail": str(item.get("risk_detail") or "none"),
        "updated": item.get("updated") or "",
    }


def profile_shape(item: dict) -> dict:
    item = item or {}
    return {
        "account_enabled": bool(item.get("accountEnabled", True)),
        "usage_location": str(item.get("usageLocation") or "").upper(),
        "last_pwd_change": item.get("lastPasswordChangeDateTime") or "",
        "created": item.get("createdDateTime") or "",
        "synced": bool(item.get("onPremisesSyncEnabled")),
        "display_name": item.get("displayName") or "",
        "upn": item.get("userPrincipalName") or "",
    }


def organization_shape(item: dict) -> dict:
    item = item or {}
    return {
        "country": str(item.get("country") or "").upper(),
        "domains": sorted(
            {str(d.get("name") or "").lower() for d in item.get("domains") or [] if d.get("name")}
        ),
    }


# --- fetches --------------------------------------------------------------------------------------------------

PROFILE_SELECT = ("id,userPrincipalName,displayName,accountEnabled,usageLocation,lastPasswordChangeDateTime,"
                  "createdDateTime,onPremisesSyncEnabled")  # fmt: skip


def _profile(ctx: SourceContext):
    from graph.services.users import get_user

    return get_user(ctx.graph, ctx.user_id, PROFILE_SELECT)


def _organization(ctx: SourceContext):
    from graph.services.organization import get_tenant_profile

    return get_tenant_profile(ctx.graph)


def _auth_methods(ctx: SourceContext):
    audits = ctx.raw.get("directory_audits")
    return compromise.auth_method_changes(ctx.graph, ctx.user_id, ctx.since, audits=audits)


SOURCES: tuple[Source, ...] = (
    Source("profile", "Account", "The account as it is now.", "graph", _profile, profile_shape, section=False),
    Source("organization", "Tenant", "Verified domains and country.", "graph", _organization,
           organization_shape, section=False),  # fmt: skip
    Source("sign_ins", "Sign-ins", "Successful and failed sign-ins: new countries, impossible travel, legacy "
           "authentication, unfamiliar addresses.", "graph",
           lambda ctx: compromise.user_sign_ins(ctx.graph, ctx.user_id, ctx.since, ctx.until), sign_in_rows),
    Source("sign_in_baseline", "Sign-ins before the window", "Where the user usually signs in from.", "graph",
           lambda ctx: compromise.user_sign_ins(ctx.graph, ctx.user_id, ctx.baseline_since, ctx.since),
           sign_in_rows, section=False, applies=lambda ctx: ctx.since > ctx.baseline_since),
    Source("inbox_rules", "Inbox rules", "Current inbox rules, hidden ones included.", "exchange",
           lambda ctx: compromise.inbox_rules(ctx.exchange, ctx.upn), inbox_rule_rows),
    Source("mailbox_audit", "Mailbox changes", "Inbox rule changes, forwarding and mailbox permission or "
           "delegation changes from the unified audit log.", "exchange",
           lambda ctx: compromise.mailbox_audit_events(ctx.exchange, ctx.upn, ctx.since, ctx.until),
           audit_event_rows),
    Source("forwarding", "Mailbox forwarding", "Forwarding set on the mailbox itself.", "exchange",
           lambda ctx: compromise.mailbox_forwarding(ctx.exchange, ctx.upn), forwarding_row),
    Source("directory_audits", "Directory changes", "Directory audit events where the user acted or was the "
           "target: roles, new users, apps.", "graph",
           lambda ctx: compromise.directory_audits_for_user(ctx.graph, ctx.user_id, ctx.since),
           directory_audit_rows),
    Source("auth_methods", "Sign-in methods and password", "Methods registered or changed, password changes, "
           "Temporary Access Passes.", "graph", _auth_methods, auth_methods_shape, needs=("directory_audits",)),
    Source("oauth_grants", "App consents", "Delegated permissions the user granted, with publisher and scopes.",
           "graph", lambda ctx: compromise.oauth_grants(ctx.graph, ctx.user_id),
           lambda items: [grant_row(i) for i in as_list(items)]),
    Source("app_roles", "App role assignments", "Apps the user was given access to.", "graph",
           lambda ctx: compromise.app_role_assignments(ctx.graph, ctx.user_id),
           lambda items: [app_role_row(i) for i in as_list(items)]),
    Source("new_apps", "New apps in the tenant", "Service principals created during the window.", "graph",
           lambda ctx: compromise.new_service_principals(ctx.graph, ctx.since),
           lambda items: [new_app_row(i) for i in as_list(items)]),
    Source("sent_mail", "Sent mail", "Messages the user sent, and to whom outside the organisation.", "exchange",
           lambda ctx: compromise.sent_messages(ctx.exchange, ctx.upn, ctx.since, ctx.until),
           lambda items: [message_row(i) for i in as_list(items)]),
    Source("risk", "Identity Protection risk", "The user's risk state (Entra ID P2).", "graph",
           lambda ctx: compromise.risky_user(ctx.graph, ctx.user_id), risk_shape),
)  # fmt: skip
BY_KEY = {s.key: s for s in SOURCES}
SECTION_KEYS = tuple(s.key for s in SOURCES if s.section)
