"""One sandbox world shared by the hostile-input parts: the seeded demo sandbox wired to the portal, every
customer tenant discovered and synced, an Admin technician scoped to all tenants, and sample values for
every URL argument (a real tenant, user, job, bulk import, connection, technician, tenant group).

Built once per test (seeding takes seconds; each Hypothesis example then only sends requests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

SANDBOX_TEST_BASE = "http://sandbox.test/sandbox"
RESEARCH_TENANT = "Fabrikam Inc"  # has P1/P2 and the unified audit log: every research section is read


@dataclass
class HostileWorld:
    admin: object  # the Admin technician (scope: all tenants)
    connection: object
    tenants: dict  # display name -> Tenant
    tenant: object  # the tenant the URLs point at
    user: object  # a DirectoryUser of that tenant (the compromise-demo user)
    sandbox_user: object  # its SandboxUser
    samples: dict = field(default_factory=dict)

    def client(self, *, csrf: bool = False):
        from django.test import Client

        client = Client(enforce_csrf_checks=csrf, raise_request_exception=False)
        client.force_login(self.admin)
        return client


def seed_sandbox():
    """Seed the sandbox and wire the partner connection, without discovering or syncing (a caller that
    writes hostile values into the sandbox does so first, so the sync carries them into the cache)."""
    from graph.sandbox.demo import wire_sandbox_connection
    from graph.sandbox.seed import seed_demo

    sandbox = seed_demo()
    return sandbox, wire_sandbox_connection(SANDBOX_TEST_BASE)


def build_world(connection, *, research: bool = True) -> HostileWorld:
    """Discover and sync every customer, create the Admin, a job, a bulk import and (optionally) a
    research report, and collect the URL samples."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from graph.sandbox.seed_compromise import compromise_cast
    from tenants.models import TechnicianProfile, Tenant, TenantGroup
    from tenants.services import discover_customers
    from users.models import DirectoryUser
    from users.sync.service import sync_tenant

    cache.clear()  # facts, availability and throttling answers are cached per tenant
    summary = discover_customers(connection)
    assert not summary.failed, summary.failed
    tenants = {t.display_name: t for t in Tenant.objects.filter(connection=connection)}
    for tenant in tenants.values():
        sync_tenant(tenant, full=True, sign_ins=True)
    admin = get_user_model().objects.create_user(
        username=f"hostile-admin-{uuid.uuid4().hex[:6]}", password="x"
    )
    TechnicianProfile.objects.create(
        user=admin, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    tenant = tenants[RESEARCH_TENANT]
    from graph.sandbox.models import SandboxTenant

    compromised, _clean = compromise_cast(SandboxTenant.objects.get(pk=tenant.tenant_id))
    user = DirectoryUser.objects.get(tenant=tenant, user_id=compromised.pk)
    group = TenantGroup.objects.create(name="Hostile group")
    group.tenants.add(tenant)
    world = HostileWorld(admin, connection, tenants, tenant, user, compromised)
    job = make_job(world)
    bulk_import = make_bulk_import(world)
    if research:
        run_research(world)
    row = bulk_import.rows.order_by("position").first()
    world.samples = {
        "users/bulk-add/|pk": bulk_import.pk,
        "users/bulk-add/|row_id": row.pk,
        "users/bulk-add/|fmt": "csv",
        "users/export-selected|fmt": "csv",
        "users/actions/|key": "block-sign-in",
        "jobs/|pk": job.pk,
        "tenants/connections/|pk": connection.pk,
        "technicians/tenant-groups/|pk": group.pk,
        "technicians/|pk": admin.pk,
        "tenant_id": tenant.tenant_id,
        "tenant": tenant.slug,
        "user_id": user.user_id,
        "section": "sign_ins",
    }
    return world


def make_job(world: HostileWorld):
    """A finished action Job on the sample user (one that changes nothing: revoke sessions)."""
    from users.models import Job, JobItem

    job = Job.objects.create(
        label="Hostile job", tenant=world.tenant, created_by=world.admin, action_key="revoke-sessions"
    )
    JobItem.objects.create(
        job=job, key="1", tenant=world.tenant, position=1, target_user_id=world.user.user_id,
        target_upn=world.user.user_principal_name, target_name=world.user.display_name,
    )  # fmt: skip
    return job


def make_bulk_import(world: HostileWorld, content: bytes | None = None, name: str = "users.csv"):
    """A checked bulk import of the sample tenant (through the product's own intake, as the upload view)."""
    from users.bulkadd.intake import create_import
    from users.bulkadd.parse import parse_upload
    from users.bulkadd.validate import validate_import

    domain = world.tenant.default_domain
    content = content or (
        "givenName,surname,username,domain,jobTitle\r\n"
        f"Hostile,Importer,hostile.importer,{domain},Tester\r\n"
        f"Second,Importer,second.importer,{domain},Tester\r\n"
    ).encode("utf-8-sig")
    parsed = parse_upload("users", name, content)
    bulk_import, _key = create_import(
        world.tenant, world.admin, parsed, file_name=name, source_ip="203.0.113.9"
    )
    validate_import(bulk_import, refresh=True)
    bulk_import.refresh_from_db()
    return bulk_import


def run_research(world: HostileWorld):
    """Gather the compromise report of the sample user; the on-commit dispatch is run by hand, as the test
    transaction never commits."""
    from unittest import mock

    from django.db import transaction

    from users.models import CompromiseReport
    from users.research import tasks

    callbacks = []
    with mock.patch.object(transaction, "on_commit", lambda fn, *a, **k: callbacks.append(fn)):
        job = tasks.start_research(world.tenant, world.user.user_id, world.user.user_principal_name,
                                   world.user.display_name, window_days=7, technician=world.admin,
                                   source_ip="203.0.113.9")  # fmt: skip
    for fn in callbacks:
        fn()
    job.refresh_from_db()
    return CompromiseReport.objects.get(tenant=world.tenant, user_id=world.user.user_id)
