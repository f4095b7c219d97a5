"""Looking for secret values wherever the portal keeps anything: every table (as rows, and for PostgreSQL as
a ``pg_dump``), the decoded session store, the Django cache, captured log records.

Tables of ``graph.sandbox`` (prefix ``sandbox_``) are left out by default: the sandbox plays Microsoft,
which holds its users' password hashes and Temporary Access Passes by design; what matters is what the
portal keeps. Each place is turned into text once; ``leaks`` then says which secret (by label, never by
value) appears where, in the spellings a value takes when stored: as is, JSON-escaped, URL-encoded, and each of those as pg_dump's COPY writes it.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import subprocess
from urllib.parse import quote, quote_plus

SANDBOX_TABLES = "sandbox_"


def _text(value) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _flatten(value, depth: int = 0) -> str:
    """Every string inside ``value`` as is (repr() would escape quotes and backslashes)."""
    if depth > 20:
        return ""
    if isinstance(value, dict):
        return "\n".join(_flatten(k, depth + 1) + "\n" + _flatten(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return "\n".join(_flatten(v, depth + 1) for v in value)
    if isinstance(value, str | bytes | memoryview):
        return _text(value)
    if hasattr(value, "__dict__"):
        return repr(value) + "\n" + _flatten(vars(value), depth + 1)
    return repr(value)


def database_text(*, exclude_prefix: str | None = SANDBOX_TABLES) -> dict[str, str]:
    """{table: every value of every row as text}, for every table in the schema (with or without a model)."""
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if exclude_prefix and table.startswith(exclude_prefix):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - schema names
            found[table] = "\n".join(_text(v) for row in cursor.fetchall() for v in row if v is not None)
    return found


def sessions_text() -> str:
    """Every stored session, decoded (the table holds them signed and base64-encoded, which a plain scan
    of the rows would never match)."""
    from django.contrib.sessions.models import Session

    return "\n".join(_flatten(s.get_decoded()) for s in Session.objects.all())


def cache_text() -> str:
    """Every value in the default cache (local memory or Redis), unpickled where it was pickled."""
    from django.core.cache import caches

    cache = caches["default"]  # the backend itself (django.core.cache.cache is a proxy to it)

    def load(raw) -> str:
        try:
            return _flatten(pickle.loads(raw))  # noqa: S301 - our own cache, written by this process
        except Exception:  # noqa: BLE001 - a raw integer or text value
            return _text(raw)

    backend = type(cache).__name__
    if backend == "LocMemCache":
        return "\n".join(f"{key} {load(raw)}" for key, raw in list(cache._cache.items()))
    if backend == "RedisCache":
        client = cache._cache.get_client()
        return "\n".join(f"{_text(key)} {load(client.get(key))}" for key in client.scan_iter(count=500))
    raise AssertionError(f"no scanner for cache backend {backend}")


def pg_dump_text(*, exclude_prefix: str | None = SANDBOX_TABLES) -> str | None:
    """The data of the PostgreSQL database as ``pg_dump`` writes it (None on SQLite or without pg_dump)."""
    from django.db import connection

    if connection.vendor != "postgresql" or not shutil.which("pg_dump"):
        return None
    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or "5432"),
           "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"] or ""}  # fmt: skip
    args = ["pg_dump", "--data-only", "-d", db["NAME"]]
    if exclude_prefix:
        args += ["-T", f"{exclude_prefix}*"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def logs_text(records: list[logging.LogRecord]) -> dict[str, str]:
    """{"log <logger name>": text} of captured records: the message with its arguments filled in (as any
    formatter writes it), tracebacks, stack info, and every ``extra`` field. Taken before any handler's
    redaction filter, so stricter than what production writes."""
    formatter = logging.Formatter()
    by_logger: dict[str, list[str]] = {}
    for record in records:
        chunks = by_logger.setdefault(f"log {record.name}", [])
        chunks.append(record.getMessage())
        if record.exc_info:
            chunks.append(formatter.formatException(record.exc_info))
        if record.stack_info:
            chunks.append(record.stack_info)
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and value is not None:
                chunks.append(_text(value))
    return {name: "\n".join(chunks) for name, chunks in by_logger.items()}


def _copy_escaped(text: str) -> str:
    """How pg_dump's COPY text format writes a value."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def spellings(secret: str) -> set[str]:
    forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
    return forms | {_copy_escaped(form) for form in forms}


def leaks(secrets: dict[str, str], places: dict[str, str]) -> list[str]:
    """["<label> in <place>: …context…", ...] for every secret found in any of its spellings; the context
    around the first hit is shown with the secret itself masked as <label>."""
    found = []
    for label, secret in secrets.items():
        for place, text in places.items():
            for form in spellings(secret):
                at = text.find(form)
                if at >= 0:
                    context = text[max(0, at - 80) : at + len(form) + 40].replace(form, f"<{label}>")
                    found.append(f"{label} in {place}: …{context}…")
                    break
    return found
