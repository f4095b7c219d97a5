"""Add to group: one group picked from the tenant's groups (kind shown), added for one user or many.

Security and Microsoft 365 groups are written through Graph ``members/$ref``, planned so the runner sends
all targets in ``$batch`` requests of 20. Distribution lists and mail-enabled security groups are
read-only in Graph: for those ``plan`` asks Graph for the group again (batched too; like CIPP, the kind is
re-derived from Graph rather than trusted from the form) and ``interpret`` then runs Exchange's
``Add-DistributionGroupMember`` for the target. Either way "already a member" is a skip, not a failure.
"""

from __future__ import annotations

from graph.errors import GraphError
from graph.services import groups as group_service
from graph.services import mailbox_admin

from .mail_forms import AddToGroupForm
from .registry import Action, Group, Outcome, Status, Target, register
from .wording import who

REQUEST_ID = "add-member"
ALREADY_MEMBER = "Already a member."


def _choice(data: dict) -> dict:
    return data.get("group_choice") or {}


def plan(ctx, target: Target, data: dict) -> list:
    choice = _choice(data)
    if choice.get("via") == "graph":
        return [group_service.add_member_request(choice["id"], str(target.user.user_id), REQUEST_ID)]
    return [group_service.get_group_request(choice["id"], REQUEST_ID)]


def _own_result(results: dict):
    if REQUEST_ID in results:
        return results[REQUEST_ID]
    return next(iter(results.values()), None) if len(results) == 1 else None


def interpret(ctx, target: Target, data: dict, results: dict) -> Outcome:
    choice = _choice(data)
    name, kind = choice.get("name", "the group"), choice.get("kind", "")
    if choice.get("via") == "exchange":
        return _add_through_exchange(ctx, target, choice)
    if choice.get("via") != "graph":
        return Outcome(
            Status.SKIPPED,
            f"{name} cannot take members from here: {choice.get('why_not') or 'unknown group'}.",
        )
    result = _own_result(results)
    if result is None:
        return Outcome(Status.FAILED, "No answer from Graph for this user.")
    request_ids = [rid for rid in (getattr(result.error, "request_id", None),) if rid]
    if result.ok:
        return Outcome(Status.SUCCESS, f"Added to {name} ({kind}).", details={"group_id": choice["id"]})
    if group_service.is_already_member_error(result.error):
        return Outcome(
            Status.SKIPPED, ALREADY_MEMBER, request_ids=request_ids, details={"group_id": choice["id"]}
        )
    message = result.error.message if result.error else f"HTTP {result.status}"
    return Outcome(Status.FAILED, message, request_ids=request_ids, details={"group_id": choice["id"]})


def _add_through_exchange(ctx, target: Target, choice: dict) -> Outcome:
    member = target.user.mail or target.user.user_principal_name
    # The group's address names it unambiguously in Exchange; its object id works too.
    identity = choice.get("mail") or choice["id"]
    details = {"group_id": choice["id"]}
    try:
        added = mailbox_admin.add_distribution_group_member(ctx.exchange, identity, member)
    except GraphError as error:
        request_ids = [error.request_id] if error.request_id else []
        return Outcome(Status.FAILED, error.message, request_ids=request_ids, details=details)
    if not added:
        return Outcome(Status.SKIPPED, ALREADY_MEMBER, details=details)
    return Outcome(Status.SUCCESS, f"Added to {choice.get('name')} ({choice.get('kind')}).", details=details)


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
