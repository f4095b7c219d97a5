"""Remove from group: one group picked from the tenant's groups (kind shown), left by one user or many.

Security and Microsoft 365 groups: Graph ``DELETE /groups/{id}/members/{user}/$ref``, planned so the runner
sends all targets in ``$batch`` requests of 20. Distribution lists and mail-enabled security groups:
``plan`` reads the group again (its kind re-derived from Graph) and ``interpret`` runs Exchange's
``Remove-DistributionGroupMember``. "Not a member" is a skip, not a failure; dynamic and synced groups
cannot be chosen. The per-kind logic is shared with Add to group (users.provisioning.membership).
"""

from __future__ import annotations

from users.provisioning import membership

from .licence_forms import RemoveFromGroupForm
from .registry import Action, Group, Outcome, Target, register
from .wording import in_tenant, who


def _choice(data: dict) -> dict:
    return data.get("group_choice") or {}


def plan(ctx, target: Target, data: dict) -> list:
    return [membership.action_request(_choice(data), str(target.user.user_id), remove=True)]


def interpret(ctx, target: Target, data: dict, results: dict) -> Outcome:
    step = membership.action_result(
        ctx, _choice(data), membership.target_record(target), results, remove=True
    )
    return Outcome(step.status, step.message, request_ids=step.request_ids,
                   details={"group_id": _choice(data).get("id")})  # fmt: skip


def confirm(targets: list[Target], tenant) -> str:
    return (
        f"Remove {who(targets)} {in_tenant(targets, tenant)} from the group chosen below. They lose the "
        "group's access, its mail and any licence the group assigns straight away; users who are not "
        "members are left as they are."
    )


register(Action(
    key="remove-from-group", label="Remove from group", group=Group.GROUPS, icon="person-dash",
    permission="users.edit", form_class=RemoveFromGroupForm, confirm=confirm, bulk=True,
    plan=plan, interpret=interpret,
))  # fmt: skip
