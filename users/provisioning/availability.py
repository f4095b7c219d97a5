"""Is an address free for a new user or alias? The live check of the Add / Edit user forms and the CSV
importer's preview.

An address is taken when any user of the tenant has it as userPrincipalName, mail or an SMTP proxy
address, or a group has it as mail or proxy address (Exchange refuses an alias a distribution list holds).
The local directory cache answers first (no request); Graph then answers for the rest in one ``$batch``
(each ``/users`` / ``/groups`` look-up covers several addresses, within Graph's 15-clause filter limit),
so users created since the last sync and groups are covered too. A domain the tenant has not verified is
a problem as well (Graph would refuse the UPN or the alias).
"""

from __future__ import annotations

import logging

from django.db.models import Q

from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError
from graph.services import provisioning as graph_provisioning
from tenants.models import TenantDomain
from users.models import DirectoryUser

from .rules import split_address

logger = logging.getLogger(__name__)

GROUP_CLAUSES = 2  # mail eq, proxyAddresses/any
GROUPS_PER_QUERY = graph_provisioning.FILTER_CLAUSE_LIMIT // GROUP_CLAUSES


def _holder(name: str, address: str) -> str:
    return f"in use by {name} ({address})" if name and address else f"in use by {name or address}"


def _domains_cached(tenant) -> set[str]:
    names = set(TenantDomain.objects.filter(tenant=tenant).values_list("name", flat=True))
    return {n.lower() for n in names | {tenant.default_domain, tenant.initial_domain} if n}


def _verified_domains(graph: GraphClient) -> set[str]:
    orgs = graph.get("/organization", params={"$select": "id,verifiedDomains"}).get("value") or []
    return {str(d.get("name") or "").lower() for org in orgs for d in org.get("verifiedDomains") or []}


def proxy_q(address: str) -> Q:
    # proxy_search holds the lower-cased proxy addresses ("smtp:a@x.com SMTP:..." lowered) joined by spaces.
    token = f"smtp:{address}"
    return (
        Q(proxy_search=token)
        | Q(proxy_search__startswith=f"{token} ")
        | Q(proxy_search__endswith=f" {token}")
        | Q(proxy_search__contains=f" {token} ")
    )


def _from_cache(tenant, addresses: list[str], exclude_user_id) -> dict[str, str]:
    condition = Q()
    for address in addresses:
        condition |= Q(user_principal_name__iexact=address) | Q(mail__iexact=address) | proxy_q(address)
    rows = DirectoryUser.objects.filter(condition, tenant=tenant)
    if exclude_user_id:
        rows = rows.exclude(user_id=exclude_user_id)
    found: dict[str, str] = {}
    for row in rows.only("display_name", "user_principal_name", "mail", "proxy_search")[:200]:
        owned = {row.user_principal_name.lower(), (row.mail or "").lower()}
        owned |= {p.split(":", 1)[1] for p in row.proxy_search.split() if p.startswith("smtp:")}
        for address in addresses:
            if address in owned:
                found.setdefault(address, _holder(row.display_name, row.user_principal_name))
    return found


def _group_requests(addresses: list[str]) -> list[BatchRequest]:
    requests_ = []
    for index in range(0, len(addresses), GROUPS_PER_QUERY):
        chunk = addresses[index : index + GROUPS_PER_QUERY]
        clauses = []
        for address in chunk:
            clauses.append(f"mail eq {graph_provisioning.odata_string(address)}")
            clauses.append(f"proxyAddresses/any(p:p eq {graph_provisioning.odata_string('smtp:' + address)})")
        params = {
            "$filter": " or ".join(clauses),
            "$select": "id,displayName,mail,proxyAddresses",
            "$top": 999,
        }
        path = graph_provisioning.query_path("/groups", params)
        requests_.append(BatchRequest(f"groups-{index // GROUPS_PER_QUERY}", "GET", path))
    return requests_


def _owned_by(item: dict) -> set[str]:
    owned = {str(item.get("userPrincipalName") or "").lower(), str(item.get("mail") or "").lower()}
    for proxy in item.get("proxyAddresses") or []:
        kind, _, value = str(proxy).partition(":")
        if kind.lower() == "smtp":
            owned.add(value.lower())
    owned.discard("")
    return owned


def _from_graph(graph: GraphClient, addresses: list[str], exclude_user_id) -> dict[str, str]:
    """Raises GraphError when Graph cannot answer."""
    planned = graph_provisioning.address_owner_requests(addresses) + _group_requests(addresses)
    found: dict[str, str] = {}
    for item_id, result in graph.batch(planned).items():
        if not result.ok:
            raise result.error or GraphError(f"Graph answered HTTP {result.status}", status=result.status)
        for owner in (result.body or {}).get("value") or []:
            if exclude_user_id and str(owner.get("id")) == str(exclude_user_id):
                continue
            owned = _owned_by(owner)
            for address in addresses:
                if address in owned:
                    name = str(owner.get("displayName") or "")
                    if item_id.startswith("groups-"):
                        found.setdefault(address, f"in use by the group {name or owner.get('mail')}")
                    else:
                        found.setdefault(address, _holder(name, str(owner.get("userPrincipalName") or "")))
    return found


class AvailabilityUnchecked(GraphError):
    """Graph could not be asked. ``partial`` holds what the local checks found (invalid, foreign domain,
    taken in the cache) so a caller can still show those."""

    def __init__(self, error: GraphError, partial: dict[str, str]) -> None:
        super().__init__(error.message, status=error.status, code=error.code, request_id=error.request_id,
                         retry_after=error.retry_after)  # fmt: skip
        self.partial = partial


def address_problems(tenant, addresses: list[str], *, graph=None, exclude_user_id=None) -> dict[str, str]:
    """``{address (lower-cased): why it cannot be used}`` for each address of ``addresses`` that is invalid,
    on a domain the tenant does not own, or already in use (by someone other than ``exclude_user_id``).
    Free addresses are absent. Raises ``AvailabilityUnchecked`` (a GraphError, with ``partial``) when Graph
    could not be asked."""
    problems: dict[str, str] = {}
    valid: list[str] = []
    for raw in addresses:
        text = str(raw or "").strip()
        parts = split_address(text)
        if parts is None:
            problems[text.lower()] = "not a valid e-mail address"
            continue
        address = f"{parts[0]}@{parts[1]}".lower()
        if address not in valid:
            valid.append(address)
    if not valid:
        return problems
    # The local checks first: they answer without a request and survive Graph being unreachable.
    problems.update(_from_cache(tenant, valid, exclude_user_id))
    domains = _domains_cached(tenant)
    unsure = [a for a in valid if a.split("@")[1] not in domains and a not in problems]
    graph = graph if graph is not None else GraphClient.for_tenant(tenant)
    try:
        if unsure:
            domains |= _verified_domains(graph)  # the cache may not list every verified domain
        for address in unsure:
            domain = address.split("@")[1]
            if domain not in domains:
                problems[address] = f"{domain} is not a verified domain of {tenant.display_name}"
        to_check = [a for a in valid if a not in problems]
        if to_check:
            problems.update(_from_graph(graph, to_check, exclude_user_id))
    except GraphError as error:
        logger.info("address check: Graph could not be asked (%s)", error.code)
        raise AvailabilityUnchecked(error, dict(problems)) from error
    return problems
