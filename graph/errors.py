"""One exception family for everything that goes wrong talking to Microsoft.

Callers catch these classes, never ``requests`` exceptions. Each error carries what a technician (or a
support ticket with Microsoft) needs: the HTTP status, Graph's ``error.code`` and message, and the
``request-id`` / ``client-request-id`` pair that Microsoft support asks for. Nothing secret is ever put
into an error: messages come from the service's error body, never from our request.

Three body shapes are parsed here:

* Graph: ``{"error": {"code", "message", "innerError": {"request-id", "client-request-id", "date"}}}``
* identity platform (token endpoint, also what MSAL returns as a dict):
  ``{"error": "invalid_grant", "error_description": "AADSTS50173: ...", "error_codes": [50173]}``
* Exchange admin API (InvokeCommand): ``error.details[].message`` = ``"Ex94914C|<.NET type>|<message>"``
"""

from __future__ import annotations

import email.utils
import json
import re
from datetime import UTC, datetime
from typing import Any

# Descriptions from the identity platform end with diagnostics ("\r\nTrace ID: ...") that only add noise.
_MAX_MESSAGE_CHARS = 600
_AADSTS_RE = re.compile(r"\bAADSTS(\d+)\b")


class GraphError(Exception):
    """A failed call to Graph, Exchange or the identity platform."""

    default_code = "graphError"

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: float | None = None,
        exception_type: str | None = None,
    ) -> None:
        self.status = status
        self.code = code or self.default_code
        self.message = _shorten(message or self.code)
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        # Exchange only: the .NET exception type named by the service (e.g. ManagementObjectNotFoundException).
        self.exception_type = exception_type
        super().__init__(self.message)

    def __str__(self) -> str:
        status = f"{self.status} " if self.status else ""
        ref = f" (request-id {self.request_id})" if self.request_id else ""
        return f"{status}{self.code}: {self.message}{ref}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class AuthError(GraphError):
    """401/403 from a resource, or a token that could not be obtained (AADSTS errors)."""

    default_code = "authenticationFailed"

    def __init__(self, message: str = "", *, aadsts: str | None = None, **kwargs: Any) -> None:
        # "AADSTS50173" when the identity platform gave one; lets the UI explain "re-consent needed".
        self.aadsts = aadsts
        super().__init__(message, **kwargs)


class NotFoundError(GraphError):
    default_code = "Request_ResourceNotFound"


class ConflictError(GraphError):
    default_code = "conflict"


class BadRequestError(GraphError):
    """400 and every 4xx without a more specific class."""

    default_code = "badRequest"


class GoneError(BadRequestError):
    """410: e.g. a delta link Graph no longer honours; the caller must start a full sync."""

    default_code = "resyncRequired"


class DependencyFailedError(GraphError):
    """A $batch item answered 424 because a request it depends on failed."""

    default_code = "failedDependency"

    def __init__(self, message: str = "", *, dependency_id: str | None = None, **kwargs: Any) -> None:
        self.dependency_id = dependency_id
        super().__init__(message, **kwargs)


class ThrottledError(GraphError):
    default_code = "TooManyRequests"


class TransientError(GraphError):
    """5xx, timeouts and connection failures: the service may succeed if asked again later."""

    default_code = "serviceUnavailable"


# --- helpers -------------------------------------------------------------------------------------------


def _shorten(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[: _MAX_MESSAGE_CHARS - 1] + "…"
    return text


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):  # plain dicts (batch items) are case-sensitive
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return str(value) if value is not None else None


def parse_retry_after(value: Any, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None when absent/invalid."""
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        try:
            when = email.utils.parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0)


_RESYNC_CODES = {"syncStateNotFound", "syncStateInvalid", "resyncRequired"}


def class_for_status(status: int | None) -> type[GraphError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 410:
        return GoneError
    if status == 424:
        return DependencyFailedError
    if status == 429:
        return ThrottledError
    if status is not None and (status >= 500 or status == 408):
        return TransientError
    if status is not None and 400 <= status < 500:
        return BadRequestError
    return GraphError


def _load_body(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body) if body.strip() else None
        except ValueError:
            return body
    return body


def graph_error_from_body(status: int | None, body: Any, headers: Any = None) -> GraphError:
    """Build the matching exception from a Graph response (status, body as dict/str/bytes, headers)."""
    data = _load_body(body)
    code = message = None
    request_id = _header(headers, "request-id")
    client_request_id = _header(headers, "client-request-id")
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        code = error.get("code")
        message = error.get("message")
        inner = error.get("innerError") or error.get("innererror") or {}
        if isinstance(inner, dict):
            request_id = inner.get("request-id") or request_id
            client_request_id = inner.get("client-request-id") or client_request_id
    elif isinstance(data, dict) and isinstance(data.get("error"), str):
        # An identity-platform shaped body (some resources answer 401 that way).
        return token_error_from_result(data, status=status)
    elif isinstance(data, str) and data.strip():
        message = data.strip()
    cls = class_for_status(status)
    if code in _RESYNC_CODES:
        # Graph reports an expired delta token as 410 or, per its devblog, as 400 with these codes.
        cls = GoneError
    if not message:
        message = f"HTTP {status}" if status else "request failed"
    return cls(
        message,
        status=status,
        code=code,
        request_id=request_id,
        client_request_id=client_request_id,
        retry_after=parse_retry_after(_header(headers, "Retry-After")),
    )


def graph_error_from_response(response: Any) -> GraphError:
    """Same as graph_error_from_body for a ``requests.Response``."""
    return graph_error_from_body(response.status_code, response.content, response.headers)


# Identity-platform errors that mean "try again later" rather than "credentials are wrong".
_TRANSIENT_TOKEN_ERRORS = {"temporarily_unavailable"}


def token_error_from_result(result: dict, *, status: int | None = None) -> GraphError:
    """Map an identity-platform error (an MSAL result dict or a token endpoint body) to AuthError.

    Only ``error``, ``error_description`` and ``error_codes`` are read, so a refresh token or secret can
    never end up in the message even if a caller passes something odd.
    """
    error = str(result.get("error") or "authenticationFailed")
    description = str(result.get("error_description") or "")
    # The first line is the human message; "Trace ID/Correlation ID/Timestamp" lines follow.
    first_line = description.replace("\r\n", "\n").split("\n", 1)[0].strip()
    match = _AADSTS_RE.search(description)
    codes = result.get("error_codes") or []
    aadsts = f"AADSTS{match.group(1)}" if match else (f"AADSTS{codes[0]}" if codes else None)
    correlation_id = result.get("correlation_id")
    trace_id = result.get("trace_id")
    cls: type[GraphError] = TransientError if error in _TRANSIENT_TOKEN_ERRORS else AuthError
    kwargs: dict[str, Any] = {
        "status": status,
        "code": error,
        "request_id": str(trace_id) if trace_id else None,
        "client_request_id": str(correlation_id) if correlation_id else None,
    }
    if cls is AuthError:
        kwargs["aadsts"] = aadsts
    return cls(first_line or error, **kwargs)


# --- Exchange admin API ---------------------------------------------------------------------------------

_EXCHANGE_CONCURRENCY_TEXT = "maximum number of concurrent requests"


def is_exchange_concurrency_limit(text: str) -> bool:
    """The plain-text answer Exchange gives when a tenant has too many requests in flight."""
    return _EXCHANGE_CONCURRENCY_TEXT in (text or "").lower()


def _split_exchange_detail(message: str) -> tuple[str | None, str | None, str]:
    """ "Ex94914C|Microsoft...ManagementObjectNotFoundException|text" -> (code, type, text)."""
    parts = message.split("|", 2)
    if len(parts) == 3:
        return parts[0].strip() or None, parts[1].strip() or None, parts[2].strip()
    return None, None, message.strip()


def exchange_error_from_body(status: int | None, body: Any, headers: Any = None) -> GraphError:
    """Map an InvokeCommand failure. Message fallback order (as CIPP): details[].message ->
    innererror.internalexception.message -> error.message."""
    data = _load_body(body)
    request_id = _header(headers, "request-id")
    client_request_id = _header(headers, "client-request-id")
    exception_type = _header(headers, "X-ExceptionType")
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    code = message = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        code = error.get("code")
        details = error.get("details")
        if isinstance(details, dict):
            details = [details]
        detail_messages = [
            d.get("message") for d in details or [] if isinstance(d, dict) and d.get("message")
        ]
        inner = error.get("innererror") or error.get("innerError") or {}
        internal = {}
        if isinstance(inner, dict):
            internal = inner.get("internalexception") or inner.get("internalException") or {}
            exception_type = exception_type or inner.get("type")
        if detail_messages:
            ex_code, ex_type, message = _split_exchange_detail(str(detail_messages[0]))
            code = ex_code or code
            exception_type = ex_type or exception_type
        elif isinstance(internal, dict) and internal.get("message"):
            message = internal["message"]
        else:
            message = error.get("message")
    elif isinstance(data, str) and data.strip():
        message = data.strip()
        if is_exchange_concurrency_limit(message):
            return ThrottledError(
                message,
                status=status,
                code="ConcurrencyLimit",
                request_id=request_id,
                client_request_id=client_request_id,
                retry_after=retry_after,
            )
    cls = class_for_status(status)
    if exception_type and "ObjectNotFound" in exception_type:
        cls = NotFoundError
    return cls(
        message or (f"HTTP {status}" if status else "Exchange request failed"),
        status=status,
        code=code,
        request_id=request_id,
        client_request_id=client_request_id,
        retry_after=retry_after,
        exception_type=exception_type,
    )
