"""Sandbox state for compromise research: directory audits, service principal details, OAuth grants, app
role assignments, risky users, unified audit records and message traces (seeded by
``graph.sandbox.seed_compromise``). Split from ``models`` by concern; ``models`` re-exports every class, and
relations name their targets as "sandbox.<Model>" so this module needs nothing from ``models``."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

# --- compromise research sources (helper E; seeded by graph.sandbox.seed_compromise) ----------------------
# Directory audits, OAuth2 grants, app role assignments, risky users, the unified audit log and message trace.
# ``properties`` holds the Graph (camelCase) or Exchange (PascalCase) JSON of a row; the columns beside it are
# what the endpoints filter and page on.


class SandboxDirectoryAudit(models.Model):
    """One Entra audit log entry (``/auditLogs/directoryAudits``). ``target_ids`` is ``|id|id|`` so that
    ``targetResources/any(t:t/id eq '...')`` is one indexed-free substring test on either database."""

    id = models.CharField(primary_key=True, max_length=80)
    tenant = models.ForeignKey(
        "sandbox.SandboxTenant", on_delete=models.CASCADE, related_name="directory_audits"
    )
    activity_datetime = models.DateTimeField()
    activity_display_name = models.CharField(max_length=256)
    category = models.CharField(max_length=64, blank=True, default="")
    initiated_by_user_id = models.CharField(max_length=64, blank=True, default="")
    initiated_by_upn = models.CharField(max_length=255, blank=True, default="")
    target_ids = models.TextField(blank=True, default="")
    properties = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-activity_datetime", "id"])]


class SandboxServicePrincipalDetail(models.Model):
    """Publisher facts of a service principal that the security actions' table does not carry:
    ``appOwnerOrganizationId``, ``publisherName``, ``verifiedPublisher``, ``appRoles``, ``signInAudience``
    (Graph JSON in ``properties``). One row per service principal that has them."""

    service_principal = models.OneToOneField(
        "sandbox.SandboxServicePrincipal", on_delete=models.CASCADE, related_name="detail"
    )
    properties = models.JSONField(default=dict)


class SandboxOAuth2PermissionGrant(models.Model):
    """A delegated permission grant (``oAuth2PermissionGrant``): ``client`` may call ``resource`` with
    ``scope`` on behalf of ``principal`` (consentType Principal) or everyone (AllPrincipals)."""

    id = models.CharField(primary_key=True, max_length=80)  # Graph's ids are opaque base64url strings
    tenant = models.ForeignKey(
        "sandbox.SandboxTenant", on_delete=models.CASCADE, related_name="oauth2_grants"
    )
    client = models.ForeignKey(
        "sandbox.SandboxServicePrincipal", on_delete=models.CASCADE, related_name="grants_as_client"
    )
    resource = models.ForeignKey(
        "sandbox.SandboxServicePrincipal", on_delete=models.CASCADE, related_name="grants_as_resource"
    )
    consent_type = models.CharField(max_length=16, default="Principal")
    principal = models.ForeignKey(
        "sandbox.SandboxUser", null=True, blank=True, on_delete=models.CASCADE, related_name="oauth2_grants"
    )
    scope = models.TextField(blank=True, default="")


class SandboxAppRoleAssignment(models.Model):
    """An app role a user holds on a resource service principal (``/users/{id}/appRoleAssignments``)."""

    id = models.CharField(primary_key=True, max_length=80)
    principal = models.ForeignKey(
        "sandbox.SandboxUser", on_delete=models.CASCADE, related_name="app_role_assignments"
    )
    resource = models.ForeignKey(
        "sandbox.SandboxServicePrincipal", on_delete=models.CASCADE, related_name="app_role_assignments"
    )
    app_role_id = models.UUIDField()
    created_datetime = models.DateTimeField(default=timezone.now)


class SandboxRiskyUser(models.Model):
    """Identity Protection's view of a user (``/identityProtection/riskyUsers``); no row = never at risk."""

    user = models.OneToOneField("sandbox.SandboxUser", on_delete=models.CASCADE, related_name="risk")
    risk_level = models.CharField(max_length=16, default="none")
    risk_state = models.CharField(max_length=32, default="none")
    risk_detail = models.CharField(max_length=64, default="none")
    risk_last_updated = models.DateTimeField(default=timezone.now)


class SandboxUnifiedAuditRecord(models.Model):
    """One unified audit log record (Search-UnifiedAuditLog); ``audit_data`` is the AuditData JSON."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant = models.ForeignKey(
        "sandbox.SandboxTenant", on_delete=models.CASCADE, related_name="unified_audit_records"
    )
    creation_date = models.DateTimeField()
    record_type = models.CharField(max_length=64)
    operation = models.CharField(max_length=128)
    user_id = models.CharField(max_length=255)  # lower-case UPN of whoever acted
    object_id = models.CharField(max_length=512, blank=True, default="")
    audit_data = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["tenant", "creation_date"])]


class SandboxMessageTrace(models.Model):
    """One message-trace row: one message to one recipient (Get-MessageTraceV2)."""

    tenant = models.ForeignKey(
        "sandbox.SandboxTenant", on_delete=models.CASCADE, related_name="message_traces"
    )
    message_trace_id = models.UUIDField(default=uuid.uuid4)
    received = models.DateTimeField()
    sender_address = models.CharField(max_length=320)  # lower-case
    recipient_address = models.CharField(max_length=320)  # lower-case
    subject = models.CharField(max_length=512, blank=True, default="")
    status = models.CharField(max_length=32, default="Delivered")
    from_ip = models.CharField(max_length=64, blank=True, default="")
    to_ip = models.CharField(max_length=64, blank=True, default="")
    size = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=256, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["tenant", "sender_address", "-received"])]
