"""The one-time passwords download is one-time under concurrency: a single conditional UPDATE claims it
(users.bulkadd.views_run.claim_passwords), so two requests that both opened the passwords cannot both
send them, and the audit log holds exactly one entry for the one download that happened."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.urls import reverse

from tests.bulkadd.conftest import csv_bytes, user_rows
from users.bulkadd import views_run
from users.models import AuditEntry, BulkImport


def _finished_import(bulk_world, editor, django_capture_on_commit_callbacks) -> tuple[Client, BulkImport]:
    browser = Client()
    browser.force_login(editor)
    browser.post(reverse("users:bulk-add-upload"), {
        "tenant": str(bulk_world.tenant.tenant_id), "kind": "users",
        "file": SimpleUploadedFile("users.csv", csv_bytes(user_rows(2, bulk_world.domain)), "text/csv"),
    })  # fmt: skip
    bulk_import = BulkImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    bulk_import.refresh_from_db()
    assert bulk_import.job.succeeded == 2
    return browser, bulk_import


def _second_tab(browser: Client, user) -> Client:
    """The same browser in another tab: the same session and key cookie."""
    tab = Client()
    tab.force_login(user)
    tab.cookies = browser.cookies
    return tab


def _audited_downloads() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="bulk-add-users:passwords"))


@pytest.mark.django_db
def test_two_downloads_that_both_opened_the_passwords_send_them_once(
    bulk_world, editor, django_capture_on_commit_callbacks, monkeypatch
):
    browser, bulk_import = _finished_import(bulk_world, editor, django_capture_on_commit_callbacks)
    url = reverse("users:bulk-add-passwords", args=[bulk_import.pk])
    opened = views_run.open_passwords
    inner = {}

    def open_then_let_the_other_tab_run(request, found):
        result = opened(request, found)
        if not inner:  # the first request has read every password; the second runs through before it claims
            inner["response"] = None
            inner["response"] = _second_tab(browser, editor).post(url)
        return result

    monkeypatch.setattr(views_run, "open_passwords", open_then_let_the_other_tab_run)
    outer = browser.post(url)
    winner = inner["response"]
    assert winner.status_code == 200 and winner.content.decode("utf-8-sig").count("\r\n") == 3
    assert outer.status_code == 302 and outer["Location"] == reverse(
        "users:bulk-add-results", args=[bulk_import.pk]
    )
    assert b"password" not in outer.content
    entries = _audited_downloads()
    assert len(entries) == 1 and entries[0].parameters["rows"] == 2
    assert entries[0].message == "Passwords downloaded and erased from the server."
    # Discarding afterwards changes nothing and audits nothing.
    assert _second_tab(browser, editor).post(
        reverse("users:bulk-add-passwords-discard", args=[bulk_import.pk])
    )
    assert len(_audited_downloads()) == 1
    bulk_import.refresh_from_db()
    assert bulk_import.passwords_discarded_how == "downloaded"


def _claim_as_postgresql_would(bulk_import: BulkImport, how: str) -> bool:
    """One claim in its own transaction. PostgreSQL makes an UPDATE of a row another transaction has
    changed wait for that transaction's end; the suite's SQLite (shared-cache, in memory) answers "table is
    locked" at once instead: wait by retrying, as PostgreSQL does."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with transaction.atomic():
                return views_run.claim_passwords(bulk_import, how=how)
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_claims_interleaved_in_two_threads_let_exactly_one_win():
    """Thread A claims and holds its transaction open; thread B claims meanwhile, against A's uncommitted
    claim. Exactly one wins, and B's answer comes only after A's commit."""
    from tests.users.factories import make_tenant

    bulk_import = BulkImport.objects.create(tenant=make_tenant("Race"), marker=uuid.uuid4().hex)
    a_claimed, results, times = threading.Event(), {}, {}

    def thread_a() -> None:
        try:
            with transaction.atomic():
                results["A"] = views_run.claim_passwords(bulk_import, how="downloaded by A")
                a_claimed.set()
                time.sleep(0.3)  # B is now at its UPDATE
            times["A committed"] = time.monotonic()
        finally:
            a_claimed.set()
            connection.close()

    def thread_b() -> None:
        try:
            a_claimed.wait(5)
            results["B"] = _claim_as_postgresql_would(bulk_import, "downloaded by B")
            times["B answered"] = time.monotonic()
        finally:
            connection.close()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert results == {"A": True, "B": False}
    assert times["B answered"] >= times["A committed"]
    bulk_import.refresh_from_db()
    assert bulk_import.passwords_discarded_how == "downloaded by A"
