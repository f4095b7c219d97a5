"""make verify, part backup: a backup taken the way the README says restores into a database whose audit
chain verifies, and tampering with the restored copy is caught.

PostgreSQL: a real ``pg_dump -Fc`` of the test database, ``pg_restore`` into a new database. SQLite: the
sqlite3 online backup API (what ``sqlite3 db .backup`` uses) into a file. Either way ``manage.py
audit_verify`` then runs in a separate process pointed at the restored copy by DATABASE_URL — the command
an operator runs after a restore — and the same command must fail once a row is edited, and once a row is
deleted. The test database's rows are committed (transaction=True) so the dump sees them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from cippusers import crypto
from tenants.models import PartnerConnection
from users import audit
from users.models import AuditEntry

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = 30


def _audit_verify(database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "cippusers.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", "audit_verify"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


class SqliteCopy:
    """The restored copy as a file, opened with the sqlite3 module for counting and tampering."""

    def __init__(self, tmp_path: Path):
        self.path = tmp_path / "restored.sqlite3"

    def backup(self) -> None:
        connection.ensure_connection()
        with sqlite3.connect(self.path) as target:
            connection.connection.backup(target)  # consistent snapshot, like `sqlite3 db ".backup file"`
        target.close()

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def execute(self, sql: str, params=()):
        with sqlite3.connect(self.path) as db:
            rows = db.execute(sql, params).fetchall()
        db.close()
        return rows

    def drop(self) -> None:
        self.path.unlink(missing_ok=True)


class PostgresCopy:
    """pg_dump -Fc of the test database, pg_restore into ``<test db>_restored``."""

    def __init__(self, tmp_path: Path):
        db = settings.DATABASES["default"]
        self.source = connection.settings_dict["NAME"]
        self.name = f"{self.source}_restored"
        self.dump = tmp_path / "cippusers.dump"
        self.env = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": db["PORT"] or "5432",
                    "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"]}  # fmt: skip
        auth = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
        self.url = f"postgres://{auth}@{self.env['PGHOST']}:{self.env['PGPORT']}/{self.name}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{args[0]} failed: {done.stderr[-2000:]}"

    def backup(self) -> None:
        self._run("pg_dump", "-Fc", "--no-owner", "-f", str(self.dump), "-d", self.source)
        self.drop()
        self._run("psql", "-q", "-d", "postgres", "-c", f'CREATE DATABASE "{self.name}"')
        self._run("pg_restore", "--no-owner", "--exit-on-error", "-d", self.name, str(self.dump))

    def execute(self, sql: str, params=()):
        import psycopg

        with psycopg.connect(dbname=self.name, host=self.env["PGHOST"], port=self.env["PGPORT"],
                             user=self.env["PGUSER"], password=self.env["PGPASSWORD"] or None) as db:  # fmt: skip
            cursor = db.execute(sql.replace("?", "%s"), params)
            rows = cursor.fetchall() if cursor.description else []
        return rows

    def drop(self) -> None:
        self._run("psql", "-q", "-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_backup_restores_a_verifiable_audit_chain(tmp_path, settings, django_user_model, figure):
    if connection.vendor == "postgresql":
        if not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("psql")):
            pytest.fail("PostgreSQL client tools (pg_dump, pg_restore, psql) are needed for this part")
        copy = PostgresCopy(tmp_path)
    else:
        copy = SqliteCopy(tmp_path)

    # What a restore must bring back: the audit log (hash chain), technician config, encrypted secrets.
    technician = django_user_model.objects.create_user(username="backup-tech", password="x-Unused-1")
    for i in range(ENTRIES):
        audit.record(
            technician, tenant=None, target=(f"3f2b4c1e-0000-4000-8000-{i:012d}", f"user{i}@contoso.test"),
            action="backup-check", parameters={"n": i, "newPassword": "never-stored"}, result="success",
            message=f"entry {i}", source_ip="192.0.2.10",
        )  # fmt: skip
    conn = PartnerConnection.objects.create(
        name="backup", partner_tenant_id="11111111-1111-4111-8111-111111111111",
        client_id="22222222-2222-4222-8222-222222222222", client_secret="backup-client-secret",
    )  # fmt: skip
    created = AuditEntry.objects.count()

    try:
        copy.backup()
        restored = copy.execute("SELECT COUNT(*) FROM users_auditentry")[0][0]
        intact = _audit_verify(copy.url)
        breaks_intact = 0 if intact.returncode == 0 else 1
        # The secret comes back as the same ciphertext, readable only with FIELD_ENCRYPTION_KEY (kept apart).
        (ciphertext,) = copy.execute(
            "SELECT client_secret FROM tenants_partnerconnection WHERE id = ?", [conn.pk]
        )[0]
        assert (
            "backup-client-secret" not in ciphertext and crypto.decrypt(ciphertext) == "backup-client-secret"
        )

        # Tamper 1: edit one row's message in the middle of the chain.
        ids = [row[0] for row in copy.execute("SELECT id FROM users_auditentry ORDER BY id")]
        middle = ids[len(ids) // 2]
        (original,) = copy.execute("SELECT message FROM users_auditentry WHERE id = ?", [middle])[0]
        copy.execute("UPDATE users_auditentry SET message = ? WHERE id = ?", ["entry edited", middle])
        edited = _audit_verify(copy.url)
        copy.execute("UPDATE users_auditentry SET message = ? WHERE id = ?", [original, middle])
        # Tamper 2: delete one row (the edit undone first, so only the gap can be what is caught).
        copy.execute("DELETE FROM users_auditentry WHERE id = ?", [ids[3]])
        deleted = _audit_verify(copy.url)
    finally:
        copy.drop()

    edit_caught = edited.returncode == 1 and f"broken at entry {middle}" in edited.stderr
    delete_caught = deleted.returncode == 1 and f"broken at entry {ids[4]}" in deleted.stderr
    figure("backup.audit_entries_restored", restored, "entries", at_least=1,
           detail=f"{connection.vendor} backup + restore; {created} written")  # fmt: skip
    figure("backup.audit_chain_breaks", breaks_intact, must_be=0,
           detail="manage.py audit_verify on the restored copy, separate process")  # fmt: skip
    figure("backup.tamper_detected", int(edit_caught and delete_caught), must_be=1,
           detail="an edited row and a deleted row in the restored copy both fail audit_verify")  # fmt: skip
    assert restored == created == ENTRIES
    assert intact.returncode == 0, intact.stderr
    assert f"{ENTRIES} entries verified" in intact.stdout
    assert edit_caught, edited.stderr
    assert "content does not match its hash" in edited.stderr
    assert delete_caught, deleted.stderr
    assert "removed or inserted row" in deleted.stderr
