"""GraphClient: URLs, headers, paging, ConsistencyLevel, retries and dry run (all with `responses`)."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from graph.client import GraphClient, needs_eventual_consistency
from graph.errors import AuthError, BadRequestError, GraphError, NotFoundError, ThrottledError, TransientError

from .conftest import CUSTOMER, GRAPH, graph_error

USERS = f"{GRAPH}/v1.0/users"


def test_get_sends_token_request_id_and_priority(graph_client, mocked, tokens):
    mocked.get(f"{GRAPH}/v1.0/users/adele", json={"id": "1"})
    assert graph_client.get("/users/adele") == {"id": "1"}
    sent = mocked.calls[0].request.headers
    assert sent["Authorization"] == "Bearer token-1"
    uuid.UUID(sent["client-request-id"])
    assert sent["x-ms-throttle-priority"] == "high"
    assert "ConsistencyLevel" not in sent
    assert tokens.calls == [(CUSTOMER, "https://graph.microsoft.com", "delegated")]


def test_each_request_gets_its_own_client_request_id(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/me", json={})
    graph_client.get("me")
    graph_client.get("me")
    ids = {c.request.headers["client-request-id"] for c in mocked.calls}
    assert len(ids) == 2


def test_low_priority_and_beta_version(connection, tokens, mocked):
    client = GraphClient(connection, CUSTOMER, priority="low", version="beta", token_provider=tokens)
    mocked.get(f"{GRAPH}/beta/users/1/authentication/requirements", json={"perUserMfaState": "disabled"})
    client.get("users/1/authentication/requirements")
    assert mocked.calls[0].request.headers["x-ms-throttle-priority"] == "low"
    with pytest.raises(ValueError):
        GraphClient(connection, CUSTOMER, priority="urgent")


def test_iter_pages_follows_next_link_page_by_page(graph_client, mocked):
    next_url = f"{USERS}?$skiptoken=abc"
    mocked.get(
        USERS,
        json={"value": [{"id": "1"}, {"id": "2"}], "@odata.nextLink": next_url},
        match=[responses.matchers.query_param_matcher({"$top": "2"})],
    )
    mocked.get(
        USERS,
        json={"value": [{"id": "3"}]},
        match=[responses.matchers.query_param_matcher({"$skiptoken": "abc"})],
    )
    pages = graph_client.iter_pages("/users", params={"$top": 2})
    assert next(pages) == [{"id": "1"}, {"id": "2"}]
    assert len(mocked.calls) == 1  # lazily: the second page is only fetched when asked for
    assert next(pages) == [{"id": "3"}]
    assert list(pages) == []
    assert len(mocked.calls) == 2


def test_next_link_to_another_host_is_refused(graph_client, mocked):
    mocked.get(USERS, json={"value": [], "@odata.nextLink": "https://evil.example/v1.0/users?$skiptoken=x"})
    with pytest.raises(GraphError, match="refusing"):
        list(graph_client.iter_pages("/users"))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"$select": "id"}, False),
        ({"$filter": "accountEnabled eq false"}, False),
        ({"$search": '"displayName:ad"'}, True),
        ({"$count": "true"}, True),
        ({"$count": True}, True),
        ({"$filter": "endsWith(mail,'@contoso.com')"}, True),
        ({"$filter": "userType ne 'Guest'"}, True),
        ({"$filter": "not(startsWith(displayName,'a'))"}, True),
        ({"$filter": "accountEnabled eq true", "$orderby": "displayName"}, True),
        ({"$orderby": "displayName"}, False),
    ],
)
def test_advanced_query_detection(params, expected):
    assert needs_eventual_consistency(params) is expected


def test_consistency_level_added_and_kept_across_pages(graph_client, mocked):
    mocked.get(
        USERS,
        json={"value": [{"id": "1"}], "@odata.nextLink": f"{USERS}?$skiptoken=n"},
        match=[responses.matchers.query_param_matcher({"$search": '"displayName:ad"', "$count": "true"})],
    )
    mocked.get(
        USERS,
        json={"value": [{"id": "2"}]},
        match=[responses.matchers.query_param_matcher({"$skiptoken": "n"})],
    )
    pages = list(graph_client.iter_pages("/users", params={"$search": '"displayName:ad"', "$count": "true"}))
    assert pages == [[{"id": "1"}], [{"id": "2"}]]
    assert [c.request.headers.get("ConsistencyLevel") for c in mocked.calls] == ["eventual", "eventual"]


def test_consistency_level_from_query_in_path(graph_client, mocked):
    mocked.get(USERS, json={"value": []})
    graph_client.get("/users?$filter=endsWith(mail,'@x.com')&$count=true")
    assert mocked.calls[0].request.headers["ConsistencyLevel"] == "eventual"


def test_retry_after_is_honoured(graph_client, mocked, sleeps):
    mocked.get(USERS, status=429, headers={"Retry-After": "7"}, json=graph_error("TooManyRequests", "slow"))
    mocked.get(USERS, json={"value": []})
    assert graph_client.get("/users") == {"value": []}
    assert sleeps == [7]


def test_retry_after_is_capped(graph_client, mocked, sleeps, settings):
    settings.GRAPH_MAX_RETRY_AFTER_SECONDS = 10
    mocked.get(
        USERS, status=429, headers={"Retry-After": "3600"}, json=graph_error("TooManyRequests", "slow")
    )
    mocked.get(USERS, json={})
    graph_client.get("/users")
    assert sleeps == [10]


def test_backoff_without_retry_after_grows(graph_client, mocked, sleeps):
    for _ in range(3):
        mocked.get(USERS, status=503, json=graph_error("serviceNotAvailable", "busy"))
    mocked.get(USERS, json={"value": []})
    graph_client.get("/users")
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2 and 2 <= sleeps[2] <= 4


def test_attempts_are_bounded(graph_client, mocked, sleeps, settings):
    settings.GRAPH_MAX_ATTEMPTS = 3
    mocked.get(
        USERS, status=429, headers={"Retry-After": "1"}, json=graph_error("TooManyRequests", "slow", "r-last")
    )
    with pytest.raises(ThrottledError) as info:
        graph_client.get("/users")
    assert len(mocked.calls) == 3
    assert sleeps == [1, 1]
    assert info.value.request_id == "r-last" and info.value.retry_after == 1


def test_post_is_not_retried_after_a_server_error(graph_client, mocked, sleeps):
    mocked.post(USERS, status=503, json=graph_error("serviceNotAvailable", "busy"))
    with pytest.raises(TransientError):
        graph_client.post("/users", json={"displayName": "x"})
    assert len(mocked.calls) == 1 and sleeps == []


def test_post_is_not_retried_after_a_read_timeout(graph_client, mocked, sleeps):
    mocked.post(USERS, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TransientError):
        graph_client.post("/users", json={})
    assert len(mocked.calls) == 1 and sleeps == []


def test_post_is_retried_on_429_and_when_the_connection_never_opened(graph_client, mocked, sleeps):
    refused = requests.ConnectionError(MaxRetryError(None, USERS, NewConnectionError(None, "refused")))
    mocked.post(USERS, body=refused)
    mocked.post(USERS, status=429, headers={"Retry-After": "2"}, json=graph_error("TooManyRequests", "slow"))
    mocked.post(USERS, status=201, json={"id": "new"})
    assert graph_client.post("/users", json={"displayName": "x"}) == {"id": "new"}
    assert len(mocked.calls) == 3 and sleeps[1] == 2


def test_patch_and_delete_are_retried_on_5xx_and_timeouts(graph_client, mocked, sleeps):
    mocked.patch(f"{USERS}/1", status=502, body="Bad Gateway")
    mocked.patch(f"{USERS}/1", status=204)
    assert graph_client.patch("/users/1", json={"jobTitle": "x"}) == {}
    mocked.delete(f"{USERS}/1", body=requests.ReadTimeout())
    mocked.delete(f"{USERS}/1", status=204)
    assert graph_client.delete("/users/1") == {}
    assert len(sleeps) == 2


def test_client_errors_are_raised_at_once(graph_client, mocked, sleeps):
    mocked.get(f"{USERS}/nobody", status=404, json=graph_error("Request_ResourceNotFound", "gone", "r-404"))
    with pytest.raises(NotFoundError) as info:
        graph_client.get("/users/nobody")
    assert info.value.request_id == "r-404" and sleeps == []
    mocked.post(USERS, status=400, json=graph_error("Request_BadRequest", "bad"))
    with pytest.raises(BadRequestError):
        graph_client.post("/users", json={})


def test_401_gets_a_fresh_token_once(graph_client, mocked, tokens):
    mocked.get(USERS, status=401, json=graph_error("InvalidAuthenticationToken", "expired"))
    mocked.get(USERS, json={"value": []})
    graph_client.get("/users")
    assert [c.request.headers["Authorization"] for c in mocked.calls] == ["Bearer token-1", "Bearer token-2"]
    assert len(tokens.invalidated) == 1
    mocked.get(f"{USERS}/x", status=401, json=graph_error("InvalidAuthenticationToken", "nope"))
    with pytest.raises(AuthError):
        graph_client.get("/users/x")


def test_non_json_success_body_is_a_clear_error(graph_client, mocked):
    mocked.get(USERS, body="<html>proxy</html>", status=200)
    with pytest.raises(GraphError, match="not JSON"):
        graph_client.get("/users")


def test_dry_run_records_writes_and_lets_reads_through(connection, tokens, mocked):
    client = GraphClient(connection, CUSTOMER, dry_run=True, token_provider=tokens)
    mocked.get(f"{USERS}/1", json={"id": "1"})
    assert client.get("/users/1") == {"id": "1"}
    assert client.post("/users", json={"displayName": "x"}) == {}
    client.patch("/users/1", json={"jobTitle": "y"})
    client.delete("/users/1")
    assert len(mocked.calls) == 1
    assert [(w.method, w.url, w.body) for w in client.recorded_writes] == [
        ("POST", USERS, {"displayName": "x"}),
        ("PATCH", f"{USERS}/1", {"jobTitle": "y"}),
        ("DELETE", f"{USERS}/1", None),
    ]


def test_dry_run_follows_the_setting(connection, tokens, settings, mocked):
    settings.GRAPH_DRY_RUN = True
    client = GraphClient(connection, CUSTOMER, token_provider=tokens)
    client.post("/users", json={})
    assert len(client.recorded_writes) == 1 and not mocked.calls


def test_for_tenant_uses_the_connection_default_mode(connection, tokens):
    from tenants.models import Tenant

    connection.default_auth_mode = "app_only"
    connection.save()
    tenant = Tenant.objects.create(tenant_id=CUSTOMER, connection=connection, display_name="Contoso")
    client = GraphClient.for_tenant(tenant, token_provider=tokens)
    assert (client.tenant_id, client.mode) == (CUSTOMER, "app")
    assert GraphClient.for_tenant(tenant, mode="delegated", token_provider=tokens).mode == "delegated"


def test_json_body_is_sent(graph_client, mocked):
    mocked.post(f"{USERS}/1/assignLicense", json={"id": "1"})
    graph_client.post("/users/1/assignLicense", json={"addLicenses": [], "removeLicenses": []})
    assert json.loads(mocked.calls[0].request.body) == {"addLicenses": [], "removeLicenses": []}
