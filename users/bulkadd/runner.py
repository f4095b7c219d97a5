"""The bulk import Job: every row through Graph ``$batch``, fast, throttle-aware, exactly once.

Work is made of *units*: a row's create (``POST /users`` or ``POST /invitations``), a check of whether a
row's user exists (``GET``, after an answer was lost), and a row's follow-up requests (``users.bulkadd.plan``).
Each round fills ``$batch`` calls of 20 with whatever is ready — retries due and follow-ups first, then new
creates — and keeps up to ``concurrency`` batches in flight on worker threads (the threads only do HTTP;
every database write happens here, in the calling thread, in the order answers arrive).

Throttling: a 429 item is held back until its ``Retry-After`` has passed. When most of a batch is refused
the tenant's budget is spent: the whole run pauses until then (sending more would only earn more 429s) and
the number of batches in flight is halved, growing back by one after a run of clean batches, so the run
settles within the budget. A few items refused here and there only wait on their own.
Transient failures (5xx, lost connections) are retried: follow-ups are safe to repeat (assigning a licence
again, adding a member again answer success / "already a member"); a create is *never* repeated blindly —
the row's user is looked up first (``plan.verify_request``) and created again only when it does not exist.
Follow-ups answered 404 are retried a few times too: a user created a second ago may not be visible to
every Graph replica yet. Any other 4xx is the row's (or the step's) truthful failure.

Exactly once, across crashes: a row is marked "being created" (with its sealed password) and committed
*before* its create is sent; a resumed run re-checks every such row (``GET`` by UPN with this import's
marker, see plan.py) before anything else. A UPN Graph says is taken is also checked for the marker
(our own earlier attempt, whose answer was lost) before the row is failed. The claim on the Job is a
lease: each heartbeat is written only if it is still ours, so a worker that stalled past the stale limit
and was replaced stops instead of competing. Cancel: rows not yet sent become "Not sent (cancelled)"; rows
already created still get their licences and groups (half-made accounts help nobody).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from cippusers import crypto
from graph import http
from graph.batch import MAX_BATCH_SIZE, BatchRequest, BatchResult
from graph.client import GraphClient
from graph.errors import TransientError
from users.actions.passwords_gen import random_password
from users.export import is_risky
from users.models import BulkImport, BulkImportRow, Job

from . import plan, sealed, store
from .followups import FollowUps

logger = logging.getLogger(__name__)

Status = BulkImportRow.Status
THROTTLE_ATTEMPTS = 20  # 429s are Graph saying "later", not "no"
MAX_RECREATES = 3
HEARTBEAT_SECONDS = 2.0
CANCEL_CHECK_SECONDS = 0.5
CLEAN_BATCHES_TO_GROW = 8
CONFLICT_TEXT = "already exists"


class LeaseLost(Exception):
    """Another worker took the job over (ours was considered dead): stop without touching anything."""


def concurrency() -> int:
    """Batches in flight (``BULKADD_CONCURRENCY``). One inside a transaction: other threads' connections
    could not see its uncommitted rows."""
    if connection.in_atomic_block:
        return 1
    return max(1, int(settings.BULKADD_CONCURRENCY))


@dataclass
class Unit:
    kind: str  # "create" | "verify" | "step"
    row_id: int
    step: str = ""
    cause: str = ""  # verify: "lost" (answer lost) or "conflict" (Graph said the UPN is taken)
    attempt: int = 0
    not_before: float = 0.0
    alias_index: int = 0
    request: BatchRequest | None = None


@dataclass
class Outcome:
    """Counters of one run (the bench prints them)."""

    batches: int = 0
    sub_requests: int = 0
    throttled: int = 0
    retried: int = 0
    recreated: int = 0
    confirmed_by_marker: int = 0
    extra: dict = field(default_factory=dict)


def _generated_password() -> str:
    # The one-time CSV would have to neutralise a leading = + - @ (a spreadsheet formula), changing it.
    while True:
        password = random_password()
        if not is_risky(password):
            return password


class Runner(FollowUps):
    def __init__(self, bulk_import: BulkImport, job: Job, technician, lease, *, client: GraphClient | None = None,
                 concurrency_limit: int | None = None, sleep=time.sleep, clock=time.monotonic) -> None:  # fmt: skip
        self.bulk_import = bulk_import
        self.job = job
        self.technician = technician
        self.lease = lease
        self.client = client or GraphClient.for_tenant(bulk_import.tenant, priority="low")
        self.max_limit = concurrency_limit or concurrency()
        self.limit = self.max_limit
        self.sleep, self.clock = sleep, clock
        self.rows: dict[int, BulkImportRow] = {}
        self.by_key: dict[str, BulkImportRow] = {}
        self.urgent: deque[Unit] = deque()
        self.creates: deque[int] = deque()
        self.delayed: list[tuple[float, int, Unit]] = []
        self.waiting_for_manager: dict[str, list[int]] = {}
        self.recreates: dict[int, int] = {}
        self.inflight: dict[Future, list[Unit]] = {}
        self.pause_until = 0.0
        self.clean_batches = 0
        self.cancelling = False
        self.outcome = Outcome()
        self._seq = itertools.count()
        self._last_beat = 0.0
        self._last_cancel_check = 0.0
        self._executor: ThreadPoolExecutor | None = None

    # --- the loop ------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        self._load()
        if self.max_limit > 1:
            self.client.tokens.get_token(
                self.client.connection, self.client.tenant_id, self.client.resource, self.client.mode
            )  # fmt: skip  (threads then find it cached)
            self._executor = ThreadPoolExecutor(self.max_limit, thread_name_prefix="bulkadd")
        try:
            while True:
                self._beat()
                self._check_cancel()
                self._fill()
                if not self.inflight:
                    if not self._pending():
                        break
                    self._idle()
                    continue
                self._collect()
            self._flush_waiters()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
        return self.outcome

    def _load(self) -> None:
        rows = self.bulk_import.rows.filter(status__in=BulkImportRow.OPEN).order_by("position")
        for row in rows:
            row.bulk_import = self.bulk_import
            self.rows[row.pk] = row
        for row in self.bulk_import.rows.exclude(status__in=BulkImportRow.OPEN).only(
            "pk", "key", "status", "user_id"
        ):
            self.by_key[row.key] = row
        for row in self.rows.values():
            self.by_key[row.key] = row
            if row.status == Status.PENDING:
                self.creates.append(row.pk)
            elif row.status == Status.SENDING:  # a run died after sending it: ask Graph first
                self.urgent.append(Unit("verify", row.pk, cause="lost"))
            else:  # CREATED: finish the follow-ups that are not done
                self._queue_steps(row)

    def _pending(self) -> bool:
        return bool(self.urgent or self.delayed or (self.creates and not self.cancelling))

    def _idle(self) -> None:
        """Nothing in flight: wait (at most a second, to keep beating) for the next delayed unit or the end
        of a throttling pause."""
        now = self.clock()
        moments = [t for t in (self.pause_until, self.delayed[0][0] if self.delayed else 0.0) if t > now]
        self.sleep(min(max((min(moments) - now) if moments else 0.05, 0.01), 1.0))

    def _beat(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_beat < HEARTBEAT_SECONDS:
            return
        stamp = timezone.now()
        renewed = Job.objects.filter(
            pk=self.job.pk, heartbeat_at=self.lease, status=Job.Status.RUNNING
        ).update(heartbeat_at=stamp)
        if not renewed:
            raise LeaseLost(f"job {self.job.pk} is no longer ours")
        self.lease, self._last_beat = stamp, now

    def _check_cancel(self) -> None:
        now = self.clock()
        if self.cancelling or now - self._last_cancel_check < CANCEL_CHECK_SECONDS:
            return
        self._last_cancel_check = now
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            self.cancel()

    def cancel(self) -> None:
        """Stop creating: rows not sent yet become cancelled (held-back creates included)."""
        self.cancelling = True
        unsent = list(self.creates)
        self.creates.clear()
        held = [u for _, _, u in self.delayed if u.kind == "create"]
        self.delayed = [entry for entry in self.delayed if entry[2].kind != "create"]
        heapq.heapify(self.delayed)
        for unit in held:
            row = self.rows[unit.row_id]
            row.status = Status.PENDING  # a 429 means Graph did not carry it out
            unsent.append(row.pk)
        store.save_rows([self.rows[pk] for pk in unsent])
        store.cancel_unsent(self.bulk_import, unsent)
        for pk in unsent:
            self.rows[pk].status = Status.CANCELLED
            self._release_manager_waiters(self.rows[pk])
        store.update_job_counts(self.job, self.bulk_import)

    # --- sending -------------------------------------------------------------------------------------------

    def _due(self) -> None:
        now = self.clock()
        while self.delayed and self.delayed[0][0] <= now:
            self.urgent.append(heapq.heappop(self.delayed)[2])

    def _creates_allowed(self) -> int:
        """How many new creates may join now: none while cancelling, and none while follow-ups pile up."""
        if self.cancelling:
            return 0
        backlog = len(self.urgent) + sum(len(u) for u in self.inflight.values())
        return len(self.creates) if backlog < 4 * MAX_BATCH_SIZE * self.max_limit else 0

    def _next_batch(self) -> list[Unit]:
        self._due()
        # A batch goes out full unless nothing in flight can bring more work: each $batch call counts
        # against the tenant's budget, so 20 items per call is what we aim for.
        if self.inflight and len(self.urgent) + self._creates_allowed() < MAX_BATCH_SIZE:
            return []
        units: list[Unit] = []
        while self.urgent and len(units) < MAX_BATCH_SIZE:
            units.append(self.urgent.popleft())
        allowed = self._creates_allowed()
        while self.creates and allowed and len(units) < MAX_BATCH_SIZE:
            units.append(Unit("create", self.creates.popleft()))
            allowed -= 1
        return units

    def _fill(self) -> None:
        while len(self.inflight) < self.limit and self.clock() >= self.pause_until:
            units = self._next_batch()
            if not units:
                return
            self._prepare(units)
            units = self._drop_empty(units)
            if not units:
                continue
            requests_ = [u.request for u in units]
            self.outcome.batches += 1
            self.outcome.sub_requests += len(requests_)
            if self._executor is None:
                future: Future = Future()
                future.set_result(self._send(requests_))
            else:
                future = self._executor.submit(self._send, requests_)
            self.inflight[future] = units

    def _prepare(self, units: list[Unit]) -> None:
        """Build each unit's request; rows about to be created are marked (with the sealed password) and
        committed first."""
        marking = []
        for unit in units:
            row = self.rows[unit.row_id]
            if unit.kind == "create":
                unit.request = self._create_request(row)
                row.status = Status.SENDING
                row.attempts += 1
                marking.append(row)
            elif unit.kind == "verify":
                unit.request = plan.verify_request(row)
            else:
                unit.request = plan.step_request(row, unit.step, str(row.user_id), alias_index=unit.alias_index,
                                                 manager_id=self._manager_id(row))  # fmt: skip
        store.save_rows(marking)

    def _drop_empty(self, units: list[Unit]) -> list[Unit]:
        """A step with nothing left to send (cannot normally happen) is closed instead of sent."""
        kept = [u for u in units if u.request is not None]
        for unit in units:
            if unit.request is None:
                row, finished = self.rows[unit.row_id], {}
                self._step_done(
                    row, unit.step, "failed", "Nothing could be sent for this step.", None, {}, finished
                )
                store.finish_rows(
                    self.bulk_import, self.job, finished.values(), self.technician
                ) if finished else store.save_rows([row])
        return kept

    def _create_request(self, row: BulkImportRow) -> BatchRequest:
        if self.bulk_import.kind == BulkImport.Kind.GUESTS:
            return plan.invite_request(row)
        if row.password_source == "file" and row.password_for_worker:
            password = crypto.decrypt(row.password_for_worker)
        else:
            password = _generated_password()
            row.password_source = "generated"
            row.password_sealed = sealed.seal(self.bulk_import.public_key, password,
                                              sealed.row_context(self.bulk_import.pk, row.key))  # fmt: skip
        return plan.create_request(row, password, self.bulk_import.marker)

    def _send(self, requests_: list[BatchRequest]) -> dict[str, BatchResult]:
        try:
            return self.client.batch(requests_, max_attempts=1)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connections.close_all()  # the token provider may have used this thread's connection

    # --- answers -------------------------------------------------------------------------------------------

    def _collect(self) -> None:
        timeout = HEARTBEAT_SECONDS
        if self.delayed:
            timeout = max(0.05, min(timeout, self.delayed[0][0] - self.clock()))
        done, _ = wait(list(self.inflight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            units = self.inflight.pop(future)
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - a bug or a lost thread: every unit is "unknown"
                logger.exception("bulk import %s: a batch failed unexpectedly", self.bulk_import.pk)
                error = TransientError(f"{type(exc).__name__} while sending", code="clientError")
                results = {u.request.id: BatchResult(u.request.id, 0, error=error) for u in units}
            self._process(units, results)

    def _process(self, units: list[Unit], results: dict[str, BatchResult]) -> None:
        throttled: list[float] = []
        changed: dict[int, BulkImportRow] = {}
        finished: dict[int, BulkImportRow] = {}
        for unit in units:
            result = results.get(unit.request.id) or BatchResult(unit.request.id, 0, error=TransientError(
                "Graph returned no answer for this request", code="missingResponse"))  # fmt: skip
            unit.request = None  # the body may hold a password: drop it as soon as the answer is in
            row = self.rows[unit.row_id]
            if result.status == 429:
                self.outcome.throttled += 1
                retry_after = result.error.retry_after if result.error else None
                throttled.append(http.retry_delay(unit.attempt + 1, retry_after))
                if unit.attempt + 1 >= THROTTLE_ATTEMPTS:
                    self._give_up(unit, row, result, changed, finished)
                else:
                    self._later(unit, throttled[-1])
                continue
            handler = {"create": self._created, "verify": self._verified, "step": self._stepped}[unit.kind]
            handler(unit, row, result, changed, finished)
        if len(throttled) * 2 >= len(units):
            # Most of the batch was refused: the tenant's budget is spent. Everyone waits, and less goes out.
            self.pause_until = max(self.pause_until, self.clock() + max(throttled))
            self.limit = max(1, self.limit // 2)
            self.clean_batches = 0
        elif throttled:
            self.clean_batches = 0  # a few items refused here and there: they wait on their own (see _later)
        else:
            self.clean_batches += 1
            if self.clean_batches >= CLEAN_BATCHES_TO_GROW and self.limit < self.max_limit:
                self.limit += 1
                self.clean_batches = 0
        store.save_rows([r for pk, r in changed.items() if pk not in finished])
        if finished:
            store.finish_rows(self.bulk_import, self.job, finished.values(), self.technician)
            store.write_through(self.bulk_import, [r for r in finished.values() if r.user_id])
        elif changed:
            store.update_job_counts(self.job, self.bulk_import)

    def _later(self, unit: Unit, delay: float) -> None:
        unit.attempt += 1
        self.outcome.retried += 1
        unit.not_before = self.clock() + delay
        heapq.heappush(self.delayed, (unit.not_before, next(self._seq), unit))

    def _give_up(self, unit, row, result, changed, finished) -> None:
        error = result.error.message if result.error else f"HTTP {result.status}"
        if unit.kind == "step":
            self._step_done(
                row, unit.step, "failed", f"Graph kept refusing ({error}).", result, changed, finished
            )
        elif unit.kind == "create" and result.status == 429:
            self._fail(
                row, f"Not created: Graph kept throttling this request ({error}).", result, changed, finished
            )
        else:
            self._fail(row, "Graph did not confirm whether this user was created; look for it in the users table "
                       f"before adding it again ({error}).", result, changed, finished)  # fmt: skip

    # create ----------------------------------------------------------------------------------------------------

    def _created(self, unit, row, result: BatchResult, changed, finished) -> None:
        guests = self.bulk_import.kind == BulkImport.Kind.GUESTS
        if result.ok:
            body = result.body or {}
            user_id = (body.get("invitedUser") or {}).get("id") if guests else body.get("id")
            if guests and body.get("inviteRedeemUrl") and not row.resolved.get("send_invitation", True):
                # No e-mail goes out: the redemption link is the guest's key, kept like a password.
                row.password_source = "redeem"
                row.password_sealed = sealed.seal(self.bulk_import.public_key, body["inviteRedeemUrl"],
                                                  sealed.row_context(self.bulk_import.pk, row.key))  # fmt: skip
            self._mark_created(row, str(user_id), result, changed, finished)
            return
        error = result.error
        if result.status == 0 or result.status >= 500 or isinstance(error, TransientError):
            # It may have been carried out: never send it again before asking.
            self.urgent.append(Unit("verify", row.pk, cause="lost"))
            self.outcome.retried += 1
            self._note(row, result)
            return
        if result.status == 400 and error and CONFLICT_TEXT in (error.message or "").lower() and not guests:
            self.urgent.append(Unit("verify", row.pk, cause="conflict"))
            row.message = error.message
            self._note(row, result)
            return
        prefix = "Not invited: " if self.bulk_import.kind == "guests" else "Not created: "
        self._fail(row, prefix + (error.message if error else f"Graph answered HTTP {result.status}."), result,
                   changed, finished)  # fmt: skip

    def _verified(self, unit, row, result: BatchResult, changed, finished) -> None:
        if not result.ok and result.status != 404:
            if unit.attempt + 1 >= http.max_attempts():
                self._give_up(unit, row, result, changed, finished)
            else:
                self._later(unit, http.retry_delay(unit.attempt + 1, None))
            return
        found = None
        if result.ok and self.bulk_import.kind == BulkImport.Kind.GUESTS:
            found = next(iter((result.body or {}).get("value") or []), None)
        elif result.ok:
            found = result.body or {}
        if found and (self.bulk_import.kind == "guests" or plan.is_ours(found, self.bulk_import.marker)):
            self.outcome.confirmed_by_marker += 1
            self._mark_created(row, str(found.get("id")), result, changed, finished)
            return
        if found:
            holder = found.get("displayName") or found.get("userPrincipalName")
            self._fail(row, f"Not created: {row.resolved.get('upn')} is already taken by {holder}, which this import "
                       "did not create.", result, changed, finished)  # fmt: skip
            return
        if (
            unit.cause == "conflict"
        ):  # Graph said taken, yet no user has it: a group or contact holds the address
            self._fail(
                row, f"Not created: {row.message or 'the address is in use'}", result, changed, finished
            )
            return
        self.recreates[row.pk] = self.recreates.get(row.pk, 0) + 1
        if self.recreates[row.pk] > MAX_RECREATES:
            self._fail(
                row, "Not created: Graph did not accept it after several attempts.", result, changed, finished
            )
            return
        self.outcome.recreated += 1
        row.status = Status.PENDING
        changed[row.pk] = row
        if self.cancelling:
            store.save_rows([row])
            store.cancel_unsent(self.bulk_import, [row.pk])
            row.status = Status.CANCELLED
            return
        self.creates.appendleft(row.pk)

    def _mark_created(self, row, user_id: str, result, changed, finished) -> None:
        row.user_id = user_id
        row.status = Status.CREATED
        row.password_for_worker = ""  # sent and accepted: the worker never needs it again
        row.steps = {step.name: {"state": "pending", "label": step.label} for step in plan.steps_for(row)}
        row.message = "Invited." if self.bulk_import.kind == "guests" else "Created."
        self._note(row, result)
        changed[row.pk] = row
        self._release_manager_waiters(row)
        if not row.steps:
            self._finalise(row, finished)
            return
        self._queue_steps(row)

    def _fail(self, row, message: str, result, changed, finished) -> None:
        row.status = Status.FAILED
        row.message = message
        row.password_for_worker = ""
        self._note(row, result)
        changed[row.pk] = row
        finished[row.pk] = row
        self._release_manager_waiters(row)

    @staticmethod
    def _note(row, result: BatchResult | None) -> None:
        if result is None:
            return
        ids = [
            str((result.headers or {}).get("request-id") or ""),
            getattr(result.error, "request_id", "") or "",
        ]
        row.request_ids = list(dict.fromkeys([*(row.request_ids or []), *(i for i in ids if i)]))[-10:]

    @staticmethod
    def unit(kind: str, row_id: int, **kwargs) -> Unit:
        return Unit(kind, row_id, **kwargs)
