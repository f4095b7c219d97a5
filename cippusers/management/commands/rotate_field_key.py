"""``manage.py rotate_field_key``: re-encrypt every secret at rest with the newest FIELD_ENCRYPTION_KEY.

Rotation is: generate a key, put it first in FIELD_ENCRYPTION_KEY (keeping the old ones after it), restart,
run this command, then remove the old keys. What it covers: every ``EncryptedTextField`` of every installed
model (found through the app registry, so a new encrypted field is covered without touching this file) and
the hand-encrypted text columns in ``cippusers.crypto.FERNET_TEXT_COLUMNS``.

Two passes. The first reads every stored value and classifies it — current (the newest key alone opens it),
stale (an older key in the list opens it) or undecryptable (no configured key does). If anything is
undecryptable nothing is written and the command fails naming where: an old key was removed too early or
the list is wrong, and re-encrypting the rest would only hide that. The second pass re-encrypts the stale
values in batches, each batch one transaction, and writes a value only if it is still the ciphertext that
was read (a secret re-saved meanwhile by the application is already under the newest key).

``--check`` runs the first pass only and exits 1 while any value is stale or undecryptable, so it can gate
removing an old key. Values are never printed; only counts and row ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from cippusers import crypto
from cippusers.crypto import EncryptedTextField


@dataclass
class Column:
    model: type[models.Model]
    field: models.Field
    current: int = 0
    stale: int = 0
    undecryptable: list = field(default_factory=list)  # primary keys
    rotated: int = 0

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"


def encrypted_columns() -> list[Column]:
    """Every column that holds Fernet ciphertext under FIELD_ENCRYPTION_KEY."""
    found: dict[tuple[str, str], Column] = {}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, EncryptedTextField):
                found[(model._meta.label, f.name)] = Column(model, f)
    for app_label, model_name, field_name in crypto.FERNET_TEXT_COLUMNS:
        model = apps.get_model(app_label, model_name)
        found.setdefault((model._meta.label, field_name), Column(model, model._meta.get_field(field_name)))
    return sorted(found.values(), key=lambda c: c.label)


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first FIELD_ENCRYPTION_KEY (--check: only count)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="count values not under the newest key")
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, check: bool, batch_size: int, database: str, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            crypto.is_current("")  # validates the configured key list up front
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        columns = encrypted_columns()
        for column in columns:
            self._classify(column, database, batch_size)
            self.stdout.write(
                f"{column.label}: {column.current} current, {column.stale} under an older key, "
                f"{len(column.undecryptable)} undecryptable"
            )
        stale = sum(c.stale for c in columns)
        broken = [c for c in columns if c.undecryptable]
        if broken:
            where = "; ".join(f"{c.label} ids {_ids(c.undecryptable)}" for c in broken)
            raise CommandError(
                f"{sum(len(c.undecryptable) for c in broken)} stored value(s) cannot be decrypted with any key "
                f"in FIELD_ENCRYPTION_KEY ({where}). Put the key they were encrypted with back in the list "
                "(after the newest one) and run again; nothing was changed.",
                returncode=1,
            )
        if check:
            if stale:
                raise CommandError(
                    f"{stale} value(s) are not under the newest key; run manage.py rotate_field_key.",
                    returncode=1,
                )
            self.stdout.write(self.style.SUCCESS("Every stored secret is under the newest key."))
            return
        for column in columns:
            if column.stale:
                self._rotate(column, database, batch_size)
                self.stdout.write(f"{column.label}: {column.rotated} re-encrypted")
        total = sum(c.rotated for c in columns)
        current = sum(c.current for c in columns)
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {total} value(s) with the newest key ({current} already were). "
                "Run with --check, then the older keys can be removed from FIELD_ENCRYPTION_KEY."
            )
        )

    # --- the two passes ----------------------------------------------------------------------------------

    def _raw_batches(self, column: Column, database: str, batch_size: int):
        """(pk, ciphertext) of non-empty values in primary-key order, straight from the table (the field's
        from_db_value would decrypt them)."""
        connection = connections[database]
        q = connection.ops.quote_name
        meta = column.model._meta
        # Identifiers come from model metadata, quoted; every value is a parameter.
        select = f"SELECT {q(meta.pk.column)}, {q(column.field.column)} FROM {q(meta.db_table)} "  # noqa: S608
        where = f"{q(column.field.column)} <> ''"
        order = f" ORDER BY {q(meta.pk.column)} LIMIT %s"
        last = None
        while True:
            with connection.cursor() as cursor:
                if last is None:
                    cursor.execute(select + "WHERE " + where + order, [batch_size])
                else:
                    cursor.execute(
                        select + f"WHERE {q(meta.pk.column)} > %s AND " + where + order, [last, batch_size]
                    )
                rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def _classify(self, column: Column, database: str, batch_size: int) -> None:
        fernet = crypto._fernet(crypto.active_keys())
        for rows in self._raw_batches(column, database, batch_size):
            for pk, value in rows:
                if crypto.is_current(value):
                    column.current += 1
                    continue
                try:
                    fernet.decrypt(value.encode())
                except InvalidToken:
                    column.undecryptable.append(pk)
                else:
                    column.stale += 1

    def _rotate(self, column: Column, database: str, batch_size: int) -> None:
        connection = connections[database]
        q = connection.ops.quote_name
        meta = column.model._meta
        update = (
            f"UPDATE {q(meta.db_table)} SET {q(column.field.column)} = %s "  # noqa: S608
            f"WHERE {q(meta.pk.column)} = %s AND {q(column.field.column)} = %s"
        )
        for rows in self._raw_batches(column, database, batch_size):
            with transaction.atomic(using=database), connection.cursor() as cursor:
                for pk, value in rows:
                    if crypto.is_current(value):
                        continue
                    cursor.execute(update, [crypto.rotate(value), pk, value])
                    column.rotated += cursor.rowcount


def _ids(pks: list) -> str:
    shown = ", ".join(str(pk) for pk in pks[:10])
    return shown + (f" and {len(pks) - 10} more" if len(pks) > 10 else "")
