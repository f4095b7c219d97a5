"""The Graph and Exchange calls of creating and editing users (Add user, Edit user, Invite guest, the bulk
licence and group actions). Thin on purpose: each function builds one request (a ``BatchRequest`` where
the flows send several together) or makes one call; deciding what to send is users/provisioning's job.

Rules kept here, from Microsoft's documentation:
* references (manager, members) are written as ``{"@odata.id": <absolute Graph URL>}``, whatever host
  the request itself goes to (graph.services.groups.member_reference does the same for members);
* Graph cannot write ``proxyAddresses``; setting ``mail`` adds the new value to them as the primary
  SMTP address and keeps the previous one as a secondary ``smtp:`` address (the "mail trick"); removing an
  address needs Exchange (``Set-Mailbox -EmailAddresses @{Remove=...}``);
* a ``$filter`` on directory objects takes at most 15 ``or``-joined clauses ("Too many child clauses"),
  so address look-ups are chunked; literals are quoted OData-style (``'`` doubled).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError
from graph.exchange import ExchangeClient, ExchangeResult
from graph.services.groups import GRAPH_REFERENCE_ROOT, GROUP_SELECT
from graph.services.memberships import MEMBER_OF_SELECT, PAGE_SIZE, member_of_path

FILTER_CLAUSE_LIMIT = 15  # Graph: "Too many child clauses specified in search filter expression"
ADDRESS_CLAUSES = 3  # userPrincipalName eq, mail eq, proxyAddresses/any
ADDRESSES_PER_QUERY = FILTER_CLAUSE_LIMIT // ADDRESS_CLAUSES
OWNER_SELECT = "id,displayName,userPrincipalName,mail,proxyAddresses,userType"
# Exchange's answer when removing someone who is not a member (MemberNotFoundException); matched on the
# type first and the documented wording as a fallback, like the "already a member" case.
_NOT_MEMBER_TYPE = "MemberNotFoundException"
_NOT_MEMBER_TEXTS = ("isn't a member of the group", "is not a member of the group")


def odata_string(value: str) -> str:
    """A string literal for ``$filter``: single quotes doubled, as OData requires."""
    return "'" + str(value).replace("'", "''") + "'"


def query_path(path: str, params: dict) -> str:
    """A relative URL with its query string percent-encoded (a $batch item carries the URL as text)."""
    query = "&".join(f"{key}={quote(str(value), safe=',()/:')}" for key, value in params.items())
    return f"{path}?{query}" if query else path


# --- users ------------------------------------------------------------------------------------------------


def create_user(client: GraphClient, body: dict) -> dict:
    """POST /users; returns the created user (201, default properties incl. ``id``)."""
    return client.post("/users", body)


def update_user_request(user_id: str, changes: dict, request_id: str = "profile",
                        depends_on: list[str] | None = None) -> BatchRequest:  # fmt: skip
    return BatchRequest(request_id, "PATCH", f"/users/{user_id}", changes, depends_on=depends_on)


def update_user(client: GraphClient, user_id: str, changes: dict) -> None:
    client.patch(f"/users/{user_id}", changes)


def get_user_request(user_id: str, select: Iterable[str] | str, request_id: str = "user") -> BatchRequest:
    fields = select if isinstance(select, str) else ",".join(select)
    return BatchRequest(request_id, "GET", query_path(f"/users/{user_id}", {"$select": fields}))


def set_mail_request(user_id: str, address: str, request_id: str,
                     depends_on: list[str] | None = None) -> BatchRequest:  # fmt: skip
    """PATCH mail: Graph adds the address to proxyAddresses as the primary one (see the module doc)."""
    return update_user_request(user_id, {"mail": address}, request_id, depends_on)


def licence_entry(sku_id: str, disabled_plans: Iterable[str] = ()) -> dict:
    return {"disabledPlans": [str(p) for p in disabled_plans], "skuId": str(sku_id)}


def assign_licence_request(user_id: str, add: list[dict], remove: Iterable[str],
                           request_id: str = "licences") -> BatchRequest:  # fmt: skip
    """POST assignLicense: both lists are required by Graph, empty when unused."""
    body = {"addLicenses": list(add), "removeLicenses": [str(sku) for sku in remove]}
    return BatchRequest(request_id, "POST", f"/users/{user_id}/assignLicense", body)


def subscribed_skus_request(request_id: str = "skus") -> BatchRequest:
    return BatchRequest(request_id, "GET", "/subscribedSkus")


def organization_request(request_id: str = "organization") -> BatchRequest:
    return BatchRequest(request_id, "GET", "/organization?$select=id,countryLetterCode,verifiedDomains")


# --- manager ----------------------------------------------------------------------------------------------


def manager_reference(manager_id: str) -> dict:
    return {"@odata.id": f"{GRAPH_REFERENCE_ROOT}/users/{manager_id}"}


def set_manager_request(user_id: str, manager_id: str, request_id: str = "manager") -> BatchRequest:
    """PUT manager/$ref (204); replaces any manager the user had."""
    return BatchRequest(request_id, "PUT", f"/users/{user_id}/manager/$ref", manager_reference(manager_id))


def remove_manager_request(user_id: str, request_id: str = "manager") -> BatchRequest:
    """DELETE manager/$ref (204; 404 when the user has no manager)."""
    return BatchRequest(request_id, "DELETE", f"/users/{user_id}/manager/$ref")


def remove_manager(client: GraphClient, user_id: str) -> None:
    client.delete(f"/users/{user_id}/manager/$ref")


# --- groups -----------------------------------------------------------------------------------------------


def get_group_request(group_id: str, request_id: str = "group") -> BatchRequest:
    return BatchRequest(request_id, "GET", query_path(f"/groups/{group_id}", {"$select": GROUP_SELECT}))


def remove_member_request(group_id: str, user_id: str, request_id: str = "remove") -> BatchRequest:
    """DELETE members/{id}/$ref (204; 404 when the user is not a member)."""
    return BatchRequest(request_id, "DELETE", f"/groups/{group_id}/members/{user_id}/$ref")


def remove_member(client: GraphClient, group_id: str, user_id: str) -> None:
    client.delete(f"/groups/{group_id}/members/{user_id}/$ref")


def member_of_first_page_request(user_id: str, request_id: str = "memberOf") -> BatchRequest:
    return BatchRequest(
        request_id,
        "GET",
        query_path(member_of_path(user_id), {"$select": MEMBER_OF_SELECT, "$top": PAGE_SIZE}),
    )


def all_pages(client: GraphClient, first_page: dict) -> list[dict]:
    """Every item of a listing whose first page came from a $batch: its ``value`` and the pages its
    nextLink leads to."""
    items = list(first_page.get("value") or [])
    next_link = first_page.get("@odata.nextLink")
    if next_link:
        for page in client.iter_pages(next_link):
            items.extend(page)
    return items


def member_of_all(client: GraphClient, user_id: str) -> list[dict]:
    items: list[dict] = []
    params = {"$select": MEMBER_OF_SELECT, "$top": PAGE_SIZE}
    for page in client.iter_pages(member_of_path(user_id), params=params):
        items.extend(page)
    return items


# --- addresses --------------------------------------------------------------------------------------------


def address_filter(addresses: list[str]) -> str:
    """Users owning any of ``addresses`` as UPN, mail or an SMTP proxy address (3 clauses each)."""
    clauses = []
    for address in addresses:
        literal = odata_string(address)
        clauses.append(f"userPrincipalName eq {literal}")
        clauses.append(f"mail eq {literal}")
        clauses.append(f"proxyAddresses/any(p:p eq {odata_string('smtp:' + address)})")
    return " or ".join(clauses)


def address_owner_requests(addresses: list[str], prefix: str = "owners") -> list[BatchRequest]:
    """One GET /users?$filter=... per ``ADDRESSES_PER_QUERY`` addresses."""
    requests_ = []
    for index in range(0, len(addresses), ADDRESSES_PER_QUERY):
        chunk = addresses[index : index + ADDRESSES_PER_QUERY]
        params = {"$filter": address_filter(chunk), "$select": OWNER_SELECT, "$top": 999}
        requests_.append(
            BatchRequest(f"{prefix}-{index // ADDRESSES_PER_QUERY}", "GET", query_path("/users", params))
        )
    return requests_


def find_address_owners(client: GraphClient, addresses: list[str]) -> list[dict]:
    """The users holding any of ``addresses`` (several look-ups go in one $batch). Raises GraphError."""
    planned = address_owner_requests(addresses)
    if not planned:
        return []
    if len(planned) == 1:
        return list(client.get(planned[0].url).get("value") or [])
    owners: list[dict] = []
    for result in client.batch(planned).values():
        if not result.ok:
            raise result.error or GraphError(f"Graph answered HTTP {result.status}", status=result.status)
        owners.extend((result.body or {}).get("value") or [])
    return owners


# --- invitations ------------------------------------------------------------------------------------------


def invite(client: GraphClient, body: dict) -> dict:
    """POST /invitations (201): ``invitedUser.id``, ``inviteRedeemUrl``, ``status``."""
    return client.post("/invitations", body)


# --- Exchange ---------------------------------------------------------------------------------------------


def _email_addresses(operation: str, addresses: Iterable[str]) -> dict:
    # A multi-valued add/remove is a hashtable, which the service only binds with its @odata.type.
    return {"@odata.type": "#Exchange.GenericHashTable", operation: [f"smtp:{a}" for a in addresses]}


def add_email_addresses(exchange: ExchangeClient, mailbox: str, addresses: list[str]) -> ExchangeResult:
    """``Set-Mailbox -EmailAddresses @{Add=...}``: secondary SMTP addresses (the primary stays)."""
    return exchange.invoke(
        "Set-Mailbox",
        {"Identity": mailbox, "EmailAddresses": _email_addresses("Add", addresses)},
        anchor_mailbox=mailbox,
    )


def remove_email_addresses(exchange: ExchangeClient, mailbox: str, addresses: list[str]) -> ExchangeResult:
    """``Set-Mailbox -EmailAddresses @{Remove=...}``: the only way to drop an address (Graph cannot)."""
    return exchange.invoke(
        "Set-Mailbox",
        {"Identity": mailbox, "EmailAddresses": _email_addresses("Remove", addresses)},
        anchor_mailbox=mailbox,
    )


def is_not_member_error(error: GraphError) -> bool:
    text = (error.message or "").lower()
    return _NOT_MEMBER_TYPE in str(error.exception_type or "") or any(t in text for t in _NOT_MEMBER_TEXTS)


def remove_distribution_group_member(exchange: ExchangeClient, group: str, member: str) -> bool:
    """True when removed, False when the member was not in the group (Exchange answers that with an error)."""
    try:
        exchange.invoke(
            "Remove-DistributionGroupMember",
            {"Identity": group, "Member": member, "BypassSecurityGroupManagerCheck": True},
        )
    except GraphError as error:
        if is_not_member_error(error):
            return False
        raise
    return True
