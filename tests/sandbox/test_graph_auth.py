"""Bearer-token gate of the sandbox Graph API: Graph's 401 body and headers, correlation ids."""

from __future__ import annotations

import json
import uuid

import pytest

from graph.sandbox.tokens import EXCHANGE_AUDIENCE

from .factories import GraphCaller, make_user, token_for

pytestmark = pytest.mark.django_db


def _assert_graph_401(response, message_part: str):
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "InvalidAuthenticationToken"
    assert message_part in body["error"]["message"]
    inner = body["error"]["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert inner["request-id"] == response["request-id"]
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert response["Content-Type"].startswith("application/json;odata.metadata=minimal")


def test_missing_token(client, tenant):
    response = client.get("/sandbox/graph/v1.0/users")
    _assert_graph_401(response, "Access token is empty")


def test_expired_token(client, tenant):
    import time

    from graph.sandbox import tokens

    token = token_for(tenant, lifetime=60)
    real_time = time.time
    try:
        tokens.time.time = lambda: real_time() + 3600
        response = client.get("/sandbox/graph/v1.0/users", HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        tokens.time.time = real_time
    _assert_graph_401(response, "expired")


def test_wrong_audience(client, tenant):
    token = token_for(tenant, audience=EXCHANGE_AUDIENCE)
    response = client.get("/sandbox/graph/v1.0/users", HTTP_AUTHORIZATION=f"Bearer {token}")
    _assert_graph_401(response, "Invalid audience")


def test_unknown_tenant(client, tenant):
    token = token_for(str(uuid.uuid4()))
    response = client.get("/sandbox/graph/v1.0/users", HTTP_AUTHORIZATION=f"Bearer {token}")
    _assert_graph_401(response, "tenant")


def test_tampered_token(client, tenant):
    import jwt

    claims = jwt.decode(token_for(tenant), options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-sandbox-key-but-long-enough-0123456789", algorithm="HS256")
    response = client.get("/sandbox/graph/v1.0/users", HTTP_AUTHORIZATION=f"Bearer {forged}")
    _assert_graph_401(response, "signature")


def test_success_carries_graph_headers_and_echoes_client_request_id(client, tenant):
    make_user(tenant, "adele")
    graph = GraphCaller(client, tenant)
    response = graph.get("users", headers={"client-request-id": "abc-123"})
    assert response.status_code == 200
    assert response["client-request-id"] == "abc-123"
    uuid.UUID(response["request-id"])
    assert response["Content-Type"] == (
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
    )
    assert response.json()["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#users"


def test_error_echoes_client_request_id(client, tenant):
    graph = GraphCaller(client, tenant)
    response = graph.get("users/nobody@contoso.onmicrosoft.com", headers={"client-request-id": "xyz"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert response.json()["error"]["innerError"]["client-request-id"] == "xyz"


def test_unknown_segment_is_graph_400(client, tenant):
    graph = GraphCaller(client, tenant)
    response = graph.get("frobnicate/things")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Resource not found for the segment 'frobnicate'."


def test_method_not_allowed(client, tenant):
    graph = GraphCaller(client, tenant)
    response = graph("PUT", "users", body={})
    assert response.status_code == 405
    assert json.loads(response.content)["error"]["code"] == "Request_BadRequest"


def test_beta_mirrors_v1(client, tenant):
    make_user(tenant, "adele")
    graph = GraphCaller(client, tenant, version="beta")
    response = graph.get("users")
    assert response.status_code == 200
    assert response.json()["@odata.context"] == "https://graph.microsoft.com/beta/$metadata#users"
