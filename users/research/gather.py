"""Run every evidence source of a research, in parallel within the throttling budget.

The reference product read its ten sources one after another; here they run on a bounded thread pool
(``RESEARCH_CONCURRENCY``, default 4 requests at once for the tenant) with Exchange limited further
(``RESEARCH_EXCHANGE_CONCURRENCY``, default 2: Exchange Online allows few concurrent calls per tenant and
answers more with throttling). Throttled requests are retried by the graph/exchange clients with
Retry-After; a source that still cannot be read comes back as "could not check" with the reason.

Each source's outcome is a plain dict (JSON-ready, stored in the report):
``{key, title, status: "ok" | "unavailable", reason_code, reason, data, count, ms}``. A
``SourceUnavailable`` from the service carries Microsoft's reason (licence, audit log off, permission,
throttled...); any other Graph error is "could not check" with Graph's message; a bug is "could not check"
with a logged, generic reason. Nothing is ever reported as "nothing found" unless the source said so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.db import connections

from graph.errors import GraphError
from graph.services import compromise

from .sources import SOURCES, Source, SourceContext

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"
NOT_APPLICABLE = "skipped"
OnDone = Callable[[dict], None]


def concurrency() -> int:
    """Sources read at once (``RESEARCH_CONCURRENCY``)."""
    return max(1, int(settings.RESEARCH_CONCURRENCY))


def exchange_concurrency() -> int:
    return max(1, int(settings.RESEARCH_EXCHANGE_CONCURRENCY))


def _count(data) -> int:
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict):
        if "methods" in data:
            return len(data.get("methods") or []) + len(data.get("events") or [])
        return 1
    return 0


def unavailable(source: Source, reason: str, code: str = "unavailable") -> dict:
    return {"key": source.key, "title": source.title, "status": UNAVAILABLE, "reason_code": code,
            "reason": reason, "data": None, "count": 0, "ms": 0}  # fmt: skip


def read_source(source: Source, ctx: SourceContext) -> tuple[dict, object]:
    """(outcome, raw answer or None). Never raises."""
    started = time.monotonic()
    raw = None
    try:
        raw = source.fetch(ctx)
        data = source.shape(raw)
        outcome = {"key": source.key, "title": source.title, "status": OK, "reason_code": "", "reason": "",
                   "data": data, "count": _count(data)}  # fmt: skip
    except compromise.SourceUnavailable as error:
        # ``reason`` is written to follow "Could not check:" (e.g. "needs Entra ID P1"); ``detail`` is
        # Microsoft's own text, kept beside it.
        reason = error.reason + (f" ({error.detail})" if error.detail else "")
        outcome = unavailable(source, reason, error.reason)
        if error.error is not None and error.error.request_id:
            outcome["request_id"] = error.error.request_id
    except GraphError as error:
        outcome = unavailable(source, f"Microsoft answered: {error.message}", error.code or "error")
        if error.request_id:
            outcome["request_id"] = error.request_id
    except Exception:  # a bug in one source must not take the others with it
        logger.exception("research source %s failed", source.key)
        outcome = unavailable(source, "An unexpected error stopped this check; it was logged.", "error")
        raw = None
    outcome["ms"] = int((time.monotonic() - started) * 1000)
    return outcome, raw


def gather(
    ctx: SourceContext,
    sources: Iterable[Source] = SOURCES,
    *,
    done: dict | None = None,
    on_done: OnDone | None = None,
    workers: int | None = None,
) -> dict[str, dict]:
    """Read ``sources`` (skipping those already in ``done``, a resumed job's finished ones). Returns
    {key: outcome}. ``on_done(outcome)`` is called in this thread as each source finishes (the Job records
    it). A source whose ``needs`` could not be read still runs, without that help."""
    results: dict[str, dict] = dict(done or {})
    pending = [s for s in sources if s.key not in results]
    for source in list(pending):
        if not source.applies(ctx):
            pending.remove(source)
            outcome = {"key": source.key, "title": source.title, "status": NOT_APPLICABLE, "reason_code": "",
                       "reason": "Not needed for this window.", "data": None, "count": 0, "ms": 0}  # fmt: skip
            results[source.key] = outcome
            if on_done is not None:
                on_done(outcome)
    workers = workers or concurrency()

    def finish(source: Source, outcome: dict, raw) -> None:
        results[source.key] = outcome
        if outcome["status"] == OK:
            ctx.raw[source.key] = raw
        if on_done is not None:
            on_done(outcome)

    def ready(source: Source) -> bool:
        return all(need in results or need not in {s.key for s in pending} for need in source.needs)

    if workers <= 1:
        for source in sorted(pending, key=lambda s: len(s.needs)):
            outcome, raw = read_source(source, ctx)
            finish(source, outcome, raw)
        return results
    exchange_slots = threading.BoundedSemaphore(exchange_concurrency())
    main = threading.get_ident()

    def call(source: Source):
        try:
            if source.service == "exchange":
                with exchange_slots:
                    return read_source(source, ctx)
            return read_source(source, ctx)
        finally:
            if threading.get_ident() != main:
                connections.close_all()  # a source that touched the database must not leak its connection

    waiting = list(pending)
    running: dict[Future, Source] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="research") as pool:
        while waiting or running:
            for source in [s for s in waiting if ready(s)]:
                waiting.remove(source)
                running[pool.submit(call, source)] = source
            if not running:  # only sources whose needs can never finish: run them without the help
                for source in waiting:
                    running[pool.submit(call, source)] = source
                waiting = []
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                source = running.pop(future)
                outcome, raw = future.result()
                finish(source, outcome, raw)
    return results
