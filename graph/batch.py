"""JSON batching ($batch): many Graph requests in few HTTP calls.

Rules kept here (graph-v1-subset.json → batch):
* at most 20 requests per $batch; item URLs are relative to the version root (``/users/{id}``);
* ``dependsOn`` only refers to items of the same $batch, so a dependency chain is kept in one call (a
  chain longer than 20 is refused up front);
* an item with a body needs ``"headers": {"Content-Type": "application/json"}``;
* items are throttled one by one (429 with their own Retry-After): only the items that got 429 — or a
  5xx on a request that is safe to repeat — are sent again, after the largest Retry-After among them.
  A POST answered 5xx is never repeated: it may have been carried out. Items that failed with 424 only
  because such a dependency is being retried go along with it; a retried item whose dependency
  succeeded earlier is sent without that ``dependsOn``;
* a 424 (failed dependency) result says which dependency failed and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graph import http
from graph.errors import DependencyFailedError, GraphError, TransientError, graph_error_from_body

if TYPE_CHECKING:  # pragma: no cover
    from graph.client import GraphClient

logger = logging.getLogger(__name__)

MAX_BATCH_SIZE = 20


@dataclass
class BatchRequest:
    id: str
    method: str
    url: str  # relative to the version root, e.g. "/users/{id}"
    body: Any = None
    headers: dict | None = None
    depends_on: list[str] | None = None

    @property
    def is_write(self) -> bool:
        return self.method.upper() != "GET"

    def to_json(self, depends_on: list[str]) -> dict:
        from graph.client import needs_eventual_consistency, query_params_of

        item: dict[str, Any] = {"id": self.id, "method": self.method.upper(), "url": self.url}
        headers = dict(self.headers or {})
        lowered = {k.lower() for k in headers}
        if self.body is not None:
            item["body"] = self.body
            if "content-type" not in lowered:
                headers["Content-Type"] = "application/json"
        if (
            not self.is_write
            and "consistencylevel" not in lowered
            and needs_eventual_consistency(query_params_of(self.url))
        ):
            headers["ConsistencyLevel"] = "eventual"
        if headers:
            item["headers"] = headers
        if depends_on:
            item["dependsOn"] = list(depends_on)
        return item


@dataclass
class BatchResult:
    id: str
    status: int
    body: Any = None
    headers: dict = field(default_factory=dict)
    error: GraphError | None = None
    dry_run: bool = False  # True: a write that dry-run mode recorded instead of sending

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300


def _validate(requests_: list[BatchRequest]) -> None:
    ids = [r.id for r in requests_]
    if any(not isinstance(i, str) or not i for i in ids):
        raise ValueError("every batch request needs a non-empty string id")
    if len(set(ids)) != len(ids):
        raise ValueError("batch request ids must be unique")
    known = set(ids)
    for request in requests_:
        if request.url.startswith(("http://", "https://")):
            raise ValueError(f"batch request {request.id}: url must be relative to the version root")
        for dep in request.depends_on or []:
            if dep not in known:
                raise ValueError(f"batch request {request.id} depends on unknown request {dep!r}")
            if dep == request.id:
                raise ValueError(f"batch request {request.id} depends on itself")


def plan_chunks(requests_: list[BatchRequest], deps: dict[str, list[str]]) -> list[list[BatchRequest]]:
    """Group requests into $batch calls of <= 20, each dependency-connected group in a single call."""
    parent = {r.id: r.id for r in requests_}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for request in requests_:
        for dep in deps.get(request.id, []):
            parent[find(request.id)] = find(dep)
    groups: dict[str, list[BatchRequest]] = {}
    for request in requests_:  # keeps the caller's order inside and across groups
        groups.setdefault(find(request.id), []).append(request)
    chunks: list[list[BatchRequest]] = []
    current: list[BatchRequest] = []
    for group in groups.values():
        if len(group) > MAX_BATCH_SIZE:
            raise ValueError(
                f"a dependsOn chain of {len(group)} requests (including {group[0].id!r}) does not fit in one "
                f"$batch of {MAX_BATCH_SIZE}"
            )
        if len(current) + len(group) > MAX_BATCH_SIZE:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    return chunks


def _send_chunk(
    client: GraphClient, chunk: list[BatchRequest], deps: dict[str, list[str]]
) -> dict[str, BatchResult]:
    payload = {"requests": [r.to_json(deps.get(r.id, [])) for r in chunk]}
    all_reads = not any(r.is_write for r in chunk)
    try:
        response = client.request("POST", "$batch", json=payload, idempotent=all_reads)
        data = client.json_body(response)
    except GraphError as exc:
        # The whole call failed (after the client's own retries): every item shares that outcome.
        return {r.id: BatchResult(r.id, exc.status or 0, error=exc) for r in chunk}
    results: dict[str, BatchResult] = {}
    for item in data.get("responses") or []:
        item_id = str(item.get("id"))
        status = int(item.get("status") or 0)
        headers = item.get("headers") or {}
        body = item.get("body")
        error = graph_error_from_body(status, body, headers) if status >= 400 else None
        results[item_id] = BatchResult(item_id, status, body, headers, error)
    for request in chunk:
        if request.id not in results:
            results[request.id] = BatchResult(
                request.id,
                0,
                error=TransientError(
                    "Graph returned no response for this batch item", code="missingResponse"
                ),
            )
    return results


def _should_retry(request: BatchRequest, result: BatchResult) -> bool:
    if result.status == 429:
        return True
    repeatable = request.method.upper() in http.IDEMPOTENT_METHODS
    return repeatable and (
        result.status >= 500 or result.status == 0 and isinstance(result.error, TransientError)
    )


def _gone_after_uncertain_delete(
    pending: list[BatchRequest], round_results: dict[str, BatchResult], uncertain: set[str]
) -> set[str]:
    """DELETEs that http.delete_already_done says took effect on an earlier attempt become successes.
    Returns their ids."""
    gone = set()
    for request in pending:
        result = round_results[request.id]
        if http.delete_already_done(request.method, result.status, request.id in uncertain):
            round_results[request.id] = BatchResult(request.id, 204, None, result.headers)
            gone.add(request.id)
    return gone


def run_batch(
    client: GraphClient, requests_: list[BatchRequest], *, max_attempts: int | None = None
) -> dict[str, BatchResult]:
    _validate(requests_)
    by_id = {r.id: r for r in requests_}
    final: dict[str, BatchResult] = {}
    pending = list(requests_)
    if client.dry_run:
        for request in [r for r in pending if r.is_write]:
            client.recorded_writes.append(_recorded(client, request))
            final[request.id] = BatchResult(request.id, 202, dry_run=True)
        pending = [r for r in pending if not r.is_write]
    attempts = max_attempts or http.max_attempts()
    attempt = 0
    # Items re-sent after an answer that leaves open whether Graph carried them out (lost answer, 5xx).
    uncertain: set[str] = set()
    while pending:
        attempt += 1
        pending_ids = {r.id for r in pending}
        # A dependency that already succeeded (earlier round, or a recorded dry-run write) is dropped.
        deps = {r.id: [d for d in r.depends_on or [] if d in pending_ids] for r in pending}
        round_results: dict[str, BatchResult] = {}
        for chunk in plan_chunks(pending, deps):
            round_results.update(_send_chunk(client, chunk, deps))
        gone = _gone_after_uncertain_delete(pending, round_results, uncertain)
        retry = {r.id for r in pending if _should_retry(r, round_results[r.id])}
        # Dependents that failed only because a retried item failed go again with it, and so do those of
        # a DELETE that turned out done already (their 424 came from its 404).
        changed = True
        while changed:
            changed = False
            for request in pending:
                if (
                    request.id not in retry
                    and round_results[request.id].status == 424
                    and any(d in retry or d in gone for d in deps[request.id])
                ):
                    retry.add(request.id)
                    changed = True
        for request in pending:
            if request.id not in retry or attempt >= attempts:
                final[request.id] = round_results[request.id]
        if not retry or attempt >= attempts:
            break
        uncertain |= {i for i in retry if http.leaves_outcome_open(round_results[i].status)}
        waits = [round_results[i].error.retry_after for i in retry if round_results[i].error]
        waits = [w for w in waits if w is not None]
        delay = http.retry_delay(attempt, max(waits) if waits else None)
        logger.info("$batch: %d item(s) throttled or failed transiently; retry in %.1fs", len(retry), delay)
        client.sleep(delay)
        pending = [r for r in pending if r.id in retry]
    for result in final.values():
        if result.status == 424:
            result.error = _dependency_error(by_id[result.id], final, result)
    return {r.id: final[r.id] for r in requests_}


def _dependency_error(
    request: BatchRequest, final: dict[str, BatchResult], result: BatchResult
) -> GraphError:
    for dep in request.depends_on or []:
        dep_result = final.get(dep)
        if dep_result is not None and not dep_result.ok:
            reason = dep_result.error.message if dep_result.error else f"HTTP {dep_result.status}"
            return DependencyFailedError(
                f"not carried out because request {dep} failed: {reason}",
                status=424,
                dependency_id=dep,
                request_id=result.error.request_id if result.error else None,
            )
    return result.error or DependencyFailedError("a request this one depends on failed", status=424)


def _recorded(client: GraphClient, request: BatchRequest):
    from graph.client import RecordedWrite

    return RecordedWrite(request.method.upper(), client.url_for(request.url), request.body)
