"""Jobs: the single source of truth for background and multi-user work.

A Job is created by a view (one per run), gets one JobItem per target, and is then worked by a Celery task
that records each item's outcome as it goes; the progress page polls the Job row. Items carry a stable
``key`` so a retried or resumed job never redoes an item that already finished. Nothing secret is ever
stored here (no passwords, no passes): results hold messages and non-secret details only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class Job(models.Model):
    class Kind(models.TextChoices):
        ACTION = "action", "User action"
        BULK_ADD = "bulk_add", "Bulk add users"
        RESEARCH = "research", "Compromise research"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Finished with failures"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=16, choices=Kind, default=Kind.ACTION)
    action_key = models.CharField(max_length=64, blank=True, default="")
    label = models.CharField(max_length=200)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED, db_index=True)
    parameters = models.JSONField(default=dict)  # the action's form data, secrets removed
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_status_display()})"

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)


class JobItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        ACCEPTED = "accepted", "Accepted, not yet confirmed"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Not sent (cancelled)"

    FINISHED = (Status.SUCCESS, Status.ACCEPTED, Status.FAILED, Status.SKIPPED, Status.CANCELLED)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=128)  # stable idempotency key within the job
    position = models.PositiveIntegerField(default=0)
    tenant = models.ForeignKey(Tenant, null=True, on_delete=models.SET_NULL, related_name="+")
    target_user_id = models.UUIDField(null=True, blank=True)
    target_upn = models.CharField(max_length=255, blank=True, default="")
    target_name = models.CharField(max_length=256, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING, db_index=True)
    message = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict)  # non-secret result details shown on the results page
    request_ids = models.JSONField(default=list)
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="unique_job_item_key")]
