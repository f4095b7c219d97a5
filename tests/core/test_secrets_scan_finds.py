"""The secrets scan (tests/secrets_scan.py) finds a planted value in every place it searches — so its
"nothing found" in make verify's secrets part means something."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache

from tests import secrets_scan
from users.models import AuditEntry


@pytest.mark.django_db(transaction=True)  # committed, so pg_dump (another connection) sees the rows
def test_planted_values_are_found_everywhere(caplog):
    from django.contrib.auth import get_user_model

    planted = {place: f"Planted-{place}-{uuid.uuid4().hex[:8]}\\\"!" for place in
               ("json", "text", "session", "cache", "log")}  # fmt: skip
    user = get_user_model().objects.create_user(username="scan", password="x")
    # A JSON column (the quote and backslash are stored escaped) and a plain text column.
    AuditEntry.objects.create(technician=user, technician_name="scan", action="plant", result="success",
                              parameters={"note": planted["json"]}, message=planted["text"])  # fmt: skip
    session = SessionStore()
    session["note"] = planted["session"]
    session.save()
    cache.set("note", {"value": planted["cache"]})
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("cippusers.test").debug("note %s", planted["log"])

    places = {f"table {t}": text for t, text in secrets_scan.database_text().items()}
    places["sessions"] = secrets_scan.sessions_text()
    places["cache"] = secrets_scan.cache_text()
    places.update(secrets_scan.logs_text(caplog.records))
    dump = secrets_scan.pg_dump_text()
    if dump is not None:
        places["pg_dump"] = dump
    found = {line.split(":")[0] for line in secrets_scan.leaks(planted, places)}
    expected = {"json in table users_auditentry", "text in table users_auditentry", "session in sessions",
                "cache in cache", "log in log cippusers.test"}  # fmt: skip
    if dump is not None:
        expected |= {"json in pg_dump", "text in pg_dump"}
    assert expected <= found, expected - found
    # The session table itself holds the value only encoded: it takes the decoding to see it.
    assert "session in table django_session" not in found
