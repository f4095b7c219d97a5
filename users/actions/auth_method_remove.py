"""Remove sign-in method: one registered authentication method of one user, picked on View user (each row's
Remove button) or in the modal, deleted with ``DELETE /users/{id}/authentication/{type}Methods/{id}``.

The password method cannot be deleted (Graph has no endpoint for it) and is never offered. A mobile number
cannot be deleted while an alternate mobile exists (Graph answers 400): the message says to remove the
alternate first. A method already gone is a skip. Helpdesk may run it, as Re-require MFA registration; the
privileged-target guard asks for an Admin on role holders.
"""

from __future__ import annotations

from graph.errors import GraphError
from graph.services import mfa

from .auth_method_forms import RemoveAuthMethodForm, method_title, parse_choice
from .registry import Action, ActionContext, Group, Outcome, Status, Target, register
from .security import HELPDESK
from .wording import in_tenant, who


def _confirm(targets: list[Target], tenant) -> str:
    return (
        f"Remove the sign-in method chosen below from {who(targets)} {in_tenant(targets, tenant)}. They can no "
        "longer sign in or approve MFA with it; to use it again they must register it again. The password "
        "cannot be removed here."
    )


def _run(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    try:
        method_type, method_id = parse_choice(data.get("method"))
    except ValueError as error:
        return Outcome(Status.FAILED, f"Nothing removed: {error}.")
    user_id = str(target.user.user_id)
    current = {m["id"]: m for m in mfa.removable_methods(ctx.graph, user_id)}
    method = current.get(method_id)
    details = {"method_type": method_type, "method_id": method_id}
    if method is None or method["type"] != method_type:
        return Outcome(Status.SKIPPED, "That sign-in method is no longer registered; nothing to remove.",
                       details=details)  # fmt: skip
    title = method_title(method)
    details["method"] = title
    try:
        mfa.delete_method(ctx.graph, user_id, method_type, method_id)
    except GraphError as error:
        if error.status == 404:
            return Outcome(Status.SKIPPED, f"{title} was already removed.", details=details)
        hint = ""
        if method_type == "phoneAuthenticationMethod" and method.get("phone_type") == "mobile":
            hint = " Microsoft keeps the mobile number while an alternate mobile exists: remove that first."
        request_ids = [error.request_id] if error.request_id else []
        return Outcome(Status.FAILED, f"Could not remove {title}: {error.message}.{hint}",
                       request_ids=request_ids, details=details)  # fmt: skip
    return Outcome(Status.SUCCESS, f"Removed {title}.", details=details)


REMOVE_AUTH_METHOD = register(
    Action(
        key="remove-auth-method",
        label="Remove sign-in method",
        group=Group.SECURITY,
        icon="phone-flip",
        permission=HELPDESK,
        confirm=_confirm,
        form_class=RemoveAuthMethodForm,
        bulk=False,
        danger=True,
        run=_run,
    )
)
