"""Bulk imports from a CSV/XLSX file: new users (or guest invitations), one row per line of the file.

A ``BulkImport`` is created when the technician uploads a file and lives as a draft while the preview
shows each row's problems and the technician fixes them; "Run" attaches a ``Job`` (kind BULK_ADD), which
the worker (``users.bulkadd.runner``) works row by row. Rows carry a stable ``key`` so a resumed run never
sends a row twice.

Secrets: ``data`` never holds a password. A password typed in the file is kept only as ciphertext, twice:
``password_for_worker`` (Fernet under FIELD_ENCRYPTION_KEY, so the worker can send it; erased as soon as
the row is finished) and ``password_sealed`` (sealed to the import's public key, whose private half lives
only in the technician's browser — see ``users.bulkadd.sealed``); generated passwords exist only as
``password_sealed``. Both are erased when the technician downloads the passwords once or discards them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant

from .jobs import Job


class BulkImport(models.Model):
    class Kind(models.TextChoices):
        USERS = "users", "New users"
        GUESTS = "guests", "Guest invitations"

    kind = models.CharField(max_length=8, choices=Kind, default=Kind.USERS)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="bulk_imports"
    )
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    file_name = models.CharField(max_length=255, blank=True, default="")
    file_format = models.CharField(max_length=64, blank=True, default="")  # "CSV (UTF-8, ';')", "XLSX"
    file_notes = models.JSONField(default=list)  # what the reader noticed (ignored columns, ...)
    # File-wide defaults applied to rows that leave the cell blank: licences (sku ids), usage_location,
    # groups (group ids), must_change (bool); guests: redirect_url, message, send_invitation.
    defaults = models.JSONField(default=dict)
    problems = models.JSONField(default=list)  # file-wide problems that block the run (licence units...)
    check_notes = models.JSONField(default=list)  # what the last check could not read live (not blocking)
    validated_at = models.DateTimeField(null=True, blank=True)
    # X25519 public key (base64) the worker seals passwords to; the private key is only in a cookie.
    public_key = models.CharField(max_length=64, blank=True, default="")
    # Written on every user this import creates (users.bulkadd.plan.MARKER_ATTRIBUTE) so a resumed run can
    # tell "created by this import" from "someone else took the name".
    marker = models.CharField(max_length=64, unique=True)
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="bulk_import"
    )
    passwords_discarded_at = models.DateTimeField(null=True, blank=True)
    passwords_discarded_how = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "tenant", "-created_at"], name="bulkimport_owner_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.file_name})"

    @property
    def is_draft(self) -> bool:
        return self.job_id is None


class BulkImportRow(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Not run yet"
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Being created"
        CREATED = "created", "Created, finishing licences and groups"
        SUCCESS = "success", "Done"
        PARTIAL = "partial", "Created, some steps failed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Not sent (cancelled)"
        LEFT_OUT = "left_out", "Left out (had problems)"

    OPEN = (Status.PENDING, Status.SENDING, Status.CREATED)
    FINISHED = (Status.SUCCESS, Status.PARTIAL, Status.FAILED, Status.CANCELLED, Status.LEFT_OUT)

    bulk_import = models.ForeignKey(BulkImport, on_delete=models.CASCADE, related_name="rows")
    key = models.CharField(max_length=32)  # stable within the import: never reused, never renumbered
    position = models.PositiveIntegerField()  # the line in the file (header = 1)
    data = models.JSONField(default=dict)  # column key -> text as typed (or fixed); never a password
    problems = models.JSONField(default=dict)  # column key (or "_row") -> [messages]
    # What the validator made of the row (UPN, licence and group ids, usage location...): the runner sends
    # exactly this, so the preview and the run cannot disagree. Never a password.
    resolved = models.JSONField(default=dict)
    upn = models.CharField(max_length=320, blank=True, default="")  # computed, lower-case (or guest email)
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT, db_index=True)
    message = models.TextField(blank=True, default="")
    user_id = models.UUIDField(null=True, blank=True)
    steps = models.JSONField(default=dict)  # follow-up step -> {"state": ..., "message": ...}
    request_ids = models.JSONField(default=list)
    attempts = models.PositiveSmallIntegerField(default=0)
    password_source = models.CharField(max_length=12, blank=True, default="")  # "", "file", "generated"
    password_for_worker = models.TextField(blank=True, default="")  # Fernet ciphertext, until sent
    password_sealed = models.TextField(blank=True, default="")  # sealed to BulkImport.public_key
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bulk_import", "key"], name="unique_bulk_import_row_key")
        ]
        indexes = [
            models.Index(fields=["bulk_import", "status", "position"], name="bulkrow_status_idx"),
            models.Index(fields=["bulk_import", "upn"], name="bulkrow_upn_idx"),
        ]

    def __str__(self) -> str:
        return f"row {self.position} of import {self.bulk_import_id}"

    @property
    def has_problems(self) -> bool:
        return bool(self.problems)
