"""Add to group: one group picked from the tenant's groups (kind shown), added for one user or many.

Security and Microsoft 365 groups are written through Graph ``members/$ref``, planned so the runner sends
all targets in ``$batch`` requests of 20. Distribution lists and mail-enabled security groups are
read-only in Graph: for those ``plan`` asks Graph for the group again (batched too; like CIPP, the kind is
re-derived from Graph rather than trusted from the form) and ``interpret`` then runs Exchange's
``Add-DistributionGroupMember`` for the target. Either way "already a member" is a skip, not a failure.
The per-kind logic is shared with Remove from group and Add / Edit user (users.provisioning.membership).
"""

from __future__ import annotations

from graph.services.memberships import member_of_ids_request
from users.provisioning import membership

from . import guard
from .mail_forms import AddToGroupForm
from .registry import Action, Group, Outcome, Status, Target, register
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


def already_done(ctx, targets: list[Target], data: dict) -> dict[str, Outcome]:
    """A resumed Job's targets whose add a dead worker had sent: those Graph lists as direct members of the
    group are done, and their add is not sent again (it would answer "already a member": done twice).
    Exchange kinds are sent again; Exchange answers "already a member", reported as a skip."""
    choice = _choice(data)
    if choice.get("via") != "graph" or not targets:
        return {}
    ids = [str(target.user.user_id) for target in targets]
    results = ctx.graph.batch([member_of_ids_request(user_id, f"m{i}") for i, user_id in enumerate(ids)])
    done = {}
    for i, user_id in enumerate(ids):
        result = results.get(f"m{i}")
        if result is None or not result.ok:
            continue  # not known: sent again
        if any(str(item.get("id")) == choice.get("id") for item in (result.body or {}).get("value") or []):
            done[user_id] = Outcome(
                Status.SUCCESS, f"Added to {choice.get('name')} ({choice.get('kind')}).",
                details={"group_id": choice.get("id"), "note": "Confirmed in Graph after the worker restarted."},
            )  # fmt: skip
    return done


def refuse(ctx, data: dict) -> str | None:
    """Joining a role-assignable group gives the user the group's directory roles: only an Admin may."""
    choice = _choice(data)
    if choice.get("role_assignable") and guard.needs_check(ctx.technician, ctx.tenant):
        return (
            f"Needs the Admin role because {choice.get('name')} is a role-assignable group: its members hold "
            "the directory roles assigned to it."
        )
    return None


def confirm(targets: list[Target], tenant) -> str:
    place = f"in {tenant.display_name}" if tenant is not None else ""
    return (
        f"Add {who(targets)} {place} to the group chosen below. Members get the group's access, mail and "
        "licences (if the group assigns any) straight away."
    ).replace("  ", " ")


register(Action(
    key="add-to-group", label="Add to group", group=Group.GROUPS, icon="people",
    permission="users.edit", form_class=AddToGroupForm, confirm=confirm, bulk=True,
    plan=plan, interpret=interpret, already_done=already_done, refuse=refuse,
))  # fmt: skip
