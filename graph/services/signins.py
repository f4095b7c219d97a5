"""A user's recent sign-ins from the Entra sign-in log (``/auditLogs/signIns``).

Graph serves sign-in logs only to tenants with Entra ID P1/P2; callers check ``Tenant.has_entra_p1`` first
and do not call this at all otherwise (Graph would answer 403
``Authentication_RequestFromNonPremiumTenantOrB2CTenant``).
"""

from __future__ import annotations

import uuid

from graph.client import GraphClient

DEFAULT_TOP = 50


def sign_ins_params(user_id: str, top: int = DEFAULT_TOP) -> dict:
    # Only a GUID goes into the filter: the value is interpolated into OData, so nothing else is allowed.
    guid = str(uuid.UUID(str(user_id)))
    return {"$filter": f"userId eq '{guid}'", "$top": max(1, min(int(top), 1000))}


def parse_sign_in(item: dict) -> dict:
    status = item.get("status") or {}
    location = item.get("location") or {}
    device = item.get("deviceDetail") or {}
    error_code = status.get("errorCode")
    place = ", ".join(x for x in (location.get("city"), location.get("countryOrRegion")) if x)
    return {
        "id": item.get("id") or "",
        "when": item.get("createdDateTime"),
        "app": item.get("appDisplayName") or item.get("appId") or "",
        "resource": item.get("resourceDisplayName") or "",
        "client": item.get("clientAppUsed") or "",
        "ip": item.get("ipAddress") or "",
        "location": place,
        "country": location.get("countryOrRegion") or "",
        "device": device.get("displayName") or "",
        "os": device.get("operatingSystem") or "",
        "browser": device.get("browser") or "",
        "ok": error_code in (0, None),
        "error_code": error_code,
        "failure": status.get("failureReason") if error_code not in (0, None) else "",
        "detail": status.get("additionalDetails") or "",
        "interactive": item.get("isInteractive"),
        "conditional_access": item.get("conditionalAccessStatus") or "",
        "risk": item.get("riskLevelAggregated") or "",
    }


def list_recent_sign_ins(client: GraphClient, user_id: str, top: int = DEFAULT_TOP) -> list[dict]:
    """The ``top`` newest sign-ins of the user (one page; Graph returns newest first)."""
    body = client.get("/auditLogs/signIns", params=sign_ins_params(user_id, top))
    return [parse_sign_in(item) for item in body.get("value") or []]
