"""What the runner sends for a row, and what it makes of each answer — no database, no HTTP here.

New users (kind "users"):
* **create**: ``POST /users`` with the body Add user sends (``users.provisioning.create.create_body``),
  plus the admin-center extras (office, fax, other addresses) and this import's **marker**;
* **follow-ups**, once Graph has given the new object id, each its own small chain so they all go out
  together in the following ``$batch`` calls: ``assignLicense`` (every licence of the row in one call),
  one ``members/$ref`` per group, ``manager/$ref`` (the manager may be a row of this file: then it waits
  for that row's user to exist), and the aliases — the "mail trick" (PATCH ``mail`` to each alias in
  turn, then back to the UPN), which must be sequential, so the chain sends one PATCH per round.

Why follow-ups go in the *following* batches rather than in the same batch with ``dependsOn``: Graph
accepts a ``$batch`` only if it is fully parallel or fully sequential ("Batch should be either fully
sequential or fully parallel"), a sequential batch turns one failure into 424 for everything after it
(so one bad row would fail its neighbours), and ``members/$ref`` and ``manager/$ref`` need the new user's
object id, which only the create's answer gives. The request count stays at the floor: every batch is
filled to 20 with whatever is ready (creates, follow-ups, retries).

The marker — ``onPremisesExtensionAttributes.extensionAttribute15`` (``settings.BULKADD_MARKER_ATTRIBUTE``)
set to ``cippusers-import:<token>`` at creation. Graph lets any cloud-only user's extension attributes be
written at creation (they are mastered on-premises only for synced users, which an import never
creates) and returns them on ``$select``; the sandbox stores and returns them the same way. It was
chosen over ``employeeId`` because HR-driven provisioning (Workday, SuccessFactors) matches users on
``employeeId``, so a marker there could stop a later HR sync from matching the person. A resumed run
that finds a UPN taken reads the marker: ours → the row was created (its answer was lost), anything else
→ someone else holds that name and the row fails with that reason. It is never used for a decision
other than that, and it is visible to admins as provenance ("created by cippusers import N").
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings

from graph.batch import BatchRequest, BatchResult
from graph.services import groups as group_service
from graph.services import provisioning as graph_provisioning
from users.provisioning.create import create_body
from users.provisioning.types import NewUser

from .guests import invitation

DEFAULT_MARKER_ATTRIBUTE = "extensionAttribute15"
VERIFY_SELECT = "id,userPrincipalName,displayName,onPremisesExtensionAttributes"
GUEST_SELECT = "id,userPrincipalName,displayName,mail,userType,createdDateTime,externalUserState"
PROFILE_KEYS = ("given_name", "surname", "job_title", "department", "company_name", "street_address", "city",
                "state", "postal_code", "country", "business_phone", "mobile_phone")  # fmt: skip


def marker_attribute() -> str:
    return str(getattr(settings, "BULKADD_MARKER_ATTRIBUTE", DEFAULT_MARKER_ATTRIBUTE))


def marker_value(token: str) -> str:
    return f"cippusers-import:{token}"


def new_user(row) -> NewUser:
    resolved, data = row.resolved, row.data
    return NewUser(
        display_name=resolved["display_name"], username=resolved["username"], domain=resolved["domain"],
        must_change_password=bool(resolved.get("must_change")), usage_location=resolved.get("usage_location") or "",
        **{key: str(data.get(key) or "").strip() for key in PROFILE_KEYS},
    )  # fmt: skip


def user_body(row, password: str, marker_token: str) -> dict:
    body = create_body(new_user(row), password, row.resolved.get("usage_location") or "")
    extras = {
        "officeLocation": str(row.data.get("office_location") or "").strip(),
        "faxNumber": str(row.data.get("fax") or "").strip(),
        "otherMails": list(row.resolved.get("other_mails") or []),
    }
    body.update({key: value for key, value in extras.items() if value})
    body["onPremisesExtensionAttributes"] = {marker_attribute(): marker_value(marker_token)}
    return body


def create_request(row, password: str, marker_token: str) -> BatchRequest:
    return BatchRequest(f"c{row.pk}", "POST", "/users", user_body(row, password, marker_token))


def invite_request(row) -> BatchRequest:
    return BatchRequest(f"i{row.pk}", "POST", "/invitations", invitation(row.resolved))


def verify_request(row) -> BatchRequest:
    """Does the row's user exist now (and is it ours)? GET /users/{upn} with the marker."""
    if row.bulk_import.kind == "guests":
        address = graph_provisioning.odata_string(row.resolved["email"])
        path = graph_provisioning.query_path(
            "/users", {"$filter": f"mail eq {address}", "$select": GUEST_SELECT}
        )
        return BatchRequest(f"v{row.pk}", "GET", path)
    return BatchRequest(
        f"v{row.pk}", "GET", f"/users/{quote(row.resolved['upn'], safe='@')}?$select={VERIFY_SELECT}"
    )


def is_ours(user: dict, marker_token: str) -> bool:
    attributes = user.get("onPremisesExtensionAttributes") or {}
    return attributes.get(marker_attribute()) == marker_value(marker_token)


# --- follow-up steps ----------------------------------------------------------------------------------------


@dataclass
class Step:
    """One follow-up of a row: ``name`` is its key in ``BulkImportRow.steps``."""

    name: str  # "licences", "group:<id>", "manager", "aliases", "read"
    label: str


def steps_for(row) -> list[Step]:
    resolved = row.resolved
    if row.bulk_import.kind == "guests":
        return [Step("read", "Directory record")]
    found = []
    if resolved.get("licences"):
        found.append(Step("licences", "Licences: " + ", ".join(resolved.get("licence_names") or [])))
    for group in resolved.get("groups") or []:
        found.append(Step(f"group:{group['id']}", f"Group {group['name']}"))
    if resolved.get("manager"):
        found.append(Step("manager", f"Manager {resolved['manager']}"))
    if resolved.get("aliases"):
        found.append(Step("aliases", "Aliases: " + ", ".join(resolved["aliases"])))
    return found


def step_request(row, step: str, user_id: str, *, manager_id: str | None = None, alias_index: int = 0):
    """The next request of ``step`` for the row's new user ``user_id`` (None: the step has nothing left)."""
    resolved = row.resolved
    rid = f"{step.split(':')[0][0]}{row.pk}"
    if step == "licences":
        entries = [graph_provisioning.licence_entry(sku) for sku in resolved["licences"]]
        return graph_provisioning.assign_licence_request(user_id, entries, [], rid)
    if step.startswith("group:"):
        group_id = step.split(":", 1)[1]
        index = [g["id"] for g in resolved["groups"]].index(group_id)
        return group_service.add_member_request(group_id, user_id, f"{rid}-{index}")
    if step == "manager":
        return graph_provisioning.set_manager_request(user_id, str(manager_id), rid) if manager_id else None
    if step == "aliases":
        chain = [*resolved["aliases"], resolved["upn"]]  # each alias in turn, then the UPN primary again
        if alias_index >= len(chain):
            return None
        return graph_provisioning.set_mail_request(user_id, chain[alias_index], f"{rid}-{alias_index}")
    if step == "read":
        return BatchRequest(rid, "GET", f"/users/{user_id}?$select={GUEST_SELECT}")
    raise ValueError(f"unknown step {step!r}")


def aliases_chain_length(row) -> int:
    return len(row.resolved.get("aliases") or []) + 1


def already_member(result: BatchResult) -> bool:
    return group_service.is_already_member_error(result.error)


# --- the record written to the directory cache ----------------------------------------------------------------


def cache_record(row, user_id: str, created_at: str) -> dict:
    """What the users table shows for a new user until the next sync (from what was sent and done)."""
    if row.bulk_import.kind == "guests":
        return dict(row.steps.get("read", {}).get("record") or {}) or {
            "id": user_id, "displayName": row.resolved["display_name"], "mail": row.resolved["email"],
            "userType": "Guest", "userPrincipalName": row.resolved["email"],
        }  # fmt: skip
    body = user_body(row, "", "")
    body.pop("passwordProfile", None)
    body.pop("onPremisesExtensionAttributes", None)
    licences = [
        sku
        for sku in row.resolved.get("licences") or []
        if row.steps.get("licences", {}).get("state") == "done"
    ]
    done_aliases = row.steps.get("aliases", {}).get("state") == "done"
    proxies = [f"SMTP:{row.resolved['upn']}"] + [f"smtp:{a}" for a in row.resolved.get("aliases") or []]
    return {
        **body, "id": user_id, "userType": "Member", "createdDateTime": created_at,
        "assignedLicenses": [{"skuId": sku, "disabledPlans": []} for sku in licences],
        "proxyAddresses": proxies if done_aliases else [],
    }  # fmt: skip
