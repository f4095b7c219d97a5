"""Executes one action on one user or many, and tells each user's outcome truthfully.

``run_action(action, targets, data, technician=...)`` is the only way an action runs (the modal view for
inline runs, users.actions.jobs for Jobs). Per tenant it:

1. re-checks the technician's permission on the tenant, the action's ``applies()`` for every target and,
   for every action, the live privileged-role guard (users.actions.guard) — a target that fails a check is
   *skipped* with the reason, never silently dropped;
2. executes: ``plan=`` actions have the requests of all targets sent together in $batch calls of 20
   (request ids made unique per target, ``dependsOn`` rewritten to match; per-item 429s are retried by
   graph.batch) and each target's ``interpret`` sees only its own results; ``run=`` actions are called
   per target with at most ``ACTIONS_RUN_CONCURRENCY`` at once (Exchange allows few concurrent calls);
3. writes through to the directory cache (``user_record`` / ``removed`` / ``refresh``) so the table shows
   the change at once, and appends exactly one audit entry per target.

A handler that raises is that target's failure (GraphError: Graph's reason and request-id), never the
run's. ``Outcome.secret`` is returned to the caller only: it is never audited, logged or stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, transaction

from graph.batch import BatchRequest, BatchResult
from graph.client import GraphClient
from graph.errors import GraphError
from graph.exchange import ExchangeClient
from graph.services.users import get_user
from tenants.access import can
from users import audit
from users.sync import USER_SELECT, RecordError, apply_user_record, remove_user

from . import guard
from .registry import Action, ActionContext, Outcome, Status, Target

logger = logging.getLogger(__name__)

OnResult = Callable[["TargetResult"], None]


@dataclass
class TargetResult:
    target: Target
    outcome: Outcome

    @property
    def user_id(self) -> str:
        return str(self.target.user.user_id)

    @property
    def upn(self) -> str:
        return self.target.user.user_principal_name

    @property
    def name(self) -> str:
        return self.target.user.display_name or self.target.user.user_principal_name


# --- helpers for action authors ---------------------------------------------------------------------------


def failure(error: GraphError, prefix: str = "") -> Outcome:
    """A failed Outcome carrying Graph's reason and request-id."""
    message = f"{prefix}{error.message}" if prefix else error.message
    return Outcome(Status.FAILED, message, request_ids=[error.request_id] if error.request_id else [])


def result_outcome(
    result: BatchResult | None, success: str, *, user_record: dict | None = None, removed: bool = False
) -> Outcome:
    """The Outcome of a single-request plan: success with ``success`` as the message, else Graph's error."""
    if result is None:
        return Outcome(Status.FAILED, "Graph returned no answer for this user.")
    request_id = str((result.headers or {}).get("request-id") or "")
    if result.ok:
        return Outcome(Status.SUCCESS, success, request_ids=[request_id] if request_id else [],
                       user_record=user_record, removed=removed)  # fmt: skip
    if result.error is not None:
        outcome = failure(result.error)
        if request_id and request_id not in outcome.request_ids:
            outcome.request_ids.append(request_id)
        return outcome
    return Outcome(Status.FAILED, f"Graph answered HTTP {result.status}.")


# --- contexts ---------------------------------------------------------------------------------------------


def build_context(tenant, technician, *, source_ip: str | None = None, job_id: int | None = None,
                  priority: str = "high") -> ActionContext:  # fmt: skip
    """Clients for one tenant: high priority when a technician is waiting, low for Jobs."""
    return ActionContext(
        tenant=tenant,
        technician=technician,
        graph=GraphClient.for_tenant(tenant, priority=priority),
        exchange=ExchangeClient.for_tenant(tenant, priority=priority),
        graph_beta=GraphClient.for_tenant(tenant, priority=priority, version="beta"),
        source_ip=source_ip,
        job_id=job_id,
    )


def run_concurrency() -> int:
    """How many run= handlers go at once (``ACTIONS_RUN_CONCURRENCY``)."""
    return max(1, int(settings.ACTIONS_RUN_CONCURRENCY))


# --- the run ----------------------------------------------------------------------------------------------


def run_action(
    action: Action,
    targets: list[Target],
    data: dict | None,
    *,
    technician,
    request=None,
    source_ip: str | None = None,
    job_id: int | None = None,
    contexts: dict | None = None,
    on_result: OnResult | None = None,
    priority: str = "high",
    in_doubt: Collection[str] = (),
) -> list[TargetResult]:
    """Run ``action`` on ``targets`` (any tenants). Returns one TargetResult per target, in order.
    ``contexts``: {tenant pk: ActionContext} to reuse (tests inject clients here). ``on_result`` is called
    in this thread as each target finishes (the Job worker records items with it). ``in_doubt``: user ids
    whose requests a worker that died had sent (users.actions.jobs); see ``Action.already_done``."""
    data = dict(data or {})
    if request is not None and source_ip is None:
        source_ip = audit.client_ip(request)
    by_tenant: dict[int, list[int]] = {}
    for index, target in enumerate(targets):
        by_tenant.setdefault(target.tenant.pk, []).append(index)
    results: list[TargetResult | None] = [None] * len(targets)

    def finish(index: int, outcome: Outcome, ctx: ActionContext | None) -> None:
        result = TargetResult(targets[index], outcome)
        _write_through(result, ctx)
        # The audit entry and the Job's record of the result stand or fall together: a worker killed between
        # them would leave the item open, and its resumption would audit the target a second time.
        with transaction.atomic():
            _audit(action, result, data, technician, request, source_ip, job_id)
            results[index] = result
            if on_result is not None:
                on_result(result)

    for tenant_pk, indexes in by_tenant.items():
        tenant = targets[indexes[0]].tenant
        if not can(technician, action.permission, tenant):
            for index in indexes:
                finish(index, Outcome(Status.SKIPPED, f"Your role may not run “{action.label}” on "
                                      f"{tenant.display_name}."), None)  # fmt: skip
            continue
        ctx = (contexts or {}).get(tenant_pk) or build_context(
            tenant, technician, source_ip=source_ip, job_id=job_id, priority=priority
        )
        refused_run = action.refuse(ctx, data) if action.refuse is not None else None
        if refused_run:
            for index in indexes:
                finish(index, Outcome(Status.SKIPPED, refused_run), ctx)
            continue
        runnable: list[int] = []
        for index in indexes:
            why = action.why_not(targets[index].user)
            if why:
                finish(index, Outcome(Status.SKIPPED, why), ctx)
            else:
                runnable.append(index)
        if runnable:  # every write on a privileged target needs the Admin role
            refused = guard.check_targets(ctx, [targets[i] for i in runnable])
            for index in [i for i in runnable if str(targets[i].user.user_id) in refused]:
                finish(index, Outcome(Status.SKIPPED, refused[str(targets[index].user.user_id)]), ctx)
            runnable = [i for i in runnable if str(targets[i].user.user_id) not in refused]
        doubtful = [i for i in runnable if str(targets[i].user.user_id) in in_doubt]
        if action.already_done is not None and doubtful:
            done = _already_done(action, ctx, [targets[i] for i in doubtful], data)
            for index in doubtful:
                if (outcome := done.get(str(targets[index].user.user_id))) is not None:
                    finish(index, outcome, ctx)
            runnable = [i for i in runnable if results[i] is None]
        if not runnable:
            continue
        if action.plan is not None:
            _run_planned(action, ctx, targets, runnable, data, finish)
        else:
            _run_each(action, ctx, targets, runnable, data, finish)
    return [r for r in results if r is not None]


def _guarded(call: Callable[[], Outcome]) -> Outcome:
    try:
        outcome = call()
    except GraphError as error:
        return failure(error)
    except Exception:  # a bug in one handler must not take the other users' results with it
        logger.exception("action handler failed")
        return Outcome(Status.FAILED, "An unexpected error stopped this action for this user; it was logged.")
    if not isinstance(outcome, Outcome):
        logger.error("action handler returned %r instead of an Outcome", type(outcome).__name__)
        return Outcome(Status.FAILED, "The action returned no result for this user.")
    return outcome


def _already_done(action, ctx, targets: list[Target], data) -> dict[str, Outcome]:
    """``action.already_done``; when Graph cannot tell, nothing is known done and the targets are sent again."""
    try:
        return action.already_done(ctx, targets, data) or {}
    except GraphError as error:
        logger.info("%s: could not read whether earlier attempts took effect: %s", action.key, error.message)
    except Exception:
        logger.exception("action already_done failed")
    return {}


def _run_planned(action, ctx, targets, indexes, data, finish) -> None:
    plans: dict[int, list[BatchRequest]] = {}
    all_requests: list[BatchRequest] = []
    for index in indexes:
        try:
            planned = list(action.plan(ctx, targets[index], data) or [])
        except GraphError as error:
            finish(index, failure(error), ctx)
            continue
        except Exception:
            logger.exception("action plan failed")
            finish(index, Outcome(Status.FAILED, "This action could not be prepared for this user."), ctx)
            continue
        if not planned:
            finish(index, Outcome(Status.SKIPPED, "Nothing to change for this user."), ctx)
            continue
        plans[index] = planned
        prefix = f"t{index}-"
        for item in planned:
            all_requests.append(BatchRequest(
                prefix + item.id, item.method, item.url, body=item.body, headers=item.headers,
                depends_on=[prefix + d for d in item.depends_on] if item.depends_on else None,
            ))  # fmt: skip
    if not all_requests:
        return
    try:
        batch_results = ctx.graph.batch(all_requests)
    except GraphError as error:
        for index in plans:
            finish(index, failure(error), ctx)
        return
    for index, planned in plans.items():
        prefix = f"t{index}-"
        own = {item.id: batch_results.get(prefix + item.id) for item in planned}
        for item_id, result in own.items():
            if result is not None:
                result.id = item_id
        finish(index, _guarded(lambda i=index, r=own: action.interpret(ctx, targets[i], data, r)), ctx)


def _run_each(action, ctx, targets, indexes, data, finish) -> None:
    workers = min(run_concurrency(), len(indexes))
    if workers <= 1:
        for index in indexes:
            finish(index, _guarded(lambda i=index: action.run(ctx, targets[i], data)), ctx)
        return
    main = threading.get_ident()

    def call(index: int) -> Outcome:
        try:
            return _guarded(lambda: action.run(ctx, targets[index], data))
        finally:
            if threading.get_ident() != main:
                connections.close_all()  # a handler that touched the database must not leak its connection

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="action") as pool:
        futures = {pool.submit(call, index): index for index in indexes}
        for future in as_completed(futures):
            finish(futures[future], future.result(), ctx)


# --- after each target --------------------------------------------------------------------------------------


def _write_through(result: TargetResult, ctx: ActionContext | None) -> None:
    outcome, target = result.outcome, result.target
    if not outcome.ok:
        return
    tenant, user_id = target.tenant, str(target.user.user_id)
    try:
        if outcome.removed:
            remove_user(tenant, user_id)
        elif outcome.refresh:
            client = ctx.graph if ctx is not None else GraphClient.for_tenant(tenant)
            apply_user_record(tenant, get_user(client, user_id, USER_SELECT), partial=False)
        elif outcome.user_record:
            apply_user_record(tenant, {**outcome.user_record, "id": user_id}, partial=True)
    except (GraphError, RecordError) as error:
        # The change happened; only the cache lags until the next sync. Say so rather than fail the user.
        logger.info("write-through for %s failed: %s", user_id, error)
        outcome.details.setdefault("note", "The users table will show this after the next sync.")


def _audit(action, result: TargetResult, data, technician, request, source_ip, job_id) -> None:
    outcome = result.outcome
    parameters = {key: value for key, value in data.items() if not key.startswith("_")}
    audit.record(
        request if request is not None else technician,
        tenant=result.target.tenant,
        target=result.target.user,
        action=action.key,
        parameters=parameters,
        result=outcome.status,
        message=outcome.message,
        request_ids=outcome.request_ids,
        job_id=job_id,
        source_ip=source_ip,
    )
