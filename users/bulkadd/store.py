"""The runner's database side: rows marked before they are sent, outcomes saved after each batch with one
audit entry per finished row (in the same transaction, so a crash never loses or doubles one), the Job's
counters, and the new users written into the directory cache so the users table shows them at once."""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from users import audit
from users.models import BulkImport, BulkImportRow, Job
from users.sync import RecordError
from users.sync.skus import LicenceNamer
from users.sync.store import upsert_records

from .plan import cache_record

logger = logging.getLogger(__name__)

Status = BulkImportRow.Status
SAVED_FIELDS = ["status", "message", "user_id", "steps", "request_ids", "attempts", "password_source",
                "password_for_worker", "password_sealed", "updated_at"]  # fmt: skip
AUDIT_ACTION = {BulkImport.Kind.USERS: "bulk-add-user", BulkImport.Kind.GUESTS: "bulk-invite-guest"}


def save_rows(rows) -> None:
    """Write the rows' runner fields now (committed before anything that depends on them is sent).

    One parametrised UPDATE per row, sent with ``executemany`` (one round trip on PostgreSQL's pipeline):
    this runs after every $batch on the thread that keeps the batches going, and ``bulk_update``'s CASE
    expressions cost more Python time than the whole exchange with Graph."""
    rows = list(rows)
    if not rows:
        return
    now = timezone.now()
    fields = [BulkImportRow._meta.get_field(name) for name in SAVED_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(BulkImportRow._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
    params = []
    for row in rows:
        row.updated_at = now
        params.append(
            [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields] + [row.pk]
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)


def counts(bulk_import: BulkImport) -> dict[str, int]:
    by_status = dict(
        bulk_import.rows.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: by_status.get(status, 0) for status in Status.values}


def update_job_counts(job: Job, bulk_import: BulkImport, *, beat: bool = False) -> dict[str, int]:
    found = counts(bulk_import)
    values = {
        "succeeded": found[Status.SUCCESS],
        "failed": found[Status.FAILED] + found[Status.PARTIAL],
        "skipped": found[Status.CANCELLED],
    }
    Job.objects.filter(pk=job.pk).update(**values)
    for name, value in values.items():
        setattr(job, name, value)
    return found


def finish_rows(bulk_import: BulkImport, job: Job, rows, technician) -> None:
    """Save finished rows and audit each one, atomically; then the job's counters."""
    rows = list(rows)
    with transaction.atomic():
        save_rows(rows)
        for row in rows:
            if row.status in (Status.SUCCESS, Status.PARTIAL, Status.FAILED):
                _audit(bulk_import, job, row, technician)
    update_job_counts(job, bulk_import)


def _audit(bulk_import: BulkImport, job: Job, row: BulkImportRow, technician) -> None:
    resolved = row.resolved or {}
    parameters = {
        "import": bulk_import.pk, "row": row.position,
        **{key: resolved.get(key) for key in ("display_name", "usage_location", "must_change", "licences",
                                              "aliases", "manager", "email", "redirect_url", "send_invitation")
           if resolved.get(key) not in (None, "", [])},
        "groups": [g["id"] for g in resolved.get("groups") or []] or None,
        "steps": {name: step.get("state") for name, step in (row.steps or {}).items()} or None,
    }  # fmt: skip
    audit.record(
        technician,
        tenant=bulk_import.tenant,
        target=(row.user_id, row.upn),
        action=AUDIT_ACTION[bulk_import.kind],
        parameters={k: v for k, v in parameters.items() if v is not None},
        result="success" if row.status == Status.SUCCESS else "failed",
        message=row.message,
        request_ids=row.request_ids,
        job_id=job.pk,
        source_ip=bulk_import.source_ip,
    )


def write_through(bulk_import: BulkImport, rows) -> None:
    """The created users (and invited guests) into the directory cache; a failure only delays them until
    the next sync, so it is logged, never raised."""
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    records = [cache_record(row, str(row.user_id), now) for row in rows if row.user_id]
    if not records:
        return
    try:
        upsert_records(bulk_import.tenant, records, LicenceNamer.for_tenant(bulk_import.tenant), partial=True)
    except (RecordError, ValueError) as error:
        logger.warning("bulk import %s: new users not written to the cache (%s)", bulk_import.pk, error)


def cancel_unsent(bulk_import: BulkImport, row_ids=None) -> int:
    """Rows not yet sent become "Not sent (cancelled)"; their typed passwords are erased. Returns how many."""
    rows = bulk_import.rows.filter(status=Status.PENDING)
    if row_ids is not None:
        rows = rows.filter(pk__in=list(row_ids))
    return rows.update(status=Status.CANCELLED, message="Not sent: the import was cancelled.",
                       password_for_worker="", updated_at=timezone.now())  # fmt: skip
