"""POST /$batch: JSON batching as Graph documents it.

Each item is dispatched in-process to the same view the URL would reach, as a copy of the outer request
(same bearer token) with the item's method, URL, headers and body; the endpoint decorator therefore
authenticates and applies the tenant's switches per item, so throttling produces item-level 429s with
Retry-After. Items run in dependency order; an item whose dependency failed answers 424.
"""

from __future__ import annotations

import io
import json
import logging
import time
from urllib.parse import urlsplit

from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from ..auth import graph_endpoint
from ..errors import GraphProblem, bad_request, correlation_ids, graph_error
from ..switches import BATCH_ITEM_KEY, batch_latency_seconds, transport_fault
from .common import graph_json, read_json_body

logger = logging.getLogger(__name__)

MAX_REQUESTS = 20
_DROP_HEADERS = {"HTTP_CONSISTENCYLEVEL", "HTTP_CLIENT_REQUEST_ID", "CONTENT_TYPE", "CONTENT_LENGTH"}


def _validate(requests) -> list[dict]:
    if not isinstance(requests, list) or not requests:
        raise bad_request("Invalid batch payload format.", code="BadRequest")
    if len(requests) > MAX_REQUESTS:
        raise bad_request(
            f"The number of batch requests exceeds the maximum of {MAX_REQUESTS}.", code="BadRequest"
        )
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("id", "method", "url")
        ):
            raise bad_request(
                "Invalid batch payload format: each request needs id, method and url.", code="BadRequest"
            )
        if item["id"] in seen:
            raise bad_request(f"Batch request contains duplicate id '{item['id']}'.", code="BadRequest")
        seen.add(item["id"])
        headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
        if "body" in item and item["body"] is not None and "content-type" not in headers:
            raise bad_request(
                f"Content-Type header is required for request '{item['id']}' with a body.", code="BadRequest"
            )
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list):
            raise bad_request("Invalid batch payload format: dependsOn must be an array.", code="BadRequest")
    for item in requests:
        for dep in item.get("dependsOn") or []:
            if dep not in seen:
                raise bad_request(
                    f"Request '{item['id']}' depends on unknown request '{dep}'.", code="BadRequest"
                )
    return requests


def _execution_order(requests: list[dict]) -> list[dict]:
    done: set[str] = set()
    order: list[dict] = []
    pending = list(requests)
    while pending:
        ready = [r for r in pending if all(d in done for d in (r.get("dependsOn") or []))]
        if not ready:
            raise bad_request("Batch request contains a circular dependsOn chain.", code="BadRequest")
        for item in ready:
            order.append(item)
            done.add(item["id"])
            pending.remove(item)
    return order


def _item_request(outer: HttpRequest, prefix: str, item: dict) -> WSGIRequest:
    url = item["url"]
    if url.startswith(("http://", "https://")):
        raise bad_request(
            f"Request '{item['id']}' url must be relative to the version root.", code="BadRequest"
        )
    parts = urlsplit("/" + url.lstrip("/"))
    body = item.get("body")
    raw = b""
    headers = {k: str(v) for k, v in (item.get("headers") or {}).items()}
    if body is not None:
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    environ = {k: v for k, v in outer.META.items() if k not in _DROP_HEADERS}
    environ.update(
        {
            "REQUEST_METHOD": item["method"].upper(),
            "PATH_INFO": prefix + parts.path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": parts.query,
            "CONTENT_LENGTH": str(len(raw)),
            "wsgi.input": io.BytesIO(raw),
            BATCH_ITEM_KEY: True,
        }
    )
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ["CONTENT_TYPE" if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return WSGIRequest(environ)


def _item_response(item_id: str, response: HttpResponse) -> dict:
    headers = {}
    for name in ("Content-Type", "Retry-After", "Location"):
        if response.has_header(name):
            headers[name] = response[name]
    result: dict = {"id": item_id, "status": response.status_code, "headers": headers}
    content = response.content
    if content:
        if "json" in response.get("Content-Type", ""):
            result["body"] = json.loads(content)
        else:
            result["body"] = content.decode("utf-8", "replace")
    return result


def _failed_dependency(outer: HttpRequest, item_id: str) -> dict:
    response = graph_error(
        424, "FailedDependency", "The request failed because of a failed dependency.", request=outer
    )
    return _item_response(item_id, response)


def _dispatch(outer: HttpRequest, prefix: str, item: dict) -> HttpResponse:
    try:
        request = _item_request(outer, prefix, item)
    except GraphProblem as problem:
        return graph_error(problem.status, problem.code, problem.message, request=outer)
    path = request.path_info
    if path.rstrip("/").endswith("/$batch"):
        return graph_error(400, "BadRequest", "Nested batch requests are not supported.", request=outer)
    try:
        match = resolve(path)
    except Resolver404:
        segment = path[len(prefix) :].strip("/").split("/")[0]
        return graph_error(
            400, "BadRequest", f"Resource not found for the segment '{segment}'.", request=outer
        )
    try:
        return match.func(request, *match.args, **match.kwargs)
    except Exception:  # one item's failure is that item's 500, as Graph answers, never the whole batch's
        logger.exception("sandbox $batch item %s failed", item.get("id"))
        return graph_error(500, "InternalServerError", "An internal server error occurred.", request=outer)


@graph_endpoint(methods=("POST",), switches_enabled=False)
def batch(request: HttpRequest) -> HttpResponse:
    # Items get their 429/5xx one by one; a timeout or dropped connection strikes the batch request whole.
    lost = transport_fault(request, request.graph_tenant)
    if lost is not None:
        return lost
    requests = _validate(read_json_body(request).get("requests"))
    order = _execution_order(requests)
    prefix = request.path_info[: -len("/$batch")]
    correlation_ids(request)
    status_by_id: dict[str, int] = {}
    results: dict[str, dict] = {}
    levels: dict[str, int] = {}
    for item in order:
        levels[item["id"]] = 1 + max((levels[d] for d in item.get("dependsOn") or []), default=0)
    delay = batch_latency_seconds(request.graph_tenant, max(levels.values(), default=1))
    if delay:
        time.sleep(delay)
    for item in order:
        depends = item.get("dependsOn") or []
        if any(not 200 <= status_by_id[d] < 300 for d in depends):
            results[item["id"]] = _failed_dependency(request, item["id"])
            status_by_id[item["id"]] = 424
            continue
        response = _dispatch(request, prefix, item)
        status_by_id[item["id"]] = response.status_code
        results[item["id"]] = _item_response(item["id"], response)
    return graph_json({"responses": [results[item["id"]] for item in requests]})
