"""The one HTTP transport for Graph, Exchange and the identity platform.

A pooled ``requests.Session`` per process: connection reuse matters when a sync pages through thousands
of users or a job fires hundreds of $batch calls. ``requests`` sessions are safe to share between
threads for this use (each request takes its own connection from the urllib3 pool).

It also holds the retry policy shared by the Graph client, $batch and the Exchange client, so the three
agree: honour ``Retry-After`` (capped by ``settings.GRAPH_MAX_RETRY_AFTER_SECONDS``), otherwise
exponential backoff with full jitter, at most ``settings.GRAPH_MAX_ATTEMPTS`` attempts.

``settings.GRAPH_TRANSPORT_ADAPTERS`` mounts extra transport adapters by URL prefix. Tests use it to
serve ``http://sandbox.test/`` from the in-process sandbox; production leaves it empty. Retries are not
done here (``max_retries=0``): the Graph client decides what may be retried.
"""

from __future__ import annotations

import random
import threading

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

POOL_CONNECTIONS = 16  # distinct hosts kept pooled (graph, outlook, login, sharepoint…)
POOL_MAXSIZE = 32  # connections per host: Celery threads + web requests of one process

_lock = threading.Lock()
_shared: dict[tuple, requests.Session] = {}


def _adapter_config() -> tuple[tuple[str, str], ...]:
    adapters = getattr(settings, "GRAPH_TRANSPORT_ADAPTERS", None) or {}
    return tuple(sorted(adapters.items()))


def build_session() -> requests.Session:
    """A new pooled session with the configured transport adapters mounted."""
    session = requests.Session()
    pooled = HTTPAdapter(pool_connections=POOL_CONNECTIONS, pool_maxsize=POOL_MAXSIZE, max_retries=0)
    session.mount("https://", pooled)
    session.mount("http://", pooled)
    for prefix, dotted_path in _adapter_config():
        try:
            adapter_class = import_string(dotted_path)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"GRAPH_TRANSPORT_ADAPTERS[{prefix!r}]: cannot import {dotted_path!r}: {exc}"
            ) from exc
        session.mount(prefix, adapter_class())
    session.headers["User-Agent"] = f"cippusers {requests.utils.default_user_agent()}"
    return session


def shared_session() -> requests.Session:
    """The process-wide session (rebuilt if the adapter settings change, e.g. under override_settings)."""
    key = _adapter_config()
    session = _shared.get(key)
    if session is None:
        with _lock:
            session = _shared.get(key)
            if session is None:
                session = _shared[key] = build_session()
    return session


def default_timeout() -> float:
    return float(settings.GRAPH_TIMEOUT_SECONDS)


# --- retry policy --------------------------------------------------------------------------------------

BACKOFF_BASE_SECONDS = 1.0

# Statuses that say "not now" for an idempotent request. 408 is the server giving up waiting for us.
TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


def max_attempts() -> int:
    return int(settings.GRAPH_MAX_ATTEMPTS)


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds to sleep before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
    cap = float(settings.GRAPH_MAX_RETRY_AFTER_SECONDS)
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    ceiling = min(cap, BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)))
    # Full jitter: spreads the retries of many workers hitting the same throttled tenant.
    return random.uniform(ceiling / 2, ceiling)


def failed_before_sending(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (so even a POST may be re-sent).

    A connect timeout or a refused/unresolvable connection qualifies; a reset or read timeout after the
    request went out does not — the server may have acted on it.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)
    return False


OUTCOME_UNKNOWN = "outcomeUnknown"


def leaves_outcome_open(status: int) -> bool:
    """An answer after which the request may or may not have been carried out: none at all (0, the
    connection was lost after sending) or a 5xx."""
    return status == 0 or status >= 500


def delete_already_done(method: str, status: int, uncertain: bool) -> bool:
    """A DELETE re-sent after an answer that left its outcome open, now answering 404: the earlier attempt
    carried it out (or the thing was gone anyway), so what was asked for holds; a success, not "not found".
    One rule for single requests (GraphClient) and $batch items (graph.batch)."""
    return uncertain and method.upper() == "DELETE" and status == 404


def outcome_unknown(exc: requests.RequestException, service: str, client_request_id: str | None):
    """The error for a write whose answer was lost after it may have reached the service (read timeout,
    connection dropped): the outcome is unknown, and the message tells the technician to check first."""
    from graph.errors import TransientError

    return TransientError(
        f"Outcome unknown: the connection to {service} was lost ({type(exc).__name__}) after the request "
        "was sent, so it may or may not have been carried out. Check the current state before trying again.",
        code=OUTCOME_UNKNOWN,
        client_request_id=client_request_id,
    )
