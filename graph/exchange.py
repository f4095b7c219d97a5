"""Exchange Online admin API ("InvokeCommand"): one PowerShell cmdlet per HTTPS POST.

``ExchangeClient(connection, tenant_id).invoke("Set-Mailbox", {...}, anchor_mailbox="adele@contoso.com")``
returns an :class:`ExchangeResult` — a plain ``list`` of the objects the cmdlet wrote to the pipeline
(all pages, following ``@odata.nextLink`` by POSTing the same body), with the service's warnings in its
``.warnings`` attribute.

Retries: 429, 503, 408 and the plain-text "maximum number of concurrent requests" answer are always
retried (the command was not run). A 504 or a connection lost after sending is retried only for
``Get-`` cmdlets: a gateway timeout may hide a change that did happen. Errors are parsed from the
``ExXXXXXX|Type|message`` detail format into graph.errors (unknown objects → NotFoundError).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from graph import http
from graph.client import RecordedWrite
from graph.errors import (
    GraphError,
    ThrottledError,
    TransientError,
    exchange_error_from_body,
    is_exchange_concurrency_limit,
)
from graph.tokens import TokenProvider, default_provider, normalise_mode

logger = logging.getLogger(__name__)

EXCHANGE_RESOURCE = "https://outlook.office365.com"
# The arbitration mailbox every tenant has; routes tenant-wide cmdlets (as CIPP and ExoHelper do).
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
PAGE_SIZE = 1000
_ALWAYS_RETRY = frozenset({408, 429, 503})
_READ_ONLY_RETRY = frozenset({504})
_READ_PREFIXES = ("Get-",)


class ExchangeResult(list):
    """The cmdlet's output objects; ``warnings`` holds the service's ``adminapi.warnings`` texts."""

    def __init__(self, items: Any = (), warnings: list[str] | None = None) -> None:
        super().__init__(items)
        self.warnings: list[str] = list(warnings or [])


def is_read_cmdlet(cmdlet: str) -> bool:
    return cmdlet.startswith(_READ_PREFIXES)


class ExchangeClient:
    def __init__(
        self,
        connection: Any,
        tenant_id: str,
        *,
        mode: str = "delegated",
        priority: str = "high",
        dry_run: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token_provider: TokenProvider | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.connection = connection
        self.tenant_id = str(tenant_id)
        self.mode = normalise_mode(mode)
        self.priority = priority
        self.dry_run = settings.GRAPH_DRY_RUN if dry_run is None else dry_run
        self.recorded_writes: list[RecordedWrite] = []
        self.sleep = sleep
        self.tokens = token_provider or default_provider
        self.session = session or http.shared_session()
        self.exchange_url = connection.exchange_url.rstrip("/")

    @classmethod
    def for_tenant(cls, tenant: Any, **kwargs: Any) -> ExchangeClient:
        kwargs.setdefault("mode", tenant.connection.default_auth_mode)
        return cls(tenant.connection, str(tenant.tenant_id), **kwargs)

    @property
    def endpoint(self) -> str:
        return f"{self.exchange_url}/adminapi/beta/{self.tenant_id}/InvokeCommand"

    def anchor_header(self, anchor_mailbox: str | None) -> str:
        if not anchor_mailbox:
            return f"APP:{SYSTEM_MAILBOX}@{self.tenant_id}"
        if anchor_mailbox.upper().startswith(("UPN:", "APP:")):
            return anchor_mailbox
        return f"UPN:{anchor_mailbox}"

    def invoke(
        self,
        cmdlet: str,
        parameters: dict | None = None,
        anchor_mailbox: str | None = None,
        select: list[str] | None = None,
    ) -> ExchangeResult:
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        if self.dry_run and not is_read_cmdlet(cmdlet):
            self.recorded_writes.append(RecordedWrite("POST", self.endpoint, body))
            logger.info("dry run: %s not sent", cmdlet)
            return ExchangeResult()
        headers = {
            "X-AnchorMailbox": self.anchor_header(anchor_mailbox),
            "Prefer": f"odata.maxpagesize={PAGE_SIZE}",
            "X-CmdletName": cmdlet,
            "X-ResponseFormat": "json",
            "Accept": "application/json",
        }
        result = ExchangeResult()
        url: str | None = self.endpoint
        params = {"$select": ",".join(select)} if select else None
        while url:
            page = self._post(url, params, body, headers, cmdlet)
            result.extend(page.get("value") or [])
            result.warnings.extend(_warnings(page))
            url = page.get("@odata.nextLink")
            if url:
                self._check_same_host(url)
            params = None
        return result

    # --- transport ------------------------------------------------------------------------------------

    def _check_same_host(self, url: str) -> None:
        given, own = urlsplit(url), urlsplit(self.exchange_url)
        if (given.scheme, given.netloc.lower()) != (own.scheme, own.netloc.lower()):
            raise GraphError(
                f"refusing to send a token to {given.scheme}://{given.netloc}", code="foreignHost"
            )

    def _post(self, url: str, params: dict | None, body: dict, headers: dict, cmdlet: str) -> dict:
        read_only = is_read_cmdlet(cmdlet)
        attempts = http.max_attempts()
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            token = self.tokens.get_token(self.connection, self.tenant_id, EXCHANGE_RESOURCE, self.mode)
            client_request_id = str(uuid.uuid4())
            request_headers = {
                **headers,
                "Authorization": f"Bearer {token}",
                "client-request-id": client_request_id,
                "x-ms-throttle-priority": self.priority,
            }
            try:
                response = self.session.post(
                    url, params=params, json=body, headers=request_headers, timeout=http.default_timeout()
                )
            except requests.RequestException as exc:
                error = TransientError(
                    f"{type(exc).__name__} talking to Exchange",
                    code="connectionError",
                    client_request_id=client_request_id,
                )
                if not (read_only or http.failed_before_sending(exc)):
                    # A write cmdlet may have run; only its answer is lost.
                    raise http.outcome_unknown(exc, "Exchange", client_request_id) from None
                if attempt >= attempts:
                    raise error from None
                self._pause(cmdlet, attempt, None, error)
                continue
            text = response.text or ""
            concurrency_limited = is_exchange_concurrency_limit(text) and not text.lstrip().startswith("{")
            if response.status_code < 400 and not concurrency_limited:
                return _page(response)
            error = exchange_error_from_body(response.status_code, response.content, response.headers)
            if concurrency_limited and not isinstance(error, ThrottledError):
                error = ThrottledError(error.message, status=response.status_code, code="ConcurrencyLimit")
            error.client_request_id = error.client_request_id or client_request_id
            if response.status_code == 401 and not reauthenticated:
                reauthenticated = True
                self.tokens.invalidate(self.connection, self.tenant_id, EXCHANGE_RESOURCE, self.mode)
                attempt -= 1
                continue
            retryable = (
                concurrency_limited
                or response.status_code in _ALWAYS_RETRY
                or (read_only and response.status_code in _READ_ONLY_RETRY)
            )
            if not retryable or attempt >= attempts:
                logger.info("Exchange %s failed: %s", cmdlet, error)
                raise error
            self._pause(cmdlet, attempt, error.retry_after, error)

    def _pause(self, cmdlet: str, attempt: int, retry_after: float | None, error: GraphError) -> None:
        delay = http.retry_delay(attempt, retry_after)
        logger.info("Exchange %s: %s; retry %d in %.1fs", cmdlet, error.code, attempt, delay)
        self.sleep(delay)


def _page(response: requests.Response) -> dict:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        # Exchange occasionally answers a success with plain text; keep it visible as a warning.
        return {"value": [], "@adminapi.warnings": [response.text.strip()]}
    if isinstance(data, list):
        return {"value": data}
    return data if isinstance(data, dict) else {}


def _warnings(page: dict) -> list[str]:
    warnings: list[str] = []
    for key in ("@adminapi.warnings", "adminapi.warnings"):
        value = page.get(key)
        if isinstance(value, str):
            warnings.append(value)
        elif isinstance(value, list):
            warnings.extend(str(v) for v in value)
    return warnings
