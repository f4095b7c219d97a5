"""Every error class built from real-shaped bodies of Graph, the identity platform and Exchange."""

from __future__ import annotations

import json

import pytest

from graph import errors
from graph.errors import (
    AuthError,
    BadRequestError,
    ConflictError,
    GoneError,
    NotFoundError,
    ThrottledError,
    TransientError,
    exchange_error_from_body,
    graph_error_from_body,
    parse_retry_after,
    token_error_from_result,
)

from .conftest import graph_error


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "Request_BadRequest", BadRequestError),
        (401, "InvalidAuthenticationToken", AuthError),
        (403, "Authorization_RequestDenied", AuthError),
        (404, "Request_ResourceNotFound", NotFoundError),
        (409, "conflict", ConflictError),
        (410, "resyncRequired", GoneError),
        (422, "unprocessable", BadRequestError),
        (429, "TooManyRequests", ThrottledError),
        (500, "generalException", TransientError),
        (503, "serviceNotAvailable", TransientError),
        (504, "gatewayTimeout", TransientError),
    ],
)
def test_graph_error_classes(status, code, cls):
    body = json.dumps(graph_error(code, f"message for {status}", request_id="rid-9")).encode()
    error = graph_error_from_body(status, body, {"Retry-After": "7", "client-request-id": "header-c"})
    assert type(error) is cls
    assert isinstance(error, errors.GraphError)
    assert error.status == status
    assert error.code == code
    assert error.message == f"message for {status}"
    assert error.request_id == "rid-9"
    assert error.client_request_id == "c-1"  # the body's innerError wins over the header
    assert error.retry_after == 7
    assert "rid-9" in str(error)


def test_graph_error_ids_fall_back_to_headers_and_text_bodies():
    error = graph_error_from_body(502, b"Bad Gateway", {"request-id": "h-req", "client-request-id": "h-c"})
    assert isinstance(error, TransientError)
    assert error.message == "Bad Gateway"
    assert (error.request_id, error.client_request_id) == ("h-req", "h-c")
    empty = graph_error_from_body(500, b"", {})
    assert empty.message == "HTTP 500"


def test_batch_item_headers_are_matched_case_insensitively():
    error = graph_error_from_body(429, graph_error("TooManyRequests", "slow down"), {"retry-after": "3"})
    assert isinstance(error, ThrottledError) and error.retry_after == 3


def test_retry_after_http_date_and_garbage():
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0


def test_token_error_maps_aadsts_and_keeps_only_the_first_line():
    body = {
        "error": "invalid_grant",
        "error_description": (
            "AADSTS50173: The provided grant has expired due to it being revoked.\r\n"
            "Trace ID: 255d1aef-8c98-452f-ac51-23d051240864\r\nCorrelation ID: fb3d2015\r\nTimestamp: 2016-01-09"
        ),
        "error_codes": [50173],
        "trace_id": "255d1aef-8c98-452f-ac51-23d051240864",
        "correlation_id": "fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7",
        "refresh_token": "never-echo-this",
    }
    error = token_error_from_result(body, status=400)
    assert isinstance(error, AuthError)
    assert error.code == "invalid_grant"
    assert error.aadsts == "AADSTS50173"
    assert error.message == "AADSTS50173: The provided grant has expired due to it being revoked."
    assert error.request_id == "255d1aef-8c98-452f-ac51-23d051240864"
    assert "never-echo-this" not in str(error) and "never-echo-this" not in repr(error)


def test_token_error_code_from_error_codes_and_transient_variant():
    error = token_error_from_result(
        {"error": "invalid_client", "error_description": "bad", "error_codes": [7000215]}
    )
    assert error.aadsts == "AADSTS7000215"
    assert isinstance(token_error_from_result({"error": "temporarily_unavailable"}), TransientError)


def test_identity_shaped_body_from_a_resource_is_an_auth_error():
    error = graph_error_from_body(
        401, {"error": "invalid_token", "error_description": "AADSTS700082: expired"}
    )
    assert isinstance(error, AuthError) and error.aadsts == "AADSTS700082"


def test_long_messages_are_shortened():
    error = graph_error_from_body(400, graph_error("x", "y" * 5000))
    assert len(error.message) <= 600


EXO_NOT_FOUND = {
    "error": {
        "code": "NotFound",
        "message": "Error executing cmdlet",
        "details": [
            {
                "code": "Context",
                "target": "",
                "message": "Ex94914C|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|"
                "The operation couldn't be performed because object 'nobody' couldn't be found.",
            }
        ],
        "innererror": {"message": "inner", "type": "T", "internalexception": {"message": "internal text"}},
    }
}


def test_exchange_detail_format_is_split():
    error = exchange_error_from_body(400, json.dumps(EXO_NOT_FOUND), {"request-id": "x-req"})
    assert isinstance(error, NotFoundError)  # ManagementObjectNotFoundException, even on a 400
    assert error.code == "Ex94914C"
    assert error.exception_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert error.message.startswith("The operation couldn't be performed")
    assert error.request_id == "x-req"


def test_exchange_message_fallbacks():
    inner_only = {
        "error": {
            "code": "BadRequest",
            "message": "outer",
            "innererror": {"internalexception": {"message": "internal text"}},
        }
    }
    error = exchange_error_from_body(400, inner_only)
    assert isinstance(error, BadRequestError) and error.message == "internal text"
    outer_only = {"error": {"code": "BadRequest", "message": "outer text"}}
    assert exchange_error_from_body(400, outer_only).message == "outer text"
    assert isinstance(exchange_error_from_body(404, {"error": {"code": "x", "message": "m"}}), NotFoundError)


def test_exchange_detail_without_separators_and_concurrency_text():
    body = {"error": {"code": "c", "message": "m", "details": [{"message": "plain words"}]}}
    assert exchange_error_from_body(400, body).message == "plain words"
    text = "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"
    error = exchange_error_from_body(500, text, {"Retry-After": "2"})
    assert isinstance(error, ThrottledError) and error.retry_after == 2


def test_expired_delta_token_codes_map_to_gone_even_as_400():
    from graph.errors import GoneError, graph_error_from_body

    for code in ("syncStateNotFound", "syncStateInvalid", "resyncRequired"):
        error = graph_error_from_body(400, {"error": {"code": code, "message": "Resync required."}})
        assert isinstance(error, GoneError), code
