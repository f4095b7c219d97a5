"""Users in a tenant's deleted items (soft-deleted, restorable for 30 days): list, restore, purge, and
the role assignments the privileged-target guard reads for them.

A deleted user answers no /users/{id}/... read (404), so its roles are read from
/roleManagement/directory/roleAssignments filtered by principalId (assignments stay with the deleted user).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from graph.client import GraphClient

DELETED_USERS_PATH = "/directory/deletedItems/microsoft.graph.user"
DELETED_SELECT = (
    "id", "displayName", "userPrincipalName", "mail", "deletedDateTime", "userType", "jobTitle",
    "department", "onPremisesSyncEnabled",
)  # fmt: skip
PAGE_SIZE = 999  # Graph's maximum $top for deleted items


def _object_id(user_id: str) -> str:
    # Only GUIDs: a deleted object is addressed by its id (never a UPN), and a GUID needs no quoting.
    return str(uuid.UUID(str(user_id)))


def iter_deleted_user_pages(
    client: GraphClient, select=DELETED_SELECT, page_size: int = PAGE_SIZE
) -> Iterator[list]:
    params = {"$select": ",".join(select), "$top": max(1, min(int(page_size), PAGE_SIZE))}
    yield from client.iter_pages(DELETED_USERS_PATH, params=params)


def list_deleted_users(client: GraphClient, *, limit: int = 5000) -> tuple[list[dict], bool]:
    """(deleted users, whether there were more than ``limit``)."""
    found: list[dict] = []
    for page in iter_deleted_user_pages(client):
        found.extend(page)
        if len(found) > limit:
            return found[:limit], True
    return found, False


def get_deleted_user(client: GraphClient, user_id: str, select=DELETED_SELECT) -> dict:
    return client.get(f"/directory/deletedItems/{_object_id(user_id)}", params={"$select": ",".join(select)})


def restore_deleted_user(client: GraphClient, user_id: str) -> dict:
    """POST .../restore; Graph answers the restored user (400 Request_BadRequest on a UPN/address clash)."""
    return client.post(f"/directory/deletedItems/{_object_id(user_id)}/restore", json={})


def purge_deleted_user(client: GraphClient, user_id: str) -> None:
    """Permanently delete: the object and its data cannot be recovered afterwards."""
    client.delete(f"/directory/deletedItems/{_object_id(user_id)}")


def role_assignments_of(client: GraphClient, user_id: str) -> list[dict]:
    """The directory role assignments held by ``user_id`` (each with roleDefinitionId = role template id
    for built-in roles)."""
    params = {
        "$filter": f"principalId eq '{_object_id(user_id)}'",
        "$select": "id,roleDefinitionId,principalId",
    }
    found: list[dict] = []
    for page in client.iter_pages("/roleManagement/directory/roleAssignments", params=params):
        found.extend(page)
    return found


def group_held_roles(client: GraphClient) -> list[tuple[str, str]]:
    """(group name, role template id) for every directory role held by a role-assignable group of the
    tenant. A deleted user's group memberships cannot be read, so these are the roles it may have held
    through a group (and gets back with its memberships when restored)."""
    params = {"$filter": "isAssignableToRole eq true", "$select": "id,displayName", "$top": 999}
    held: list[tuple[str, str]] = []
    for page in client.iter_pages("/groups", params=params):
        for group in page:
            for assignment in role_assignments_of(client, str(group.get("id"))):
                held.append(
                    (
                        str(group.get("displayName") or group.get("id")),
                        str(assignment.get("roleDefinitionId")),
                    )
                )
    return held
