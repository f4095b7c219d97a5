"""The local directory cache: one row per user per tenant, kept fresh by Graph delta queries.

The users table, its search, sort, filters and exports read only these rows, never Graph. Columns are
denormalised for the table (licence names flattened, UPN domain split out, proxy addresses joined for
search) so that every page is one indexed query at 100,000 users or across all tenants.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenants.models import Tenant
from users.search_key import KEY_SOURCE_FIELDS, search_key_of


class TenantSku(models.Model):
    """A tenant's subscribed SKU (from /subscribedSkus) with its product name resolved once."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="skus")
    sku_id = models.UUIDField()
    part_number = models.CharField(max_length=128)
    product_name = models.CharField(max_length=256)
    prepaid_units = models.PositiveIntegerField(default=0)
    consumed_units = models.PositiveIntegerField(default=0)
    capability_status = models.CharField(max_length=16, default="Enabled")
    service_plans = models.JSONField(default=list)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product_name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "sku_id"], name="unique_tenant_sku")]

    def __str__(self) -> str:
        return self.product_name

    @property
    def available_units(self) -> int:
        return max(0, self.prepaid_units - self.consumed_units)


# (column, short name) of the users table's sortable columns that need their own ordered index.
SORT_INDEX_COLUMNS = (
    ("mail", "mail"),
    ("user_principal_name", "upn"),
    ("license_names", "licences"),
    ("account_enabled", "enabled"),
    ("on_premises_sync_enabled", "synced"),
    ("job_title", "job"),
    ("department", "dept"),
    ("office_location", "office"),
    ("city", "city"),
    ("country", "country"),
    ("usage_location", "usageloc"),
    ("user_type", "type"),
    ("company_name", "company"),
    ("mobile_phone", "mobile"),
    ("per_user_mfa_state", "mfa"),
    ("last_sign_in", "signin"),
    ("created_datetime", "created"),
    ("on_premises_last_sync", "adsync"),
)


class DirectoryUser(models.Model):
    # No index of its own: every (tenant, ...) index below serves tenant lookups, and each index costs
    # the sync time.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="directory_users", db_index=False
    )
    user_id = models.UUIDField()  # Graph object id
    user_principal_name = models.CharField(max_length=255)
    upn_domain = models.CharField(max_length=255, default="")
    display_name = models.CharField(max_length=256, default="")
    given_name = models.CharField(max_length=64, blank=True, default="")
    surname = models.CharField(max_length=64, blank=True, default="")
    mail = models.CharField(max_length=320, blank=True, default="")
    job_title = models.CharField(max_length=128, blank=True, default="")
    department = models.CharField(max_length=64, blank=True, default="")
    office_location = models.CharField(max_length=128, blank=True, default="")
    city = models.CharField(max_length=128, blank=True, default="")
    country = models.CharField(max_length=128, blank=True, default="")
    usage_location = models.CharField(max_length=2, blank=True, default="")
    user_type = models.CharField(max_length=16, default="Member")
    company_name = models.CharField(max_length=64, blank=True, default="")
    mobile_phone = models.CharField(max_length=64, blank=True, default="")
    business_phones = models.JSONField(default=list)
    proxy_addresses = models.JSONField(default=list)
    # Lower-case proxy addresses joined by spaces, so search can match any alias with one LIKE.
    proxy_search = models.TextField(blank=True, default="")
    # Names and addresses folded for case- and accent-insensitive search (users.search_key), written by the
    # sync with the row; a pg_trgm GIN index on PostgreSQL (migration 0010).
    search_key = models.TextField(blank=True, default="", editable=False)
    account_enabled = models.BooleanField(default=True)
    on_premises_sync_enabled = models.BooleanField(default=False)
    on_premises_immutable_id = models.CharField(max_length=128, blank=True, default="")
    on_premises_last_sync = models.DateTimeField(null=True, blank=True)
    created_datetime = models.DateTimeField(null=True, blank=True)
    last_sign_in = models.DateTimeField(null=True, blank=True)
    license_sku_ids = models.JSONField(default=list)
    # Product names joined with "; " in a stable order: what the table shows, sorts on and exports.
    license_names = models.TextField(blank=True, default="")
    is_licensed = models.BooleanField(default=False)
    per_user_mfa_state = models.CharField(max_length=16, blank=True, default="")
    # The Graph user record as last received ($select of the sync), for the details panel.
    graph = models.JSONField(default=dict)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user_id"], name="unique_directory_user")]
        indexes = [
            models.Index(fields=["tenant", "display_name"]),
            models.Index(fields=["tenant", "upn_domain"]),
            # Every sortable column gets (tenant, column, id): a page is an ordered index walk that stops
            # after 50 rows in one tenant, and across several tenants a merge of per-tenant walks
            # (users.query_merge). The nullable dates also get DESC NULLS LAST twins on PostgreSQL
            # (migration 0004), matching the table's "never signed in goes last" ordering. No
            # (column, id) indexes: the merge does not need them and every index costs the sync time.
            *[
                models.Index(fields=["tenant", column, "id"], name=f"dirusers_tsort_{short}")
                for column, short in SORT_INDEX_COLUMNS
            ],
            models.Index(fields=["tenant", "is_licensed"], name="dirusers_tenant_licensed"),
            # Sort by tenant reads each tenant's slice in id order (users.queries._paginate_by_tenant).
            models.Index(fields=["tenant", "id"], name="dirusers_tenant_id"),
        ]

    def __str__(self) -> str:
        return self.user_principal_name

    def save(self, *args, **kwargs):
        # The sync writes rows with its own upsert (users.sync.store) and builds the key there; a row saved
        # through the ORM (tests, admin scripts) keeps its key in step the same way.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or set(update_fields) & set(KEY_SOURCE_FIELDS):
            self.search_key = search_key_of(self)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "search_key"}
        super().save(*args, **kwargs)


class DirectoryUserLicense(models.Model):
    """(user, SKU) pairs so "users holding SKU X" is an indexed lookup on any database."""

    # Covered by the unique (user, sku_id) and the (tenant, sku_id) indexes.
    user = models.ForeignKey(DirectoryUser, on_delete=models.CASCADE, related_name="licenses", db_index=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    sku_id = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "sku_id"], name="unique_directory_user_license")
        ]
        indexes = [models.Index(fields=["tenant", "sku_id"])]


class DirectorySyncState(models.Model):
    """Where a tenant's directory sync stands: the deltaLink to continue from, and who holds the lock."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="sync_state")
    delta_link = models.TextField(blank=True, default="")
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_delta_sync_at = models.DateTimeField(null=True, blank=True)
    last_sign_in_sync_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=64, blank=True, default="")
    locked_until = models.DateTimeField(null=True, blank=True)
    user_count = models.PositiveIntegerField(default=0)
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_request_count = models.PositiveIntegerField(default=0)
    # When the beat last queued, or a worker last started, a sync: keeps a failing tenant from being
    # re-queued every minute (it is retried after the sync interval like any other).
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Why the last full sync ran instead of a delta round ("first sync", "delta link expired (410)", ...).
    last_full_sync_reason = models.CharField(max_length=255, blank=True, default="")
    # The sign-in activity query is best effort: its failure is kept here and does not fail the sync.
    sign_in_error = models.TextField(blank=True, default="")
    # Fingerprint of the $select the delta link was issued for: a new property in the sync's $select needs
    # a full sync (a delta link keeps the $select of its first request).
    delta_select = models.CharField(max_length=64, blank=True, default="")
