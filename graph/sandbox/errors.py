"""Graph's error responses: ``{"error": {"code", "message", "innerError": {date, request-id,
client-request-id}}}``, with the same correlation headers every Graph response carries.

Views and helpers raise :class:`GraphProblem`; the endpoint decorator in ``auth.py`` turns it into the
response, so validation code deep in ``directory.py`` or ``odata.py`` never needs the request.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

JSON_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)


class GraphProblem(Exception):
    """A request Graph would refuse: HTTP status, Graph error code and Graph's message."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphProblem:
    return GraphProblem(400, code, message)


def unsupported_query(message: str) -> GraphProblem:
    return GraphProblem(400, "Request_UnsupportedQuery", message)


def not_found(object_id: str) -> GraphProblem:
    return GraphProblem(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not present.",
    )


def correlation_ids(request: HttpRequest) -> tuple[str, str]:
    """(request-id, client-request-id) for this request, created once and remembered on the request."""
    ids = getattr(request, "_graph_correlation", None)
    if ids is None:
        request_id = str(uuid.uuid4())
        client_id = request.headers.get("client-request-id") or request_id
        ids = (request_id, client_id)
        request._graph_correlation = ids
    return ids


def stamp_correlation(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    request_id, client_id = correlation_ids(request)
    response["request-id"] = request_id
    response["client-request-id"] = client_id
    return response


def graph_error(
    status: int,
    code: str,
    message: str,
    *,
    request: HttpRequest,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    request_id, client_id = correlation_ids(request)
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_id,
            },
        }
    }
    response = HttpResponse(json.dumps(body), status=status, content_type=JSON_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return stamp_correlation(response, request)


def problem_response(problem: GraphProblem, request: HttpRequest) -> HttpResponse:
    return graph_error(
        problem.status, problem.code, problem.message, request=request, headers=problem.headers
    )
