"""One id per request (and per Celery task) on every log line, plus a one-line access log.

The id comes from a trusted-looking ``X-Request-ID`` header (a reverse proxy's, so its log and ours share
one id) or is generated here. It lives in a context variable, so the logging filter
(``cippusers.logging.RequestIdFilter``) finds it from any code the request runs, and Celery carries it to
the tasks the request queued (``cippusers.celery``): one grep finds a click and the background work it
caused. The id is echoed in the ``X-Request-ID`` response header for support tickets.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils.functional import SimpleLazyObject, empty

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
# A client-chosen id lands in every log line of its request: only short ids of harmless characters are
# taken, so nobody can forge log lines (newlines), blow up log size, or smuggle markup into a log viewer.
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# What a Celery message may carry: a request's id, or ``task:<id>`` of the task that queued it.
_CARRIED = re.compile(r"(?:task:)?[A-Za-z0-9._-]{1,64}")
NO_ID = "-"

_request_id: ContextVar[str] = ContextVar("cippusers_request_id", default=NO_ID)
# (task id, task name) while a Celery task runs, so its records say which task wrote them.
_task: ContextVar[tuple[str, str] | None] = ContextVar("cippusers_task", default=None)
access_logger = logging.getLogger("cippusers.access")
# Paths whose requests are logged at DEBUG only (see quiet_access_log).
_quiet_prefixes: list[str] = []


def quiet_access_log(prefix: str) -> None:
    """Log requests under ``prefix`` at DEBUG only. An app that stands in for a remote service (the sandbox,
    whose requests are the portal's outgoing Graph calls seen from the other side, hundreds per sync or
    import) registers its path here so it stays out of the INFO access log."""
    if prefix not in _quiet_prefixes:
        _quiet_prefixes.append(prefix)


def get_request_id() -> str:
    return _request_id.get()


def is_safe(value: str | None) -> bool:
    return bool(value) and _SAFE.fullmatch(value) is not None


def is_safe_carried(value) -> bool:
    return isinstance(value, str) and _CARRIED.fullmatch(value) is not None


def get_task() -> tuple[str, str] | None:
    return _task.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def bound(request_id: str) -> Iterator[str]:
    """Run a block with ``request_id`` as the current id (restored afterwards, also on errors)."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def enter_task(request_id: str, task_id: str, task_name: str):
    """Bind the id and the task for a Celery task (prerun signal); returns what ``leave_task`` needs."""
    return _request_id.set(request_id), _task.set((task_id, task_name))


def leave_task(tokens) -> None:
    request_token, task_token = tokens
    _task.reset(task_token)
    _request_id.reset(request_token)


def _user_id(request) -> int | str | None:
    """The signed-in technician's id, without loading the session just for the log line: a request that never
    looked at its user (health probes, static files) is logged without one, and a broken database cannot
    turn an access log line into an error."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


def _printable(path: str, limit: int = 300) -> str:
    # request.path is percent-decoded: a %0A in a URL must not start a forged line in a plain-text log.
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in path[:limit])
    return cleaned + ("…" if len(path) > limit else "")


class RequestIdMiddleware:
    """First in MIDDLEWARE, so redirects and errors from any later middleware carry the id and are logged."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(_META_KEY)
        request_id = incoming if is_safe(incoming) else new_request_id()
        request.request_id = request_id
        started = time.monotonic()
        with bound(request_id):
            response = self.get_response(request)
            response[HEADER] = request_id
            self._log(request, response, started)
        return response

    @staticmethod
    def _log(request, response, started: float) -> None:
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        user_id = _user_id(request)
        # Path only: query strings carry search terms (names, UPNs) and bodies carry passwords, so neither
        # is ever logged here.
        path = _printable(request.path)
        level = logging.DEBUG if path.startswith(tuple(_quiet_prefixes)) else logging.INFO
        access_logger.log(
            level,
            "%s %s %s %.1fms user=%s",
            request.method,
            path,
            response.status_code,
            duration_ms,
            user_id if user_id is not None else "-",
            extra={
                "http_method": request.method,
                "http_path": path,
                "http_status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id,
            },
        )
