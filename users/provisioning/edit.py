"""Edit user: apply exactly what changed, each step reporting its own result.

1. one ``$batch`` of reads: the user as it is now (mail, licences, sync state), the subscribed SKUs when
   licences are added, every group added or removed (its kind as Graph has it now), and both users'
   memberships when groups are copied; Exchange's Get-Mailbox when addresses change;
2. one ``$batch`` with the Graph writes: ``PATCH /users/{id}`` with exactly ``edit.changes`` (skipped when
   empty; None clears a property), one assignLicense with every SKU added, re-added with new disabled plans
   and removed (a SKU is only removed when the user has it, only added when units are left), group
   ``members/$ref`` adds and removes, copied groups, the ``mail`` PATCHes of aliases for a user without a
   mailbox, and ``manager/$ref`` (PUT, or DELETE when the manager is removed);
3. the Exchange parts: distribution lists and mail-enabled security groups, addresses added or removed
   through ``Set-Mailbox -EmailAddresses`` (Graph cannot remove an address);
4. the user read again into the directory cache.

Dynamic and on-premises synced groups are refused with the reason and never sent. Every step is audited
(``edit-user`` for the profile, ``edit-user:<step>`` for the others).
"""

from __future__ import annotations

import logging

from graph.errors import GraphError
from graph.services import provisioning as graph_provisioning
from graph.services.users import get_user
from tenants.access import require
from users.actions.registry import Status
from users.sync import USER_SELECT, RecordError, apply_user_record

from . import steps
from .types import UNCHANGED, LicenceChoice, StepResult, UserEdit

logger = logging.getLogger(__name__)

ACTION = "edit-user"
CURRENT_SELECT = "id,userPrincipalName,displayName,mail,proxyAddresses,onPremisesSyncEnabled,assignedLicenses"


def _licence_changes(edit: UserEdit, current: dict) -> tuple[list, list, list, list[str]]:
    """(add, remove, change plans, notes): a SKU the user already holds is re-added with its new disabled
    plans (no unit taken); a SKU the user does not hold is not sent for removal."""
    held = {str(item.get("skuId") or "").lower() for item in current.get("assignedLicenses") or []}
    add: list[LicenceChoice] = []
    change: list[LicenceChoice] = list(edit.change_plans)
    for choice in edit.add_licences:
        (change if choice.sku_id.lower() in held else add).append(choice)
    remove, notes = [], []
    for sku_id in edit.remove_licences:
        if str(sku_id).lower() in held:
            remove.append(str(sku_id))
        else:
            notes.append(str(sku_id))
    return add, remove, change, notes


def _licences_plan(ctx, edit: UserEdit, current: dict, answers) -> steps.Plan:
    add, remove, change, not_held = _licence_changes(edit, current)
    if not (add or remove or change):
        why = "No licence to change: the user does not hold the licences to remove."
        return steps.done(StepResult("licences", Status.SKIPPED, why))
    stock = steps.licence_stock(ctx, answers.get("skus")) if add else None
    plan = steps.licences_plan(ctx, edit.user_id, add, remove, change_plans=change, stock=stock)
    if not not_held:
        return plan
    name = steps.licence_namer(ctx, stock)
    not_held = [name(sku) for sku in not_held]

    def finish(results):  # say which removals were left out because the user did not hold them
        out = plan.finish(results)
        for step in out:
            step.message += f" Not removed (not assigned to the user): {', '.join(not_held)}."
        return out

    return steps.Plan(plan.step, plan.requests, finish)


def _group_plans(ctx, edit: UserEdit, user: dict, answers) -> list[steps.Plan]:
    add = list(dict.fromkeys(str(g) for g in edit.add_group_ids))
    remove = [g for g in dict.fromkeys(str(g) for g in edit.remove_group_ids) if g not in add]
    plans: list[steps.Plan] = []
    choices, unreadable = steps.choices_from(add + remove, answers)
    plans += [steps.done(problem) for problem in unreadable]
    by_id = {c["id"]: c for c in choices}
    to_add = [by_id[g] for g in add if g in by_id]
    to_remove = [by_id[g] for g in remove if g in by_id]
    if to_add:
        plans.append(steps.groups_plan(ctx, user, to_add))
    if to_remove:
        plans.append(steps.groups_plan(ctx, user, to_remove, remove=True))
    if edit.copy_groups_from:
        plans.append(_copy_plan(ctx, edit, user, answers, also_joining=add, also_leaving=remove))
    return plans


def _copy_plan(ctx, edit: UserEdit, user: dict, answers, *, also_joining, also_leaving) -> steps.Plan:
    source_id = str(edit.copy_groups_from)
    try:
        source_items = steps.member_of(ctx, answers.get("source"), source_id)
        target_items = steps.member_of(ctx, answers.get("target"), edit.user_id)
    except GraphError as error:
        return steps.done(steps.failed("copy-groups", error, "The group memberships could not be read: "))
    return steps.copy_plan(
        ctx, source_items, user, target_group_ids={str(i.get("id")) for i in target_items},
        also_joining=also_joining, also_leaving=also_leaving, source_name=steps.person(ctx, source_id),
    )  # fmt: skip


def _address_plans(ctx, edit: UserEdit, user: dict) -> list[steps.Plan]:
    add = [a.strip() for a in edit.add_aliases if a.strip()]
    remove = [a.strip() for a in edit.remove_aliases if a.strip()]
    if not (add or remove):
        return []
    mailbox = steps.UNKNOWN if user.get("onPremisesSyncEnabled") else steps.mailbox_of(ctx, user)
    plans = []
    if add:
        plans.append(steps.aliases_plan(ctx, user, add, mailbox=mailbox))
    if remove:
        # Runs in the plans' order after the batch (Exchange only, nothing to send to Graph).
        plans.append(steps.Plan("aliases", [], lambda results: [
            steps.remove_aliases(ctx, user, remove, mailbox=mailbox)]))  # fmt: skip
    return plans


def _reads(edit: UserEdit) -> list:
    reads = [graph_provisioning.get_user_request(edit.user_id, CURRENT_SELECT, "user")]
    if edit.add_licences:
        reads.append(graph_provisioning.subscribed_skus_request("skus"))
    add = list(dict.fromkeys(str(g) for g in edit.add_group_ids))
    remove = [g for g in dict.fromkeys(str(g) for g in edit.remove_group_ids) if g not in add]
    reads += steps.group_read_requests(add + remove)
    if edit.copy_groups_from:
        reads.append(graph_provisioning.member_of_first_page_request(str(edit.copy_groups_from), "source"))
        reads.append(graph_provisioning.member_of_first_page_request(edit.user_id, "target"))
    return reads


def apply_edit(ctx, edit: UserEdit, *, request=None) -> list[StepResult]:
    """Apply ``edit`` to the user; one StepResult per step (and per group), in the order they ran."""
    require(ctx.technician, "users.edit", ctx.tenant)
    target = (edit.user_id, edit.user_principal_name)
    answers = steps.read(ctx, _reads(edit))
    current_answer = answers.get("user")
    if current_answer is None or not current_answer.ok:
        step = steps.failed("profile", steps.answer_error(current_answer), "The user could not be read; "
                            "nothing was changed: ", current_answer)  # fmt: skip
        steps.record(ctx, request, target, ACTION, step)
        return [step]
    user = {**(current_answer.body or {}), "id": edit.user_id}

    plans: list[steps.Plan] = []
    if edit.changes:
        plans.append(_profile_plan(edit))
    if edit.add_licences or edit.remove_licences or edit.change_plans:
        plans.append(_licences_plan(ctx, edit, user, answers))
    plans += _group_plans(ctx, edit, user, answers)
    plans += _address_plans(ctx, edit, user)
    if edit.manager_id is not UNCHANGED:
        plans.append(steps.manager_plan(ctx, edit.user_id, edit.manager_id))
    results = steps.run_plans(ctx, plans)
    for step in results:
        action = ACTION if step.step == "profile" else f"{ACTION}:{step.step}"
        parameters = {"changes": edit.changes} if step.step == "profile" else None
        steps.record(ctx, request, target, action, step, parameters)
    if results:
        _refresh_cache(ctx, edit.user_id)
    return results


def _profile_plan(edit: UserEdit) -> steps.Plan:
    request = graph_provisioning.update_user_request(edit.user_id, dict(edit.changes), "profile")
    changed = ", ".join(sorted(edit.changes))

    def finish(results):
        result = results.get(request.id)
        if result is not None and result.ok:
            return [StepResult("profile", Status.SUCCESS, f"Saved: {changed}.", steps.request_ids(result),
                               {"properties": sorted(edit.changes)})]  # fmt: skip
        error = steps.answer_error(result)
        return [StepResult("profile", Status.FAILED, f"Not saved ({changed}): {error.message}",
                           steps.request_ids(error, result))]  # fmt: skip

    return steps.Plan("profile", [request], finish)


def _refresh_cache(ctx, user_id: str) -> None:
    try:
        apply_user_record(ctx.tenant, get_user(ctx.graph, user_id, USER_SELECT), partial=False)
    except (GraphError, RecordError) as error:
        # The changes happened; only the cache lags until the next sync.
        logger.info("the edited user could not be read back into the cache: %s", error)
