"""A user's direct memberships (``memberOf``): groups with their kind, and directory (admin) roles."""

from __future__ import annotations

from graph.batch import BatchRequest
from graph.client import GraphClient

MEMBER_OF_SELECT = (
    "id,displayName,description,groupTypes,mailEnabled,securityEnabled,mail,onPremisesSyncEnabled,"
    "membershipRule,isAssignableToRole,roleTemplateId"
)
PAGE_SIZE = 999


def member_of_path(user_id: str) -> str:
    return f"/users/{user_id}/memberOf"


def member_of_request(user_id: str, request_id: str = "memberOf") -> BatchRequest:
    return BatchRequest(
        request_id, "GET", f"{member_of_path(user_id)}?$select={MEMBER_OF_SELECT}&$top={PAGE_SIZE}"
    )


def member_of_ids_request(user_id: str, request_id: str = "memberOf") -> BatchRequest:
    """The first page of the ids of a user's direct memberships (groups, roles, administrative units)."""
    return BatchRequest(request_id, "GET", f"{member_of_path(user_id)}?$select=id&$top={PAGE_SIZE}")


def group_kind(group: dict) -> str:
    """Microsoft 365 / Security / Mail-enabled security / Distribution, as the admin centres name them."""
    if "Unified" in (group.get("groupTypes") or []):
        return "Microsoft 365"
    mail, security = bool(group.get("mailEnabled")), bool(group.get("securityEnabled"))
    if mail and security:
        return "Mail-enabled security"
    if mail:
        return "Distribution"
    return "Security"


def parse_memberships(items: list[dict]) -> dict:
    """``{"groups": [{id, name, kind, dynamic, synced, mail, description}], "roles": [{id, name,
    description, template_id}], "other": n}`` sorted by name."""
    groups, roles, other = [], [], 0
    for item in items:
        odata_type = item.get("@odata.type", "")
        if odata_type == "#microsoft.graph.group":
            groups.append(
                {
                    "id": item.get("id"),
                    "name": item.get("displayName") or item.get("id"),
                    "kind": group_kind(item),
                    "dynamic": "DynamicMembership" in (item.get("groupTypes") or []),
                    "synced": bool(item.get("onPremisesSyncEnabled")),
                    "mail": item.get("mail") or "",
                    "description": item.get("description") or "",
                }
            )
        elif odata_type == "#microsoft.graph.directoryRole":
            roles.append(
                {
                    "id": item.get("id"),
                    "name": item.get("displayName") or item.get("id"),
                    "description": item.get("description") or "",
                    "template_id": item.get("roleTemplateId") or "",
                }
            )
        else:  # administrative units and future kinds
            other += 1
    groups.sort(key=lambda g: str(g["name"]).lower())
    roles.sort(key=lambda r: str(r["name"]).lower())
    return {"groups": groups, "roles": roles, "other": other}


def list_memberships(client: GraphClient, user_id: str) -> dict:
    items: list[dict] = []
    params = {"$select": MEMBER_OF_SELECT, "$top": PAGE_SIZE}
    for page in client.iter_pages(member_of_path(user_id), params=params):
        items.extend(page)
    return parse_memberships(items)
