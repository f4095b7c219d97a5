"""Celery tasks of bulk imports. Thin: an id in, the service does the work (users.bulkadd.service).

The message carries the import id only — never a password (see users.bulkadd.sealed). Registered with the
worker through users/tasks.py, which imports this module.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="users.tasks.run_bulk_import", ignore_result=True, acks_late=True)
def run_bulk_import(import_id: int) -> str:
    """Work one bulk import: idempotent and resumable, so a redelivered or duplicated message is harmless
    (the second worker finds the Job claimed and returns "busy")."""
    from .service import work

    result = work(import_id)
    logger.info("bulk import %s: %s", import_id, result)
    return result


@shared_task(name="users.tasks.resume_stale_bulk_imports", ignore_result=True)
def resume_stale_bulk_imports() -> int:
    """Beat: re-queue bulk imports whose worker died (kill -9, redeploy) and erase expired secrets."""
    from users.models import BulkImport

    from .service import purge_secrets, stale_jobs

    ids = list(BulkImport.objects.filter(job__in=stale_jobs()).values_list("pk", flat=True))
    for import_id in ids:
        run_bulk_import.delay(import_id)
    purge_secrets()
    return len(ids)
