"""A user's directory role assignments, and removing one (``unifiedRoleAssignment``, v1.0).

* ``user_roles(client, user_id)``: every active role the user holds at any scope, each with its assignment:
  held directly (``principalId`` is the user: removable here) or through a role-assignable group the user
  belongs to (``principalId`` is the group: removing it would take the role from every member, so it is
  shown with the group's name and not offered). Reads ``GET /roleManagement/directory/roleAssignments``
  filtered on ``principalId eq`` (Microsoft documents the filter on principalId or roleDefinitionId), the
  user's role-assignable groups from ``transitiveMemberOf/microsoft.graph.group`` (an advanced query: needs
  ``ConsistencyLevel: eventual``) and the role names from ``roleDefinitions``.
* ``assignments_for_role(client, definition_id)``: how many hold a role (Global Administrator before removing
  one: the tenant's last one is never removed).
* ``delete_assignment(client, assignment_id)``: ``DELETE /roleManagement/directory/roleAssignments/{id}``.
"""

from __future__ import annotations

from urllib.parse import quote

from graph.client import GraphClient

ASSIGNMENTS_PATH = "/roleManagement/directory/roleAssignments"
DEFINITIONS_PATH = "/roleManagement/directory/roleDefinitions"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
_EVENTUAL = {"ConsistencyLevel": "eventual"}


def _odata_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def assignments_of(client: GraphClient, principal_id: str) -> list[dict]:
    params = {"$filter": f"principalId eq {_odata_literal(principal_id)}"}
    return [item for page in client.iter_pages(ASSIGNMENTS_PATH, params=params) for item in page]


def assignments_for_role(client: GraphClient, definition_id: str) -> list[dict]:
    params = {"$filter": f"roleDefinitionId eq {_odata_literal(definition_id)}"}
    return [item for page in client.iter_pages(ASSIGNMENTS_PATH, params=params) for item in page]


def role_names(client: GraphClient) -> dict[str, str]:
    """Role definition id (lower case) → display name; built-in definitions have ``id == templateId``."""
    names: dict[str, str] = {}
    for page in client.iter_pages(DEFINITIONS_PATH, params={"$select": "id,templateId,displayName"}):
        for item in page:
            for key in (item.get("id"), item.get("templateId")):
                if key:
                    names[str(key).lower()] = str(item.get("displayName") or key)
    return names


def role_assignable_groups(client: GraphClient, user_id: str) -> list[dict]:
    path = f"/users/{quote(str(user_id), safe='@')}/transitiveMemberOf/microsoft.graph.group"
    params = {"$select": "id,displayName,isAssignableToRole", "$top": "999"}
    groups = []
    for page in client.iter_pages(path, params=params, headers=dict(_EVENTUAL)):
        groups.extend(g for g in page if g.get("isAssignableToRole") is True)
    return groups


def user_roles(client: GraphClient, user_id: str) -> list[dict]:
    """``[{assignment_id, role_id, role, scope, via_group_id, via_group, removable}]``, direct ones first, then
    by role name."""
    names = role_names(client)
    rows = []

    def add(item: dict, group: dict | None) -> None:
        role_id = str(item.get("roleDefinitionId") or "").lower()
        rows.append({
            "assignment_id": str(item.get("id") or ""),
            "role_id": role_id,
            "role": names.get(role_id, role_id or "Unknown role"),
            "scope": item.get("directoryScopeId") or "/",
            "via_group_id": str(group["id"]) if group else "",
            "via_group": str(group.get("displayName") or group["id"]) if group else "",
            "removable": group is None,
        })  # fmt: skip

    for item in assignments_of(client, str(user_id)):
        add(item, None)
    for group in role_assignable_groups(client, str(user_id)):
        for item in assignments_of(client, str(group["id"])):
            add(item, group)
    rows.sort(key=lambda r: (not r["removable"], r["role"].lower(), r["via_group"].lower()))
    return rows


def delete_assignment(client: GraphClient, assignment_id: str) -> None:
    client.delete(f"{ASSIGNMENTS_PATH}/{quote(str(assignment_id), safe='')}")
