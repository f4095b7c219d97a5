"""Read the evidence sources of "Research compromised account", one function per source.

Every function returns plain dicts (JSON-serialisable: datetimes as ISO 8601 text, ``"...Z"``) and raises
:class:`SourceUnavailable` when the source cannot be read, so the report says "could not check: <reason>"
instead of "nothing found". Other GraphErrors (a bug, a 400) propagate unchanged.

Signatures (``since`` / ``until`` are aware datetimes; ``client`` is a v1.0 GraphClient, ``exchange`` an
ExchangeClient)::

    class SourceUnavailable(Exception): .reason (one of REASONS), .detail (str), .error (GraphError | None)
    REASONS = NEEDS_P1, NEEDS_P2, AUDIT_OFF, PERMISSION, THROTTLED, UNAVAILABLE, NO_MAILBOX

    user_sign_ins(client, user_id, since, until=None) -> list[dict]            # newest first, all pages
    directory_audits_for_user(client, user_id, since) -> list[dict]           # actor or target, merged
    inbox_rules(exchange, upn) -> list[dict]                                  # hidden ones flagged
    disable_inbox_rule(exchange, upn, identity) -> None                       # identity from inbox_rules
    mailbox_forwarding(exchange, upn) -> dict
    unified_audit_enabled(exchange) -> bool
    mailbox_audit_events(exchange, upn, since, until=None) -> list[dict]      # unified audit log, all pages
    auth_method_changes(client, user_id, since, audits=None) -> dict          # {"current", "recent", "events", ...}
    oauth_grants(client, user_id) -> list[dict]                               # with the app's publisher
    app_role_assignments(client, user_id) -> list[dict]
    new_service_principals(client, since) -> list[dict]
    sent_messages(exchange, upn, since, until=None) -> list[dict]             # message trace, all rounds
    external_recipients(messages, tenant_domains) -> list[str]
    risky_user(client, user_id) -> dict                                       # {"risk_level": "none", ...}
    revoke_oauth_grant(client, grant_id) -> bool                              # False: it was already gone

The shapes of the returned dicts are documented on each function. Entra keeps directory audits 7 days in
tenants without Entra ID P1/P2 and 30 days with them (AUDIT_RETENTION_DAYS), so a longer window is only
partly covered by directory_audits_for_user, auth_method_changes' events and new_service_principals. Sources that need a licence are still
called (the tenant's licences may have changed since the last sync); the answer decides.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime

from graph.client import GraphClient
from graph.errors import GraphError, NotFoundError
from graph.services.auth_methods import list_authentication_methods
from graph.services.compromise_errors import (  # noqa: F401
    AUDIT_OFF,
    NEEDS_P1,
    NEEDS_P2,
    NO_MAILBOX,
    PERMISSION,
    REASONS,
    THROTTLED,
    UNAVAILABLE,
    SourceUnavailable,
    graph_iso,
    source,
)
from graph.services.compromise_exchange import (  # noqa: F401  (re-exported: one module for callers)
    disable_inbox_rule,
    external_recipients,
    inbox_rules,
    mailbox_audit_events,
    mailbox_forwarding,
    sent_messages,
    unified_audit_enabled,
)
from graph.services.signins import parse_sign_in

logger = logging.getLogger(__name__)

# clientAppUsed values of basic ("legacy") authentication protocols (Entra sign-in log "Client app").
# Exchange ActiveSync is left out: it also runs on modern authentication.
LEGACY_CLIENT_APPS = frozenset(
    {
        "Authenticated SMTP", "AutoDiscover", "Exchange Online PowerShell", "Exchange Web Services", "IMAP4",
        "MAPI Over HTTP", "Offline Address Book", "Outlook Anywhere (RPC over HTTP)", "POP3",
        "Reporting Web Services", "Other clients",
    }
)  # fmt: skip
# Tenants Microsoft's own applications are registered in (appOwnerOrganizationId of first-party apps).
MICROSOFT_TENANTS = frozenset(
    {"f8cdef31-a31e-4b4a-93e4-5f571e91255a", "72f988bf-86f1-41af-91ab-2d7cd011db47"}
)
AUDIT_RETENTION_DAYS = {"free": 7, "premium": 30}
DEFAULT_ACCESS_ROLE = "00000000-0000-0000-0000-000000000000"
SP_SELECT = (
    "id,appId,displayName,appDisplayName,appOwnerOrganizationId,publisherName,verifiedPublisher,"
    "signInAudience,servicePrincipalType,appRoles"
)
# Directory audit activities about sign-in credentials (Entra "audit log categories and activities").
AUTH_ACTIVITY_WORDS = ("security info", "password", "temporary access pass", "authentication method")


def _guid(value: str) -> str:
    # Only a GUID is ever interpolated into an OData filter.
    return str(uuid.UUID(str(value)))


# --- sign-ins -------------------------------------------------------------------------------------------


def parse_full_sign_in(item: dict) -> dict:
    """``signins.parse_sign_in`` plus what the indicator rules need: coordinates, app id, legacy flag."""
    row = parse_sign_in(item)
    # A success is errorCode 0 *and* Conditional Access not failing (the reference product tests only the
    # first half).
    row["ok"] = row["ok"] and (item.get("conditionalAccessStatus") or "") != "failure"
    location = item.get("location") or {}
    coordinates = location.get("geoCoordinates") or {}
    device = item.get("deviceDetail") or {}
    row.update(
        {
            "city": location.get("city") or "",
            "state": location.get("state") or "",
            "latitude": coordinates.get("latitude"),
            "longitude": coordinates.get("longitude"),
            "app_id": item.get("appId") or "",
            "device_id": device.get("deviceId") or "",
            "compliant": bool(device.get("isCompliant")),
            "managed": bool(device.get("isManaged")),
            "risk_state": item.get("riskState") or "",
            "risk_during": item.get("riskLevelDuringSignIn") or "",
            "correlation_id": item.get("correlationId") or "",
            "legacy_auth": (item.get("clientAppUsed") or "") in LEGACY_CLIENT_APPS,
        }
    )
    return row


def user_sign_ins(
    client: GraphClient, user_id: str, since: datetime, until: datetime | None = None
) -> list[dict]:
    """Every sign-in of the user in the window, newest first, all pages (never the tenant's).

    Row keys: id, when, app, app_id, resource, client, ip, location, country, city, state, latitude,
    longitude, device, device_id, os, browser, compliant, managed, ok, error_code, failure, detail,
    interactive, conditional_access, risk, risk_state, risk_during, correlation_id, legacy_auth."""
    query = f"userId eq '{_guid(user_id)}' and createdDateTime ge {graph_iso(since)}"
    if until is not None:
        query += f" and createdDateTime le {graph_iso(until)}"
    rows: list[dict] = []
    with source(licence=NEEDS_P1):
        for page in client.iter_pages("/auditLogs/signIns", params={"$filter": query, "$top": 1000}):
            rows.extend(parse_full_sign_in(item) for item in page)
    return rows


# --- directory audits -----------------------------------------------------------------------------------


def parse_audit(item: dict) -> dict:
    initiated = item.get("initiatedBy") or {}
    user = initiated.get("user") or {}
    app = initiated.get("app") or {}
    if user.get("id") or user.get("userPrincipalName"):
        actor = {"type": "user", "id": user.get("id") or "", "upn": user.get("userPrincipalName") or "",
                 "display_name": user.get("displayName") or "", "ip": user.get("ipAddress") or ""}  # fmt: skip
    else:
        actor = {"type": "app", "id": app.get("servicePrincipalId") or app.get("appId") or "", "upn": "",
                 "display_name": app.get("displayName") or "", "ip": ""}  # fmt: skip
    targets = [
        {
            "id": t.get("id") or "",
            "type": t.get("type") or "",
            "display_name": t.get("displayName") or "",
            "upn": t.get("userPrincipalName") or "",
            "modified": [
                {"name": m.get("displayName") or "", "old": m.get("oldValue"), "new": m.get("newValue")}
                for m in t.get("modifiedProperties") or []
            ],
        }
        for t in item.get("targetResources") or []
    ]
    return {
        "id": item.get("id") or "",
        "when": item.get("activityDateTime"),
        "activity": item.get("activityDisplayName") or "",
        "category": item.get("category") or "",
        "service": item.get("loggedByService") or "",
        "operation_type": item.get("operationType") or "",
        "result": item.get("result") or "",
        "result_reason": item.get("resultReason") or "",
        "actor": actor,
        "targets": targets,
        "details": {
            d.get("key"): d.get("value") for d in item.get("additionalDetails") or [] if d.get("key")
        },
    }


def _audits(client: GraphClient, query: str) -> Iterator[dict]:
    for page in client.iter_pages("/auditLogs/directoryAudits", params={"$filter": query}):
        yield from page


def directory_audits_for_user(client: GraphClient, user_id: str, since: datetime) -> list[dict]:
    """Audit events in the window where the user acted or was a target (two queries, merged by id), newest
    first; ``role`` is "actor", "target" or "both". Entra keeps 7 days without P1/P2 and 30 with them.

    Row keys: id, when, activity, category, service, operation_type, result, result_reason,
    actor {type, id, upn, display_name, ip}, targets [{id, type, display_name, upn, modified [{name, old, new}]}],
    details {key: value}, role."""
    guid, moment = _guid(user_id), graph_iso(since)
    merged: dict[str, dict] = {}
    with source():
        for role, clause in (
            ("actor", f"initiatedBy/user/id eq '{guid}'"),
            ("target", f"targetResources/any(t:t/id eq '{guid}')"),
        ):
            for item in _audits(client, f"{clause} and activityDateTime ge {moment}"):
                row = merged.get(item.get("id") or "")
                if row is None:
                    row = parse_audit(item)
                    row["role"] = role
                    merged[row["id"]] = row
                elif row["role"] != role:
                    row["role"] = "both"
    return sorted(merged.values(), key=lambda r: r["when"] or "", reverse=True)


# --- authentication methods -----------------------------------------------------------------------------


def is_auth_event(event: dict) -> bool:
    activity = event.get("activity", "").lower()
    return any(word in activity for word in AUTH_ACTIVITY_WORDS)


def auth_method_changes(
    client: GraphClient, user_id: str, since: datetime, audits: list[dict] | None = None
) -> dict:
    """``{"current": [...], "recent": [...], "events": [...], "last_password_change": iso | None,
    "events_unavailable": reason | None}``.

    ``current`` is auth_methods.parse_methods output; ``recent`` the methods created in the window;
    ``events`` the directory audit events about security info, passwords and TAPs where the user was the
    target (pass ``audits`` from directory_audits_for_user to avoid reading the audit log twice)."""
    guid = _guid(user_id)
    with source():
        current = list_authentication_methods(client, guid)
        profile = client.get(f"/users/{guid}", params={"$select": "id,lastPasswordChangeDateTime"})
    cutoff = graph_iso(since)
    recent = [m for m in current if m.get("created") and m["created"] >= cutoff]
    unavailable = None
    if audits is None:
        try:
            audits = directory_audits_for_user(client, guid, since)
        except SourceUnavailable as exc:
            audits, unavailable = [], exc.reason
    events = [a for a in audits if a.get("role") in ("target", "both") and is_auth_event(a)]
    return {
        "current": current,
        "recent": recent,
        "events": events,
        "last_password_change": profile.get("lastPasswordChangeDateTime"),
        "events_unavailable": unavailable,
    }


# --- applications -----------------------------------------------------------------------------------------


class _Apps:
    """Service principal lookups shared by one research run (each id read once)."""

    def __init__(self, client: GraphClient) -> None:
        self.client = client
        self.cache: dict[str, dict] = {}
        self.histories: dict[str, dict] = {}

    def get(self, sp_id: str) -> dict:
        if sp_id not in self.cache:
            try:
                item = self.client.get(f"/servicePrincipals/{_guid(sp_id)}", params={"$select": SP_SELECT})
            except NotFoundError:
                item = {"id": sp_id, "deleted": True}
            self.cache[sp_id] = item
        return self.cache[sp_id]

    def summary(self, sp_id: str) -> dict:
        item = self.get(sp_id)
        owner = str(item.get("appOwnerOrganizationId") or "").lower()
        verified = item.get("verifiedPublisher") or {}
        return {
            "id": sp_id,
            "app_id": item.get("appId") or "",
            "display_name": item.get("displayName") or item.get("appDisplayName") or "",
            "publisher_name": item.get("publisherName") or "",
            "verified_publisher": verified.get("displayName") or "",
            "verified": bool(verified.get("verifiedPublisherId")),
            "owner_tenant_id": owner,
            "first_party": owner in MICROSOFT_TENANTS,
            "home_tenant": bool(owner) and owner == self.client.tenant_id.lower(),
            "sign_in_audience": item.get("signInAudience") or "",
            "deleted": bool(item.get("deleted")),
        }

    def history(self, sp_id: str) -> dict:
        """When the app arrived in the tenant and was last consented to, from the audit log (None when
        older than its retention or the log cannot be read)."""
        if sp_id in self.histories:
            return self.histories[sp_id]
        created = consented = None
        try:
            for event in _audits(self.client, f"targetResources/any(t:t/id eq '{_guid(sp_id)}')"):
                name = event.get("activityDisplayName")
                when = event.get("activityDateTime")
                if name == "Add service principal" and (created is None or when < created):
                    created = when
                if name == "Consent to application" and (consented is None or when > consented):
                    consented = when
        except GraphError as error:
            logger.info("audit history of service principal %s unavailable: %s", sp_id, error)
        self.histories[sp_id] = {"created": created, "consented": consented}
        return self.histories[sp_id]


def oauth_grants(client: GraphClient, user_id: str) -> list[dict]:
    """The user's delegated consents: ``[{id, client_id, resource_id, consent_type, scopes, resource,
    app {id, app_id, display_name, publisher_name, verified_publisher, verified, owner_tenant_id,
    first_party, home_tenant, sign_in_audience, deleted, created, consented}}]``."""
    apps = _Apps(client)
    rows = []
    with source():
        for page in client.iter_pages(f"/users/{_guid(user_id)}/oauth2PermissionGrants"):
            for grant in page:
                client_id = str(grant.get("clientId") or "")
                resource_id = str(grant.get("resourceId") or "")
                app = apps.summary(client_id) | apps.history(client_id)
                rows.append(
                    {
                        "id": grant.get("id") or "",
                        "client_id": client_id,
                        "resource_id": resource_id,
                        "consent_type": grant.get("consentType") or "",
                        "scopes": (grant.get("scope") or "").split(),
                        "resource": apps.summary(resource_id)["display_name"] if resource_id else "",
                        "app": app,
                    }
                )
    return rows


def app_role_assignments(client: GraphClient, user_id: str) -> list[dict]:
    """``[{id, created, app_role_id, role, resource_id, app {...as oauth_grants, without history}}]``."""
    apps = _Apps(client)
    rows = []
    with source():
        for page in client.iter_pages(f"/users/{_guid(user_id)}/appRoleAssignments"):
            for item in page:
                resource_id = str(item.get("resourceId") or "")
                role_id = str(item.get("appRoleId") or "")
                roles = {str(r.get("id")): r for r in apps.get(resource_id).get("appRoles") or []}
                role = roles.get(role_id, {})
                rows.append(
                    {
                        "id": item.get("id") or "",
                        "created": item.get("createdDateTime"),
                        "app_role_id": role_id,
                        "role": "Default access"
                        if role_id == DEFAULT_ACCESS_ROLE
                        else role.get("value") or role.get("displayName") or role_id,
                        "resource_id": resource_id,
                        "app": apps.summary(resource_id),
                    }
                )
    return rows


def new_service_principals(client: GraphClient, since: datetime) -> list[dict]:
    """Enterprise applications added to the tenant in the window, from the audit log's "Add service
    principal" events (the documented record of it): ``[{...app summary, created, created_by}]``."""
    apps = _Apps(client)
    query = f"activityDisplayName eq 'Add service principal' and activityDateTime ge {graph_iso(since)}"
    found: dict[str, dict] = {}
    with source():
        for event in _audits(client, query):
            parsed = parse_audit(event)
            for target in parsed["targets"]:
                if target["type"] != "ServicePrincipal" or not target["id"] or target["id"] in found:
                    continue
                row = apps.summary(target["id"])
                row["display_name"] = row["display_name"] or target["display_name"]
                actor = parsed["actor"]
                row.update(created=parsed["when"], created_by=actor["upn"] or actor["display_name"])
                found[target["id"]] = row
    return sorted(found.values(), key=lambda r: r["created"] or "", reverse=True)


def revoke_oauth_grant(client: GraphClient, grant_id: str) -> bool:
    """Delete a delegated permission grant; False when it no longer existed."""
    if not grant_id or "/" in grant_id or "?" in grant_id:
        raise ValueError("not an oAuth2PermissionGrant id")
    try:
        client.delete(f"/oauth2PermissionGrants/{grant_id}")
    except NotFoundError:
        return False
    return True


# --- identity protection -----------------------------------------------------------------------------------


def risky_user(client: GraphClient, user_id: str) -> dict:
    """``{"risk_level", "risk_state", "risk_detail", "updated", "at_risk"}``; a user Identity Protection
    never flagged reads as level/state "none". Needs Entra ID P2 (SourceUnavailable NEEDS_P2 otherwise)."""
    guid = _guid(user_id)
    with source(licence=NEEDS_P2):
        body = client.get("/identityProtection/riskyUsers", params={"$filter": f"id eq '{guid}'"})
    found = (body.get("value") or [None])[0] or {}
    state = found.get("riskState") or "none"
    return {
        "risk_level": found.get("riskLevel") or "none",
        "risk_state": state,
        "risk_detail": found.get("riskDetail") or "none",
        "updated": found.get("riskLastUpdatedDateTime"),
        "at_risk": state in ("atRisk", "confirmedCompromised"),
    }


__all__ = [
    "AUDIT_OFF", "NEEDS_P1", "NEEDS_P2", "NO_MAILBOX", "PERMISSION", "REASONS", "THROTTLED", "UNAVAILABLE",
    "SourceUnavailable", "app_role_assignments", "auth_method_changes", "directory_audits_for_user",
    "disable_inbox_rule",
    "external_recipients", "inbox_rules", "mailbox_audit_events", "mailbox_forwarding", "new_service_principals",
    "oauth_grants", "revoke_oauth_grant", "risky_user", "sent_messages", "unified_audit_enabled", "user_sign_ins",
]  # fmt: skip
