"""Add to group: one group picked from the tenant's groups (kind shown), added for one user or many.

Security and Microsoft 365 groups are written through Graph ``members/$ref``, planned so the runner sends
all targets in ``$batch`` requests of 20. Distribution lists and mail-enabled security groups are
read-only in Graph: for those ``plan`` asks Graph for the group again (batched too; like CIPP, the kind is
re-derived from Graph rather than trusted from the form) and ``interpret`` then runs Exchange's
``Add-DistributionGroupMember`` for the target. Either way "already a member" is a skip, not a failure.
The per-kind logic is shared with Remove from group and Add / Edit user (users.provisioning.membership).
"""

from __future__ import annotations

from users.provisioning import membership

from .mail_forms import AddToGroupForm
from .registry import Action, Group, Outcome, Target, register
from .wording import who

ALREADY_MEMBER = membership.ALREADY_MEMBER


def _choice(data: dict) -> dict:
    return data.get("group_choice") or {}


def plan(ctx, target: Target, data: dict) -> list:
    return [membership.action_request(_choice(data), str(target.user.user_id))]


def interpret(ctx, target: Target, data: dict, results: dict) -> Outcome:
    step = membership.action_result(ctx, _choice(data), membership.target_record(target), results)
    return Outcome(
        step.status, step.message, request_ids=step.request_ids, details={"group_id": _choice(data).get("id")}
    )


def confirm(targets: list[Target], tenant) -> str:
    place = f"in {tenant.display_name}" if tenant is not None else ""
    return (
        f"Add {who(targets)} {place} to the group chosen below. Members get the group's access, mail and "
        "licences (if the group assigns any) straight away."
    ).replace("  ", " ")


register(Action(
    key="add-to-group", label="Add to group", group=Group.GROUPS, icon="people",
    permission="users.edit", form_class=AddToGroupForm, confirm=confirm, bulk=True,
    plan=plan, interpret=interpret,
))  # fmt: skip
