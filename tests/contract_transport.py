"""A transport that checks every Graph exchange of the test suite against Microsoft's contract.

The test settings mount it where the graph client reaches the sandbox (``http://sandbox.test``). Each
request our client sends and each response the sandbox gives is validated with ``tests.contract``;
``$batch`` items are checked one by one as well. Violations are collected (raising inside a transport would
look like a network error to the client) and the autouse fixture in ``tests/conftest.py`` fails the test that
caused them.
"""

from __future__ import annotations

import json
import threading

from requests.adapters import BaseAdapter

from . import contract

_violations: list[str] = []
_lock = threading.Lock()
_checked = {"requests": 0, "responses": 0}


def take_violations() -> list[str]:
    with _lock:
        found = list(_violations)
        _violations.clear()
        return found


def checked_counts() -> dict[str, int]:
    return dict(_checked)


def _record(message: str) -> None:
    with _lock:
        _violations.append(message)


def _json_or_none(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def check_exchange(
    method: str, url: str, req_headers: dict, req_body, status: int, resp_headers: dict, resp_raw: bytes
):
    if "/graph/v1.0/" not in url and "/graph/beta/" not in url:
        return
    try:
        if contract.validate_request(method, url, headers=req_headers, body=req_body):
            _checked["requests"] += 1
    except contract.ContractError as exc:
        _record(f"client request: {exc}")
    try:
        if contract.validate_response(method, url, status, headers=resp_headers, body=resp_raw):
            _checked["responses"] += 1
    except contract.ContractError as exc:
        _record(f"sandbox response: {exc}")
    if url.split("?")[0].endswith("/$batch") and isinstance(req_body, dict) and status == 200:
        _check_batch_items(url, req_body, _json_or_none(resp_raw) or {})


def _check_batch_items(batch_url: str, request_body: dict, response_body: dict) -> None:
    root = batch_url.split("?")[0].rsplit("/$batch", 1)[0]
    responses = {item.get("id"): item for item in response_body.get("responses", [])}
    for item in request_body.get("requests", []):
        url = root + "/" + str(item.get("url", "")).lstrip("/")
        answer = responses.get(item.get("id"))
        if answer is None:
            _record(f"sandbox response: $batch has no response for item {item.get('id')!r}")
            continue
        body = answer.get("body")
        raw = json.dumps(body).encode() if isinstance(body, dict | list) else (body or "").encode()
        check_exchange(
            item.get("method", "GET"),
            url,
            item.get("headers") or {},
            item.get("body"),
            int(answer.get("status", 0)),
            answer.get("headers") or {},
            raw,
        )


class ContractCheckingSandboxAdapter(BaseAdapter):
    """The in-process sandbox transport, with every Graph exchange checked against the contract."""

    def __init__(self):
        super().__init__()
        from graph.sandbox.adapter import InProcessSandboxAdapter

        self._inner = InProcessSandboxAdapter()

    def send(self, request, **kwargs):
        response = self._inner.send(request, **kwargs)
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        content_type = request.headers.get("Content-Type", "")
        parsed_body = _json_or_none(body) if body and "json" in content_type else None
        check_exchange(
            request.method,
            request.url,
            dict(request.headers),
            parsed_body,
            response.status_code,
            dict(response.headers),
            response.content,
        )
        return response

    def close(self):
        self._inner.close()
