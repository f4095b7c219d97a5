"""Writing Graph user records into the cache: one page at a time, a constant number of queries per page.

A page of up to 999 users costs: (delta only) one SELECT of the records we hold, one INSERT … ON CONFLICT
DO UPDATE of the users, one SELECT of their primary keys, one DELETE and one INSERT of their licence rows —
all in one transaction, so a reader never sees a user without its licences. Nothing outside the page is
held in memory.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from tenants.models import Tenant
from users.models import DirectoryUser, DirectoryUserLicense

from .records import SYNCED_FIELDS, RecordError, merge_record, parse_user_id, user_fields
from .skus import LicenceNamer

logger = logging.getLogger(__name__)

DELETE_CHUNK = 2000


# Columns of a new row: every concrete column but the primary key. On conflict only SYNCED_FIELDS change,
# so last_sign_in and per_user_mfa_state (kept by other queries) survive a sync.
_INSERT_FIELDS = [f for f in DirectoryUser._meta.concrete_fields if not f.primary_key]
_UPDATE_COLUMNS = [DirectoryUser._meta.get_field(name).column for name in SYNCED_FIELDS]
# Fields whose Python value the database driver cannot take as is (UUID, JSON, aware datetimes).
_CONVERTED = {
    f.attname
    for f in _INSERT_FIELDS
    if f.get_internal_type() in {"UUIDField", "JSONField", "DateTimeField", "ForeignKey"}
}


def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
    placeholders = ", ".join(["%s"] * len(_INSERT_FIELDS))
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in _UPDATE_COLUMNS)
    # Identifiers come from the model's metadata, quoted by the backend; every value is a parameter.
    return (
        f"INSERT INTO {quote(DirectoryUser._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({quote('tenant_id')}, {quote('user_id')}) DO UPDATE SET {updates}"
    )


def _upsert(rows: list[DirectoryUser]) -> None:
    """INSERT … ON CONFLICT DO UPDATE for a page, as one executemany (PostgreSQL and SQLite >= 3.24).

    Same statement QuerySet.bulk_create(update_conflicts=True) builds, without its per-value compilation:
    on SQLite Django also splits it into 33-row statements (999 parameters), which made the ORM, not
    Graph, the cost of a sync (measured: 15.6 s → 13.9 s for 20,000 users on SQLite)."""
    params = []
    for row in rows:
        values = []
        for field in _INSERT_FIELDS:
            value = getattr(row, field.attname)
            if field.attname in _CONVERTED:
                value = field.get_db_prep_save(value, connection)
            values.append(value)
        params.append(values)
    with connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(), params)


def _by_id(records: Iterable[Mapping]) -> dict[uuid.UUID, Mapping]:
    """Records keyed by object id; a repeated id keeps its last record (one upsert may not touch a row
    twice on PostgreSQL)."""
    keyed: dict[uuid.UUID, Mapping] = {}
    for record in records:
        try:
            keyed[parse_user_id(record.get("id"))] = record
        except RecordError as exc:
            logger.warning("directory sync: skipped a record: %s", exc)
    return keyed


def upsert_records(
    tenant: Tenant,
    records: Iterable[Mapping],
    namer: LicenceNamer,
    *,
    partial: bool,
    now: datetime | None = None,
) -> list[DirectoryUser]:
    """Insert or update one page of users (and replace their licence rows). With ``partial`` each record
    is laid over the one held (delta items only carry what changed). Returns the rows written."""
    keyed = _by_id(records)
    if not keyed:
        return []
    now = now or timezone.now()
    held: dict[uuid.UUID, dict] = {}
    if partial:
        held = dict(
            DirectoryUser.objects.filter(tenant=tenant, user_id__in=list(keyed)).values_list(
                "user_id", "graph"
            )
        )
    rows = []
    for user_id, record in keyed.items():
        full = merge_record(held.get(user_id), record) if partial else record
        rows.append(DirectoryUser(tenant=tenant, user_id=user_id, **user_fields(full, namer, now=now)))
    with transaction.atomic():
        _upsert(rows)
        pks = dict(
            DirectoryUser.objects.filter(tenant=tenant, user_id__in=list(keyed)).values_list("user_id", "pk")
        )
        DirectoryUserLicense.objects.filter(user_id__in=list(pks.values())).delete()
        DirectoryUserLicense.objects.bulk_create(
            [
                DirectoryUserLicense(user_id=pks[row.user_id], tenant=tenant, sku_id=uuid.UUID(sku))
                for row in rows
                for sku in row.license_sku_ids
            ]
        )
    for row in rows:
        row.pk = pks.get(row.user_id)
    return rows


def remove_users(tenant: Tenant, user_ids: Iterable) -> int:
    """Delete cached users by Graph object id; returns how many rows went."""
    ids = []
    for value in user_ids:
        try:
            ids.append(parse_user_id(value))
        except RecordError:
            continue
    if not ids:
        return 0
    deleted = 0
    for start in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[start : start + DELETE_CHUNK]
        deleted += _delete(
            DirectoryUser.objects.filter(tenant=tenant, user_id__in=chunk).values_list("pk", flat=True)
        )
    return deleted


def sweep_unseen(tenant: Tenant, started_at: datetime) -> int:
    """After a full listing: delete the rows it did not refresh (users gone from the tenant)."""
    stale = DirectoryUser.objects.filter(tenant=tenant, synced_at__lt=started_at).values_list("pk", flat=True)
    deleted = 0
    while True:
        chunk = list(stale[:DELETE_CHUNK])
        if not chunk:
            return deleted
        deleted += _delete(chunk)


def _delete(pks) -> int:
    pks = list(pks)
    if not pks:
        return 0
    with transaction.atomic():
        DirectoryUserLicense.objects.filter(user_id__in=pks).delete()
        return DirectoryUser.objects.filter(pk__in=pks).delete()[1].get(DirectoryUser._meta.label, 0)
