"""gather(): sources run in parallel within the budget, in dependency order, and every failure is a reason."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from graph.errors import GraphError
from graph.services import compromise
from users.research import gather
from users.research.sources import Source, SourceContext


def ctx() -> SourceContext:
    until = datetime(2026, 11, 20, tzinfo=UTC)
    return SourceContext(tenant=None, graph=None, exchange=None, user_id="u", upn="u@contoso.com",
                         since=until - timedelta(days=7), until=until, raw={})  # fmt: skip


def source(key, fetch, *, service="graph", needs=(), applies=lambda c: True):
    return Source(key, key.title(), "", service, fetch, lambda raw: raw, needs=needs, applies=applies)


def test_every_failure_becomes_a_reason_and_nothing_raises():
    def unavailable(c):
        raise compromise.SourceUnavailable(compromise.NEEDS_P1, "Neither tenant is B2C")

    def graph_error(c):
        raise GraphError("Resource not found", status=404, code="NotFound", request_id="r-9")

    def bug(c):
        raise KeyError("oops")

    sources = [source("ok", lambda c: [1, 2, 3]), source("p1", unavailable), source("err", graph_error),
               source("bug", bug), source("later", lambda c: [], applies=lambda c: False)]  # fmt: skip
    seen = []
    results = gather.gather(ctx(), sources, on_done=seen.append, workers=1)
    assert (
        results["ok"]["status"] == "ok" and results["ok"]["count"] == 3 and results["ok"]["data"] == [1, 2, 3]
    )
    assert results["p1"] == {**results["p1"], "status": "unavailable", "reason_code": "needs Entra ID P1",
                             "reason": "needs Entra ID P1 (Neither tenant is B2C)"}  # fmt: skip
    assert (
        results["err"]["reason"] == "Microsoft answered: Resource not found"
        and results["err"]["request_id"] == "r-9"
    )
    assert results["bug"]["status"] == "unavailable" and "unexpected error" in results["bug"]["reason"]
    assert results["later"]["status"] == "skipped"
    assert sorted(o["key"] for o in seen) == sorted(results)


def test_sources_run_in_parallel_within_the_budget(settings):
    settings.RESEARCH_EXCHANGE_CONCURRENCY = 1
    running = {"graph": 0, "exchange": 0, "graph_max": 0, "exchange_max": 0}
    lock = threading.Lock()

    def slow(service):
        def fetch(c):
            with lock:
                running[service] += 1
                running[f"{service}_max"] = max(running[f"{service}_max"], running[service])
            time.sleep(0.15)
            with lock:
                running[service] -= 1
            return []

        return fetch

    sources = [source(f"g{i}", slow("graph")) for i in range(4)]
    sources += [source(f"x{i}", slow("exchange"), service="exchange") for i in range(3)]
    started = time.monotonic()
    results = gather.gather(ctx(), sources, workers=4)
    elapsed = time.monotonic() - started
    assert all(r["status"] == "ok" for r in results.values())
    assert running["graph_max"] >= 2  # parallel
    assert running["exchange_max"] == 1  # Exchange kept to its own, smaller budget
    assert elapsed < 7 * 0.15  # faster than one after another


def test_a_source_waits_for_what_it_needs_and_reuses_it():
    order = []

    def audits(c):
        time.sleep(0.1)
        order.append("audits")
        return ["a1", "a2"]

    def methods(c):
        order.append("methods")
        return {"reused": c.raw.get("audits")}

    sources = [
        source("methods", methods, needs=("audits",)),
        source("audits", audits),
        source("x", lambda c: []),
    ]
    results = gather.gather(ctx(), sources, workers=3)
    assert order == ["audits", "methods"]
    assert results["methods"]["data"] == {"reused": ["a1", "a2"]}


def test_needs_that_failed_do_not_block():
    def audits(c):
        raise compromise.SourceUnavailable(compromise.THROTTLED)

    sources = [source("audits", audits), source("methods", lambda c: {"reused": c.raw.get("audits")},
                                                  needs=("audits",))]  # fmt: skip
    for workers in (1, 2):
        results = gather.gather(ctx(), sources, workers=workers)
        assert results["audits"]["status"] == "unavailable"
        assert results["methods"]["data"] == {"reused": None}


def test_resume_skips_sources_already_done():
    calls = []
    sources = [source("a", lambda c: calls.append("a") or []), source("b", lambda c: calls.append("b") or [])]
    done = {"a": {"key": "a", "status": "ok", "data": [], "count": 0}}
    results = gather.gather(ctx(), sources, done=done, workers=1)
    assert calls == ["b"] and set(results) == {"a", "b"}
