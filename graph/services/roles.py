"""Directory roles: which role definitions Microsoft marks privileged, and which roles a user holds.

* ``privileged_definitions(beta_client)``: ``GET /roleManagement/directory/roleDefinitions`` filtered on
  ``isPrivileged eq true``. ``isPrivileged`` is documented on the *beta* unifiedRoleDefinition (the v1.0
  resource does not carry it), and Microsoft's "privileged roles and permissions" page gives exactly this
  beta query; so this read goes to beta. Built-in definitions have ``templateId`` equal to their ``id``.
* ``user_roles_request(user_id)``: the user's directory roles from ``transitiveMemberOf`` cast to
  ``microsoft.graph.directoryRole`` (v1.0). Microsoft documents transitiveMemberOf as the "groups, directory
  roles and administrative units the user is a member of through either direct or transitive membership";
  only users and role-assignable groups (``isAssignableToRole``) can be members of a directory role, so
  this one read covers roles held directly and roles held through a role-assignable group. An OData cast
  on a membership list is an advanced query: it needs ``ConsistencyLevel: eventual``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from graph.batch import BatchRequest
from graph.client import GraphClient

DEFINITIONS_PATH = "/roleManagement/directory/roleDefinitions"
DEFINITION_SELECT = "id,templateId,displayName,isPrivileged"
ROLE_SELECT = "id,displayName,roleTemplateId"
_EVENTUAL = {"ConsistencyLevel": "eventual"}


@dataclass(frozen=True)
class RoleDefinition:
    template_id: str  # lower-case
    display_name: str


def privileged_definitions(beta: GraphClient) -> list[RoleDefinition]:
    """Every role definition of the tenant that Microsoft flags ``isPrivileged`` (built-in and custom)."""
    params = {"$filter": "isPrivileged eq true", "$select": DEFINITION_SELECT}
    found: list[RoleDefinition] = []
    for page in beta.iter_pages(DEFINITIONS_PATH, params=params):
        for item in page:
            if item.get("isPrivileged") is not True:  # a server that ignored the filter
                continue
            template = str(item.get("templateId") or item.get("id") or "").lower()
            if template:
                found.append(RoleDefinition(template, str(item.get("displayName") or template)))
    return found


def user_roles_request(user_id: str, request_id: str = "roles") -> BatchRequest:
    """The user's directory roles, direct and through role-assignable groups, each with roleTemplateId."""
    user = quote(str(user_id), safe="@")
    return BatchRequest(
        request_id,
        "GET",
        f"/users/{user}/transitiveMemberOf/microsoft.graph.directoryRole?$select={ROLE_SELECT}&$top=999",
        headers=dict(_EVENTUAL),
    )
