"""table_page: the users table (/users/) served from the directory cache, no Graph involved.

Two worlds, written straight into the cache with tests/users/factories.py (bulk_create) and reused by
later runs when they are already there with the right size:
  * one tenant of 100,000 users (``--size small``: 5,000), viewed by a superuser with ``?tenant=<GUID>``;
  * 200 tenants x 500 users (small: 20 x 100) in "All tenants" (``?tenant=all``), viewed by an Admin
    technician whose scope is a tenant group holding exactly those tenants — so "All tenants" is those
    100,000 rows and not also the other benchmarks' tenants sharing the bench database.

Server time is measured in-process: django.test.Client (full middleware stack: sessions, auth, CSP,
htmx; the full page, not the htmx partial), timed around ``client.get`` with DEBUG off. No network or
gunicorn in the figure. Every case runs a warm-up request, then N timed ones; p50/p95 are nearest-rank.
Database queries per page come from CaptureQueriesContext at 25 and 500 rows per page.
"""

from __future__ import annotations

import time
import uuid

from .harness import BenchContext, benchmark, emit
from .util import log, migrate, percentile, rounded

SINGLE_FULL, SINGLE_SMALL = 100_000, 5_000
MULTI_FULL, MULTI_SMALL = (200, 500), (20, 100)
TARGET_P95_MS = 50
PASSWORD = "bench-correct-horse-battery"


def _delete_tenants(tenants) -> None:
    """Set-based delete of bench tenants and their cache (the ORM collector is slow at 100,000 rows)."""
    from tenants.models import Tenant
    from users.models import DirectoryUser, DirectoryUserLicense

    ids = list(tenants.values_list("pk", flat=True))
    DirectoryUserLicense.objects.filter(tenant_id__in=ids)._raw_delete("default")
    DirectoryUser.objects.filter(tenant_id__in=ids)._raw_delete("default")
    Tenant.objects.filter(pk__in=ids).delete()


def single_tenant(users: int):
    """The one-tenant world: a tenant named after its size, holding exactly ``users`` cached users."""
    from tenants.models import Tenant
    from tests.users.factories import make_tenant, make_users
    from users.models import DirectoryUser

    migrate()
    name = f"Bench table {users} users"
    tenant = Tenant.objects.filter(display_name=name).first()
    if tenant is not None and DirectoryUser.objects.filter(tenant=tenant).count() == users:
        return tenant
    _delete_tenants(Tenant.objects.filter(display_name=name))
    log(f"creating {users:,} cached users in one tenant (once; later runs reuse them)")
    tenant = make_tenant(name, domain=f"bench-table-{users}.example")
    make_users(tenant, users, batch_size=5000)
    _analyze()
    return tenant


def multi_tenant_group(tenants: int, users: int):
    """The All-tenants world: ``tenants`` tenants of ``users`` users in a TenantGroup named after it."""
    from tenants.models import Tenant, TenantGroup
    from tests.users.factories import make_tenant, make_users
    from users.models import DirectoryUser

    migrate()
    label = f"Bench all tenants {tenants}x{users}"
    group = TenantGroup.objects.filter(name=label).first()
    if group is not None:
        members = group.tenants.all()
        if (
            members.count() == tenants
            and DirectoryUser.objects.filter(tenant__in=members).count() == tenants * users
        ):
            return group
    _delete_tenants(Tenant.objects.filter(display_name__startswith=f"{label} #"))
    log(f"creating {tenants} tenants x {users:,} cached users (once; later runs reuse them)")
    group, _ = TenantGroup.objects.get_or_create(name=label)
    created = []
    for number in range(1, tenants + 1):
        tenant = make_tenant(f"{label} #{number:03d}", domain=f"bench-{tenants}x{users}-{number}.example")
        make_users(tenant, users, batch_size=5000)
        created.append(tenant)
    group.tenants.set(created)
    _analyze()
    return group


def _analyze() -> None:
    """Leave the cache table as a directory sync does after a bulk load (users.sync.service runs
    VACUUM ANALYZE after a full sync), so counts are index-only scans."""
    from users.sync.service import refresh_table_statistics

    refresh_table_statistics(rows_written=10**9)


def superuser_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, created = get_user_model().objects.get_or_create(
        username="bench-superuser", defaults={"is_superuser": True, "is_staff": True}
    )
    if created:
        user.set_password(PASSWORD)
        user.save()
    client = Client()
    client.force_login(user)
    return client


def group_admin_client(group):
    """An Admin technician whose whole scope is ``group`` (what they see as All tenants)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from tenants.models import TechnicianProfile

    username = f"bench-admin-{group.pk}"
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_password(PASSWORD)
        user.save()
    profile, _ = TechnicianProfile.objects.get_or_create(user=user)
    profile.role, profile.scope = TechnicianProfile.Role.ADMIN, TechnicianProfile.Scope.GROUPS
    profile.save()
    profile.tenant_groups.set([group])
    profile.tenants.clear()
    client = Client()
    client.force_login(user)
    return client


def cases(domain: str, sku_id: uuid.UUID, *, deep_page: int) -> list[tuple[str, dict]]:
    """(label, query parameters): each sortable column, a search, each filter, and a deep page."""
    from users.tables import SORTABLE

    found = [(f"sort={key}", {"sort": key}) for key in SORTABLE]
    found += [
        ("search q=martin", {"q": "martin"}),
        ("filter status=disabled", {"status": "disabled"}),
        ("filter licence=unlicensed", {"licence": "unlicensed"}),
        ("filter sku=E3", {"sku": str(sku_id)}),
        ("filter source=synced", {"source": "synced"}),
        ("filter type=guest", {"type": "guest"}),
        (f"filter domain={domain}", {"domain": domain}),
        (f"page={deep_page} (deep offset)", {"page": str(deep_page)}),
    ]
    return found


def time_requests(client, params: dict, runs: int) -> list[float]:
    client.get("/users/", params)  # warm-up (template and query-plan caches)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/users/", params)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"/users/ {params} answered {response.status_code}")
    return samples


def queries_per_page(client, params: dict, per_page: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/users/", {**params, "per_page": str(per_page)})
    if response.status_code != 200:
        raise RuntimeError(f"/users/ answered {response.status_code}")
    return len(captured.captured_queries)


def measure_scope(label: str, client, base: dict, domain: str, rows: int, context: BenchContext) -> None:
    from tests.users.factories import sku_id

    runs = 20 if context.full else 5
    worst = 0.0
    deep_page = max(1, rows // 50 // 2)
    extra = {"scope": label, "rows": rows, "page_size": 50, "runs": runs, "size": context.size}
    for case, params in cases(domain, sku_id("SPE_E3"), deep_page=deep_page):
        samples = time_requests(client, {**base, **params}, runs)
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        worst = max(worst, p95)
        emit("table_page", "server_time_p95", rounded(p95), "ms", case=case, p50_ms=rounded(p50), **extra)
    emit("table_page", "worst_p95", rounded(worst), "ms", target=f"<= {TARGET_P95_MS}", **extra)
    for per_page in (25, 500):
        count = queries_per_page(client, base, per_page)
        emit("table_page", "queries_per_page", count, "queries", scope=label, rows=rows, page_size=per_page)


@benchmark("table_page")
def table_page(context: BenchContext) -> None:
    from django.test.utils import override_settings

    single_users = SINGLE_FULL if context.full else SINGLE_SMALL
    multi_tenants, multi_users = MULTI_FULL if context.full else MULTI_SMALL
    tenant = single_tenant(single_users)
    group = multi_tenant_group(multi_tenants, multi_users)
    _analyze()  # reused data too: indexes added by a later migration need fresh statistics
    with override_settings(DEBUG=False):
        log(f"one tenant, {single_users:,} users")
        measure_scope(
            f"one tenant ({single_users:,} users)",
            superuser_client(),
            {"tenant": str(tenant.tenant_id)},
            tenant.default_domain,
            single_users,
            context,
        )
        log(f"All tenants: {multi_tenants} x {multi_users} users")
        first = group.tenants.order_by("display_name").first()
        measure_scope(
            f"All tenants ({multi_tenants} x {multi_users:,} users)",
            group_admin_client(group),
            {"tenant": "all"},
            first.default_domain,
            multi_tenants * multi_users,
            context,
        )
