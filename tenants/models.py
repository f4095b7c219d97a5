"""Partner connections and the customer tenants reached through them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cippusers.crypto import EncryptedTextField


class PartnerConnection(models.Model):
    """How we reach customers: the MSP's own (partner) tenant, its app registration, and the Secure
    Application Model refresh token of a partner admin. Secrets are encrypted at rest and never shown
    again after entry. Endpoints default to Microsoft's public cloud; the sandbox connection points them
    at the embedded sandbox, which is the only thing that makes it different."""

    class AuthMode(models.TextChoices):
        DELEGATED = "delegated", "Delegated (GDAP, partner refresh token)"
        APP_ONLY = "app_only", "Application (client credentials)"

    name = models.CharField(max_length=120, unique=True)
    partner_tenant_id = models.UUIDField()
    client_id = models.UUIDField()
    client_secret = EncryptedTextField(blank=True, default="")
    certificate_pem = EncryptedTextField(blank=True, default="", help_text="PEM private key + certificate")
    certificate_thumbprint = models.CharField(max_length=64, blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    refresh_token_obtained_at = models.DateTimeField(null=True, blank=True)
    refresh_token_upn = models.CharField(max_length=255, blank=True, default="")
    default_auth_mode = models.CharField(max_length=16, choices=AuthMode, default=AuthMode.DELEGATED)
    login_url = models.URLField(default="https://login.microsoftonline.com")
    graph_url = models.URLField(default="https://graph.microsoft.com")
    exchange_url = models.URLField(default="https://outlook.office365.com")
    # Where a tenant's SharePoint admin site is reached; "{name}" is the tenant's SharePoint name
    # (northwindtraders in northwindtraders-admin.sharepoint.com). The token audience stays Microsoft's
    # https://{name}-admin.sharepoint.com whatever this says (the sandbox serves it under one host).
    sharepoint_url_template = models.CharField(max_length=255, default="https://{name}-admin.sharepoint.com")
    is_sandbox = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret)

    @property
    def has_certificate(self) -> bool:
        return bool(self.certificate_pem)

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token)


class Tenant(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        SANDBOX = "sandbox", "Sandbox"

    class SyncStatus(models.TextChoices):
        NEVER = "never", "Never synced"
        RUNNING = "running", "Syncing"
        OK = "ok", "Up to date"
        FAILED = "failed", "Failed"

    tenant_id = models.UUIDField(unique=True)
    connection = models.ForeignKey(PartnerConnection, on_delete=models.PROTECT, related_name="tenants")
    display_name = models.CharField(max_length=256)
    default_domain = models.CharField(max_length=255, blank=True, default="")
    initial_domain = models.CharField(max_length=255, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.CUSTOMER)
    enabled = models.BooleanField(default=True)
    added_manually = models.BooleanField(default=False)
    # Capabilities detected from subscribedSkus / organization; refreshed by the directory sync.
    has_entra_p1 = models.BooleanField(default=False)
    has_entra_p2 = models.BooleanField(default=False)
    has_hybrid_sync = models.BooleanField(default=False)
    has_exchange = models.BooleanField(default=False)
    sharepoint_admin_host = models.CharField(max_length=255, blank=True, default="")
    capabilities_checked_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=16, choices=SyncStatus, default=SyncStatus.NEVER)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True, default="")
    discovered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.default_domain or self.tenant_id})"

    @property
    def slug(self) -> str:
        """What URLs carry: the default domain reads better than a GUID; both resolve."""
        return self.default_domain or str(self.tenant_id)


class TenantDomain(models.Model):
    """Every verified domain of a tenant, so a tenant can be looked up by any of them."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=255, unique=True)  # stored lower-case
    is_default = models.BooleanField(default=False)
    is_initial = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = self.name.lower()
        super().save(*args, **kwargs)


class FavouriteTenant(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_tenants"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="unique_favourite_tenant")]


class TenantGroup(models.Model):
    """A named set of tenants, usable as a technician's scope and as a table scope."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=256, blank=True, default="")
    tenants = models.ManyToManyField(Tenant, related_name="groups", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TechnicianProfile(models.Model):
    """A technician's role and tenant scope. ``tenants.access`` is the one place that reads it."""

    class Role(models.TextChoices):
        READER = "reader", "Reader"
        HELPDESK = "helpdesk", "Helpdesk"
        EDITOR = "editor", "Editor"
        ADMIN = "admin", "Admin"

    class Scope(models.TextChoices):
        ALL = "all", "All tenants"
        ONLY = "only", "Only these tenants"
        EXCEPT = "except", "All tenants except these"
        GROUPS = "groups", "Tenants in these groups"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="technician")
    role = models.CharField(max_length=16, choices=Role, default=Role.READER)
    scope = models.CharField(max_length=16, choices=Scope, default=Scope.ONLY)
    tenants = models.ManyToManyField(Tenant, related_name="+", blank=True)
    tenant_groups = models.ManyToManyField(TenantGroup, related_name="+", blank=True)
    entra_object_id = models.UUIDField(null=True, blank=True, unique=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"
