"""Remove directory role: one role assigned directly to one user (``DELETE
/roleManagement/directory/roleAssignments/{id}``), Admin only, from View user's Remove button or the modal.

A role held through a role-assignable group is not removable here (the assignment belongs to the group and
all its members). The tenant's last Global Administrator assignment is never removed: the handler counts the
Global Administrator assignments first (``$filter=roleDefinitionId eq ...``) and refuses with the reason.
"""

from __future__ import annotations

from graph.errors import GraphError
from graph.services import role_assignments

from .registry import Action, ActionContext, Group, Outcome, Status, Target, register
from .role_remove_forms import RemoveRoleForm, role_title
from .wording import in_tenant, who

ADMIN = "users.actions.admin"


def _confirm(targets: list[Target], tenant) -> str:
    return (
        f"Remove the directory role chosen below from {who(targets)} {in_tenant(targets, tenant)}. The user "
        "loses the role's administrative rights at once (open sessions may keep them for up to an hour); "
        "roles held through a group stay. The tenant's last Global Administrator is never removed."
    )


def _run(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    assignment_id = str(data.get("assignment") or "")
    user_id = str(target.user.user_id)
    roles = role_assignments.user_roles(ctx.graph, user_id)
    row = next((r for r in roles if r["assignment_id"] == assignment_id), None)
    details = {"assignment_id": assignment_id}
    if row is None:
        return Outcome(Status.SKIPPED, "The user no longer holds that role assignment; nothing to remove.",
                       details=details)  # fmt: skip
    title = role_title(row)
    details.update(role=row["role"], role_id=row["role_id"])
    if not row["removable"]:
        return Outcome(Status.FAILED, f"{title} is held through the group {row['via_group']}: remove the user "
                       "from that group instead (its assignment applies to every member).", details=details)  # fmt: skip
    if row["role_id"] == role_assignments.GLOBAL_ADMINISTRATOR:
        holders = role_assignments.assignments_for_role(ctx.graph, role_assignments.GLOBAL_ADMINISTRATOR)
        others = [a for a in holders if str(a.get("id")) != assignment_id]
        details["global_admin_assignments"] = len(holders)
        if not others:
            return Outcome(Status.FAILED, f"Refused: {who([target])} is the only Global Administrator of "
                           f"{ctx.tenant.display_name}; removing the role would leave nobody able to manage the "
                           "tenant. Assign another Global Administrator first.", details=details)  # fmt: skip
    try:
        role_assignments.delete_assignment(ctx.graph, assignment_id)
    except GraphError as error:
        if error.status == 404:
            return Outcome(Status.SKIPPED, f"{title} was already removed.", details=details)
        request_ids = [error.request_id] if error.request_id else []
        return Outcome(Status.FAILED, f"Could not remove {title}: {error.message}.", request_ids=request_ids,
                       details=details)  # fmt: skip
    return Outcome(Status.SUCCESS, f"Removed the {title} role.", details=details)


REMOVE_ROLE = register(
    Action(
        key="remove-directory-role",
        label="Remove directory role",
        group=Group.SECURITY,
        icon="shield-minus",
        permission=ADMIN,
        confirm=_confirm,
        form_class=RemoveRoleForm,
        bulk=False,
        danger=True,
        run=_run,
    )
)
