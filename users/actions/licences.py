"""Manage licences: add and / or remove SKUs for one user or many, one ``assignLicense`` per user, all
users' requests sent together in ``$batch`` calls of 20 by the runner.

Per user only what changes is sent: a SKU to add that the user already has is left alone (re-adding it
would reset its service plans), a SKU to remove that the user does not have is not sent (Graph would
refuse the whole call). A user with nothing to change is skipped. The form refuses, before anything is
sent, an add that needs more units than are left across the selection (users.actions.licence_forms).
What a user holds is read from the directory cache, which the sync and every action keep current; if it
was stale, Graph's refusal is reported for that user.
"""

from __future__ import annotations

from graph.services import provisioning as graph_provisioning
from users.sync.skus import LicenceNamer

from .licence_forms import ManageLicencesForm
from .registry import Action, Group, Outcome, Status, Target, register
from .runner import failure
from .wording import in_tenant, who

REQUEST_ID = "licences"
USAGE_LOCATION_HINT = " Set the user's usage location (country) first: Graph needs it to assign licences."


def _held(target: Target) -> set[str]:
    return {str(sku).lower() for sku in target.user.license_sku_ids or []}


def changes(target: Target, data: dict) -> tuple[list[str], list[str]]:
    """(SKUs to add, SKUs to remove) for this user: only what would change."""
    held = _held(target)
    add = [str(s).lower() for s in data.get("add_skus") or [] if str(s).lower() not in held]
    remove = [str(s).lower() for s in data.get("remove_skus") or [] if str(s).lower() in held]
    return add, remove


def plan(ctx, target: Target, data: dict) -> list:
    add, remove = changes(target, data)
    if not add and not remove:
        return []  # the runner reports "Nothing to change for this user." (skipped)
    entries = [graph_provisioning.licence_entry(sku) for sku in add]
    return [graph_provisioning.assign_licence_request(str(target.user.user_id), entries, remove, REQUEST_ID)]


def _name(ctx, data: dict):
    names = {str(k).lower(): v for k, v in (data.get("sku_names") or {}).items()}

    def name(sku: str) -> str:
        if sku not in names:  # not in the form's list (a Job's data): the tenant's cached names
            names[sku] = LicenceNamer.for_tenant(ctx.tenant)(sku)
        return names[sku]

    return name


def interpret(ctx, target: Target, data: dict, results: dict) -> Outcome:
    add, remove = changes(target, data)
    result = results.get(REQUEST_ID)
    if result is None and len(results) == 1:
        result = next(iter(results.values()))
    if result is None:
        return Outcome(Status.FAILED, "Graph returned no answer for this user.")
    request_id = str((result.headers or {}).get("request-id") or "")
    if not result.ok:
        if result.error is None:
            return Outcome(Status.FAILED, f"Graph answered HTTP {result.status}.")
        outcome = failure(result.error)
        if "usage location" in outcome.message.lower():
            outcome.message += USAGE_LOCATION_HINT
        if request_id and request_id not in outcome.request_ids:
            outcome.request_ids.append(request_id)
        return outcome
    name = _name(ctx, data)
    parts = []
    if add:
        parts.append("Added " + ", ".join(name(s) for s in add))
    if remove:
        parts.append(("removed " if add else "Removed ") + ", ".join(name(s) for s in remove))
    record = {"assignedLicenses": _assigned_after(target, add, remove)}
    ids = [request_id] if request_id else []
    details = {"added": add, "removed": remove}
    return Outcome(
        Status.SUCCESS, "; ".join(parts) + ".", request_ids=ids, details=details, user_record=record
    )


def _assigned_after(target: Target, add: list[str], remove: list[str]) -> list[dict]:
    """The user's assignedLicenses after the change, for the cache (disabled plans kept where known)."""
    known = {
        str(a.get("skuId") or "").lower(): a for a in (target.user.graph or {}).get("assignedLicenses") or []
    }
    kept = [
        known.get(sku) or graph_provisioning.licence_entry(sku) for sku in _held(target) if sku not in remove
    ]
    return kept + [graph_provisioning.licence_entry(sku) for sku in add]


def confirm(targets: list[Target], tenant) -> str:
    return (
        f"Change the licences of {who(targets)} {in_tenant(targets, tenant)}: each licence chosen below is "
        "added to the users who lack it and removed from the users who have it. Removing a licence takes "
        "away its services at once (a mailbox's data is kept for 30 days)."
    )


register(Action(
    key="licences", label="Manage licences", group=Group.ACCOUNT, icon="card-checklist",
    permission="users.edit", form_class=ManageLicencesForm, confirm=confirm, bulk=True,
    plan=plan, interpret=interpret,
))  # fmt: skip
