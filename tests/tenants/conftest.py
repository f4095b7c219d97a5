"""Tenant-area fixtures: a plain (non-sandbox) partner connection, tenant rows, and technicians with a
role (an Admin, a Reader, a Helpdesk technician limited to some tenants)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from tenants.models import PartnerConnection, TechnicianProfile, Tenant, TenantDomain


@pytest.fixture
def connection(db):
    return PartnerConnection.objects.create(
        name="Contoso Partner",
        partner_tenant_id=uuid.UUID("11111111-1111-4111-8111-111111111111"),
        client_id=uuid.UUID("22222222-2222-4222-8222-222222222222"),
        client_secret="s3cr3t-client-value-do-not-show",
    )


@pytest.fixture
def make_tenant(connection):
    def make(name: str, domain: str, *extra_domains: str, **fields) -> Tenant:
        tenant = Tenant.objects.create(
            tenant_id=fields.pop("tenant_id", uuid.uuid4()),
            connection=connection,
            display_name=name,
            default_domain=domain,
            **fields,
        )
        TenantDomain.objects.create(tenant=tenant, name=domain, is_default=True)
        for extra in extra_domains:
            TenantDomain.objects.create(tenant=tenant, name=extra)
        return tenant

    return make


def _with_profile(user, role, scope="all", tenants=()):
    profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
    profile.tenants.set(tenants)
    return user


@pytest.fixture
def technician(db, django_user_model):
    """Overrides the shared fixture: an Admin over all tenants, who may manage tenants and connections."""
    user = django_user_model.objects.create_user(username="tech", password="correct-horse-battery")
    return _with_profile(user, TechnicianProfile.Role.ADMIN)


@pytest.fixture
def reader(db, django_user_model):
    """A Reader over all tenants: sees the list and the picker, may star tenants, manages nothing."""
    user = django_user_model.objects.create_user(username="reader", password="correct-horse-battery")
    return _with_profile(user, TechnicianProfile.Role.READER)


@pytest.fixture
def scoped_client(db, django_user_model):
    """A Helpdesk technician limited to the tenants passed in."""

    def make(*tenants):
        user = django_user_model.objects.create_user(username="scoped", password="correct-horse-battery")
        _with_profile(user, TechnicianProfile.Role.HELPDESK, "only", tenants)
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def reader_client(reader):
    # Its own Client: tests use it beside tech_client, which owns pytest-django's `client`.
    client = Client()
    client.force_login(reader)
    return client
