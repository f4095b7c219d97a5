"""The in-process requests adapter: real status, headers and bodies from the Django stack, no socket."""

from __future__ import annotations

import pytest
import requests

from graph.sandbox.adapter import InProcessSandboxAdapter, build_environ

from .identity_factories import BASE, make_tenant, sandbox_session

pytestmark = pytest.mark.django_db


def test_get_healthz_through_the_adapter():
    response = sandbox_session().get("http://sandbox.test/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["checks"]["database"] == "ok"
    assert response.url == "http://sandbox.test/healthz" and response.reason == "OK"


def test_head_has_headers_but_no_body():
    tenant = make_tenant("headco")
    response = sandbox_session().head(f"{BASE}/login/{tenant.pk}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["Content-Type"] == "application/json"


def test_redirects_are_left_to_requests():
    session = sandbox_session()
    raw = session.get("http://sandbox.test/", allow_redirects=False)
    assert raw.status_code == 302 and raw.is_redirect and "Location" in raw.headers
    followed = session.get("http://sandbox.test/")
    assert followed.history and followed.history[0].status_code == 302


def test_https_urls_build_https_absolute_urls():
    tenant = make_tenant("adapterco")
    doc = sandbox_session().get(f"{BASE}/login/{tenant.pk}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"].startswith("https://sandbox.test/sandbox/login/")


def test_streamed_body_and_headers_reach_the_view():
    tenant = make_tenant("streamco")

    def chunks():
        yield b"grant_type=client_credentials&"
        yield b"scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"

    response = sandbox_session().post(
        f"{BASE}/login/{tenant.pk}/oauth2/v2.0/token",
        data=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "client-request-id": "not-a-guid"},
    )
    # Body parsed (grant and scope seen), so the failure is the missing client_id.
    assert response.status_code == 400 and "'client_id'" in response.json()["error_description"]


def test_environ_carries_method_path_query_and_headers():
    prepared = requests.Request(
        "PATCH",
        "https://sandbox.test:8443/sandbox/graph/v1.0/users/a%40b.com?$select=id",
        headers={"Authorization": "Bearer t", "ConsistencyLevel": "eventual"},
        json={"a": 1},
    ).prepare()
    environ = build_environ(prepared)
    assert environ["REQUEST_METHOD"] == "PATCH"
    assert environ["PATH_INFO"] == "/sandbox/graph/v1.0/users/a@b.com"
    assert environ["QUERY_STRING"] == "$select=id"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["wsgi.url_scheme"]) == (
        "sandbox.test",
        "8443",
        "https",
    )
    assert environ["HTTP_AUTHORIZATION"] == "Bearer t" and environ["HTTP_CONSISTENCYLEVEL"] == "eventual"
    assert environ["CONTENT_TYPE"] == "application/json" and environ["wsgi.input"].read() == b'{"a": 1}'


def test_unknown_path_is_a_plain_404():
    response = requests.Session()
    response.mount("http://sandbox.test/", InProcessSandboxAdapter())
    assert response.get("http://sandbox.test/sandbox/no-such-thing").status_code == 404
