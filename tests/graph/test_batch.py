"""$batch: splitting into 20s, dependsOn chains kept together, per-item retries, 424 mapping, dry run."""

from __future__ import annotations

import json

import pytest

from graph.batch import BatchRequest, plan_chunks
from graph.client import GraphClient
from graph.errors import BadRequestError, DependencyFailedError, NotFoundError, ThrottledError, TransientError

from .conftest import CUSTOMER, GRAPH, graph_error

BATCH_URL = f"{GRAPH}/v1.0/$batch"


class FakeBatchEndpoint:
    """Answers each $batch POST with ``answer(item, call_number)`` -> (status, body, headers) per item."""

    def __init__(self, mocked, answer):
        self.bodies: list[dict] = []
        self.answer = answer
        mocked.add_callback("POST", BATCH_URL, callback=self._callback, content_type="application/json")

    def _callback(self, request):
        body = json.loads(request.body)
        self.bodies.append(body)
        responses_ = []
        for item in body["requests"]:
            status, item_body, headers = self.answer(item, len(self.bodies))
            responses_.append({"id": item["id"], "status": status, "headers": headers, "body": item_body})
        responses_.reverse()  # Graph may answer in any order
        return 200, {}, json.dumps({"responses": responses_})


def ok(item, call):
    return 200, {"id": item["url"]}, {"Content-Type": "application/json"}


def gets(n):
    return [BatchRequest(str(i), "GET", f"/users/{i}") for i in range(n)]


def test_splits_into_batches_of_twenty(graph_client, mocked):
    endpoint = FakeBatchEndpoint(mocked, ok)
    results = graph_client.batch(gets(45))
    assert [len(b["requests"]) for b in endpoint.bodies] == [20, 20, 5]
    assert list(results) == [str(i) for i in range(45)]
    assert all(r.ok and r.status == 200 for r in results.values())
    assert results["7"].body == {"id": "/users/7"}


def test_dependency_chains_stay_in_one_batch():
    reqs = (
        gets(15)
        + [
            BatchRequest("a", "POST", "/users", body={}),
            BatchRequest("b", "PATCH", "/users/x", body={}, depends_on=["a"]),
            BatchRequest("c", "GET", "/users/x", depends_on=["b"]),
            BatchRequest("d", "GET", "/users/y", depends_on=["a"]),
            BatchRequest("e", "GET", "/users/z", depends_on=["d"]),
            BatchRequest("f", "GET", "/users/w", depends_on=["e"]),
        ]
        + [BatchRequest(f"t{i}", "GET", f"/groups/{i}") for i in range(3)]
    )
    deps = {r.id: list(r.depends_on or []) for r in reqs}
    chunks = plan_chunks(reqs, deps)
    assert all(len(c) <= 20 for c in chunks)
    homes = {r.id: n for n, chunk in enumerate(chunks) for r in chunk}
    assert len({homes[i] for i in "abcdef"}) == 1
    assert sum(len(c) for c in chunks) == len(reqs)


def test_chain_longer_than_twenty_is_refused(graph_client):
    reqs = [BatchRequest("0", "GET", "/users/0")]
    reqs += [BatchRequest(str(i), "GET", f"/users/{i}", depends_on=[str(i - 1)]) for i in range(1, 21)]
    with pytest.raises(ValueError, match="does not fit"):
        graph_client.batch(reqs)


@pytest.mark.parametrize(
    "reqs",
    [
        [BatchRequest("1", "GET", "/a"), BatchRequest("1", "GET", "/b")],
        [BatchRequest("1", "GET", "/a", depends_on=["9"])],
        [BatchRequest("1", "GET", "https://graph.microsoft.com/v1.0/users")],
        [BatchRequest("", "GET", "/a")],
    ],
)
def test_invalid_batches_are_refused(graph_client, reqs):
    with pytest.raises(ValueError):
        graph_client.batch(reqs)


def test_item_json_shape(graph_client, mocked):
    endpoint = FakeBatchEndpoint(mocked, ok)
    graph_client.batch(
        [
            BatchRequest("1", "PATCH", "/users/1", body={"jobTitle": "x"}),
            BatchRequest("2", "GET", "/users?$filter=endsWith(mail,'@x.com')&$count=true", depends_on=["1"]),
            BatchRequest("3", "GET", "/users/3", headers={"Prefer": "x"}),
        ]
    )
    items = {i["id"]: i for i in endpoint.bodies[0]["requests"]}
    assert items["1"] == {
        "id": "1",
        "method": "PATCH",
        "url": "/users/1",
        "body": {"jobTitle": "x"},
        "headers": {"Content-Type": "application/json"},
    }
    assert items["2"]["dependsOn"] == ["1"] and items["2"]["headers"] == {"ConsistencyLevel": "eventual"}
    assert items["3"]["headers"] == {"Prefer": "x"} and "body" not in items["3"]


def test_only_throttled_items_are_retried_after_the_largest_retry_after(graph_client, mocked, sleeps):
    def answer(item, call):
        if call == 1 and item["id"] in ("2", "4"):
            retry_after = {"2": "3", "4": "9"}[item["id"]]
            return 429, graph_error("TooManyRequests", "slow"), {"Retry-After": retry_after}
        return ok(item, call)

    endpoint = FakeBatchEndpoint(mocked, answer)
    results = graph_client.batch(gets(6))
    assert [sorted(i["id"] for i in b["requests"]) for b in endpoint.bodies] == [
        [str(i) for i in range(6)],
        ["2", "4"],
    ]
    assert sleeps == [9]
    assert all(r.ok for r in results.values())


def test_post_items_are_not_retried_after_5xx_but_gets_are(graph_client, mocked, sleeps):
    def answer(item, call):
        if call == 1:
            return 503, graph_error("serviceNotAvailable", "busy"), {}
        return ok(item, call)

    endpoint = FakeBatchEndpoint(mocked, answer)
    results = graph_client.batch(
        [BatchRequest("p", "POST", "/users", body={}), BatchRequest("g", "GET", "/users/1")]
    )
    assert [i["id"] for i in endpoint.bodies[1]["requests"]] == ["g"]
    assert isinstance(results["p"].error, TransientError) and results["p"].status == 503
    assert results["g"].ok


def test_retry_drops_dependency_that_already_succeeded(graph_client, mocked):
    def answer(item, call):
        if call == 1 and item["id"] == "b":
            return 429, graph_error("TooManyRequests", "slow"), {"Retry-After": "1"}
        return ok(item, call)

    endpoint = FakeBatchEndpoint(mocked, answer)
    results = graph_client.batch(
        [
            BatchRequest("a", "POST", "/users", body={}),
            BatchRequest("b", "PATCH", "/users/1", body={}, depends_on=["a"]),
        ]
    )
    retried = endpoint.bodies[1]["requests"]
    assert [i["id"] for i in retried] == ["b"] and "dependsOn" not in retried[0]
    assert results["a"].ok and results["b"].ok


def test_dependents_of_a_throttled_item_go_again_with_it(graph_client, mocked):
    def answer(item, call):
        if call == 1 and item["id"] == "a":
            return 429, graph_error("TooManyRequests", "slow"), {"Retry-After": "1"}
        if call == 1 and item["id"] == "b":
            return 424, graph_error("failedDependency", "dependency failed"), {}
        return ok(item, call)

    endpoint = FakeBatchEndpoint(mocked, answer)
    results = graph_client.batch(
        [
            BatchRequest("a", "PATCH", "/users/1", body={}),
            BatchRequest("b", "PATCH", "/users/2", body={}, depends_on=["a"]),
            BatchRequest("c", "GET", "/users/3"),
        ]
    )
    retried = {i["id"]: i for i in endpoint.bodies[1]["requests"]}
    assert set(retried) == {"a", "b"} and retried["b"]["dependsOn"] == ["a"]
    assert all(r.ok for r in results.values())


def test_424_reports_the_dependency_reason(graph_client, mocked):
    def answer(item, call):
        if item["id"] == "a":
            return 404, graph_error("Request_ResourceNotFound", "user 1 does not exist"), {}
        if item["id"] == "b":
            return 424, graph_error("failedDependency", "dependency failed"), {}
        return ok(item, call)

    FakeBatchEndpoint(mocked, answer)
    results = graph_client.batch(
        [
            BatchRequest("a", "PATCH", "/users/1", body={}),
            BatchRequest("b", "POST", "/users/1/revokeSignInSessions", depends_on=["a"]),
        ]
    )
    assert isinstance(results["a"].error, NotFoundError)
    error = results["b"].error
    assert isinstance(error, DependencyFailedError)
    assert error.dependency_id == "a" and "user 1 does not exist" in error.message
    assert results["b"].status == 424 and not results["b"].ok


def test_bounded_attempts_leave_the_last_answer(graph_client, mocked, sleeps, settings):
    settings.GRAPH_MAX_ATTEMPTS = 3

    def answer(item, call):
        return 429, graph_error("TooManyRequests", "slow"), {"Retry-After": "1"}

    endpoint = FakeBatchEndpoint(mocked, answer)
    results = graph_client.batch(gets(2))
    assert len(endpoint.bodies) == 3 and sleeps == [1, 1]
    assert all(isinstance(r.error, ThrottledError) for r in results.values())


def test_whole_batch_failure_is_reported_on_every_item(graph_client, mocked):
    mocked.post(BATCH_URL, status=400, json=graph_error("BadRequest", "Invalid batch payload"))
    results = graph_client.batch(gets(3))
    assert all(isinstance(r.error, BadRequestError) and r.status == 400 for r in results.values())


def test_missing_item_response_is_an_error(graph_client, mocked, settings):
    settings.GRAPH_MAX_ATTEMPTS = 1
    mocked.post(BATCH_URL, json={"responses": [{"id": "0", "status": 200, "body": {}}]})
    results = graph_client.batch(gets(2))
    assert results["0"].ok and isinstance(results["1"].error, TransientError)


def test_dry_run_batch_records_writes_and_sends_reads(connection, tokens, mocked):
    client = GraphClient(connection, CUSTOMER, dry_run=True, token_provider=tokens)
    endpoint = FakeBatchEndpoint(mocked, ok)
    results = client.batch(
        [
            BatchRequest("w", "PATCH", "/users/1", body={"jobTitle": "x"}),
            BatchRequest("r", "GET", "/users/1", depends_on=["w"]),
        ]
    )
    assert [i["id"] for i in endpoint.bodies[0]["requests"]] == ["r"]
    assert "dependsOn" not in endpoint.bodies[0]["requests"][0]
    assert results["w"].dry_run and results["w"].ok and results["r"].ok
    assert [(w.method, w.url) for w in client.recorded_writes] == [("PATCH", f"{GRAPH}/v1.0/users/1")]
