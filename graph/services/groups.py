"""Groups a user can be added to: the picker's list with each group's kind, and the Graph membership write.

Which service writes the membership depends on the kind (contract Part A.5): Graph ``members/$ref`` for
security and Microsoft 365 groups; Exchange ``Add-DistributionGroupMember`` for distribution lists and
mail-enabled security groups (read-only in Graph). Dynamic groups and groups synced from on-premises AD
cannot take members from here at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError
from graph.services.memberships import group_kind

GROUP_SELECT = (
    "id,displayName,description,mail,mailEnabled,securityEnabled,groupTypes,onPremisesSyncEnabled,"
    "membershipRule,isAssignableToRole"
)
GRAPH_REFERENCE_ROOT = "https://graph.microsoft.com/v1.0"
PICKER_LIMIT = 999  # one Graph page; larger tenants are told to narrow the list
GRAPH_KINDS = ("Microsoft 365", "Security")
EXCHANGE_KINDS = ("Distribution", "Mail-enabled security")
# Graph's answer when the reference already exists (400 Request_BadRequest).
_ALREADY_MEMBER_TEXT = "added object references already exist"


@dataclass(frozen=True)
class GroupChoice:
    id: str
    name: str
    kind: str  # Microsoft 365 | Security | Mail-enabled security | Distribution
    mail: str = ""
    via: str = ""  # "graph" | "exchange" | "" (cannot be changed here)
    why_not: str = ""  # set when the group cannot take members from here
    # Members hold the directory roles assigned to the group (set at creation, never changes): joining one
    # can make a user an administrator, so only a technician with the Admin role may add members.
    role_assignable: bool = False

    def as_data(self) -> dict:
        return asdict(self)


def classify(group: dict) -> GroupChoice:
    kind = group_kind(group)
    why = ""
    if "DynamicMembership" in (group.get("groupTypes") or []) or group.get("membershipRule"):
        why = "dynamic membership: its rule decides who is in it"
    elif group.get("onPremisesSyncEnabled"):
        why = "synced from on-premises AD: change it there"
    via = "" if why else ("graph" if kind in GRAPH_KINDS else "exchange")
    return GroupChoice(
        id=str(group.get("id") or ""),
        name=str(group.get("displayName") or group.get("id") or ""),
        kind=kind,
        mail=str(group.get("mail") or ""),
        via=via,
        why_not=why,
        role_assignable=group.get("isAssignableToRole") is True,
    )


def list_groups(client: GraphClient, *, limit: int = PICKER_LIMIT) -> tuple[list[GroupChoice], bool]:
    """The tenant's groups by name and whether more exist than ``limit`` (the picker says so)."""
    params = {"$select": GROUP_SELECT, "$top": min(limit, 999), "$orderby": "displayName"}
    choices: list[GroupChoice] = []
    for page in client.iter_pages("/groups", params=params):
        for group in page:
            if len(choices) >= limit:
                return choices, True
            choices.append(classify(group))
    return choices, False


def get_group(client: GraphClient, group_id: str) -> GroupChoice:
    return classify(client.get(f"/groups/{group_id}", params={"$select": GROUP_SELECT}))


def member_reference(user_id: str) -> dict:
    # Graph wants the reference as its own absolute URL, whatever host the request itself went to.
    return {"@odata.id": f"{GRAPH_REFERENCE_ROOT}/directoryObjects/{user_id}"}


def add_member_request(group_id: str, user_id: str, request_id: str = "add") -> BatchRequest:
    return BatchRequest(request_id, "POST", f"/groups/{group_id}/members/$ref", member_reference(user_id))


def get_group_request(group_id: str, request_id: str = "group") -> BatchRequest:
    return BatchRequest(request_id, "GET", f"/groups/{group_id}?$select={GROUP_SELECT}")


def add_member(client: GraphClient, group_id: str, user_id: str) -> None:
    client.post(f"/groups/{group_id}/members/$ref", member_reference(user_id))


def is_already_member_error(error: GraphError | None) -> bool:
    return bool(error) and _ALREADY_MEMBER_TEXT in (error.message or "").lower()
