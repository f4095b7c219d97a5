"""Restore and permanently delete users from a tenant's deleted items.

Restore needs ``users.edit`` (Editor); delete permanently ``users.actions.admin`` (Admin). Both go
through the privileged-target guard: a deleted user answers no /users/{id}/... read, so the roles it held
are read from its role assignments (which stay with it in deleted items); a technician without the Admin
role is refused when it held a privileged role, and also when those assignments cannot be read (fail
closed, with the reason). Every attempt is audited. A restored user is written into the directory cache at
once (as Add user does), so the users table shows it without waiting for the next sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from graph.errors import GraphError, NotFoundError
from graph.services import deleted_users as service
from graph.services.users import get_user
from tenants.access import require
from users import audit
from users.actions.guard import needs_check, privileged_role_names, privileged_templates
from users.actions.runner import build_context
from users.sync import USER_SELECT, RecordError, apply_user_record

logger = logging.getLogger(__name__)

RESTORE = "restore-deleted-user"
PURGE = "purge-deleted-user"
MAX_SELECTION = 50  # one page of restores: each is a live Graph call while the technician waits


@dataclass
class ItemResult:
    user_id: str
    upn: str
    status: str  # "success" | "failed" | "refused"
    message: str
    request_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "success"


def _audit_result(status: str) -> str:
    return {"success": "success", "failed": "failed", "refused": "skipped"}[status]


def _unknown(reason: str) -> str:
    return (
        f"Refused: could not check whether this user held an administrator role ({reason}); only a "
        "technician with the Admin role may go ahead."
    )


def _group_refusal(ctx, cache: dict) -> str | None:
    """Once per tenant and run: a privileged role held by a role-assignable group refuses every deleted
    user for a non-Admin, since Graph does not show a deleted user's memberships (fail closed)."""
    if "group" not in cache:
        try:
            held = service.group_held_roles(ctx.graph)
        except GraphError as error:
            cache["group"] = _unknown(f"role-assignable groups unreadable: {error.message}")
            return cache["group"]
        templates = privileged_templates(ctx) if held else {}
        found = sorted({f"{name} ({templates[t.lower()]})" for name, t in held if t.lower() in templates})
        cache["group"] = (
            f"Needs the Admin role: {', '.join(found)} hold{'s' if len(found) == 1 else ''} an administrator "
            "role, and Microsoft does not show which groups a deleted user belonged to (a restore brings its "
            "memberships back)."
            if found
            else None
        )
    return cache["group"]


def _guard(ctx, user_id: str, upn: str, cache: dict) -> str | None:
    """Why the acting technician may not touch this deleted user, or None."""
    if not needs_check(ctx.technician, ctx.tenant):
        return None
    try:
        assignments = service.role_assignments_of(ctx.graph, user_id)
    except GraphError as error:
        return _unknown(error.message)
    if assignments:
        held = [{"roleTemplateId": a.get("roleDefinitionId"), "displayName": None} for a in assignments]
        roles = privileged_role_names(held, privileged_templates(ctx))
        if roles:
            return f"Needs the Admin role because {upn or user_id} held {', '.join(roles)} before it was deleted."
    return _group_refusal(ctx, cache)


def _read(ctx, user_id: str) -> tuple[dict | None, ItemResult | None]:
    try:
        return service.get_deleted_user(ctx.graph, user_id), None
    except NotFoundError:
        message = "Not in deleted items any more (already restored, or removed for good)."
        return None, ItemResult(user_id, "", "failed", message)
    except (GraphError, ValueError) as error:
        return None, ItemResult(user_id, "", "failed", f"Could not read the deleted user: {error}")


def _write_through(ctx, user_id: str, restored: dict) -> None:
    try:
        apply_user_record(ctx.tenant, get_user(ctx.graph, user_id, USER_SELECT), partial=False)
    except (GraphError, RecordError) as error:
        logger.info("restored user %s not read back (%s); caching Graph's restore answer", user_id, error)
        try:
            apply_user_record(ctx.tenant, {**restored, "id": user_id}, partial=True)
        except RecordError:
            logger.warning("the restored user could not be written to the directory cache")


def _ids(error: GraphError) -> list[str]:
    return [error.request_id] if getattr(error, "request_id", None) else []


def _run(request, tenant, user_ids: list[str], *, perm: str, action: str, work) -> list[ItemResult]:
    require(request.user, perm, tenant)
    ctx = build_context(tenant, request.user)
    cache: dict = {}  # what the guard read once for this tenant
    results = []
    for user_id in list(dict.fromkeys(user_ids))[:MAX_SELECTION]:
        found, failed = _read(ctx, user_id)
        if failed is None:
            upn = str(found.get("userPrincipalName") or "")
            refusal = _guard(ctx, user_id, upn, cache)
            if refusal:
                result = ItemResult(user_id, upn, "refused", refusal)
            else:
                result = work(ctx, user_id, upn, found)
        else:
            result = failed
        audit.record(request, tenant=tenant, target=(user_id, result.upn), action=action, parameters={},
                     result=_audit_result(result.status), message=result.message,
                     request_ids=result.request_ids)  # fmt: skip
        results.append(result)
    return results


def _restore_one(ctx, user_id: str, upn: str, found: dict) -> ItemResult:
    try:
        restored = service.restore_deleted_user(ctx.graph, user_id)
    except GraphError as error:
        # Graph's own words: a UPN or proxy-address clash names the property ("Another object with the
        # same value for property userPrincipalName already exists.").
        hint = ""
        if "userPrincipalName" in error.message:
            hint = f" A live user now holds {upn}: rename or delete that user first, then restore."
        elif "proxyAddresses" in error.message:
            hint = " A live user or group now holds one of its email addresses."
        return ItemResult(user_id, upn, "failed", f"Not restored: {error.message}{hint}", _ids(error))
    _write_through(ctx, user_id, restored if isinstance(restored, dict) else {})
    return ItemResult(user_id, upn, "success", f"Restored {upn}, with its licences and group memberships.")


def _purge_one(ctx, user_id: str, upn: str, found: dict) -> ItemResult:
    try:
        service.purge_deleted_user(ctx.graph, user_id)
    except GraphError as error:
        return ItemResult(user_id, upn, "failed", f"Not deleted: {error.message}", _ids(error))
    return ItemResult(user_id, upn, "success", f"Deleted {upn} permanently.")


def restore_users(request, tenant, user_ids: list[str]) -> list[ItemResult]:
    return _run(request, tenant, user_ids, perm="users.edit", action=RESTORE, work=_restore_one)


def purge_users(request, tenant, user_ids: list[str]) -> list[ItemResult]:
    return _run(request, tenant, user_ids, perm="users.actions.admin", action=PURGE, work=_purge_one)
