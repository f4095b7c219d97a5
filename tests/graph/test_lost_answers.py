"""Lost answers (read timeout, dropped connection) and the client: a write that may have been carried out
is never re-sent blindly and fails as "outcome unknown"; a DELETE re-sent after such an answer that then
finds nothing (404) is done, not "not found" — directly and inside $batch, where its dependents go on."""

from __future__ import annotations

import json

import pytest
import requests
from urllib3.exceptions import ProtocolError

from graph.batch import BatchRequest
from graph.errors import NotFoundError, TransientError
from graph.http import OUTCOME_UNKNOWN

from .conftest import GRAPH, graph_error

USERS = f"{GRAPH}/v1.0/users"
BATCH_URL = f"{GRAPH}/v1.0/$batch"
DROPPED = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))


@pytest.mark.parametrize("lost", [requests.ReadTimeout("read timed out"), DROPPED])
def test_a_post_whose_answer_is_lost_is_outcome_unknown(graph_client, mocked, sleeps, lost):
    mocked.post(USERS, body=lost)
    with pytest.raises(TransientError) as info:
        graph_client.post("/users", json={"displayName": "x"})
    assert info.value.code == OUTCOME_UNKNOWN and "may or may not have been carried out" in info.value.message
    assert len(mocked.calls) == 1 and sleeps == []


def test_a_delete_that_finds_nothing_after_a_lost_answer_is_done(graph_client, mocked, sleeps):
    mocked.delete(f"{USERS}/1", body=requests.ReadTimeout())
    mocked.delete(f"{USERS}/1", status=404, json=graph_error("Request_ResourceNotFound", "gone"))
    assert graph_client.delete("/users/1") == {}
    assert len(mocked.calls) == 2


def test_a_delete_that_finds_nothing_at_first_is_still_not_found(graph_client, mocked, sleeps):
    mocked.delete(f"{USERS}/1", status=404, json=graph_error("Request_ResourceNotFound", "gone"))
    with pytest.raises(NotFoundError):
        graph_client.delete("/users/1")


def test_a_delete_after_a_429_that_finds_nothing_is_not_found(graph_client, mocked, sleeps):
    # A 429 says the first attempt was not processed, so the 404 is the truth about the object.
    mocked.delete(
        f"{USERS}/1", status=429, headers={"Retry-After": "1"}, json=graph_error("TooManyRequests", "x")
    )
    mocked.delete(f"{USERS}/1", status=404, json=graph_error("Request_ResourceNotFound", "gone"))
    with pytest.raises(NotFoundError):
        graph_client.delete("/users/1")


class LosingBatchEndpoint:
    """The first $batch call is carried out but its answer is lost; later calls answer per item."""

    def __init__(self, mocked, answer):
        self.bodies: list[dict] = []
        self.answer = answer
        mocked.add_callback("POST", BATCH_URL, callback=self._callback, content_type="application/json")

    def _callback(self, request):
        self.bodies.append(json.loads(request.body))
        if len(self.bodies) == 1:
            raise DROPPED
        answers = [
            {"id": item["id"], "status": status, "headers": {}, "body": body}
            for item in self.bodies[-1]["requests"]
            for status, body in [self.answer(item)]
        ]
        return 200, {}, json.dumps({"responses": answers})


def test_batch_delete_gone_after_a_lost_answer_is_done_and_its_dependents_go_on(graph_client, mocked, sleeps):
    def answer(item):  # the first (lost) call deleted "a"; "b" waited for it and never ran
        if item["id"] == "a":
            return 404, graph_error("Request_ResourceNotFound", "gone")
        if item["id"] == "b" and item.get("dependsOn"):
            return 424, graph_error("FailedDependency", "dependency failed")
        return 204, None

    endpoint = LosingBatchEndpoint(mocked, answer)
    results = graph_client.batch([
        BatchRequest("a", "DELETE", "/users/1/authentication/phoneMethods/2"),
        BatchRequest("b", "DELETE", "/users/1/authentication/phoneMethods/3", depends_on=["a"]),
        BatchRequest("p", "POST", "/users/1/authentication/temporaryAccessPassMethods", body={}),
    ])  # fmt: skip
    assert results["a"].ok and results["a"].status == 204
    assert results["b"].ok  # sent again once "a" turned out done
    assert [i["id"] for i in endpoint.bodies[-1]["requests"]] == ["b"]
    # The POST is never re-sent: its outcome is unknown and says so.
    assert results["p"].error.code == OUTCOME_UNKNOWN
    assert all(i["id"] != "p" for body in endpoint.bodies[1:] for i in body["requests"])
