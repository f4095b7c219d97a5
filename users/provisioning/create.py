"""Add user: create the account, then licences, aliases, groups, copied groups and manager.

The order of requests:
1. one ``$batch`` of reads: the tenant's default usage location (organization.countryLetterCode) when the
   form left it blank, the subscribed SKUs when licences are asked for (a SKU with no unit left is refused
   here, before the user is created: nothing half-done), every chosen group (its kind as Graph has it
   now), and the memberships of the user to copy from;
2. ``POST /users``;
3. one ``$batch`` with the Graph writes of every later step (assignLicense, the ``mail`` PATCHes of the
   aliases, ``members/$ref`` for security and Microsoft 365 groups, ``manager/$ref``), then the Exchange
   parts (distribution lists and mail-enabled security groups) and the alias clean-up;
4. a read of the new user into the directory cache, so the users table shows it straight away.

A later step that fails never hides that the user exists: ``created`` is True, ``user_id`` is set and
that step is FAILED with Graph's (or Exchange's) message. The password is generated unless typed, is
returned in ``ProvisionResult.password`` only, and is never logged, audited or stored. Every step is
audited: ``add-user`` for the creation, ``add-user:<step>`` for the others.
"""

from __future__ import annotations

import logging

from graph.batch import BatchResult
from graph.errors import GraphError, NotFoundError, TransientError
from graph.services import provisioning as graph_provisioning
from graph.services.users import get_user
from tenants.access import require
from users.actions.passwords_gen import random_password
from users.actions.registry import Status
from users.sync import USER_SELECT, RecordError, apply_user_record

from . import steps
from .rules import PROFILE_FIELDS, graph_value
from .types import NewUser, ProvisionResult, StepResult

logger = logging.getLogger(__name__)

ACTION = "add-user"


def create_body(new: NewUser, password: str, usage_location: str) -> dict:
    """The POST /users body: the required properties, usage location and every non-empty profile field."""
    body = {
        "accountEnabled": True,
        "displayName": new.display_name.strip(),
        "mailNickname": new.username,
        "userPrincipalName": new.user_principal_name,
        "passwordProfile": {
            "forceChangePasswordNextSignIn": bool(new.must_change_password),
            "password": password,
        },
    }
    if usage_location:
        body["usageLocation"] = usage_location
    for field, graph_property, _label in PROFILE_FIELDS:
        if graph_property in body:
            continue
        value = graph_value(graph_property, getattr(new, field, ""))
        if value:  # blank fields are left out, not sent as null
            body[graph_property] = value
    return body


def _parameters(new: NewUser, usage_location: str) -> dict:
    """What the audit keeps about the request (never the password)."""
    return {
        "userPrincipalName": new.user_principal_name,
        "displayName": new.display_name,
        "usageLocation": usage_location,
        "force_change_at_next_sign_in": bool(new.must_change_password),
        "licences": [choice.sku_id for choice in new.licences],
        "aliases": list(new.aliases),
        "groups": list(new.group_ids),
        "copy_groups_from": new.copy_groups_from,
        "manager_id": new.manager_id,
    }


def _default_usage_location(ctx, answer: BatchResult | None) -> str:
    try:
        if answer is None or not answer.ok:
            raise steps.answer_error(answer)
        orgs = (answer.body or {}).get("value") or []
    except GraphError as error:
        logger.info("organization could not be read for the default usage location (%s)", error.code)
        return ""
    return str((orgs[0] if orgs else {}).get("countryLetterCode") or "").upper()


def _aliases(new: NewUser) -> list[str]:
    seen, out = {new.user_principal_name.lower()}, []
    for alias in new.aliases:
        address = str(alias).strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def _create(ctx, body: dict, upn: str) -> tuple[dict | None, StepResult]:
    """POST /users. A POST is never repeated by the client; when its answer is lost, ask Graph whether the
    user exists now rather than guess either way."""
    try:
        created = graph_provisioning.create_user(ctx.graph, body)
    except TransientError as error:
        try:
            found = get_user(ctx.graph, upn, "id,userPrincipalName,displayName,mail")
        except NotFoundError:
            # Graph confirms the user does not exist: say so plainly, not "outcome unknown".
            message = (f"The user was not created: Graph did not confirm the request ({error.code}) and a "
                       f"check found no {upn}. It is safe to try again.")  # fmt: skip
            return None, StepResult("create", Status.FAILED, message, steps.request_ids(error))
        except GraphError:
            return None, steps.failed("create", error, "Graph did not confirm the creation; check whether "
                                      f"{upn} exists before trying again: ")  # fmt: skip
        message = f"Created {upn} (Graph's first answer was lost; the user exists)."
        return found, StepResult("create", Status.SUCCESS, message, steps.request_ids(error),
                                 {"user_id": str(found.get("id"))})  # fmt: skip
    except GraphError as error:
        return None, steps.failed("create", error, "The user was not created: ")
    message = f"Created {upn}."
    return created, StepResult("create", Status.SUCCESS, message, details={"user_id": str(created.get("id"))})


def _write_cache(ctx, user_id: str, fallback: dict) -> None:
    try:
        apply_user_record(ctx.tenant, get_user(ctx.graph, user_id, USER_SELECT), partial=False)
    except (GraphError, RecordError) as error:
        logger.info("the new user could not be read back (%s); caching what was sent", error)
        try:
            apply_user_record(ctx.tenant, fallback, partial=True)
        except RecordError:
            logger.warning("the new user could not be written to the directory cache")


def provision_user(ctx, new: NewUser, *, request=None) -> ProvisionResult:
    """Create ``new`` in ``ctx.tenant`` with every step the form asked for. See the module doc."""
    require(ctx.technician, "users.edit", ctx.tenant)
    upn = new.user_principal_name
    password = new.password or random_password()
    group_ids = list(dict.fromkeys(str(g) for g in new.group_ids if g))
    copy_from = str(new.copy_groups_from) if new.copy_groups_from else None

    reads = []
    if not new.usage_location:
        reads.append(graph_provisioning.organization_request("organization"))
    if new.licences:
        reads.append(graph_provisioning.subscribed_skus_request("skus"))
    reads += steps.group_read_requests(group_ids)
    if copy_from:
        reads.append(graph_provisioning.member_of_first_page_request(copy_from, "source"))
    answers = steps.read(ctx, reads)
    usage = new.usage_location.strip().upper() or _default_usage_location(ctx, answers.get("organization"))
    parameters = _parameters(new, usage)
    target = (None, upn)

    stock = None
    if new.licences:
        stock = steps.licence_stock(ctx, answers.get("skus"))
        problems = steps.units_problems(stock, {choice.sku_id: 1 for choice in new.licences})
        if problems:
            refused = StepResult("create", Status.FAILED, "Refused before sending, the user was not created: "
                                 + " ".join(problems))  # fmt: skip
            steps.record(ctx, request, target, ACTION, refused, parameters)
            return ProvisionResult(False, None, upn, None, [refused])

    created, create_step = _create(ctx, create_body(new, password, usage), upn)
    if created is None:
        steps.record(ctx, request, target, ACTION, create_step, parameters)
        return ProvisionResult(False, None, upn, None, [create_step])
    user_id = str(created["id"])
    target = (user_id, upn)
    steps.record(ctx, request, target, ACTION, create_step, parameters)
    record = {k: v for k, v in create_body(new, "", usage).items() if k != "passwordProfile"}
    user = {**record, **created, "id": user_id, "userPrincipalName": created.get("userPrincipalName") or upn}
    try:  # shown in the table at once, even if a later step or the read-back fails
        apply_user_record(ctx.tenant, user, partial=True)
    except RecordError:
        logger.warning("the new user could not be written to the directory cache")

    plans = []
    if new.licences:
        plans.append(steps.licences_plan(ctx, user_id, new.licences, [], stock=stock))
    aliases = _aliases(new)
    if aliases:
        # A user created a moment ago has no Exchange mailbox: the ``mail`` trick is what works.
        plans.append(steps.aliases_plan(ctx, user, aliases, mailbox=None))
    if group_ids:
        choices, unreadable = steps.choices_from(group_ids, answers)
        plans += [steps.done(problem) for problem in unreadable]
        plans.append(steps.groups_plan(ctx, user, choices, new_user=True))
    if copy_from:
        plans.append(_copy_plan(ctx, answers.get("source"), copy_from, user, group_ids))
    if new.manager_id:
        plans.append(steps.manager_plan(ctx, user_id, str(new.manager_id)))
    later = steps.run_plans(ctx, plans, new_user=True)
    for step in later:
        steps.record(ctx, request, target, f"{ACTION}:{step.step}", step)
    _write_cache(ctx, user_id, user)
    return ProvisionResult(True, user_id, upn, password, [create_step, *later])


def _copy_plan(
    ctx, answer: BatchResult | None, source_id: str, user: dict, group_ids: list[str]
) -> steps.Plan:
    try:
        source_items = steps.member_of(ctx, answer, source_id)
    except GraphError as error:
        return steps.done(steps.failed("copy-groups", error, "The groups to copy could not be read: "))
    return steps.copy_plan(ctx, source_items, user, target_group_ids=set(), also_joining=group_ids,
                           source_name=steps.person(ctx, source_id), new_user=True)  # fmt: skip
