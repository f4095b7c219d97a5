"""The demo sandbox world, seeded once per test session and copied into each test that asks for it.

``seed_demo()`` costs seconds (thousands of sign-ins, audit records, mail), and hundreds of tests start
from it. The session seeds it once inside a transaction, copies every row it wrote (raw, per table: COPY on
PostgreSQL, SELECT/executemany on SQLite), and rolls back; each test then writes those rows back into its
own transaction in a fraction of the time. Foreign keys are DEFERRABLE INITIALLY DEFERRED on both
backends (Django creates them so), so tables load in any order. Sequences are reset afterwards so rows a
test creates get fresh ids.

The copy is exact only if seeding touches tables that were empty before it; if not, :func:`capture`
returns None and every test seeds for real (slower, never wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction


@dataclass
class Snapshot:
    tables: list[tuple[str, list[str], object]] = field(default_factory=list)  # (table, columns, rows/bytes)
    models: list = field(default_factory=list)
    result_pks: list = field(default_factory=list)


def _models() -> dict[str, type]:
    found = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.managed and not meta.proxy and meta.db_table not in found:
            found[meta.db_table] = model
    return found


def _count(cursor, table: str) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from models
    return cursor.fetchone()[0]


def _columns(cursor, table: str) -> list[str]:
    return [col.name for col in connection.introspection.get_table_description(cursor, table)]


def capture(seed: Callable[[], list]) -> Snapshot | None:
    models = _models()
    snapshot = Snapshot()
    with transaction.atomic():
        with connection.cursor() as cursor:
            before = {table: _count(cursor, table) for table in models}
            result = seed()
            snapshot.result_pks = [obj.pk for obj in result]
            for table, model in models.items():
                after = _count(cursor, table)
                if after == before[table]:
                    continue
                if before[table]:
                    transaction.set_rollback(True)
                    return None  # seeding changed a table that already held rows: copy not exact
                columns = _columns(cursor, table)
                quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
                if connection.vendor == "postgresql":
                    with cursor.cursor.copy(
                        f"COPY {connection.ops.quote_name(table)} ({quoted}) TO STDOUT"
                    ) as copy:
                        rows = b"".join(bytes(chunk) for chunk in copy)
                else:
                    cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608
                    rows = cursor.fetchall()
                snapshot.tables.append((table, columns, rows))
                snapshot.models.append(model)
        transaction.set_rollback(True)
    return snapshot


def restore(snapshot: Snapshot) -> None:
    with connection.cursor() as cursor:
        for table, columns, rows in snapshot.tables:
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            name = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
                    copy.write(rows)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", rows)  # noqa: S608
        for sql in connection.ops.sequence_reset_sql(no_style(), snapshot.models):
            cursor.execute(sql)
