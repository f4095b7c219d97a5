"""Guard on privileged targets: resetting credentials, MFA or sign-in state of an administrator needs the
Admin role (``users.actions.admin``).

Whether a target is privileged is checked live (the cache can be minutes old and a role grant is exactly
what an attacker would make first): one ``memberOf/microsoft.graph.directoryRole`` read per target, sent
in $batch calls of 20 for a selection. A target whose roles cannot be read is refused too (fail closed),
with the reason. Technicians who hold the Admin role on the tenant skip the lookup entirely.
"""

from __future__ import annotations

from collections.abc import Iterable

from graph.errors import GraphError
from graph.services import account as account_service
from tenants.access import can

from .registry import ActionContext, Target

# roleTemplateId → name. Roles that can take over other accounts or the tenant's configuration.
PRIVILEGED_ROLES: dict[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "69091246-20e8-4a56-aa4d-066075b2a7a8": "Teams Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
}


def needs_check(technician, tenant) -> bool:
    """Whether the guard must look: only for technicians without the Admin role on the tenant."""
    return not can(technician, "users.actions.admin", tenant)


def privileged_role_names(roles: Iterable[dict]) -> list[str]:
    names = []
    for role in roles:
        template = str(role.get("roleTemplateId") or "").lower()
        if template in PRIVILEGED_ROLES:
            names.append(role.get("displayName") or PRIVILEGED_ROLES[template])
    return sorted(set(names))


def refusal(target: Target, roles: list[str]) -> str:
    who = target.user.user_principal_name or str(target.user.user_id)
    return f"Needs the Admin role because {who} holds {', '.join(roles)}."


def check_targets(ctx: ActionContext, targets: list[Target]) -> dict[str, str]:
    """{user id: why refused} for the targets the acting technician may not touch. Empty when every
    target is fine (or the technician is an Admin on the tenant)."""
    if not targets or not needs_check(ctx.technician, ctx.tenant):
        return {}
    requests_ = [
        account_service.directory_roles_request(str(t.user.user_id), f"r{i}") for i, t in enumerate(targets)
    ]
    try:
        results = ctx.graph.batch(requests_)
    except GraphError as error:  # the whole call failed: nobody is known to be safe
        return {str(t.user.user_id): _unknown(error) for t in targets}
    refused: dict[str, str] = {}
    for index, target in enumerate(targets):
        result = results.get(f"r{index}")
        user_id = str(target.user.user_id)
        if result is None or not result.ok:
            if result is not None and result.status == 404:
                continue  # the user is gone: the action itself will report that
            refused[user_id] = _unknown(result.error if result is not None else None)
            continue
        body = result.body if isinstance(result.body, dict) else {}
        roles = privileged_role_names(body.get("value") or [])
        if roles:
            refused[user_id] = refusal(target, roles)
    return refused


def _unknown(error: GraphError | None) -> str:
    reason = error.message if error is not None else "no answer"
    return (
        "Refused: could not check whether this user holds an administrator role "
        f"({reason}); only a technician with the Admin role may go ahead."
    )
