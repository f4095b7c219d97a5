"""The bulk import test world: the seeded sandbox's Northwind Traders wired as a Tenant (all its domains),
enough free licence units for a file, and helpers to build files and run imports."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass

import pytest


@dataclass
class BulkWorld:
    sandbox: object  # SandboxTenant
    tenant: object  # Tenant
    domain: str  # default domain
    connection: object

    def sku(self, part: str = "SPB"):
        return self.sandbox.skus.get(sku_part_number=part)

    def group(self, name: str = "SG-VPN-Users"):
        return self.sandbox.groups.get(display_name=name)

    def sandbox_user(self, upn: str):
        from graph.sandbox.models import SandboxUser

        return SandboxUser.objects.filter(
            tenant=self.sandbox, upn_lower=upn.lower(), deleted_datetime__isnull=True
        ).first()


@pytest.fixture
def bulk_world(sandbox_world, sandbox_connection):
    from django.core.cache import cache

    from tenants.models import Tenant, TenantDomain

    cache.clear()  # facts and availability answers are cached per tenant / import
    sandbox = next(t for t in sandbox_world if t.display_name == "Northwind Traders")
    default = sandbox.domains.get(is_default=True).name
    tenant = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection, display_name=sandbox.display_name,
                                   default_domain=default, has_exchange=True)  # fmt: skip
    for domain in sandbox.domains.all():
        TenantDomain.objects.create(tenant=tenant, name=domain.name, is_default=domain.is_default,
                                    is_initial=domain.is_initial)  # fmt: skip
    for sku in sandbox.skus.all():  # room for a whole file
        sku.prepaid_enabled += 200
        sku.save(update_fields=["prepaid_enabled"])
    return BulkWorld(sandbox, tenant, default, sandbox_connection)


def csv_bytes(
    rows: list[dict], *, header: list[str] | None = None, sep: str = ",", encoding: str = "utf-8-sig"
) -> bytes:
    header = header or list(rows[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buffer.getvalue().encode(encoding)


def user_rows(n: int, domain: str, **extra) -> list[dict]:
    tag = uuid.uuid4().hex[:6]
    return [
        {"givenName": f"Bulk{i}", "surname": f"Tester{tag}", "username": f"bulk.{tag}.{i}", "domain": domain,
         "jobTitle": "Tester", **extra}
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def editor(django_user_model):
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username=f"editor-{uuid.uuid4().hex[:6]}", password="x")
    TechnicianProfile.objects.create(
        user=user, role=TechnicianProfile.Role.EDITOR, scope=TechnicianProfile.Scope.ALL
    )
    return user


@pytest.fixture
def make_import(bulk_world, editor):
    """make_import(content, kind="users", name="users.csv") -> (BulkImport, private key), checked."""
    from users.bulkadd.intake import create_import
    from users.bulkadd.parse import parse_upload
    from users.bulkadd.validate import validate_import

    def make(content: bytes, kind: str = "users", name: str = "users.csv", technician=None, defaults=None):
        parsed = parse_upload(kind, name, content)
        bulk_import, key = create_import(bulk_world.tenant, technician or editor, parsed, file_name=name,
                                         source_ip="10.1.2.3")  # fmt: skip
        if defaults:
            bulk_import.defaults = {**bulk_import.defaults, **defaults}
            bulk_import.save(update_fields=["defaults"])
        validate_import(bulk_import, refresh=True)
        bulk_import.refresh_from_db()
        return bulk_import, key

    return make


class FakeRequest:
    """What service.start needs from a request: the technician and an address."""

    def __init__(self, user, ip: str = "10.1.2.3"):
        self.user = user
        self.META = {"REMOTE_ADDR": ip}
