"""The View user page's sections, loaded live from Graph and Exchange, each on its own.

Five sections come from directory reads that share one Graph ``$batch`` (profile + licences from
``/users/{id}``, memberOf, authentication methods, owned and registered devices): ``load_batched``. Every
section can also be loaded alone (``load_section``) — the page's Retry buttons and the sections that live
elsewhere (beta per-user MFA, sign-in logs, Exchange, OneDrive) use that. A failure is kept on its
``Section`` (never raised), so one failing source never hides the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime

from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError
from graph.exchange import ExchangeClient
from graph.services import (
    auth_methods,
    devices,
    mailbox,
    memberships,
    mobile_devices,
    onedrive,
    role_assignments,
    signins,
)
from graph.services import users as graph_users
from users.models import DirectoryUser, TenantSku
from users.skus import product_name

# name → title, in page order. ``batched`` ones share the directory $batch.
TITLES = {
    "profile": "Profile",
    "licences": "Licences",
    "groups": "Groups and roles",
    "roles": "Directory roles",
    "auth-methods": "Authentication methods",
    "mfa": "Per-user MFA",
    "devices": "Devices",
    "sign-ins": "Recent sign-ins",
    "mailbox": "Mailbox",
    "mobile-devices": "Mobile devices",
    "onedrive": "OneDrive",
}
SECTIONS = tuple(TITLES)
BATCHED = ("profile", "licences", "groups", "auth-methods", "devices")
NO_PREMIUM = (
    "Sign-in logs are available through Microsoft Graph only for tenants with Microsoft Entra ID P1 or P2. "
    "This tenant has neither licence, so no sign-in log was requested. The last sign-in time shown in the "
    "users table needs the same licence."
)
LICENCE_STATES = {"Active": "ok", "ActiveWithError": "warn", "Disabled": "muted", "Error": "bad"}
LICENCE_ERRORS = {
    "CountViolation": "Not enough licences available",
    "MutuallyExclusiveViolation": "Conflicts with another assigned licence",
    "DependencyViolation": "A licence it depends on is missing",
    "ProhibitedInUsageLocationViolation": "Not available in the user's usage location",
    "UniquenessViolation": "A unique attribute conflicts with another user",
    "Other": "Assignment failed (see the Microsoft 365 admin center)",
}


@dataclass
class Section:
    name: str
    data: Any = None
    error: GraphError | None = None
    unavailable: str = ""  # why no call was made (e.g. no Entra ID P1)
    extra: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES[self.name]

    @property
    def template(self) -> str:
        return f"users/detail_{self.name.replace('-', '_')}.html"


def _dt(value):
    """ISO strings from Graph → aware datetimes for the templates (None stays None)."""
    if not value or not isinstance(value, str):
        return None
    return parse_datetime(value.replace("Z", "+00:00"))


def _guarded(name: str, load: Callable[[], Any]) -> Section:
    try:
        return Section(name, data=load())
    except GraphError as exc:
        return Section(name, error=exc)


# --- shaping ---------------------------------------------------------------------------------------------


def profile_data(user: dict) -> dict:
    address = ", ".join(
        str(user.get(k)) for k in ("streetAddress", "city", "state", "postalCode", "country") if user.get(k)
    )
    fields = [
        ("Given name", user.get("givenName")),
        ("Surname", user.get("surname")),
        ("Email", user.get("mail")),
        ("Job title", user.get("jobTitle")),
        ("Department", user.get("department")),
        ("Company", user.get("companyName")),
        ("Office", user.get("officeLocation")),
        ("Address", address),
        ("Usage location", user.get("usageLocation")),
        ("Mobile", user.get("mobilePhone")),
        ("Business phones", ", ".join(user.get("businessPhones") or [])),
        ("Employee id", user.get("employeeId")),
        ("Preferred language", user.get("preferredLanguage")),
        ("User type", user.get("userType")),
    ]
    if user.get("externalUserState"):
        fields.append(("Invitation", user["externalUserState"]))
    on_prem = [
        ("SAM account", user.get("onPremisesSamAccountName")),
        ("AD domain", user.get("onPremisesDomainName")),
        ("Distinguished name", user.get("onPremisesDistinguishedName")),
        ("Immutable id", user.get("onPremisesImmutableId")),
    ]
    return {
        "fields": [(label, value or "") for label, value in fields],
        "on_premises": [(label, value) for label, value in on_prem if value],
        "synced": bool(user.get("onPremisesSyncEnabled")),
        "last_ad_sync": _dt(user.get("onPremisesLastSyncDateTime")),
        "created": _dt(user.get("createdDateTime")),
        "password_changed": _dt(user.get("lastPasswordChangeDateTime")),
        # passwordPolicies (returned only on $select): "DisablePasswordExpiration" means it never expires.
        "password_never_expires": "DisablePasswordExpiration" in str(user.get("passwordPolicies") or ""),
        "proxy_addresses": sorted(
            user.get("proxyAddresses") or [], key=lambda a: (not a.startswith("SMTP:"), a.lower())
        ),
        "other_mails": user.get("otherMails") or [],
    }


def _sku_names(tenant) -> dict[str, str]:
    return {
        str(sku_id).lower(): name
        for sku_id, name in TenantSku.objects.filter(tenant=tenant).values_list("sku_id", "product_name")
    }


def licence_rows(tenant, user: dict, group_names: dict[str, str] | None = None) -> list[dict]:
    """One row per assignment (direct and each group), with state and a plain-language error."""
    names, group_names = _sku_names(tenant), group_names or {}
    states = list(user.get("licenseAssignmentStates") or [])
    covered = {str(s.get("skuId", "")).lower() for s in states}
    for assigned in user.get("assignedLicenses") or []:  # assigned but not yet reported in a state
        if str(assigned.get("skuId", "")).lower() not in covered:
            states.append({"skuId": assigned.get("skuId"), "state": "Active", "error": "None",
                           "disabledPlans": assigned.get("disabledPlans") or []})  # fmt: skip
    rows = []
    for state in states:
        sku_id = str(state.get("skuId") or "").lower()
        error = state.get("error") or "None"
        group_id = state.get("assignedByGroup")
        rows.append(
            {
                "sku_id": sku_id,
                "name": names.get(sku_id) or product_name(sku_id) or "Unknown licence",
                "known": bool(names.get(sku_id) or product_name(sku_id)),
                "state": state.get("state") or "",
                "tone": LICENCE_STATES.get(state.get("state") or "", "muted"),
                "error": "" if error == "None" else LICENCE_ERRORS.get(error, error),
                "error_code": "" if error == "None" else error,
                "group_id": group_id or "",
                "group_name": group_names.get(group_id or "", "") if group_id else "",
                "disabled_plans": len(state.get("disabledPlans") or []),
                "updated": _dt(state.get("lastUpdatedDateTime")),
            }
        )
    rows.sort(key=lambda r: (r["name"].lower(), bool(r["group_id"])))
    return rows


def _with_dates(rows: list[dict], *keys: str) -> list[dict]:
    for row in rows:
        for key in keys:
            row[key] = _dt(row.get(key))
    return rows


def methods_data(methods: list[dict]) -> dict:
    _with_dates(methods, "created")
    return {"methods": methods, "mfa_capable": any(m["strong"] for m in methods)}


def devices_data(rows: list[dict]) -> list[dict]:
    return _with_dates(rows, "last_sign_in", "registered")


def sign_ins_data(rows: list[dict]) -> dict:
    _with_dates(rows, "when")
    failures = sum(1 for r in rows if not r["ok"])
    countries = sorted({r["country"] for r in rows if r["country"]})
    return {"rows": rows, "failures": failures, "countries": countries}


# --- loading ---------------------------------------------------------------------------------------------


def graph_client(tenant, **kwargs) -> GraphClient:
    return GraphClient.for_tenant(tenant, **kwargs)


def _body_items(client: GraphClient, body: dict) -> list[dict]:
    """A batch item's ``value`` plus any further pages (followed outside the batch)."""
    items = list(body.get("value") or [])
    link = body.get("@odata.nextLink")
    if link:
        for page in client.iter_pages(link):
            items.extend(page)
    return items


def load_batched(tenant, user_id: str) -> dict[str, Section]:
    """The five directory sections from one $batch; each keeps its own error."""
    uid = str(user_id)
    client = graph_client(tenant)
    requests_ = [
        BatchRequest("user", "GET", graph_users.user_path(uid)),
        memberships.member_of_request(uid),
        auth_methods.methods_request(uid),
        devices.devices_request(uid, "ownedDevices"),
        devices.devices_request(uid, "registeredDevices"),
    ]
    results = client.batch(requests_)

    def outcome(name: str, key: str, shape: Callable[[Any], Any]) -> Section:
        result = results[key]
        if not result.ok:
            return Section(name, error=result.error)
        return _guarded(name, lambda: shape(result.body or {}))

    sections = {
        "groups": outcome(
            "groups", "memberOf", lambda b: memberships.parse_memberships(_body_items(client, b))
        ),
        "auth-methods": outcome(
            "auth-methods",
            "authMethods",
            lambda b: methods_data(auth_methods.parse_methods(_body_items(client, b))),
        ),
        "profile": outcome("profile", "user", profile_data),
    }
    group_names = {g["id"]: g["name"] for g in (sections["groups"].data or {}).get("groups", [])}
    sections["licences"] = outcome("licences", "user", lambda b: licence_rows(tenant, b, group_names))
    owned, registered = results["ownedDevices"], results["registeredDevices"]
    failed = next((r for r in (owned, registered) if not r.ok), None)
    if failed is not None:
        sections["devices"] = Section("devices", error=failed.error)
    else:
        sections["devices"] = _guarded(
            "devices",
            lambda: devices_data(
                devices.merge_devices(
                    _body_items(client, owned.body or {}), _body_items(client, registered.body or {})
                )
            ),
        )
    return {name: sections[name] for name in BATCHED}


def _signs_in_with_premium(tenant) -> bool:
    return bool(tenant.has_entra_p1 or tenant.has_entra_p2)


def load_section(tenant, user_id: str, name: str, *, upn: str = "") -> Section:
    """One section on its own (first load of the non-batched ones, and every Retry)."""
    if name not in TITLES:
        raise ValueError(f"unknown section {name!r}")
    uid = str(user_id)
    if name == "sign-ins" and not _signs_in_with_premium(tenant):
        return Section(name, unavailable=NO_PREMIUM)
    loaders: dict[str, Callable[[], Any]] = {
        "profile": lambda: profile_data(graph_users.get_user(graph_client(tenant), uid)),
        "licences": lambda: licence_rows(tenant, graph_users.get_user(graph_client(tenant), uid)),
        "groups": lambda: memberships.list_memberships(graph_client(tenant), uid),
        "auth-methods": lambda: methods_data(
            auth_methods.list_authentication_methods(graph_client(tenant), uid)
        ),
        "devices": lambda: devices_data(devices.list_user_devices(graph_client(tenant), uid)),
        "mfa": lambda: _mfa_state(tenant, uid),
        "roles": lambda: {"roles": role_assignments.user_roles(graph_client(tenant), uid)},
        "sign-ins": lambda: sign_ins_data(signins.list_recent_sign_ins(graph_client(tenant), uid)),
        "mailbox": lambda: _mailbox(tenant, uid, upn),
        "mobile-devices": lambda: _mobile_devices(tenant, uid, upn),
        "onedrive": lambda: _onedrive(tenant, uid),
    }
    return _guarded(name, loaders[name])


def _mfa_state(tenant, user_id: str) -> str:
    """Read live, and written through to the cache: the users table's MFA column shows what was last
    read here (or set by the MFA action); a per-user request for every user is not part of the sync."""
    state = auth_methods.get_per_user_mfa_state(graph_client(tenant, version="beta"), user_id)
    if state in auth_methods.MFA_STATES:
        DirectoryUser.objects.filter(tenant=tenant, user_id=user_id).update(per_user_mfa_state=state)
    return state


def _mailbox(tenant, user_id: str, upn: str) -> dict:
    summary = mailbox.get_mailbox_summary(ExchangeClient.for_tenant(tenant), user_id, upn or None)
    if summary.get("exists"):
        summary["auto_reply_start"] = _dt(summary.get("auto_reply_start"))
        summary["auto_reply_end"] = _dt(summary.get("auto_reply_end"))
    return summary


def _mobile_devices(tenant, user_id: str, upn: str) -> dict:
    try:
        rows = mobile_devices.list_mobile_devices(ExchangeClient.for_tenant(tenant), upn or user_id)
    except GraphError as error:
        if error.status == 404:  # no mailbox: nothing can sync with it
            return {"devices": [], "no_mailbox": True}
        raise
    for row in rows:
        row["first_sync"], row["last_sync"] = _dt(row["first_sync"]), _dt(row["last_sync"])
    return {"devices": rows, "not_a_wipe": mobile_devices.NOT_A_WIPE}


def _onedrive(tenant, user_id: str) -> dict:
    status = onedrive.get_onedrive_status(graph_client(tenant), user_id)
    if status.get("provisioned"):
        status["created"] = _dt(status.get("created"))
    return status


def lookup_user(tenant, user_id: str) -> dict | None:
    """The header's fallback when the user is not in the cache: one Graph read by id, None if that fails."""
    try:
        return graph_users.get_user(graph_client(tenant), str(user_id), select=graph_users.PROFILE_SELECT)
    except GraphError:
        return None
