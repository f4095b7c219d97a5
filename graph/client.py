"""GraphClient: every Microsoft Graph request of the application goes through here.

It adds the bearer token, a fresh ``client-request-id`` per request, the throttle-priority hint and, for
advanced directory queries, ``ConsistencyLevel: eventual``. It retries throttled and transient failures
(never a POST that may already have reached the server), follows ``@odata.nextLink`` one page at a time,
splits $batch calls (see graph/batch.py) and, in dry-run mode, records writes instead of sending them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings

from graph import http
from graph.batch import BatchRequest, BatchResult, run_batch
from graph.errors import GraphError, TransientError, graph_error_from_response
from graph.tokens import TokenProvider, default_provider, normalise_mode

logger = logging.getLogger(__name__)

GRAPH_RESOURCE = "https://graph.microsoft.com"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PRIORITIES = ("high", "low")


@dataclass(frozen=True)
class RecordedWrite:
    """A write that dry-run mode kept instead of sending."""

    method: str
    url: str
    body: Any = None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def needs_eventual_consistency(params: dict | None) -> bool:
    """Whether a directory query is an "advanced query" (graph-v1-subset conventions.advanced_query_header):
    $search, $count=true, $filter with endsWith/ne/not, or $filter combined with $orderby."""
    if not params:
        return False
    lowered = {str(k).lower(): v for k, v in params.items()}
    if "$search" in lowered or _truthy(lowered.get("$count")):
        return True
    filter_expr = str(lowered.get("$filter") or "")
    if filter_expr:
        text = f" {filter_expr.lower()} "
        if "endswith(" in text or " ne " in text or "not(" in text or " not " in text:
            return True
        if "$orderby" in lowered:
            return True
    return False


def query_params_of(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


class GraphClient:
    """Talks to one customer tenant through one partner connection."""

    def __init__(
        self,
        connection: Any,
        tenant_id: str,
        *,
        mode: str = "delegated",
        priority: str = "high",
        version: str = "v1.0",
        dry_run: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token_provider: TokenProvider | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, not {priority!r}")
        self.connection = connection
        self.tenant_id = str(tenant_id)
        self.mode = normalise_mode(mode)
        self.priority = priority
        self.version = version.strip("/")
        self.dry_run = settings.GRAPH_DRY_RUN if dry_run is None else dry_run
        self.recorded_writes: list[RecordedWrite] = []
        self.sleep = sleep
        self.tokens = token_provider or default_provider
        self.session = session or http.shared_session()
        self.graph_url = connection.graph_url.rstrip("/")
        self.resource = GRAPH_RESOURCE

    @classmethod
    def for_tenant(cls, tenant: Any, **kwargs: Any) -> GraphClient:
        """A client for a Tenant row, in its connection's default auth mode unless told otherwise."""
        kwargs.setdefault("mode", tenant.connection.default_auth_mode)
        return cls(tenant.connection, str(tenant.tenant_id), **kwargs)

    # --- URLs -----------------------------------------------------------------------------------------

    @property
    def version_root(self) -> str:
        return f"{self.graph_url}/{self.version}"

    def url_for(self, path: str) -> str:
        """Absolute URL for a path relative to the version root, or a nextLink/deltaLink as given.

        Absolute URLs must point at this connection's Graph host: a token is never sent elsewhere."""
        if path.startswith(("https://", "http://")):
            given, own = urlsplit(path), urlsplit(self.graph_url)
            if (given.scheme, given.netloc.lower()) != (own.scheme, own.netloc.lower()):
                raise GraphError(
                    f"refusing to send a token to {given.scheme}://{given.netloc}", code="foreignHost"
                )
            return path
        return f"{self.version_root}/{path.lstrip('/')}"

    # --- public verbs ---------------------------------------------------------------------------------

    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> dict:
        return self.json_body(self.request("GET", path, params=params, headers=headers))

    def post(self, path: str, json: Any = None, *, headers: dict | None = None) -> dict:
        return self._write("POST", path, json, headers)

    def patch(self, path: str, json: Any = None, *, headers: dict | None = None) -> dict:
        return self._write("PATCH", path, json, headers)

    def put(self, path: str, json: Any = None, *, headers: dict | None = None) -> dict:
        return self._write("PUT", path, json, headers)

    def delete(self, path: str, json: Any = None, *, headers: dict | None = None) -> dict:
        return self._write("DELETE", path, json, headers)

    def iter_raw_pages(
        self, path: str, params: dict | None = None, headers: dict | None = None
    ) -> Iterator[dict]:
        """Each page's whole body (``value``, ``@odata.nextLink``, ``@odata.deltaLink``, ``@odata.count``)."""
        headers = dict(headers or {})
        # Decide the consistency header once: nextLinks carry only a $skiptoken, not the original query.
        query = {**query_params_of(path), **(params or {})}
        if needs_eventual_consistency(query) and not _has_header(headers, "ConsistencyLevel"):
            headers["ConsistencyLevel"] = "eventual"
        url: str | None = path
        page_params = params
        while url:
            page = self.json_body(self.request("GET", url, params=page_params, headers=headers))
            yield page
            url = page.get("@odata.nextLink")
            page_params = None  # the nextLink already holds the whole query

    def iter_pages(
        self, path: str, params: dict | None = None, headers: dict | None = None
    ) -> Iterator[list[dict]]:
        """Yield each page's ``value`` list, following ``@odata.nextLink``; never holds the whole set."""
        for page in self.iter_raw_pages(path, params, headers):
            yield page.get("value") or []

    def batch(
        self, requests_: list[BatchRequest], *, max_attempts: int | None = None
    ) -> dict[str, BatchResult]:
        """Send BatchRequests as $batch calls of up to 20; returns {id: BatchResult}. See graph/batch.py."""
        return run_batch(self, requests_, max_attempts=max_attempts)

    # --- core -----------------------------------------------------------------------------------------

    def _write(self, method: str, path: str, body: Any, headers: dict | None) -> dict:
        url = self.url_for(path)
        if self.dry_run:
            self.recorded_writes.append(RecordedWrite(method, url, body))
            logger.info("dry run: %s %s not sent", method, url)
            return {}
        return self.json_body(self.request(method, url, json=body, headers=headers))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        headers: dict | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send one request with retries; returns the successful response or raises a GraphError.

        ``idempotent`` overrides the method's default (a $batch POST of reads is safe to repeat)."""
        method = method.upper()
        url = self.url_for(path)
        query = {**query_params_of(url), **(params or {})}
        headers = dict(headers or {})
        if (
            method == "GET"
            and needs_eventual_consistency(query)
            and not _has_header(headers, "ConsistencyLevel")
        ):
            headers["ConsistencyLevel"] = "eventual"
        if idempotent is None:
            idempotent = method in http.IDEMPOTENT_METHODS
        attempts = http.max_attempts()
        reauthenticated = False
        attempt = 0
        uncertain = False  # an earlier attempt may have been carried out (lost answer or 5xx)
        while True:
            attempt += 1
            request_headers = self._headers(headers)
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=request_headers,
                    timeout=http.default_timeout(),
                )
            except requests.RequestException as exc:
                may_retry = idempotent or http.failed_before_sending(exc)
                if not may_retry:
                    # The request may have been carried out; only its answer is lost. Say so, so nobody
                    # reports it as "not done" (or sends it again blindly).
                    raise http.outcome_unknown(exc, "Graph", request_headers["client-request-id"]) from None
                error = TransientError(
                    f"{type(exc).__name__} talking to Graph",
                    code="connectionError",
                    client_request_id=request_headers["client-request-id"],
                )
                if attempt >= attempts:
                    raise error from None
                uncertain = uncertain or not http.failed_before_sending(exc)
                self._pause(method, url, attempt, None, error)
                continue
            if response.status_code < 400:
                logger.debug("%s %s -> %s", method, url, response.status_code)
                return response
            if http.delete_already_done(method, response.status_code, uncertain):
                logger.info("DELETE %s: 404 after an unanswered attempt; taken as done", url)
                response.status_code, response._content = 204, b""
                return response
            error = graph_error_from_response(response)
            if error.client_request_id is None:
                error.client_request_id = request_headers["client-request-id"]
            if response.status_code == 401 and not reauthenticated:
                # A token revoked or expired early: get a fresh one once (the request was not processed).
                reauthenticated = True
                self.tokens.invalidate(self.connection, self.tenant_id, self.resource, self.mode)
                attempt -= 1
                continue
            retryable = response.status_code == 429 or (
                idempotent and response.status_code in http.TRANSIENT_STATUSES
            )
            if not retryable or attempt >= attempts:
                logger.info("%s %s failed: %s", method, url, error)
                raise error
            uncertain = uncertain or http.leaves_outcome_open(response.status_code)
            self._pause(method, url, attempt, error.retry_after, error)

    def _pause(
        self, method: str, url: str, attempt: int, retry_after: float | None, error: GraphError
    ) -> None:
        delay = http.retry_delay(attempt, retry_after)
        logger.info("%s %s: %s; retry %d in %.1fs", method, url, error.code, attempt, delay)
        self.sleep(delay)

    def _headers(self, extra: dict) -> dict:
        token = self.tokens.get_token(self.connection, self.tenant_id, self.resource, self.mode)
        headers = {
            "Authorization": f"Bearer {token}",
            "client-request-id": str(uuid.uuid4()),
            "x-ms-throttle-priority": self.priority,
            "Accept": "application/json",
        }
        headers.update(extra)
        return headers

    @staticmethod
    def json_body(response: requests.Response) -> dict:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise GraphError(
                f"Graph answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
                code="invalidResponse",
                request_id=response.headers.get("request-id"),
            ) from None
        return data if isinstance(data, dict) else {"value": data}


def _has_header(headers: dict, name: str) -> bool:
    return any(key.lower() == name.lower() for key in headers)


__all__ = ["BatchRequest", "BatchResult", "GraphClient", "RecordedWrite", "needs_eventual_consistency"]
