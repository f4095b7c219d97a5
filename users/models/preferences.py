from django.conf import settings
from django.db import models


class TechnicianPreference(models.Model):
    """Per-technician UI choices (e.g. the users table's columns), keyed by a short name."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    key = models.CharField(max_length=64)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="unique_technician_preference")]
