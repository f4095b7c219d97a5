"""Passwords of a bulk import: never in the database in clear (nor anything that opens them without the
browser's key), never in a log, an audit entry or the Celery message; shown on the results page and
downloadable exactly once, then gone from the server."""

from __future__ import annotations

import csv
import io
import logging
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests import secrets_scan
from tests.bulkadd.conftest import csv_bytes, user_rows
from users.bulkadd import sealed
from users.models import AuditEntry, BulkImport


def _every_stored_text() -> str:
    """Every row of every table of the database (the sandbox's too), as text (tests/secrets_scan.py)."""
    return "\n".join(secrets_scan.database_text(exclude_prefix=None).values())


@pytest.fixture
def editor_client(bulk_world, editor):
    client = Client()
    client.force_login(editor)
    return client


def test_passwords_reach_the_browser_once_and_are_never_stored_in_clear(
    bulk_world, editor_client, caplog, django_capture_on_commit_callbacks, monkeypatch
):
    from users.bulkadd import tasks

    typed = f"Typed-{uuid.uuid4().hex[:8]}-Pw!"
    rows = user_rows(21, bulk_world.domain, licences="SPB")
    rows[0]["password"] = typed
    caplog.set_level(logging.DEBUG)
    messages = []
    real_delay = tasks.run_bulk_import.delay
    monkeypatch.setattr(
        tasks.run_bulk_import,
        "delay",
        lambda *args, **kw: (messages.append((args, kw)), real_delay(*args, **kw))[1],
    )
    upload = editor_client.post(reverse("users:bulk-add-upload"), {
        "tenant": str(bulk_world.tenant.tenant_id), "kind": "users",
        "file": SimpleUploadedFile("users.csv", csv_bytes(rows, header=[*rows[1], "password"]), "text/csv"),
    })  # fmt: skip
    bulk_import = BulkImport.objects.get()
    key = upload.cookies[f"bulkadd_key_{bulk_import.pk}"].value
    assert sealed.public_key_of(key) == bulk_import.public_key  # the private half exists only in the cookie
    assert key not in _every_stored_text()
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    bulk_import.refresh_from_db()
    assert bulk_import.job.succeeded == 21
    assert messages == [((bulk_import.pk,), {})]  # the Celery message carries the import id, nothing else

    results = editor_client.get(reverse("users:bulk-add-results", args=[bulk_import.pk])).content.decode()
    assert typed in results and results.count("data-secret-row") == 21
    download = editor_client.post(reverse("users:bulk-add-passwords", args=[bulk_import.pk]))
    assert download.status_code == 200 and "no-store" in download["Cache-Control"]
    assert download.cookies[f"bulkadd_key_{bulk_import.pk}"].value == ""  # the key cookie expires with it
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert table[0] == ["display name", "user principal name", "password"] and len(table) == 22
    passwords = [line[2] for line in table[1:]]
    assert typed in passwords and len(set(passwords)) == 21

    # Every password really is the user's: the sandbox accepts it (and would refuse any other).
    from django.contrib.auth.hashers import check_password

    from graph.sandbox.models import SandboxUser

    for _, upn, password in table[1:]:
        assert check_password(
            password, SandboxUser.objects.get(tenant=bulk_world.sandbox, upn_lower=upn.lower()).password_hash
        )

    stored = _every_stored_text()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    audited = "\n".join(str(e.parameters) + e.message for e in AuditEntry.objects.all())
    for password in passwords:
        assert password not in stored, "a password is in the database"
        assert password not in logged, "a password is in the logs"
        assert password not in audited
    # Nothing sealed is left either: not even the key's holder could open anything now.
    assert not bulk_import.rows.exclude(password_sealed="").exists()
    assert not bulk_import.rows.exclude(password_for_worker="").exists()
    bulk_import.refresh_from_db()
    assert bulk_import.passwords_discarded_how == "downloaded"
    again = editor_client.post(reverse("users:bulk-add-passwords", args=[bulk_import.pk]))
    assert again.status_code == 302  # nothing to download twice
    page = editor_client.get(reverse("users:bulk-add-results", args=[bulk_import.pk])).content.decode()
    assert "data-secrets-gone" in page and typed not in page


def test_without_the_key_nobody_sees_the_passwords(bulk_world, editor_client, django_user_model,
                                                    django_capture_on_commit_callbacks):  # fmt: skip
    from tenants.models import TechnicianProfile

    editor_client.post(reverse("users:bulk-add-upload"), {
        "tenant": str(bulk_world.tenant.tenant_id), "kind": "users",
        "file": SimpleUploadedFile("users.csv", csv_bytes(user_rows(2, bulk_world.domain)), "text/csv"),
    })  # fmt: skip
    bulk_import = BulkImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    results_url = reverse("users:bulk-add-results", args=[bulk_import.pk])
    # Another browser of the same technician: no key, so nothing can be shown.
    same_tech_elsewhere = Client()
    same_tech_elsewhere.force_login(bulk_import.created_by)
    assert "data-no-key" in same_tech_elsewhere.get(results_url).content.decode()
    assert (
        same_tech_elsewhere.post(reverse("users:bulk-add-passwords", args=[bulk_import.pk])).status_code
        == 302
    )
    # An Admin may read the results, never the passwords, and may not download.
    admin_user = django_user_model.objects.create_user(username="boss", password="x")
    TechnicianProfile.objects.create(
        user=admin_user, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(results_url)
    assert (
        page.status_code == 200
        and "data-secret-row" not in page.content.decode()
        and "data-secrets" not in page.content.decode()
    )
    assert admin.post(reverse("users:bulk-add-passwords", args=[bulk_import.pk])).status_code == 404
    # A forged cookie (someone else's key) opens nothing.
    other_key, _ = sealed.new_key_pair()
    editor_client.cookies[f"bulkadd_key_{bulk_import.pk}"] = other_key
    assert "data-no-key" in editor_client.get(results_url).content.decode()
    # Discard: gone without a download.
    editor_client.cookies.pop(f"bulkadd_key_{bulk_import.pk}")
    editor_client.post(reverse("users:bulk-add-passwords-discard", args=[bulk_import.pk]))
    assert not bulk_import.rows.exclude(password_sealed="").exists()


def test_sealing_binds_the_row():
    private, public = sealed.new_key_pair()
    box = sealed.seal(public, "Pa55-word!", sealed.row_context(1, "r1"))
    assert sealed.open_sealed(private, box, sealed.row_context(1, "r1")) == "Pa55-word!"
    with pytest.raises(sealed.SealError):
        sealed.open_sealed(private, box, sealed.row_context(1, "r2"))  # copied onto another row
    with pytest.raises(sealed.SealError):
        sealed.open_sealed(sealed.new_key_pair()[0], box, sealed.row_context(1, "r1"))  # another key
    assert "Pa55" not in box and sealed.seal(public, "Pa55-word!", "c") != sealed.seal(
        public, "Pa55-word!", "c"
    )


def test_expired_secrets_are_purged(bulk_world, make_import):
    from datetime import timedelta

    from django.utils import timezone

    from users.bulkadd.service import purge_secrets

    rows = user_rows(1, bulk_world.domain)
    rows[0]["password"] = "Typed-Password-123!"
    bulk_import, _ = make_import(csv_bytes(rows))
    row = bulk_import.rows.get()
    assert row.password_for_worker and row.password_sealed
    BulkImport.objects.filter(pk=bulk_import.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert purge_secrets() >= 1
    row.refresh_from_db()
    assert (row.password_for_worker, row.password_sealed) == ("", "")
    assert row.data["_password"].startswith("refused")  # the draft now says to type it again
