"""Compromise research reports: one per tenant and user, replaced by each new gathering.

The report is keyed by the tenant *and* the user (the reference product keyed it by the user id alone, so a
poll with another tenant's user id could read it). ``sections`` holds what each evidence source returned
(or why it could not be read) and the flags the indicator rules put on it; ``verdict`` the summary the page
shows at the top. Neither ever holds a secret: sources return log records and settings, never passwords,
passes or tokens, and everything is passed through ``users.audit.strip_secrets`` before it is saved.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant

from .jobs import Job


class CompromiseReport(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user_id = models.UUIDField()  # Graph object id
    user_principal_name = models.CharField(max_length=255)
    display_name = models.CharField(max_length=256, blank=True, default="")
    window_days = models.PositiveSmallIntegerField(default=7)
    gathered_at = models.DateTimeField(null=True, blank=True)  # None until a gathering has finished
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    remediation_job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sections = models.JSONField(default=dict)
    verdict = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user_id"], name="unique_compromise_report_user")
        ]

    def __str__(self) -> str:
        return f"Compromise research: {self.user_principal_name}"
