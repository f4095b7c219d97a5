"""The audit log: an append-only record of every change a technician makes.

Rows are written once through ``users.audit.record`` and never updated or deleted by the application
(``save`` refuses updates, ``delete`` refuses always; the queryset's ``update``/``delete`` are blocked too).
Each row carries the hash of the previous row, so a gap or an edit made outside the application (for
example in a restored backup) is detectable with ``manage.py audit_verify``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit entries are append-only")

    def delete(self):
        raise PermissionError("audit entries are append-only")


class AuditEntry(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        ACCEPTED = "accepted", "Accepted (not yet confirmed)"
        QUEUED = "queued", "Queued"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="audit_entries"
    )
    technician_name = models.CharField(max_length=150)  # kept when the account is removed
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    tenant_name = models.CharField(max_length=256, blank=True, default="")
    target_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    target_upn = models.CharField(max_length=255, blank=True, default="", db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    parameters = models.JSONField(default=dict)  # secrets removed before saving
    result = models.CharField(max_length=16, choices=Result, db_index=True)
    message = models.TextField(blank=True, default="")
    request_ids = models.JSONField(default=list)  # Graph request-id values
    job_id = models.BigIntegerField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True, default="")
    entry_hash = models.CharField(max_length=64, blank=True, default="")

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")
