"""OneDrive actions: pre-provision a user's OneDrive, add a shortcut to a SharePoint library or folder.

Pre-provision OneDrive posts SharePoint CSOM ``Tenant.RequestPersonalSites`` to the tenant's admin site
with a delegated SharePoint token (graph.services.sharepoint), as the reference does. It is offered only to
users whose cached licences include a SharePoint Online / OneDrive plan (``onedrive_licences``; the menus
grey it out with the reason otherwise, and the runner skips such a user with it). It first reads the
user's drive: a user who already has one is skipped with the reason. SharePoint only queues the creation,
so the outcome is ACCEPTED ("completes later"), never SUCCESS; View user's OneDrive section says "not
provisioned" until the drive exists. CSOM takes up to 200 names per call, but the registry runs ``run=``
handlers per target, so each user gets their own call (and their own truthful result); a selection of N
users costs N small calls.

Add OneDrive shortcut resolves the pasted URL once per run and tenant (the first target does it; the
result, or the reason it failed, is kept on the ActionContext for the others), then posts the shortcut to
each user's drive root. A user without a OneDrive is skipped with the reason.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graph.errors import AuthError, GraphError, NotFoundError
from graph.services import drive_shortcuts as shortcuts
from graph.services.onedrive import get_onedrive_status
from graph.services.sharepoint import SharePointAdminClient, resolve_admin_host, sharepoint_name_from_host
from graph.services.users import get_user

from .onedrive_forms import OneDriveShortcutForm
from .onedrive_licences import onedrive_why_not
from .registry import Action, ActionContext, Group, Outcome, Status, Target, register
from .wording import in_tenant, who

if TYPE_CHECKING:
    from users.models import DirectoryUser

PROVISION_ACCEPTED = "Requested; OneDrive provisioning completes later (minutes to hours)."
_context_lock = threading.Lock()


def per_context(ctx: ActionContext, key: str, factory: Callable[[], Any]) -> Any:
    """A value computed once per run and tenant (the context lives exactly that long). Exceptions are
    kept too, so every target of the run reports the same reason without asking again."""
    slot = f"_onedrive_{key}"
    with _context_lock:
        if slot not in ctx.__dict__:
            try:
                ctx.__dict__[slot] = (factory(), None)
            except (GraphError, shortcuts.ShortcutError) as exc:
                ctx.__dict__[slot] = (None, exc)
    value, error = ctx.__dict__[slot]
    if error is not None:
        raise error
    return value


def reports_failures(handler):
    """GraphError → failed with the service's reason; a 401/403 from SharePoint gets the usual cause."""

    @functools.wraps(handler)
    def wrapper(ctx: ActionContext, target: Target, data: dict) -> Outcome:
        try:
            return handler(ctx, target, data)
        except shortcuts.ShortcutError as exc:
            return Outcome(Status.FAILED, str(exc))
        except AuthError as exc:
            hint = " (the partner account needs the SharePoint Administrator role through GDAP)"
            return Outcome(Status.FAILED, f"Access denied: {exc.message}{hint}", request_ids=_ids(exc))
        except GraphError as exc:
            return Outcome(Status.FAILED, exc.message, request_ids=_ids(exc))

    return wrapper


def _ids(exc: GraphError) -> list[str]:
    return [exc.request_id] if exc.request_id else []


# --- Pre-provision OneDrive -------------------------------------------------------------------------------


def provision_why_not(user: DirectoryUser) -> str | None:
    if (user.user_type or "").lower() == "guest":
        return "Guests get no OneDrive in this tenant."
    if not user.is_licensed:
        return "No licence: a OneDrive needs a licence that includes SharePoint Online."
    return onedrive_why_not(user)


def live_upn(ctx: ActionContext, target: Target) -> str | None:
    """The user's current UPN from Graph, or None when Graph no longer knows the user. Needed because a
    404 on ``/drive`` does not say whether the drive or the user is missing, and SharePoint accepts an
    unknown name without complaint — reporting "requested" for a deleted user would be a lie."""
    try:
        record = get_user(ctx.graph, str(target.user.user_id), select="id,userPrincipalName")
    except NotFoundError:
        return None
    return str(record.get("userPrincipalName") or target.user.user_principal_name)


def gone(target: Target) -> Outcome:
    return Outcome(Status.FAILED, f"{target.user.user_principal_name} no longer exists in the directory.")


@reports_failures
def provision_onedrive(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    status = get_onedrive_status(ctx.graph, str(target.user.user_id))
    if status.get("provisioned"):
        return Outcome(Status.SKIPPED, f"Already has a OneDrive ({status.get('web_url') or 'provisioned'}).")
    upn = live_upn(ctx, target)
    if upn is None:
        return gone(target)
    client = per_context(ctx, "sharepoint", lambda: SharePointAdminClient.for_tenant(ctx.tenant, ctx.graph))
    operation = client.request_personal_sites([upn])
    details = {"admin_host": ctx.tenant.sharepoint_admin_host}
    if operation.get("_dry_run"):
        details["dry_run"] = True
    return Outcome(Status.ACCEPTED, PROVISION_ACCEPTED, details=details)


register(Action(
    key="onedrive-provision", label="Pre-provision OneDrive", group=Group.ONEDRIVE, icon="cloud-plus",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Ask SharePoint to create the OneDrive of {who(targets)} {in_tenant(targets, tenant)}. SharePoint creates it in "
        "the background, which can take minutes to hours; users who already have a OneDrive are skipped."
    ),
    applies=provision_why_not, run=provision_onedrive,
))  # fmt: skip


# --- Add OneDrive shortcut --------------------------------------------------------------------------------


def shortcut_why_not(user: DirectoryUser) -> str | None:
    if (user.user_type or "").lower() == "guest":
        return "Guests have no OneDrive in this tenant."
    return None


def resolve_for_tenant(ctx: ActionContext, url: str) -> shortcuts.ShortcutTarget:
    """Check the URL against this tenant's SharePoint name, then resolve it to its driveItem."""
    name = sharepoint_name_from_host(resolve_admin_host(ctx.tenant, ctx.graph))
    checked = shortcuts.check_url(url, sharepoint_name=name)
    return shortcuts.resolve_url(ctx.graph, checked)


@reports_failures
def add_shortcut(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    url = str(data.get("url") or "")
    resolved = per_context(ctx, f"shortcut:{url}", lambda: resolve_for_tenant(ctx, url))
    user_id = str(target.user.user_id)
    try:
        shortcuts.require_onedrive(ctx.graph, user_id)
    except shortcuts.NoOneDriveError as exc:
        if live_upn(ctx, target) is None:
            return gone(target)
        return Outcome(Status.SKIPPED, f"{target.user.user_principal_name} {exc}.")
    item = shortcuts.create_shortcut(ctx.graph, user_id, resolved, data.get("name") or None)
    created = item.get("name") or data.get("name") or resolved.name
    return Outcome(
        Status.SUCCESS,
        f"Added the shortcut “{created}” to My files ({resolved.web_url}).",
        details={"shortcut_id": item.get("id"), "name": created, "target": resolved.web_url},
    )


register(Action(
    key="onedrive-shortcut", label="Add OneDrive shortcut", group=Group.ONEDRIVE, icon="folder-symlink",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Add a shortcut to the SharePoint library or folder below to the OneDrive (My files) of "
        f"{who(targets)} {in_tenant(targets, tenant)}. The shortcut grants no access: users who cannot open the folder "
        "will see it but not its content. Users without a OneDrive are skipped."
    ),
    form_class=OneDriveShortcutForm, applies=shortcut_why_not, run=add_shortcut,
))  # fmt: skip
