"""The steps Add user, Edit user and the CSV importer are made of, each reporting its own ``StepResult``.

A step is planned first (``Plan``: the Graph writes it needs as ``BatchRequest``s plus a ``finish`` that
reads its own answers and does any Exchange part), so a flow can send the Graph writes of several
independent steps in one ``$batch`` (``run_plans``). The plain functions (``assign_licences``,
``add_aliases``, ``join_groups``, ``set_manager``...) plan and run one step on their own.

Nothing here checks roles: the flows (create / edit) and the actions do. Nothing here logs or returns a
password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from graph.batch import BatchRequest, BatchResult
from graph.errors import GraphError
from graph.services import mailbox_admin
from graph.services import provisioning as graph_provisioning
from graph.services.groups import classify
from users import audit
from users.actions import guard
from users.actions.registry import Status
from users.models import DirectoryUser, TenantSku
from users.sync.skus import LicenceNamer, sku_product_name

from . import membership
from .types import LicenceChoice, StepResult

logger = logging.getLogger(__name__)

NEW_USER_SETTLE_SECONDS = 3.0
UNKNOWN = object()  # "not looked up yet" where None means "looked up: there is none"
SYNCED_ADDRESSES = (
    "The user is synced from on-premises Active Directory: change its e-mail addresses there "
    "(proxyAddresses); Entra Connect copies them here."
)
USAGE_LOCATION_HINT = " Set the user's usage location (country) first: Graph needs it to assign licences."


@dataclass
class Plan:
    """One step's Graph writes and how to read their answers (``finish`` gets ``{request id: result}`` with
    this plan's own ids and may call Exchange)."""

    step: str
    requests: list[BatchRequest] = field(default_factory=list)
    finish: Callable[[dict[str, BatchResult]], list[StepResult]] = lambda results: []  # noqa: E731


def done(step: StepResult) -> Plan:
    """A plan whose result is known before sending anything (a refusal, nothing to do)."""
    return Plan(step.step, [], lambda results: [step])


def _resend_not_found(ctx, sent: list[BatchRequest], answers: dict[str, BatchResult]) -> None:
    """Entra ID replicates a new object within seconds; a write that reaches a replica which has not seen
    the user yet answers 404. Those (and the items that failed only because of them) are sent once more
    after a short pause; ``answers`` is updated in place."""
    lagging = {rid for rid, result in answers.items() if result is not None and result.status == 404}
    if not lagging:
        return
    by_id = {item.id: item for item in sent}
    changed = True
    while changed:
        changed = False
        for item in sent:
            result = answers.get(item.id)
            if item.id not in lagging and result is not None and result.status == 424:
                if set(item.depends_on or []) & lagging:
                    lagging.add(item.id)
                    changed = True
    ctx.graph.sleep(NEW_USER_SETTLE_SECONDS)
    again = [by_id[rid] for rid in (item.id for item in sent) if rid in lagging]
    retry = [
        BatchRequest(item.id, item.method, item.url, body=item.body, headers=item.headers,
                     depends_on=[d for d in item.depends_on or [] if d in lagging] or None)
        for item in again
    ]  # fmt: skip
    answers.update(ctx.graph.batch(retry))


def run_plans(ctx, plans: Iterable[Plan], *, new_user: bool = False) -> list[StepResult]:
    """Send the Graph writes of all ``plans`` together ($batch calls of 20, ids made unique per plan) and
    return every plan's results in plan order. ``new_user``: the writes are about a user created a moment
    ago, so a 404 is replication lag and is retried once (``_resend_not_found``)."""
    plans = list(plans)
    combined: list[BatchRequest] = []
    for index, plan in enumerate(plans):
        prefix = f"s{index}-"
        for item in plan.requests:
            combined.append(BatchRequest(
                prefix + item.id, item.method, item.url, body=item.body, headers=item.headers,
                depends_on=[prefix + d for d in item.depends_on] if item.depends_on else None,
            ))  # fmt: skip
    answers = ctx.graph.batch(combined) if combined else {}
    if new_user and answers:
        _resend_not_found(ctx, combined, answers)
    out: list[StepResult] = []
    for index, plan in enumerate(plans):
        own = {item.id: answers.get(f"s{index}-{item.id}") for item in plan.requests}
        try:
            out.extend(plan.finish(own))
        except GraphError as error:
            out.append(failed(plan.step, error))
        except Exception:  # one step's bug must not hide the others' results
            logger.exception("provisioning step %s failed", plan.step)
            out.append(
                StepResult(plan.step, Status.FAILED, "An unexpected error stopped this step; it was logged.")
            )
    return out


def read(ctx, requests_: list[BatchRequest]) -> dict[str, BatchResult]:
    """Several GETs in one $batch."""
    return ctx.graph.batch(requests_) if requests_ else {}


def request_ids(*sources) -> list[str]:
    found = []
    for source in sources:
        if isinstance(source, GraphError):
            found.append(source.request_id)
        elif isinstance(source, BatchResult):
            found.append(getattr(source.error, "request_id", None))
            found.append(str((source.headers or {}).get("request-id") or ""))
    return list(dict.fromkeys(rid for rid in found if rid))


def failed(
    step: str, error: GraphError | None, prefix: str = "", result: BatchResult | None = None
) -> StepResult:
    message = error.message if error is not None else f"Graph answered HTTP {getattr(result, 'status', 0)}."
    return StepResult(step, Status.FAILED, prefix + message, request_ids(error, result))


def answer_error(result: BatchResult | None) -> GraphError:
    if result is None:
        return GraphError("Graph returned no answer for this request.", code="missingResponse")
    return result.error or GraphError(f"Graph answered HTTP {result.status}.", status=result.status)


def names(items: Iterable[str]) -> str:
    return ", ".join(items)


# --- licences ---------------------------------------------------------------------------------------------


@dataclass
class SkuStock:
    sku_id: str
    name: str
    available: int
    service_plans: list[dict] = field(default_factory=list)


def _units(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def stock_from_skus(skus: list[dict]) -> dict[str, SkuStock]:
    """sku id (lower) → what /subscribedSkus says: name and units still free (enabled + warning - used)."""
    stock = {}
    for sku in skus:
        sku_id = str(sku.get("skuId") or "").lower()
        if not sku_id:
            continue
        prepaid = sku.get("prepaidUnits") or {}
        free = (
            _units(prepaid.get("enabled")) + _units(prepaid.get("warning")) - _units(sku.get("consumedUnits"))
        )
        stock[sku_id] = SkuStock(
            sku_id, sku_product_name(sku), max(0, free), list(sku.get("servicePlans") or [])
        )
    return stock


def stock_from_cache(tenant) -> dict[str, SkuStock]:
    return {
        str(row.sku_id).lower(): SkuStock(
            str(row.sku_id).lower(), row.product_name, row.available_units, list(row.service_plans or [])
        )  # fmt: skip
        for row in TenantSku.objects.filter(tenant=tenant)
    }


def licence_stock(ctx, answer: BatchResult | None = None) -> dict[str, SkuStock]:
    """Live from /subscribedSkus (``answer``: its prefetched result); the cached TenantSku rows when Graph
    cannot be read, so a refusal still happens before sending."""
    try:
        if answer is not None:
            if not answer.ok:
                raise answer_error(answer)
            body = answer.body or {}
            skus = graph_provisioning.all_pages(ctx.graph, body)
        else:
            skus = [sku for page in ctx.graph.iter_pages("/subscribedSkus") for sku in page]
    except GraphError as error:
        logger.info("subscribedSkus could not be read (%s); using the cached SKUs", error.code)
        return stock_from_cache(ctx.tenant)
    return stock_from_skus(skus)


def units_problems(stock: dict[str, SkuStock], needed: dict[str, int]) -> list[str]:
    """Why the licences in ``needed`` (sku id → users who would get it) cannot all be assigned."""
    problems = []
    for sku_id, count in needed.items():
        item = stock.get(str(sku_id).lower())
        if count <= 0:
            continue
        if item is None:
            problems.append(f"{sku_id} is not a licence this tenant subscribes to.")
        elif count > item.available:
            problems.append(f"Not enough {item.name} licences: {count} needed, {item.available} available.")
    return problems


def licence_namer(ctx, stock: dict[str, SkuStock] | None) -> Callable[[str], str]:
    fallback = LicenceNamer.for_tenant(ctx.tenant)
    return lambda sku_id: (
        stock[str(sku_id).lower()].name if stock and str(sku_id).lower() in stock else fallback(sku_id)
    )


def licences_plan(ctx, user_id: str, add: list[LicenceChoice], remove: Iterable[str], *,
                  change_plans: Iterable[LicenceChoice] = (), stock: dict[str, SkuStock] | None = None,
                  step: str = "licences") -> Plan:  # fmt: skip
    """One assignLicense with every add (and re-add with new disabled plans) and remove. SKUs added anew
    are checked against the units left first: one without units is refused before anything is sent."""
    add, remove, change_plans = list(add), [str(s) for s in remove], list(change_plans)
    if not (add or remove or change_plans):
        return done(StepResult(step, Status.SKIPPED, "No licence changes."))
    if add:
        stock = stock if stock is not None else licence_stock(ctx)
        problems = units_problems(stock, {choice.sku_id: 1 for choice in add})
        if problems:
            return done(StepResult(step, Status.FAILED, "Refused before sending: " + " ".join(problems)))
    name = licence_namer(ctx, stock)
    entries = [graph_provisioning.licence_entry(c.sku_id, c.disabled_plans) for c in add + change_plans]
    request = graph_provisioning.assign_licence_request(user_id, entries, remove)

    def finish(results: dict[str, BatchResult]) -> list[StepResult]:
        result = results.get(request.id)
        if result is None or not result.ok:
            error = answer_error(result)
            hint = USAGE_LOCATION_HINT if "usage location" in error.message.lower() else ""
            return [StepResult(step, Status.FAILED, error.message + hint, request_ids(error, result))]
        parts = []
        if add:
            parts.append("Assigned " + names(name(c.sku_id) for c in add))
        if change_plans:
            parts.append("changed the services of " + names(name(c.sku_id) for c in change_plans))
        if remove:
            parts.append("removed " + names(name(s) for s in remove))
        message = "; ".join(parts) + ". It can take a few minutes before every service shows the change."
        return [StepResult(step, Status.SUCCESS, message[0].upper() + message[1:], request_ids(result),
                           {"added": [c.sku_id for c in add], "removed": remove,
                            "changed": [c.sku_id for c in change_plans]})]  # fmt: skip

    return Plan(step, [request], finish)


def assign_licences(ctx, user_id: str, add: list[LicenceChoice], remove: Iterable[str], *,
                    change_plans: Iterable[LicenceChoice] = ()) -> StepResult:  # fmt: skip
    return run_plans(ctx, [licences_plan(ctx, user_id, add, remove, change_plans=change_plans)])[0]


# --- aliases ----------------------------------------------------------------------------------------------


def _synced_refusal(step: str, user: dict) -> StepResult | None:
    if user.get("onPremisesSyncEnabled"):
        return StepResult(step, Status.SKIPPED, SYNCED_ADDRESSES)
    return None


def mail_trick_plan(ctx, user: dict, aliases: list[str], *, step: str = "aliases") -> Plan:
    """Graph cannot write proxyAddresses, but setting ``mail`` adds the address to them as the primary and
    keeps the previous one as a secondary: PATCH mail=alias for each (in order: ``dependsOn`` chains them),
    then mail=the primary again. What works on a brand-new user, which has no Exchange mailbox yet; the
    mailbox, once created, takes its addresses from these proxyAddresses."""
    user_id = str(user["id"])
    primary = user.get("mail") or user["userPrincipalName"]
    requests_ = [
        graph_provisioning.set_mail_request(user_id, alias, f"alias-{i}", [f"alias-{i - 1}"] if i else None)
        for i, alias in enumerate(aliases)
    ]

    def finish(results: dict[str, BatchResult]) -> list[StepResult]:
        added, problem, ids = [], "", []
        for alias, item in zip(aliases, requests_, strict=True):
            result = results.get(item.id)
            ids += request_ids(result)
            if result is not None and result.ok:
                added.append(alias)
            elif not problem:  # later ones answered 424: they were not tried
                problem = f"{alias} was not added: {answer_error(result).message}"
                not_tried = aliases[aliases.index(alias) + 1 :]
                if not_tried:
                    problem += f" ({names(not_tried)} not tried)"
        restore = ""
        if added:  # mail is now the last alias: make the primary address primary again
            try:
                graph_provisioning.update_user(ctx.graph, user_id, {"mail": primary})
            except GraphError as error:
                ids += request_ids(error)
                restore = f" The primary address could not be set back to {primary}: {error.message}"
        message = (f"Added {names(added)}." if added else "") + (f" {problem}." if problem else "") + restore
        status = Status.SUCCESS if added and not problem and not restore else Status.FAILED
        return [StepResult(step, status, message.strip(), ids, {"added": added})]

    return Plan(step, requests_, finish)


def mailbox_of(ctx, user: dict, mailbox=UNKNOWN):
    if mailbox is not UNKNOWN:
        return mailbox
    try:
        return mailbox_admin.get_mailbox(ctx.exchange, user["userPrincipalName"])
    except GraphError as error:  # e.g. a tenant without Exchange Online: Graph's way still works
        logger.info("Get-Mailbox failed (%s); treating the user as having no mailbox", error.code)
        return None


def aliases_plan(ctx, user: dict, aliases: list[str], *, mailbox=UNKNOWN, step: str = "aliases") -> Plan:
    """Adds ``aliases`` as secondary addresses: through Exchange when the user has a mailbox (Exchange then
    owns the addresses), else with the ``mail`` trick (``mailbox=None`` for a user just created)."""
    refused = _synced_refusal(step, user)
    if refused is not None:
        return done(refused)
    if not aliases:
        return done(StepResult(step, Status.SKIPPED, "No addresses to add."))
    box = mailbox_of(ctx, user, mailbox)
    if not box:
        return mail_trick_plan(ctx, user, aliases, step=step)

    def finish(results) -> list[StepResult]:
        try:
            graph_provisioning.add_email_addresses(ctx.exchange, user["userPrincipalName"], aliases)
        except GraphError as error:
            return [failed(step, error)]
        return [StepResult(step, Status.SUCCESS, f"Added {names(aliases)}.", details={"added": aliases})]

    return Plan(step, [], finish)


def add_aliases(ctx, user: dict, aliases: list[str], *, mailbox=UNKNOWN) -> StepResult:
    return run_plans(ctx, [aliases_plan(ctx, user, aliases, mailbox=mailbox)])[0]


def remove_aliases(
    ctx, user: dict, aliases: list[str], *, mailbox=UNKNOWN, step: str = "aliases"
) -> StepResult:
    """Removes secondary addresses through Exchange (``Set-Mailbox -EmailAddresses @{Remove=...}``)."""
    refused = _synced_refusal(step, user)
    if refused is not None:
        return refused
    primary = str(user.get("mail") or "").lower()
    if primary and primary in {a.lower() for a in aliases}:
        return StepResult(step, Status.FAILED, f"{user.get('mail')} is the primary address: make another "
                          "address primary before removing it. Nothing was removed.")  # fmt: skip
    if not mailbox_of(ctx, user, mailbox):
        return StepResult(step, Status.FAILED, "The user has no Exchange mailbox, and Graph cannot remove "
                          "e-mail addresses: remove them in the Microsoft 365 admin center.")  # fmt: skip
    try:
        graph_provisioning.remove_email_addresses(ctx.exchange, user["userPrincipalName"], aliases)
    except GraphError as error:
        return failed(step, error)
    return StepResult(step, Status.SUCCESS, f"Removed {names(aliases)}.", details={"removed": list(aliases)})


# --- manager ----------------------------------------------------------------------------------------------


def person(ctx, user_id: str) -> str:
    row = (
        DirectoryUser.objects.filter(tenant=ctx.tenant, user_id=user_id)
        .only("display_name", "user_principal_name")
        .first()
    )
    if row is None:
        return str(user_id)
    return f"{row.display_name} ({row.user_principal_name})" if row.display_name else row.user_principal_name


def manager_plan(ctx, user_id: str, manager_id: str | None, *, step: str = "manager") -> Plan:
    """PUT manager/$ref, or DELETE it when ``manager_id`` is None."""
    if manager_id is not None and str(manager_id) == str(user_id):
        return done(StepResult(step, Status.FAILED, "A user cannot be their own manager. Nothing was sent."))
    if manager_id is None:
        request = graph_provisioning.remove_manager_request(user_id)
    else:
        request = graph_provisioning.set_manager_request(user_id, str(manager_id))

    def finish(results: dict[str, BatchResult]) -> list[StepResult]:
        result = results.get(request.id)
        if result is not None and result.ok:
            message = (
                "Manager removed." if manager_id is None else f"Manager set to {person(ctx, manager_id)}."
            )
            return [
                StepResult(step, Status.SUCCESS, message, request_ids(result), {"manager_id": manager_id})
            ]
        if manager_id is None and result is not None and result.status == 404:
            return [StepResult(step, Status.SKIPPED, "The user had no manager.", request_ids(result))]
        error = answer_error(result)
        return [StepResult(step, Status.FAILED, error.message, request_ids(error, result))]

    return Plan(step, [request], finish)


def set_manager(ctx, user_id: str, manager_id: str | None) -> StepResult:
    return run_plans(ctx, [manager_plan(ctx, user_id, manager_id)])[0]


# --- groups (see membership) --------------------------------------------------------------------------------


def group_read_requests(group_ids: list[str]) -> list[BatchRequest]:
    return [graph_provisioning.get_group_request(gid, f"group-{i}") for i, gid in enumerate(group_ids)]


def choices_from(group_ids: list[str], answers: dict[str, BatchResult], *,
                 step: str = "groups") -> tuple[list[dict], list[StepResult]]:  # fmt: skip
    """The groups as Graph describes them (kind, how to write), and a FAILED result per unreadable one."""
    choices, problems = [], []
    for i, gid in enumerate(group_ids):
        result = answers.get(f"group-{i}")
        if result is not None and result.ok:
            choices.append(classify(result.body or {}).as_data())
        else:
            error = answer_error(result)
            problems.append(StepResult(step, Status.FAILED, f"Group {gid} could not be read: {error.message}",
                                       request_ids(error, result), {"group_id": gid}))  # fmt: skip
    return choices, problems


def groups_plan(ctx, user: dict, choices: list[dict], *, remove: bool = False, step: str = "groups",
                new_user: bool = False) -> Plan:  # fmt: skip
    """Join (or leave) every group in ``choices``: Graph kinds in the batch, Exchange kinds afterwards. Joining
    a role-assignable group (its members hold the group's directory roles) is skipped, with the reason, unless
    the technician has the Admin role on the tenant."""
    refused = {} if remove else _role_group_refusals(ctx, choices, step)
    planned = {
        i: membership.graph_request(c, str(user["id"]), f"g{i}", remove=remove)
        for i, c in enumerate(choices)
        if c.get("via") == "graph" and i not in refused
    }

    def finish(results: dict[str, BatchResult]) -> list[StepResult]:
        return [
            refused[i] if i in refused else
            membership.change(ctx, c, user, results.get(f"g{i}"), remove=remove, step=step, new_user=new_user)
            for i, c in enumerate(choices)
        ]  # fmt: skip

    return Plan(step, list(planned.values()), finish)


def _role_group_refusals(ctx, choices: list[dict], step: str) -> dict[int, StepResult]:
    role_groups = [i for i, c in enumerate(choices) if c.get("role_assignable")]
    if not role_groups:
        return {}
    if not guard.needs_check(ctx.technician, ctx.tenant):
        return {}
    return {
        i: StepResult(step, Status.SKIPPED, f"{choices[i].get('name')}: needs the Admin role, because members of a "
                      "role-assignable group hold the directory roles assigned to it.",
                      details={"group_id": choices[i].get("id"), "group_name": choices[i].get("name")})
        for i in role_groups
    }  # fmt: skip


def _change_groups(ctx, user: dict, group_ids: list[str], *, remove: bool) -> list[StepResult]:
    group_ids = list(dict.fromkeys(str(g) for g in group_ids))
    choices, problems = choices_from(group_ids, read(ctx, group_read_requests(group_ids)))
    return problems + run_plans(ctx, [groups_plan(ctx, user, choices, remove=remove)])


def join_groups(ctx, user: dict, group_ids: list[str]) -> list[StepResult]:
    """``user``: its Graph record (id, userPrincipalName, mail). One result per group."""
    return _change_groups(ctx, user, group_ids, remove=False)


def leave_groups(ctx, user: dict, group_ids: list[str]) -> list[StepResult]:
    return _change_groups(ctx, user, group_ids, remove=True)


def copy_plan(ctx, source_items: list[dict], target: dict, *, target_group_ids: set[str],
              also_joining: Iterable[str] = (), also_leaving: Iterable[str] = (), source_name: str = "the other user",
              new_user: bool = False, step: str = "copy-groups") -> Plan:  # fmt: skip
    """Join the groups ``source_items`` (a memberOf listing) holds, skipping dynamic, synced and already
    joined groups, each skip with its reason."""
    joining, leaving = {str(g) for g in also_joining}, {str(g) for g in also_leaving}
    groups = [item for item in source_items if item.get("@odata.type") == "#microsoft.graph.group"]
    if not groups:
        return done(StepResult(step, Status.SKIPPED, f"{source_name} is not a member of any group."))
    skips: dict[int, StepResult] = {}
    choices = []
    for i, item in enumerate(sorted(groups, key=lambda g: str(g.get("displayName") or "").lower())):
        choice = classify(item).as_data()
        details = {"group_id": choice["id"], "group_name": choice["name"], "kind": choice["kind"]}
        if choice["id"] in leaving:
            why = "being removed in this same change"
            skips[i] = StepResult(step, Status.SKIPPED, f"{choice['name']}: {why}.", details=details)
        elif choice["id"] in target_group_ids:
            skips[i] = StepResult(
                step, Status.SKIPPED, f"{choice['name']}: already a member.", details=details
            )
        elif choice["id"] in joining:
            why = "already chosen under groups to join"
            skips[i] = StepResult(step, Status.SKIPPED, f"{choice['name']}: {why}.", details=details)
        elif choice["via"] not in ("graph", "exchange"):
            skips[i] = StepResult(
                step, Status.SKIPPED, f"{choice['name']}: {choice['why_not']}.", details=details
            )
        choices.append(choice)
    writable = [c for i, c in enumerate(choices) if i not in skips]
    plan = groups_plan(ctx, target, writable, step=step, new_user=new_user)

    def finish(results: dict[str, BatchResult]) -> list[StepResult]:
        changed = iter(plan.finish(results))
        return [skips[i] if i in skips else next(changed) for i in range(len(choices))]

    return Plan(step, plan.requests, finish)


def member_of(ctx, answer: BatchResult | None, user_id: str) -> list[dict]:
    """A memberOf listing from its prefetched first page (following nextLinks), or read now."""
    if answer is None:
        return graph_provisioning.member_of_all(ctx.graph, user_id)
    if not answer.ok:
        raise answer_error(answer)
    return graph_provisioning.all_pages(ctx.graph, answer.body or {})


def copy_group_memberships(
    ctx, source_id: str, target: dict, *, target_is_new: bool = False
) -> list[StepResult]:
    """Copy ``source_id``'s group memberships to ``target`` (its Graph record); both users' memberOf are read
    (first pages in one $batch, then paging)."""
    step = "copy-groups"
    reads = [graph_provisioning.member_of_first_page_request(source_id, "source")]
    if not target_is_new:
        reads.append(graph_provisioning.member_of_first_page_request(str(target["id"]), "target"))
    answers = read(ctx, reads)
    try:
        source_items = member_of(ctx, answers.get("source"), source_id)
        target_items = [] if target_is_new else member_of(ctx, answers.get("target"), str(target["id"]))
    except GraphError as error:
        return [failed(step, error, "The group memberships could not be read: ")]
    plan = copy_plan(ctx, source_items, target, target_group_ids={str(i.get("id")) for i in target_items},
                     source_name=person(ctx, source_id), new_user=target_is_new)  # fmt: skip
    return run_plans(ctx, [plan])


# --- audit --------------------------------------------------------------------------------------------------


def record(ctx, request, target, action: str, step: StepResult, parameters: dict | None = None) -> None:
    """One audit entry for one step (secrets are never in ``parameters``; audit strips them anyway)."""
    audit.record(
        request if request is not None else ctx.technician,
        tenant=ctx.tenant,
        target=target,
        action=action,
        parameters={
            **(parameters or {}),
            **{k: v for k, v in step.details.items() if k != "invite_redeem_url"},
        },
        result=step.status,
        message=step.message,
        request_ids=step.request_ids,
        job_id=ctx.job_id,
        source_ip=ctx.source_ip if request is None else None,
    )
