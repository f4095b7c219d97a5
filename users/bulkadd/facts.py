"""What the validator needs to know about the tenant, read once per check and cached for a while.

* verified domains and the organization's country (the default usage location): GET /organization;
* licences with the units still free: GET /subscribedSkus, which also refreshes the TenantSku cache
  the rest of the app reads (the cached rows are used when Graph cannot be read, and the preview says so);
* groups: the first 999 by name (GET /groups), and for names a file uses that are not among them, one
  ``displayName eq`` look-up per 15 names (Graph's clause limit), all in ``$batch`` calls;
* managers named by UPN: the directory cache first, then ``GET /users/{upn}`` in ``$batch`` calls.

Nothing here writes to Microsoft. ``load_facts`` is called on upload, on "Check again" and right before the
run; fixes in place reuse the cached facts (``cached_facts``), so fixing a row never waits on Graph for
anything but that row's addresses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from django.core.cache import cache
from django.db.models import Q

from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError
from graph.services import provisioning as graph_provisioning
from graph.services.groups import GROUP_SELECT, classify, list_groups
from graph.services.organization import get_tenant_profile
from graph.services.skus import list_subscribed_skus
from users.models import DirectoryUser, TenantSku
from users.provisioning import form_fields
from users.sync.skus import store_subscribed_skus

logger = logging.getLogger(__name__)

FACTS_TTL_SECONDS = 15 * 60
NAMES_PER_QUERY = graph_provisioning.FILTER_CLAUSE_LIMIT


@dataclass
class Sku:
    sku_id: str
    name: str
    part_number: str
    available: int
    enabled: bool


@dataclass
class Facts:
    domains: list[str]  # lower-case, default first
    country: str  # the organization's country: the usage location of rows that give none
    skus: dict[str, Sku]  # sku id (lower) -> Sku
    groups: dict[str, dict]  # group id -> GroupChoice data (id, name, kind, mail, via, why_not)
    notes: list[str] = field(default_factory=list)  # what could not be read live (shown on the preview)
    managers: dict[str, dict] = field(default_factory=dict)  # upn (lower) -> {id, name} or {} (not found)

    @property
    def default_domain(self) -> str:
        return self.domains[0] if self.domains else ""

    def sku_named(self, text: str) -> Sku | None:
        """By product name, part number or sku id, ignoring case."""
        wanted = text.strip().casefold()
        for sku in self.skus.values():
            if wanted in (sku.name.casefold(), sku.part_number.casefold(), sku.sku_id):
                return sku
        return None

    def groups_named(self, text: str) -> list[dict]:
        wanted = text.strip().casefold()
        if wanted in self.groups:
            return [self.groups[wanted]]
        return [g for g in self.groups.values() if g["name"].casefold() == wanted]


def _key(tenant) -> str:
    return f"bulkadd:facts:{tenant.tenant_id}"


def cached_facts(tenant) -> Facts | None:
    return cache.get(_key(tenant))


def remember(tenant, facts: Facts) -> None:
    cache.set(_key(tenant), facts, FACTS_TTL_SECONDS)


def _skus_from_cache(tenant) -> dict[str, Sku]:
    return {
        str(row.sku_id).lower(): Sku(
            str(row.sku_id).lower(),
            row.product_name or row.part_number,
            row.part_number,
            row.available_units,
            row.capability_status in ("Enabled", "Warning"),
        )  # fmt: skip
        for row in TenantSku.objects.filter(tenant=tenant)
    }


def load_facts(tenant, client: GraphClient, *, group_names: list[str] = ()) -> Facts:
    notes: list[str] = []
    try:
        profile = get_tenant_profile(client)
        domains = [d["name"] for d in profile["domains"]]
        country = (profile.get("country") or "").upper()
    except GraphError as error:
        notes.append(
            f"The tenant's domains could not be read from Microsoft ({error.message}); the cached list is used."
        )
        domains, country = [d.lower() for d in form_fields.tenant_domains(tenant)], ""
    try:
        store_subscribed_skus(tenant, list_subscribed_skus(client))
    except GraphError as error:
        notes.append(
            f"Licences could not be read from Microsoft ({error.message}); unit counts are from the last sync."
        )
    groups: dict[str, dict] = {}
    try:
        choices, truncated = list_groups(client)
        groups = {c.id.lower(): c.as_data() for c in choices}
        missing = [n for n in dict.fromkeys(group_names) if n.strip() and not _known(groups, n)]
        if truncated and missing:
            groups.update(_look_up_groups(client, missing))
    except GraphError as error:
        notes.append(
            f"The tenant's groups could not be read ({error.message}); rows naming groups cannot be checked."
        )
    return Facts(domains, country, _skus_from_cache(tenant), groups, notes)


def _known(groups: dict[str, dict], name: str) -> bool:
    wanted = name.strip().casefold()
    return wanted in groups or any(g["name"].casefold() == wanted for g in groups.values())


def _look_up_groups(client: GraphClient, names: list[str]) -> dict[str, dict]:
    requests_ = []
    for index in range(0, len(names), NAMES_PER_QUERY):
        chunk = names[index : index + NAMES_PER_QUERY]
        clauses = " or ".join(f"displayName eq {graph_provisioning.odata_string(n)}" for n in chunk)
        path = graph_provisioning.query_path(
            "/groups", {"$filter": clauses, "$select": GROUP_SELECT, "$top": 999}
        )
        requests_.append(BatchRequest(f"names-{index}", "GET", path))
    found: dict[str, dict] = {}
    for result in client.batch(requests_).values():
        if not result.ok:
            raise result.error or GraphError(f"Graph answered HTTP {result.status}", status=result.status)
        for item in (result.body or {}).get("value") or []:
            choice = classify(item).as_data()
            found[choice["id"].lower()] = choice
    return found


def resolve_managers(tenant, client: GraphClient, facts: Facts, upns: list[str]) -> None:
    """Fill ``facts.managers`` for ``upns`` not yet known: {id, name} when the user exists, {} when not."""
    wanted = [u.lower() for u in dict.fromkeys(upns) if u and u.lower() not in facts.managers]
    if not wanted:
        return
    for index in range(0, len(wanted), 50):  # OR chains stay well inside SQLite's expression depth
        condition = Q()
        for upn in wanted[index : index + 50]:
            condition |= Q(user_principal_name__iexact=upn)
        rows = DirectoryUser.objects.filter(condition, tenant=tenant).values_list(
            "user_principal_name", "user_id", "display_name"
        )
        for upn, user_id, name in rows:
            facts.managers[upn.lower()] = {"id": str(user_id), "name": name}
    unknown = [u for u in wanted if u not in facts.managers]
    if not unknown:
        return
    requests_ = [
        graph_provisioning.get_user_request(
            quote(upn, safe="@'"), "id,userPrincipalName,displayName", f"m{i}"
        )
        for i, upn in enumerate(unknown)
    ]
    answers = client.batch(requests_)
    for i, upn in enumerate(unknown):
        result = answers.get(f"m{i}")
        if result is not None and result.ok:
            body = result.body or {}
            facts.managers[upn] = {"id": str(body.get("id")), "name": str(body.get("displayName") or "")}
        elif result is not None and result.status == 404:
            facts.managers[upn] = {}
        else:
            logger.info("manager %s could not be looked up (HTTP %s)", upn, getattr(result, "status", 0))
