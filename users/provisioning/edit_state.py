"""What Edit user shows: the user as Graph has it right now, read live when the page opens.

One Graph ``$batch`` (one round trip) reads the user's profile, licences and proxy addresses
(``/users/{id}?$select=``), its direct memberships with their kinds (``memberOf``), its manager, the
tenant's subscribed SKUs with their service plans and free units (``/subscribedSkus``) and the tenant's
groups for the add picker. Further pages are followed outside the batch. A part that cannot be read is
kept as that section's error: the page shows why and offers no change there, rather than an empty list
that would look like "none".

``EditState.snapshot()`` is the record the form carries (signed) so that on submit the diff is taken
against exactly what the technician saw, never against a re-read that might include someone else's
change made in between (see users.provisioning.forms_edit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError, NotFoundError
from graph.services import groups as group_service
from graph.services import memberships
from graph.services import provisioning as graph_provisioning
from users.skus import product_name

from .form_fields import tenant_domains
from .rules import ON_PREMISES_MASTERED, PROFILE_FIELDS

EDIT_SELECT = (
    "id,displayName,userPrincipalName,mailNickname,givenName,surname,mail,jobTitle,department,companyName,"
    "streetAddress,city,state,postalCode,country,usageLocation,mobilePhone,businessPhones,proxyAddresses,"
    "userType,accountEnabled,onPremisesSyncEnabled,assignedLicenses,licenseAssignmentStates"
)
MANAGER_SELECT = "id,displayName,userPrincipalName,mail"
# Capability states in which a subscription can still take new assignments.
ASSIGNABLE_STATES = ("Enabled", "Warning")
SECTIONS = ("licences", "groups", "aliases", "manager")


@dataclass(frozen=True)
class Plan:
    id: str  # servicePlanId, lower-case
    name: str  # servicePlanName (e.g. EXCHANGE_S_STANDARD)


@dataclass
class SkuOption:
    """One of the tenant's subscriptions, as /subscribedSkus reports it now."""

    sku_id: str
    name: str
    part_number: str
    enabled_units: int
    consumed_units: int
    capability_status: str
    plans: list[Plan] = field(default_factory=list)

    @property
    def available(self) -> int:
        return max(0, self.enabled_units - self.consumed_units)

    @property
    def assignable(self) -> bool:
        return self.capability_status in ASSIGNABLE_STATES

    @property
    def label(self) -> str:
        return f"{self.name} ({self.available} available)"


@dataclass
class HeldLicence:
    """A SKU the user holds, directly and/or through groups."""

    sku_id: str
    name: str
    disabled_plans: list[str]
    plans: list[Plan]
    direct: bool  # assigned to the user (removable here); False: only through groups
    via_groups: list[str] = field(default_factory=list)  # names of the groups that assign it

    @property
    def why_not(self) -> str:
        if self.direct:
            return ""
        names = ", ".join(self.via_groups) or "a group"
        return f"Assigned through {names}: change the group's licences or the user's membership of it."


@dataclass
class UserRef:
    id: str
    display_name: str
    upn: str


@dataclass
class EditState:
    tenant: object
    user_id: str
    user: dict
    domains: list[str]
    licences: list[HeldLicence] = field(default_factory=list)
    skus: list[SkuOption] = field(default_factory=list)
    groups: list[group_service.GroupChoice] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # directory roles held (shown, not edited here)
    group_choices: list[group_service.GroupChoice] = field(default_factory=list)
    more_groups: bool = False  # the tenant has more groups than the picker lists
    manager: UserRef | None = None
    errors: dict[str, GraphError] = field(default_factory=dict)  # section -> why it could not be read

    # --- the user record ------------------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        return bool(self.user.get("onPremisesSyncEnabled"))

    @property
    def upn(self) -> str:
        return self.user.get("userPrincipalName") or ""

    @property
    def username(self) -> str:
        return self.upn.rsplit("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.upn.rsplit("@", 1)[1].lower() if "@" in self.upn else ""

    @property
    def display_name(self) -> str:
        return self.user.get("displayName") or self.upn

    @property
    def usage_location(self) -> str:
        return (self.user.get("usageLocation") or "").upper()

    @property
    def primary_address(self) -> str:
        for address in self.user.get("proxyAddresses") or []:
            if address.startswith("SMTP:"):
                return address[5:]
        return self.user.get("mail") or ""

    @property
    def aliases(self) -> list[str]:
        """Secondary SMTP addresses (``smtp:`` in lower case marks a secondary one)."""
        found = [a[5:] for a in self.user.get("proxyAddresses") or [] if a.startswith("smtp:")]
        return sorted(found, key=str.lower)

    def profile_text(self) -> dict[str, str]:
        """Graph property -> the text the form shows (businessPhones: the first entry)."""
        values = {}
        for _field, prop, _label in PROFILE_FIELDS:
            value = self.user.get(prop)
            if prop == "businessPhones":
                value = (value or [""])[0] if isinstance(value, list) else value
            values[prop] = str(value or "")
        return values

    def read_only(self, graph_property: str) -> bool:
        """Mastered on-premises for this (hybrid-synced) user: shown, never sent."""
        return self.synced and graph_property in ON_PREMISES_MASTERED

    # --- lookups --------------------------------------------------------------------------------------

    def sku(self, sku_id: str) -> SkuOption | None:
        sku_id = str(sku_id).lower()
        return next((s for s in self.skus if s.sku_id == sku_id), None)

    def group(self, group_id: str) -> group_service.GroupChoice | None:
        return next((g for g in self.groups if g.id == group_id), None)

    @property
    def addable_skus(self) -> list[SkuOption]:
        held = {lic.sku_id for lic in self.licences if lic.direct}
        return [s for s in self.skus if s.sku_id not in held]

    @property
    def addable_groups(self) -> list[group_service.GroupChoice]:
        joined = {g.id for g in self.groups}
        return [g for g in self.group_choices if g.id not in joined]

    def snapshot(self) -> dict:
        """What the page showed, carried (signed) by the form so the diff is taken against it."""
        return {
            "v": 1,
            "user_id": self.user_id,
            "upn": self.upn,
            "display_name": self.display_name,
            "synced": self.synced,
            "profile": self.profile_text(),
            "usage_location": self.usage_location,
            "licences": {
                lic.sku_id: {"name": lic.name, "disabled": sorted(lic.disabled_plans), "direct": lic.direct}
                for lic in self.licences
            },
            "groups": {g.id: {"name": g.name, "kind": g.kind, "via": g.via} for g in self.groups},
            "aliases": self.aliases,
            "manager": (
                {"id": self.manager.id, "upn": self.manager.upn, "name": self.manager.display_name}
                if self.manager
                else None
            ),
            "unreadable": sorted(self.errors),
        }


# --- shaping ---------------------------------------------------------------------------------------------


def _plans(sku: dict) -> list[Plan]:
    plans = []
    for plan in sku.get("servicePlans") or []:
        if plan.get("appliesTo", "User") not in ("User", None):
            continue  # company-level plans cannot be switched per user
        plan_id = str(plan.get("servicePlanId") or "").lower()
        if plan_id:
            plans.append(Plan(plan_id, str(plan.get("servicePlanName") or plan_id)))
    return sorted(plans, key=lambda p: p.name.lower())


def parse_skus(skus: list[dict]) -> list[SkuOption]:
    options = []
    for sku in skus:
        if sku.get("appliesTo", "User") != "User":
            continue  # tenant-level subscriptions cannot be assigned to a user
        sku_id = str(sku.get("skuId") or "").lower()
        if not sku_id:
            continue
        part = str(sku.get("skuPartNumber") or "")
        prepaid = sku.get("prepaidUnits") or {}
        options.append(
            SkuOption(
                sku_id=sku_id,
                name=product_name(sku_id, part) or part or sku_id,
                part_number=part,
                # Units in "warning" (grace period) can still be assigned, as the admin centre does.
                enabled_units=int(prepaid.get("enabled") or 0) + int(prepaid.get("warning") or 0),
                consumed_units=int(sku.get("consumedUnits") or 0),
                capability_status=str(sku.get("capabilityStatus") or "Enabled"),
                plans=_plans(sku),
            )
        )
    return sorted(options, key=lambda s: s.name.lower())


def parse_licences(user: dict, skus: list[SkuOption], group_names: dict[str, str]) -> list[HeldLicence]:
    """Held SKUs: ``assignedLicenses`` lists every SKU (direct or by group); the assignment states say
    which are direct (``assignedByGroup`` null), since only those can be removed from the user."""
    by_id = {s.sku_id: s for s in skus}
    direct: dict[str, list[str]] = {}
    via: dict[str, list[str]] = {}
    states = user.get("licenseAssignmentStates") or []
    covered = {str(state.get("skuId") or "").lower() for state in states}
    for assigned in user.get("assignedLicenses") or []:
        sku_id = str(assigned.get("skuId") or "").lower()
        if sku_id and sku_id not in covered:  # no state reported (yet): an assignment to the user
            direct[sku_id] = [str(p).lower() for p in assigned.get("disabledPlans") or []]
    for state in states:
        sku_id = str(state.get("skuId") or "").lower()
        group_id = state.get("assignedByGroup")
        if group_id:
            via.setdefault(sku_id, []).append(group_names.get(group_id, "a group"))
        else:
            direct[sku_id] = [str(p).lower() for p in state.get("disabledPlans") or []]
    held = []
    for sku_id in sorted(set(direct) | set(via)):
        sku = by_id.get(sku_id)
        held.append(
            HeldLicence(
                sku_id=sku_id,
                name=sku.name if sku else (product_name(sku_id) or "Unknown licence"),
                disabled_plans=direct.get(sku_id, []),
                plans=sku.plans if sku else [],
                direct=sku_id in direct,
                via_groups=sorted(via.get(sku_id, [])),
            )
        )
    return sorted(held, key=lambda lic: lic.name.lower())


def _group_of(item: dict) -> group_service.GroupChoice:
    return group_service.classify(item)


def _domains(tenant, current: str) -> list[str]:
    names = tenant_domains(tenant)
    if current and current not in names:
        names.append(current)  # the user's own domain stays selectable even if not listed locally
    return names


# --- loading ---------------------------------------------------------------------------------------------


def _items(client: GraphClient, body: dict) -> list[dict]:
    items = list(body.get("value") or [])
    link = body.get("@odata.nextLink")
    if link:
        for page in client.iter_pages(link):
            items.extend(page)
    return items


def requests_for(user_id: str) -> list[BatchRequest]:
    return [
        BatchRequest("user", "GET", f"/users/{user_id}?$select={EDIT_SELECT}"),
        memberships.member_of_request(user_id),
        BatchRequest("manager", "GET", f"/users/{user_id}/manager?$select={MANAGER_SELECT}"),
        graph_provisioning.subscribed_skus_request("skus"),
        BatchRequest(
            "groups",
            "GET",
            f"/groups?$select={group_service.GROUP_SELECT}&$top={group_service.PICKER_LIMIT}"
            "&$orderby=displayName",
        ),
    ]


def load_edit_state(tenant, user_id, *, client: GraphClient | None = None) -> EditState:
    """The user as Graph has it now. Raises the user read's GraphError (NotFoundError for an unknown
    user); every other part that fails is kept in ``errors`` for its section."""
    uid = str(user_id)
    client = client or GraphClient.for_tenant(tenant, priority="high")
    results = client.batch(requests_for(uid))
    user_result = results["user"]
    if not user_result.ok:
        raise user_result.error or GraphError(f"Graph answered HTTP {user_result.status}.")
    user = user_result.body or {}
    errors: dict[str, GraphError] = {}

    def body_of(key: str, section: str) -> dict | None:
        result = results[key]
        if result.ok:
            return result.body or {}
        errors[section] = result.error or GraphError(f"Graph answered HTTP {result.status}.")
        return None

    skus: list[SkuOption] = []
    skus_body = body_of("skus", "licences")
    if skus_body is not None:
        skus = parse_skus(_items(client, skus_body))

    groups: list[group_service.GroupChoice] = []
    roles: list[str] = []
    member_body = body_of("memberOf", "groups")
    if member_body is not None:
        try:
            for item in _items(client, member_body):
                kind = item.get("@odata.type", "")
                if kind == "#microsoft.graph.group":
                    groups.append(_group_of(item))
                elif kind == "#microsoft.graph.directoryRole":
                    roles.append(str(item.get("displayName") or item.get("id")))
        except GraphError as error:
            errors["groups"], groups = error, []
    groups.sort(key=lambda g: g.name.lower())

    choices: list[group_service.GroupChoice] = []
    more = False
    groups_body = body_of("groups", "add_groups")
    if groups_body is not None:
        more = bool(groups_body.get("@odata.nextLink"))  # one page is the picker's limit
        choices = [_group_of(g) for g in groups_body.get("value") or []]
        choices.sort(key=lambda g: g.name.lower())

    manager = None
    manager_result = results["manager"]
    if manager_result.ok and manager_result.body:
        body = manager_result.body
        manager = UserRef(str(body.get("id") or ""), body.get("displayName") or "",
                          body.get("userPrincipalName") or body.get("mail") or "")  # fmt: skip
    elif not manager_result.ok and not isinstance(manager_result.error, NotFoundError):
        # 404 is Graph's way of saying "no manager"; anything else means we do not know.
        errors["manager"] = manager_result.error or GraphError(f"HTTP {manager_result.status}")

    group_names = {g.id: g.name for g in groups} | {g.id: g.name for g in choices}
    return EditState(
        tenant=tenant,
        user_id=uid,
        user=user,
        domains=_domains(tenant, (user.get("userPrincipalName") or "@").rsplit("@", 1)[1].lower()),
        licences=parse_licences(user, skus, group_names),
        skus=skus,
        groups=groups,
        roles=sorted(roles, key=str.lower),
        group_choices=choices,
        more_groups=more,
        manager=manager,
        errors=errors,
    )
