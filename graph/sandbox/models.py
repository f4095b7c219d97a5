"""State of the sandbox world: tenants, their directory, licences, groups, roles, mailboxes and the
identity platform's grants. Web, workers and restarts share it through the database.

Graph properties that no query needs an index for live in ``properties`` (the Graph JSON shape, camelCase);
the columns beside it are the ones the sandbox filters, orders or pages on at 100,000 users. Helpers in
``graph.sandbox.directory`` keep both in step; nothing else should write these rows.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class SandboxTenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    display_name = models.CharField(max_length=256)
    is_partner = models.BooleanField(default=False)
    country_letter_code = models.CharField(max_length=2, default="GB")
    created_datetime = models.DateTimeField(default=timezone.now)
    # Monotonic change counter; every directory write stamps the changed row with the next value, and a
    # delta token remembers the value it was issued at.
    change_counter = models.BigIntegerField(default=0)
    # Delta tokens issued before this instant answer 410 (the "delta token expiry" switch).
    delta_tokens_valid_after = models.DateTimeField(null=True, blank=True)
    # --- switches (tests, benchmarks and the sandbox admin page set these) ---
    latency_ms = models.PositiveIntegerField(default=0, help_text="added to every Graph/Exchange request")
    throttle_limit = models.PositiveIntegerField(
        default=0, help_text="requests allowed per throttle window before 429 (0 = no budget)"
    )
    throttle_window_seconds = models.PositiveIntegerField(default=10)
    throttle_probability = models.FloatField(
        default=0.0, help_text="share of requests answered 429 at random"
    )
    fault_probability = models.FloatField(default=0.0, help_text="share of requests answered 5xx at random")
    timeout_probability = models.FloatField(
        default=0.0, help_text="share of requests whose answer comes after the client's read timeout"
    )
    drop_probability = models.FloatField(
        default=0.0, help_text="share of requests whose connection is dropped (before or after the work)"
    )
    # Feature data (TAP policy, password rules, ...) that later operations read; JSON keeps it flexible.
    settings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class SandboxDomain(models.Model):
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=255, unique=True)  # lower-case
    is_default = models.BooleanField(default=False)
    is_initial = models.BooleanField(default=False)
    is_verified = models.BooleanField(default=True)
    authentication_type = models.CharField(max_length=16, default="Managed")  # or Federated

    class Meta:
        ordering = ["-is_default", "name"]


class SandboxGdapRelationship(models.Model):
    """A partner tenant's granular delegated admin relationship with a customer tenant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    partner = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="gdap_customers")
    customer = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="gdap_partners")
    display_name = models.CharField(max_length=100)
    status = models.CharField(max_length=32, default="active")
    created_datetime = models.DateTimeField(default=timezone.now)
    end_datetime = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "customer"], name="unique_gdap_pair")]


def smtp_address_key(properties) -> str:
    """``|a@b|c@d|``: the addresses of the user's ``smtp:``/``SMTP:`` proxyAddresses, lower case, without
    the prefix (what ``proxy_addresses.strip_prefix`` gives). ``proxy_addresses.owner_of`` searches this
    narrow column for ``|address|`` instead of the JSON text of every user's properties (detoasting each
    row), then confirms the candidate in Python as before; a false candidate is harmless, a missing one
    would let an address be taken twice, so every write of ``properties`` refreshes it (``save`` below,
    ``directory.sync_columns``, and the seeding ``bulk_create``)."""
    found = []
    for entry in (properties or {}).get("proxyAddresses") or []:
        prefix, sep, rest = str(entry).strip().partition(":")
        if sep and prefix.lower() == "smtp" and rest:
            found.append(rest.lower())
    return f"|{'|'.join(found)}|" if found else ""


class SandboxUser(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="users")
    upn_lower = models.CharField(max_length=255)
    display_name = models.CharField(max_length=256, db_index=True)
    mail_lower = models.CharField(max_length=255, blank=True, default="", db_index=True)
    # smtp_address_key(properties): the proxy addresses the address-clash check searches.
    smtp_addresses = models.TextField(blank=True, default="")
    account_enabled = models.BooleanField(default=True)
    user_type = models.CharField(max_length=16, default="Member")
    created_datetime = models.DateTimeField(default=timezone.now)
    deleted_datetime = models.DateTimeField(null=True, blank=True)  # soft-deleted, restorable 30 days
    version = models.BigIntegerField(default=0, db_index=True)
    # The Graph representation (camelCase), including the fields mirrored in the columns above.
    properties = models.JSONField(default=dict)
    # Salted hash only; the sandbox never keeps a password in clear.
    password_hash = models.CharField(max_length=256, blank=True, default="")
    # Refresh tokens and sessions issued before this instant are invalid (revokeSignInSessions, reset).
    sessions_valid_after = models.DateTimeField(null=True, blank=True)
    # The user's manager (GET/PUT/DELETE /users/{id}/manager/$ref); cleared when the manager is deleted.
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )

    class Meta:
        # A soft-deleted user frees its UPN (Entra lets a new user take it; restoring the old one then fails
        # with a conflict), so only live users must have distinct UPNs.
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "upn_lower"],
                condition=models.Q(deleted_datetime__isnull=True),
                name="unique_sandbox_live_upn",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "deleted_datetime", "id"]),
            models.Index(fields=["tenant", "version"]),
        ]

    def __str__(self) -> str:
        return self.upn_lower

    def save(self, *args, **kwargs):
        # Whoever writes the properties (directory, Exchange, invitations, seeding, tests) keeps the
        # address-clash column true; a save limited to other fields leaves it alone.
        self.smtp_addresses = smtp_address_key(self.properties)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "properties" in update_fields:
            kwargs["update_fields"] = {*update_fields, "smtp_addresses"}
        super().save(*args, **kwargs)


class SandboxSku(models.Model):
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="skus")
    sku_id = models.UUIDField()
    sku_part_number = models.CharField(max_length=128)
    capability_status = models.CharField(max_length=16, default="Enabled")
    applies_to = models.CharField(max_length=16, default="User")
    prepaid_enabled = models.PositiveIntegerField(default=0)
    prepaid_suspended = models.PositiveIntegerField(default=0)
    prepaid_warning = models.PositiveIntegerField(default=0)
    prepaid_locked_out = models.PositiveIntegerField(default=0)
    # [{"servicePlanId", "servicePlanName", "provisioningStatus", "appliesTo"}]
    service_plans = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "sku_id"], name="unique_sandbox_sku")]


class SandboxLicenseAssignment(models.Model):
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="licenses")
    sku = models.ForeignKey(SandboxSku, on_delete=models.CASCADE, related_name="assignments")
    disabled_plans = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "sku"], name="unique_sandbox_license")]


class SandboxGroup(models.Model):
    """All four kinds: Microsoft 365 (groupTypes Unified), security, mail-enabled security and
    distribution (mailEnabled, not security, not Unified); dynamic ones carry a membershipRule."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="groups")
    display_name = models.CharField(max_length=256, db_index=True)
    mail_lower = models.CharField(max_length=255, blank=True, default="")
    mail_enabled = models.BooleanField(default=False)
    security_enabled = models.BooleanField(default=True)
    group_types = models.JSONField(default=list)
    membership_rule = models.TextField(blank=True, default="")
    on_premises_sync_enabled = models.BooleanField(null=True, blank=True)
    created_datetime = models.DateTimeField(default=timezone.now)
    properties = models.JSONField(default=dict)
    # Only a role-assignable group can be assigned a directory role (set at creation, never changed).
    is_assignable_to_role = models.BooleanField(default=False)


class SandboxGroupMember(models.Model):
    group = models.ForeignKey(SandboxGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="group_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="unique_sandbox_member")]


class SandboxDirectoryRole(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="roles")
    role_template_id = models.UUIDField()
    display_name = models.CharField(max_length=256)
    description = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "role_template_id"], name="unique_sandbox_role")
        ]


class SandboxRoleMember(models.Model):
    role = models.ForeignKey(SandboxDirectoryRole, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="role_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["role", "user"], name="unique_sandbox_role_member")]


class SandboxGroupRoleMember(models.Model):
    """A role-assignable group holding a directory role: its members hold the role too (they see it in
    ``transitiveMemberOf``, not in ``memberOf``)."""

    role = models.ForeignKey(SandboxDirectoryRole, on_delete=models.CASCADE, related_name="group_memberships")
    group = models.ForeignKey(SandboxGroup, on_delete=models.CASCADE, related_name="role_memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "group"], name="unique_sandbox_group_role_member")
        ]


class SandboxMailbox(models.Model):
    """Exchange Online's view of a recipient; cmdlet output is built from these columns (PascalCase)."""

    user = models.OneToOneField(SandboxUser, on_delete=models.CASCADE, related_name="mailbox")
    recipient_type_details = models.CharField(max_length=32, default="UserMailbox")
    exchange_guid = models.UUIDField(default=uuid.uuid4)
    archive_guid = models.UUIDField(null=True, blank=True)
    forwarding_smtp_address = models.CharField(max_length=320, blank=True, default="")
    forwarding_address = models.CharField(max_length=320, blank=True, default="")
    deliver_to_mailbox_and_forward = models.BooleanField(default=False)
    hidden_from_address_lists = models.BooleanField(default=False)
    total_item_size_bytes = models.BigIntegerField(default=0)
    # {"AutoReplyState", "InternalMessage", "ExternalMessage", "ExternalAudience", "StartTime", "EndTime"}
    auto_reply = models.JSONField(default=dict)
    properties = models.JSONField(default=dict)


class SandboxAuthCode(models.Model):
    """An authorization code from /authorize, redeemable once at /token (with its PKCE verifier)."""

    code_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=64)
    redirect_uri = models.TextField()
    scope = models.TextField()
    code_challenge = models.CharField(max_length=128, blank=True, default="")
    code_challenge_method = models.CharField(max_length=8, blank=True, default="")
    nonce = models.CharField(max_length=128, blank=True, default="")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class SandboxRefreshToken(models.Model):
    """Refresh tokens are opaque random strings; only their SHA-256 is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=64)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="+")
    scope = models.TextField(blank=True, default="")
    issued_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class SandboxTombstone(models.Model):
    """A directory object removed for good (hard delete); users/delta reports it as ``@removed: deleted``."""

    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="tombstones")
    object_id = models.UUIDField()
    object_type = models.CharField(max_length=32, default="user")
    version = models.BigIntegerField(db_index=True)
    deleted_datetime = models.DateTimeField(default=timezone.now)


# --- per-user activity read by the View user page (seeded by graph.sandbox.seed_activity) ------------------


class SandboxAuthMethod(models.Model):
    """One registered authentication method; ``method_type`` is the Graph type name without the namespace
    (``phoneAuthenticationMethod`` ...) and ``properties`` its Graph JSON without ``id``/``@odata.type``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="auth_methods")
    method_type = models.CharField(max_length=64)
    created_datetime = models.DateTimeField(null=True, blank=True)
    properties = models.JSONField(default=dict)


class SandboxUserAuthentication(models.Model):
    """The beta ``/users/{id}/authentication/requirements`` state; no row means ``disabled``."""

    user = models.OneToOneField(SandboxUser, on_delete=models.CASCADE, related_name="authentication")
    per_user_mfa_state = models.CharField(max_length=16, default="disabled")


class SandboxDevice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="devices")
    display_name = models.CharField(max_length=256)
    properties = models.JSONField(default=dict)  # the Graph device JSON (camelCase)


class SandboxDeviceUser(models.Model):
    """A device's registered owner (``relation="owner"``) or registered user (``relation="user"``)."""

    device = models.ForeignKey(SandboxDevice, on_delete=models.CASCADE, related_name="links")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="device_links")
    relation = models.CharField(max_length=8)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "user", "relation"], name="unique_sandbox_device_user")
        ]


class SandboxSignIn(models.Model):
    """One sign-in log entry (``/auditLogs/signIns``); ``properties`` is the Graph signIn JSON."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="sign_ins")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="sign_ins")
    created_datetime = models.DateTimeField()
    properties = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_datetime", "id"]),
            models.Index(fields=["user", "-created_datetime"]),
        ]


class SandboxDrive(models.Model):
    """A user's OneDrive; a user without a row has no OneDrive provisioned (Graph answers 404)."""

    id = models.CharField(primary_key=True, max_length=80)  # Graph drive ids look like "b!Xy..."
    user = models.OneToOneField(SandboxUser, on_delete=models.CASCADE, related_name="drive")
    created_datetime = models.DateTimeField(default=timezone.now)
    quota_total = models.BigIntegerField(default=1024**4)
    quota_used = models.BigIntegerField(default=0)
    quota_deleted = models.BigIntegerField(default=0)
    web_url = models.URLField(max_length=400, blank=True, default="")


# --- security actions: TAP secrets, service principals and the legacy MFA connector (seed_security) -------


class SandboxTapSecret(models.Model):
    """The SHA-256 of a Temporary Access Pass (its method row is a SandboxAuthMethod). The pass itself is
    returned once by the create call and never kept, as in Microsoft's service."""

    method = models.OneToOneField(SandboxAuthMethod, on_delete=models.CASCADE, related_name="tap_secret")
    pass_hash = models.CharField(max_length=64)


class SandboxServicePrincipal(models.Model):
    """An enterprise application in a tenant, e.g. the first-party "Azure Multi-Factor Auth Client"."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="service_principals")
    app_id = models.UUIDField()
    display_name = models.CharField(max_length=256)
    created_datetime = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "app_id"], name="unique_sandbox_service_principal")
        ]


class SandboxServicePrincipalSecret(models.Model):
    """A password credential added with addPassword; only the secret's SHA-256 is stored."""

    service_principal = models.ForeignKey(
        SandboxServicePrincipal, on_delete=models.CASCADE, related_name="secrets"
    )
    key_id = models.UUIDField(default=uuid.uuid4, unique=True)
    display_name = models.CharField(max_length=256, blank=True, default="")
    hint = models.CharField(max_length=3, blank=True, default="")
    secret_hash = models.CharField(max_length=64)
    start_datetime = models.DateTimeField()
    end_datetime = models.DateTimeField()


class SandboxMfaPushAnswer(models.Model):
    """How a user answers a push from the legacy MFA connector. No row: approve when the user has the
    Authenticator app (or a phone), otherwise no answer (time-out)."""

    APPROVE, DENY, TIMEOUT = "approve", "deny", "timeout"

    user = models.OneToOneField(SandboxUser, on_delete=models.CASCADE, related_name="mfa_push_answer")
    answer = models.CharField(max_length=8, default=APPROVE)


# --- inbox rules (Get-InboxRule; seeded by graph.sandbox.seed_mail) ----------------------------------------


class SandboxInboxRule(models.Model):
    """One Outlook inbox rule of a mailbox. ``hidden`` rules (the junk-mail rule, Exchange's
    ``Microsoft.Exchange.OOF.*`` automatic-reply rules) are listed only with ``-IncludeHidden``;
    ``properties`` holds the rule's conditions and actions with Exchange's PascalCase names
    (``ForwardTo``, ``RedirectTo``, ``ForwardAsAttachmentTo``, ``MoveToFolder``, ``From`` ...)."""

    mailbox = models.ForeignKey(SandboxMailbox, on_delete=models.CASCADE, related_name="inbox_rules")
    rule_id = models.BigIntegerField()  # Exchange's RuleIdentity, unique per mailbox
    name = models.CharField(max_length=256)
    priority = models.PositiveIntegerField(default=1)
    enabled = models.BooleanField(default=True)
    hidden = models.BooleanField(default=False)
    properties = models.JSONField(default=dict)

    class Meta:
        ordering = ["priority", "rule_id"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "rule_id"], name="unique_sandbox_inbox_rule")
        ]


# --- SharePoint: team sites, their libraries and folders, OneDrive shortcuts and provisioning -------------


class SandboxSite(models.Model):
    """A SharePoint site; ``id`` is Graph's composite ``{hostname},{site collection id},{web id}``."""

    id = models.CharField(primary_key=True, max_length=200)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="sites")
    hostname = models.CharField(max_length=255)  # northwindtraders.sharepoint.com
    path = models.CharField(max_length=255, blank=True, default="")  # "" for the root site, "/sites/Finance"
    display_name = models.CharField(max_length=256)
    description = models.TextField(blank=True, default="")
    created_datetime = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hostname", "path"], name="unique_sandbox_site_path")]

    @property
    def web_url(self) -> str:
        return f"https://{self.hostname}{self.path}"


class SandboxDriveItem(models.Model):
    """A folder in a site's document library, or an item at the root of a user's OneDrive.

    A library is its root item (``is_root``, ``parent`` null, ``library_name`` "Documents", ``name`` "root"
    as Graph names every root). OneDrive items carry ``user`` and have ``parent`` null (children of the
    drive's root); a shortcut is such an item whose ``remote_item`` points at a library folder.
    ``url_key`` is the lower-case, decoded ``host/path`` of a library item, what a pasted URL is matched on.
    """

    id = models.CharField(primary_key=True, max_length=80)
    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="drive_items")
    drive_id = models.CharField(max_length=80, db_index=True)
    site = models.ForeignKey(
        SandboxSite, on_delete=models.CASCADE, null=True, blank=True, related_name="items"
    )
    user = models.ForeignKey(
        SandboxUser, on_delete=models.CASCADE, null=True, blank=True, related_name="onedrive_items"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=256)
    is_root = models.BooleanField(default=False)
    library_name = models.CharField(max_length=256, blank=True, default="")
    url_key = models.CharField(max_length=600, blank=True, default="", db_index=True)
    web_url = models.CharField(max_length=600, blank=True, default="")
    remote_item = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="shortcuts"
    )
    created_datetime = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=256, blank=True, default="")


class SandboxPersonalSiteRequest(models.Model):
    """A queued OneDrive creation (CSOM ``RequestPersonalSites``). Until ``ready_at`` the user's drive
    answers 404 as Graph does; the first read after it creates the SandboxDrive (``graph.sandbox.sharepoint``)."""

    user = models.OneToOneField(SandboxUser, on_delete=models.CASCADE, related_name="personal_site_request")
    requested_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField()
    requested_by = models.CharField(max_length=255, blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)


# Compromise research sources live in their own module (models_research); importing them here registers them
# with the app like every other sandbox model.
from .models_research import (  # noqa: E402, F401
    SandboxAppRoleAssignment,
    SandboxDirectoryAudit,
    SandboxMessageTrace,
    SandboxOAuth2PermissionGrant,
    SandboxRiskyUser,
    SandboxServicePrincipalDetail,
    SandboxUnifiedAuditRecord,
)
