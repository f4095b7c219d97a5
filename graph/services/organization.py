"""A customer tenant's identity: name, verified domains, hybrid sync."""

from __future__ import annotations

from graph.client import GraphClient
from graph.errors import NotFoundError

SELECT = "id,displayName,verifiedDomains,onPremisesSyncEnabled,countryLetterCode"


def get_tenant_profile(client: GraphClient) -> dict:
    """``{tenant_id, display_name, domains: [{name, is_default, is_initial}], default_domain,
    initial_domain, on_premises_sync_enabled, country}`` from GET /organization.

    The organization's ``verifiedDomains`` already carries name/isDefault/isInitial for every verified
    domain, so GET /domains (which needs a broader permission) is not needed."""
    orgs = client.get("/organization", params={"$select": SELECT}).get("value") or []
    if not orgs:
        raise NotFoundError("the tenant returned no organization object", code="Request_ResourceNotFound")
    org = orgs[0]
    domains = [
        {
            "name": str(d.get("name", "")).lower(),
            "is_default": bool(d.get("isDefault")),
            "is_initial": bool(d.get("isInitial")),
        }
        for d in org.get("verifiedDomains") or []
        if d.get("name")
    ]
    domains.sort(key=lambda d: (not d["is_default"], d["name"]))
    default = next((d["name"] for d in domains if d["is_default"]), "")
    initial = next((d["name"] for d in domains if d["is_initial"]), "")
    return {
        "tenant_id": str(org.get("id") or client.tenant_id).lower(),
        "display_name": org.get("displayName") or default or client.tenant_id,
        "domains": domains,
        "default_domain": default,
        "initial_domain": initial,
        "on_premises_sync_enabled": bool(org.get("onPremisesSyncEnabled")),
        "country": org.get("countryLetterCode") or "",
    }
