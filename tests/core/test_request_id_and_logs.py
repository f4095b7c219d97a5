"""Request ids, the access log, JSON log lines and the request id's way into Celery tasks."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from cippusers import celery as celery_wiring
from cippusers.logging import JsonFormatter, RedactSecretsFilter, RequestIdFilter
from cippusers.request_id import HEADER, NO_ID, bound, get_request_id, get_task

GENERATED = re.compile(r"[0-9a-f]{32}")


def _handler(formatter: logging.Formatter) -> tuple[logging.Handler, io.StringIO]:
    """A handler built like settings.LOGGING's console handler, writing to a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    return handler, stream


@pytest.fixture
def json_lines():
    handler, stream = _handler(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.django_db
def test_safe_incoming_id_is_kept_and_echoed(client):
    response = client.get("/healthz/live", HTTP_X_REQUEST_ID="lb-2f1c.9_A-7")
    assert response.status_code == 200
    assert response[HEADER] == "lb-2f1c.9_A-7"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "incoming",
    ["a" * 65, "abc\ninjected line", "<script>", "id with space", "semi;colon", ""],
)
def test_unsafe_incoming_id_is_replaced(client, incoming):
    response = client.get("/healthz/live", HTTP_X_REQUEST_ID=incoming)
    assert GENERATED.fullmatch(response[HEADER])


@pytest.mark.django_db
def test_every_response_gets_a_fresh_id(client):
    first, second = client.get("/healthz/live")[HEADER], client.get("/healthz/live")[HEADER]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second
    assert get_request_id() == NO_ID  # the id does not leak past its request


@pytest.mark.django_db
def test_access_log_line_without_query_string(tech_client, technician, json_lines):
    response = tech_client.get("/tenants/?q=alice.searchterm%40contoso.com", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    lines = [line for line in json_lines() if line["logger"] == "cippusers.access"]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["request_id"] == "req-42"
    assert line["level"] == "INFO"
    assert line["http_method"] == "GET" and line["http_path"] == "/tenants/" and line["http_status"] == 200
    assert line["user_id"] == technician.pk
    assert isinstance(line["duration_ms"], float)
    assert "searchterm" not in json.dumps(lines) and "q=" not in line["message"]
    assert line["message"].startswith("GET /tenants/ 200 ")


@pytest.mark.django_db
def test_access_log_does_not_load_the_user_for_anonymous_probes(
    client, json_lines, django_assert_num_queries
):
    with django_assert_num_queries(0):
        client.get("/healthz/live")
    (line,) = [line for line in json_lines() if line["logger"] == "cippusers.access"]
    assert "user_id" not in line  # None values are left out of the JSON line
    assert line["message"].endswith("user=-")


@pytest.mark.django_db
def test_access_log_escapes_control_characters_in_path(client, json_lines):
    client.get("/nowhere%0Afake%20line")
    (line,) = [line for line in json_lines() if line["logger"] == "cippusers.access"]
    assert "\n" not in line["message"] and line["http_status"] == 404


def test_json_line_fields_and_redacted_traceback(json_lines):
    log = logging.getLogger("cippusers.tests")
    with bound("rid-1"):
        log.info("token refresh with %s", "refresh_token=abc.def-very-secret")
        try:
            raise RuntimeError('upstream said {"client_secret": "s3cr3t-value"}')
        except RuntimeError:
            log.exception("call failed")
    info, error = json_lines()
    assert set(info) == {"time", "level", "logger", "message", "request_id"}
    assert info["request_id"] == "rid-1" and info["logger"] == "cippusers.tests" and info["level"] == "INFO"
    assert info["time"].endswith("+00:00")
    assert "very-secret" not in info["message"] and "[redacted]" in info["message"]
    assert error["level"] == "ERROR" and "RuntimeError" in error["exc"]
    assert "s3cr3t-value" not in error["exc"] and "[redacted]" in error["exc"]


def test_plain_format_carries_request_id_and_redacts_traceback():
    from django.conf import settings

    handler, stream = _handler(logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]))
    log = logging.getLogger("cippusers.tests.plain")
    log.addHandler(handler)
    log.propagate = False
    try:
        with bound("rid-plain"):
            try:
                raise ValueError("password=hunter2-secret")
            except ValueError:
                log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    text = stream.getvalue()
    assert "[rid-plain] failed" in text
    assert "hunter2-secret" not in text and "ValueError: password=[redacted]" in text


def test_logging_settings_choose_the_format():
    from django.conf import settings

    handler = settings.LOGGING["handlers"]["console"]
    assert handler["formatter"] == settings.LOG_FORMAT
    assert handler["filters"] == ["request_id", "redact"]


def test_publish_carries_the_request_id():
    headers: dict = {}
    celery_wiring._carry_request_id(headers=headers)
    assert headers == {}  # outside a request nothing is carried; the task gets task:<id>
    with bound("req-publish"):
        celery_wiring._carry_request_id(headers=headers)
    assert headers == {"request_id": "req-publish"}


class _Request:
    def __init__(self, is_eager: bool, **headers):
        self.is_eager = is_eager
        self.__dict__.update(headers)


class _Task:
    name = "users.tasks.sync_tenant"

    def __init__(self, request):
        self.request = request


@pytest.mark.parametrize(
    "request_headers,expected",
    [
        ({"request_id": "req-from-click"}, "req-from-click"),
        ({"request_id": "task:parent-1"}, "task:parent-1"),
        ({"request_id": "evil\nline"}, "task:t-1"),
        ({}, "task:t-1"),
    ],
)
def test_worker_task_binds_carried_or_own_id(request_headers, expected, json_lines):
    task = _Task(_Request(False, **request_headers))
    celery_wiring._bind_request_id(task_id="t-1", task=task)
    try:
        assert get_request_id() == expected
        assert get_task() == ("t-1", "users.tasks.sync_tenant")
        logging.getLogger("users.tasks").info("working")
    finally:
        celery_wiring._unbind_request_id(task_id="t-1")
    assert get_request_id() == NO_ID and get_task() is None
    (line,) = json_lines()
    assert line["request_id"] == expected
    assert line["task_id"] == "t-1" and line["task_name"] == "users.tasks.sync_tenant"


def test_eager_task_keeps_the_request_id():
    with bound("req-eager"):
        celery_wiring._bind_request_id(task_id="t-2", task=_Task(_Request(True)))
        assert get_request_id() == "req-eager"
        celery_wiring._unbind_request_id(task_id="t-2")
        assert get_request_id() == "req-eager"


@pytest.mark.django_db
def test_sandbox_requests_are_logged_at_debug_only(client, json_lines):
    client.get("/sandbox/graph/v1.0/users")  # the sandbox answers 401 without a token
    client.get("/healthz/live")
    lines = [line for line in json_lines() if line["logger"] == "cippusers.access"]
    assert [line["http_path"] for line in lines] == ["/healthz/live"]  # the root logger is at INFO here
