"""``manage.py rotate_field_key``: after prepending a key and running it, the newest key alone opens every
stored secret — EncryptedTextFields and the hand-encrypted bulk-import column alike."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from cippusers import crypto
from tenants.models import PartnerConnection, Tenant
from users.models import BulkImport, BulkImportRow


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 (test constants)
        return cursor.fetchone()[0]


def _run(*args) -> str:
    out = StringIO()
    call_command("rotate_field_key", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def key_a_world(settings):
    """Two connections and one bulk row, all encrypted under key A."""
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    conns = [
        PartnerConnection.objects.create(
            name=f"p{i}",
            partner_tenant_id=uuid.uuid4(),
            client_id=uuid.uuid4(),
            client_secret=f"client-secret-{i}",
            refresh_token=f"refresh-token-{i}",
        )  # fmt: skip
        for i in range(2)
    ]
    # One connection with no certificate: empty values are not ciphertext and are left alone.
    tenant = Tenant.objects.create(
        tenant_id=uuid.uuid4(), connection=conns[0], display_name="T", default_domain="t.example"
    )
    bulk = BulkImport.objects.create(tenant=tenant, marker=uuid.uuid4().hex)
    row = BulkImportRow.objects.create(
        bulk_import=bulk, key="r1", position=2, password_for_worker=crypto.encrypt("Typed-Pass-1!")
    )
    return key_a, key_b, conns, row


@pytest.mark.django_db
def test_rotation_moves_everything_to_the_newest_key(settings, key_a_world):
    key_a, key_b, conns, row = key_a_world
    before = _raw("tenants_partnerconnection", "client_secret", conns[0].pk)

    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    with pytest.raises(CommandError, match="5 value"):  # 2 secrets + 2 tokens + 1 bulk password
        _run("--check")
    out = _run("--batch-size", "1")  # batches of one: the keyset pagination is exercised
    assert "Re-encrypted 5 value(s)" in out
    assert "users.BulkImportRow.password_for_worker: 1 re-encrypted" in out
    assert _raw("tenants_partnerconnection", "client_secret", conns[0].pk) != before
    assert "Every stored secret is under the newest key" in _run("--check")
    assert "Re-encrypted 0 value(s)" in _run()  # idempotent: nothing left to do

    settings.FIELD_ENCRYPTION_KEYS = [key_b]  # key A retired
    for i, conn in enumerate(conns):
        fresh = PartnerConnection.objects.get(pk=conn.pk)
        assert (fresh.client_secret, fresh.refresh_token) == (f"client-secret-{i}", f"refresh-token-{i}")
        assert fresh.certificate_pem == ""
    raw_row = _raw("users_bulkimportrow", "password_for_worker", row.pk)
    assert crypto.decrypt(raw_row) == "Typed-Pass-1!"


@pytest.mark.django_db
def test_check_counts_values_not_under_the_newest_key(settings, key_a_world):
    key_a, key_b, conns, _row = key_a_world
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    conns[1].client_secret = "re-saved-under-b"  # the application re-saves one: it is current already
    conns[1].save(update_fields=["client_secret"])
    with pytest.raises(CommandError, match="4 value") as excinfo:
        _run("--check")
    assert excinfo.value.returncode == 1


@pytest.mark.django_db
def test_a_missing_old_key_fails_clearly_and_changes_nothing(settings, key_a_world):
    key_a, key_b, conns, row = key_a_world
    before = _raw("tenants_partnerconnection", "client_secret", conns[0].pk)
    settings.FIELD_ENCRYPTION_KEYS = [key_b]  # key A dropped before rotating: nothing can open the values
    with pytest.raises(CommandError, match="cannot be decrypted with any key") as excinfo:
        _run()
    message = str(excinfo.value)
    assert "nothing was changed" in message and "tenants.PartnerConnection.client_secret ids" in message
    assert "client-secret-0" not in message  # never a value, only where it is
    assert _raw("tenants_partnerconnection", "client_secret", conns[0].pk) == before
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    assert crypto.decrypt(_raw("users_bulkimportrow", "password_for_worker", row.pk)) == "Typed-Pass-1!"


@pytest.mark.django_db
def test_a_malformed_key_is_a_clear_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(CommandError, match="url-safe base64 32-byte Fernet keys"):
        _run("--check")
