"""Fast bulk builders for the users table: tenants, their SKUs and thousands of directory users.

Rows go in with ``bulk_create`` in batches, so 20,000 users take a second or two on SQLite; the values are
deterministic (seeded by ``n`` and the tenant) so tests can assert on exact counts.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from django.utils import timezone

from tenants.models import PartnerConnection, Tenant, TenantDomain
from users.models import DirectoryUser, DirectoryUserLicense, TenantSku
from users.search_key import search_key_of

_counter = itertools.count(1)

# (part number, product name) of the SKUs every test tenant subscribes to.
DEFAULT_SKUS = (
    ("SPE_E3", "Microsoft 365 E3"),
    ("EXCHANGESTANDARD", "Exchange Online (Plan 1)"),
    ("POWER_BI_PRO", "Power BI Pro"),
)
FIRST_NAMES = ("Ada", "Brian", "Chloe", "Dmitri", "Elena", "Farah", "Gustav", "Hana", "Ivan", "Jonas")
SURNAMES = ("Lovelace", "Kernighan", "Martin", "Novak", "Okafor", "Petrova", "Quinn", "Rossi", "Sato", "Tan")
DEPARTMENTS = ("Finance", "Sales", "IT", "Operations", "")


def make_connection() -> PartnerConnection:
    connection = PartnerConnection.objects.first()
    if connection is None:
        connection = PartnerConnection.objects.create(
            name="Test partner", partner_tenant_id=uuid.uuid4(), client_id=uuid.uuid4()
        )
    return connection


def make_tenant(name: str | None = None, *, domain: str | None = None, skus=DEFAULT_SKUS, **fields) -> Tenant:
    """A tenant with its default domain recorded and ``skus`` subscribed (pass ``skus=()`` for none)."""
    number = next(_counter)
    name = name or f"Tenant {number}"
    domain = (domain or f"{name.lower().replace(' ', '')}{number}.example").lower()
    fields.setdefault("last_sync_status", Tenant.SyncStatus.OK)
    fields.setdefault("last_sync_at", timezone.now())
    tenant = Tenant.objects.create(
        tenant_id=uuid.uuid4(),
        connection=make_connection(),
        display_name=name,
        default_domain=domain,
        initial_domain=f"{domain.split('.')[0]}.onmicrosoft.com",
        **fields,
    )
    TenantDomain.objects.create(tenant=tenant, name=domain, is_default=True)
    TenantDomain.objects.create(tenant=tenant, name=tenant.initial_domain, is_initial=True)
    TenantSku.objects.bulk_create(
        TenantSku(
            tenant=tenant,
            sku_id=uuid.uuid5(uuid.NAMESPACE_DNS, part),  # the same SKU id in every tenant, like Microsoft's
            part_number=part,
            product_name=product,
            prepaid_units=1000,
        )
        for part, product in skus
    )
    return tenant


def sku_id(part_number: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_DNS, part_number)


def make_users(tenant: Tenant, n: int, *, batch_size: int = 2000, start: int = 0, **overrides) -> int:
    """Create ``n`` users in ``tenant``; every field can be overridden with a constant or a callable(i).

    Default distribution (by index i): every 5th disabled, every 4th unlicensed, every 3rd AD-synced,
    every 10th a guest, alternating between the tenant's two domains; licences cycle through the SKUs.
    """
    skus = list(TenantSku.objects.filter(tenant=tenant).order_by("part_number"))
    domains = [tenant.default_domain, tenant.initial_domain]
    now = timezone.now()
    created = 0
    for batch_start in range(start, start + n, batch_size):
        users, licence_ids = [], []
        for i in range(batch_start, min(start + n, batch_start + batch_size)):
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], SURNAMES[(i // 10) % len(SURNAMES)]
            domain = domains[i % 2]
            alias = f"{first.lower()}.{last.lower()}{i}"
            held = [] if (i % 4 == 0 or not skus) else [skus[i % len(skus)]]
            proxies = [f"SMTP:{alias}@{domain}", f"smtp:{alias}@{tenant.initial_domain}"]
            values = {
                "user_id": uuid.uuid5(tenant.tenant_id, str(i)),
                "user_principal_name": f"{alias}@{domain}",
                "upn_domain": domain,
                "display_name": f"{first} {last} {i:05d}",
                "given_name": first,
                "surname": last,
                "mail": f"{alias}@{domain}",
                "job_title": "Engineer" if i % 2 else "Analyst",
                "department": DEPARTMENTS[i % len(DEPARTMENTS)],
                "city": "Rotterdam" if i % 3 else "Leeds",
                "country": "Netherlands" if i % 3 else "United Kingdom",
                "usage_location": "NL" if i % 3 else "GB",
                "user_type": "Guest" if i % 10 == 9 else "Member",
                "account_enabled": i % 5 != 0,
                "on_premises_sync_enabled": i % 3 == 0,
                "on_premises_last_sync": now - timedelta(hours=i % 48) if i % 3 == 0 else None,
                "created_datetime": now - timedelta(days=i),
                "last_sign_in": now - timedelta(minutes=i) if i % 7 else None,
                "business_phones": [f"+31 10 555 {i:04d}"] if i % 2 else [],
                "mobile_phone": "",
                "proxy_addresses": proxies,
                "proxy_search": " ".join(p.lower() for p in proxies),
                "license_sku_ids": [str(s.sku_id) for s in held],
                "license_names": "; ".join(s.product_name for s in held),
                "is_licensed": bool(held),
                "per_user_mfa_state": ("disabled", "enabled", "enforced")[i % 3],
            }
            for key, value in overrides.items():
                values[key] = value(i) if callable(value) else value
            user = DirectoryUser(tenant=tenant, **values)
            user.search_key = search_key_of(user)  # as the sync writes it (bulk_create skips save())
            users.append(user)
            licence_ids.append([uuid.UUID(str(s)) for s in values["license_sku_ids"]])
        saved = DirectoryUser.objects.bulk_create(users, batch_size=batch_size)
        if saved and saved[0].pk is None:  # backends without RETURNING: fetch ids back
            ids = dict(
                DirectoryUser.objects.filter(
                    tenant=tenant, user_id__in=[u.user_id for u in users]
                ).values_list("user_id", "pk")
            )
            for user in saved:
                user.pk = ids[user.user_id]
        DirectoryUserLicense.objects.bulk_create(
            (
                DirectoryUserLicense(user_id=user.pk, tenant=tenant, sku_id=held)
                for user, held_ids in zip(saved, licence_ids, strict=True)
                for held in held_ids
            ),
            batch_size=batch_size,
        )
        created += len(saved)
    return created


def make_technician(
    username: str = "tech", *, role: str = "reader", scope: str = "only", tenants=(), groups=()
):
    """A technician with a TechnicianProfile (role and tenant scope), as tenants.access reads it."""
    from django.contrib.auth import get_user_model

    from tenants.models import TechnicianProfile

    user = get_user_model().objects.create_user(username=username, password="correct-horse-battery")
    profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
    profile.tenants.set(tenants)
    profile.tenant_groups.set(groups)
    return user


def make_admin(username: str = "admin"):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(username=username, password="correct-horse-battery")
