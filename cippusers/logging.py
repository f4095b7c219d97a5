"""Logging pieces wired up by ``LOGGING`` in settings: secret redaction, the request id, JSON lines.

Belt and braces: the code never logs a password, token or secret on purpose, but a library or an
exception message might echo a request body. Anything that looks like one is replaced by ``[redacted]``,
in the message and in the exception text alike, whichever formatter writes the line.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from .request_id import get_request_id, get_task

_PATTERNS = [
    # bearer tokens first, so "Authorization: Bearer <jwt>" loses the token, not only the word "Bearer"
    re.compile(r"(?i)(bearer\s+)()([A-Za-z0-9\-_.~+/]+=*)"),
    # key=value / "key": "value" pairs whose key names a secret
    re.compile(
        r"""(?ix)
        (["']?(?:password|passwd|client_secret|refresh_token|access_token|id_token|code_verifier|
                 temporaryAccessPass|assertion|secret|authorization)["']?\s*[:=]\s*)
        (["']?)([^"'&\s,}]+)"""
    ),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        # Formatters reuse record.exc_text when it is set, so rendering the traceback here once, redacted,
        # covers the plain and the JSON formatter (an exception message may quote a request body).
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACK.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACK = logging.Formatter()


class RequestIdFilter(logging.Filter):
    """Put the current request id (or ``task:<id>`` in a Celery task, ``-`` elsewhere) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        task = get_task()
        if task is not None and not hasattr(record, "task_id"):
            record.task_id, record.task_name = task
        return True


# Structured fields some records carry (the access log, Celery task records); only these are copied, so an
# ``extra=`` somewhere else can never put an unreviewed value into the JSON line.
_EXTRA_FIELDS = ("http_method", "http_path", "http_status", "duration_ms", "user_id", "task_id", "task_name")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and exc when there is one.

    Message and traceback are redacted here as well as in RedactSecretsFilter, so the formatter stays safe
    on a handler someone configures without the filter."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or get_request_id(),
        }
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = redact(record.exc_text)
        if record.stack_info:
            data["stack"] = redact(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)
