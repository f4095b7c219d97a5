"""POST /$batch: limits, per-item dispatch with the caller's token, dependsOn and 424, item 429s."""

from __future__ import annotations

import pytest

from graph.sandbox.switches import set_switches

from .factories import make_user

pytestmark = pytest.mark.django_db


def _by_id(response) -> dict:
    assert response.status_code == 200, response.content
    return {item["id"]: item for item in response.json()["responses"]}


def test_batch_dispatches_items(graph, tenant):
    adele = make_user(tenant, "adele")
    body = {
        "requests": [
            {"id": "1", "method": "GET", "url": f"/users/{adele.id}?$select=id,displayName"},
            {"id": "2", "method": "PATCH", "url": f"/users/{adele.id}", "headers": {"Content-Type": "application/json"},
             "body": {"jobTitle": "Lead"}},
            {"id": "3", "method": "GET", "url": "users?$filter=city eq null&$count=true",
             "headers": {"ConsistencyLevel": "eventual"}},
            {"id": "4", "method": "GET", "url": "users?$count=true"},
            {"id": "5", "method": "GET", "url": "/nothing/here"},
        ]
    }  # fmt: skip
    results = _by_id(graph("POST", "$batch", body))
    assert results["1"]["status"] == 200
    assert results["1"]["body"]["displayName"] == "Adele"
    assert results["1"]["headers"]["Content-Type"].startswith("application/json")
    assert results["2"]["status"] == 204 and "body" not in results["2"]
    assert results["3"]["status"] == 200 and results["3"]["body"]["@odata.count"] == 1
    assert results["4"]["status"] == 400  # the outer request's headers do not leak into items
    assert results["5"]["status"] == 400
    adele.refresh_from_db()
    assert adele.properties["jobTitle"] == "Lead"


def test_depends_on_and_failed_dependency(graph, tenant):
    body = {
        "requests": [
            {"id": "create", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
             "body": {"accountEnabled": True, "displayName": "Bad", "mailNickname": "bad",
                      "userPrincipalName": "bad@elsewhere.com", "passwordProfile": {"password": "Sandbox-Passw0rd!"}}},
            {"id": "after", "method": "GET", "url": "/users", "dependsOn": ["create"]},
            {"id": "chain", "method": "GET", "url": "/organization", "dependsOn": ["after"]},
            {"id": "free", "method": "GET", "url": "/organization"},
        ]
    }  # fmt: skip
    results = _by_id(graph("POST", "$batch", body))
    assert results["create"]["status"] == 400
    assert results["after"]["status"] == 424
    assert results["after"]["body"]["error"]["code"] == "FailedDependency"
    assert results["chain"]["status"] == 424
    assert results["free"]["status"] == 200


def test_dependencies_run_in_order(graph, tenant):
    body = {
        "requests": [
            {"id": "read", "method": "GET", "url": "/users/zoe@contoso.onmicrosoft.com", "dependsOn": ["create"]},
            {"id": "create", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
             "body": {"accountEnabled": True, "displayName": "Zoe", "mailNickname": "zoe",
                      "userPrincipalName": "zoe@contoso.onmicrosoft.com", "passwordProfile": {"password": "Sandbox-Passw0rd!"}}},
        ]
    }  # fmt: skip
    response = graph("POST", "$batch", body)
    assert [item["id"] for item in response.json()["responses"]] == ["read", "create"]
    results = _by_id(response)
    assert results["create"]["status"] == 201
    assert results["read"]["status"] == 200


@pytest.mark.parametrize(
    "requests",
    [
        [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)],
        [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}],
        [{"id": "1", "method": "GET"}],
        [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["nope"]}],
        [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {"a": 1}}],
        [],
    ],
)
def test_malformed_batches_are_400(graph, requests):
    response = graph("POST", "$batch", {"requests": requests}, validate=False)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_items_are_throttled_individually(graph, tenant):
    make_user(tenant, "adele")
    set_switches(tenant.pk, throttle_limit=2, throttle_window_seconds=3600)
    body = {"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(4)]}
    results = _by_id(graph("POST", "$batch", body))
    statuses = sorted(item["status"] for item in results.values())
    assert statuses == [200, 200, 429, 429]
    throttled = next(item for item in results.values() if item["status"] == 429)
    assert int(throttled["headers"]["Retry-After"]) >= 1


def test_batch_needs_a_token(client, tenant):
    response = client.post("/sandbox/graph/v1.0/$batch", data="{}", content_type="application/json")
    assert response.status_code == 401


def test_batch_pays_latency_per_level_not_per_item(graph, tenant, monkeypatch):
    """Graph runs a batch's independent items concurrently: 20 parallel items cost one round of the added
    latency, a dependsOn chain of three costs three, and items never sleep on their own."""
    import time

    set_switches(tenant.pk, latency_ms=50)
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    parallel = {"requests": [{"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(20)]}
    results = _by_id(graph("POST", "$batch", parallel))
    assert {item["status"] for item in results.values()} == {200}
    assert sleeps == [0.05]

    sleeps.clear()
    chain = {
        "requests": [
            {"id": "a", "method": "GET", "url": "/users?$top=1"},
            {"id": "b", "method": "GET", "url": "/users?$top=1", "dependsOn": ["a"]},
            {"id": "c", "method": "GET", "url": "/users?$top=1", "dependsOn": ["b"]},
            {"id": "d", "method": "GET", "url": "/users?$top=1"},
        ]
    }
    assert {item["status"] for item in _by_id(graph("POST", "$batch", chain)).values()} == {200}
    assert sleeps == [pytest.approx(0.15)]
