"""Fixtures shared by every test layer: a seeded sandbox world, the demo partner connection wired to it
through the in-process adapter (http://sandbox.test), and logged-in technicians."""

from __future__ import annotations

import os

import pytest

# tests/verify holds the long-running proofs of `make verify` (fuzzing, the access matrix, faults); the
# everyday suite leaves them to that command.
collect_ignore = [] if os.environ.get("CIPPUSERS_VERIFY") == "1" else ["verify"]

SANDBOX_TEST_BASE = "http://sandbox.test/sandbox"

# `exchange`: an Exchange client for `responses` tests of InvokeCommand calls (tests/exchange_kit.py).
from tests.exchange_kit import exchange  # noqa: E402, F401


@pytest.fixture(scope="session")
def _demo_world_snapshot(django_db_setup, django_db_blocker):
    """The demo world seeded once for the session (tests/sandbox_snapshot.py); None = seed per test."""
    from graph.sandbox.seed import seed_demo
    from tests.sandbox_snapshot import capture

    if os.environ.get("CIPPUSERS_SEED_PER_TEST") == "1":
        return None
    with django_db_blocker.unblock():
        return capture(seed_demo)


@pytest.fixture
def sandbox_world(db, _demo_world_snapshot):
    from graph.sandbox.models import SandboxTenant
    from graph.sandbox.seed import seed_demo
    from tests.sandbox_snapshot import restore

    if _demo_world_snapshot is None:
        return seed_demo()
    restore(_demo_world_snapshot)
    by_pk = SandboxTenant.objects.in_bulk(_demo_world_snapshot.result_pks)
    return [by_pk[pk] for pk in _demo_world_snapshot.result_pks]


@pytest.fixture
def sandbox_connection(sandbox_world):
    from graph.sandbox.demo import wire_sandbox_connection

    return wire_sandbox_connection(SANDBOX_TEST_BASE)


@pytest.fixture
def technician(db, django_user_model):
    return django_user_model.objects.create_user(
        username="tech", password="correct-horse-battery", is_staff=True
    )


@pytest.fixture
def tech_client(client, technician):
    client.force_login(technician)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache outlives each test's database: start every test with an empty one, so failed-sign-in
    counters (tenants/login_throttle.py, keyed on the test client's 127.0.0.1) and cached answers never
    leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _graph_contract_guard():
    """Fail any test during which our client sent, or the sandbox answered, something off-contract."""
    from tests.contract_transport import take_violations

    take_violations()
    yield
    violations = take_violations()
    assert not violations, "Graph contract violations:\n" + "\n".join(violations)


def portal_tenants(sandbox_world, connection) -> dict:
    """A portal Tenant (with its default domain) for every seeded customer, keyed by sandbox tenant id: what
    discovery would create, without the HTTP round trip."""
    from tenants.models import Tenant, TenantDomain

    tenants = {}
    for sandbox_tenant in sandbox_world:
        if sandbox_tenant.is_partner:
            continue
        default = sandbox_tenant.domains.get(is_default=True).name
        tenant = Tenant.objects.create(
            tenant_id=sandbox_tenant.pk, connection=connection, display_name=sandbox_tenant.display_name,
            default_domain=default, has_exchange=True,
        )  # fmt: skip
        TenantDomain.objects.create(tenant=tenant, name=default, is_default=True)
        tenants[sandbox_tenant.pk] = tenant
    return tenants


def enable_sandbox_sso(settings):
    """Technician sign-in with Entra ID pointed at the sandbox's identity platform, with the partner admin as
    the Microsoft account; returns that sandbox user."""
    from graph.sandbox.seed import partner_admin

    admin = partner_admin()
    settings.TECH_SSO_ENABLED = True
    settings.TECH_SSO_TENANT_ID = str(admin.tenant_id)
    settings.TECH_SSO_CLIENT_ID = settings.SANDBOX_CLIENT_ID
    settings.TECH_SSO_CLIENT_SECRET = settings.SANDBOX_CLIENT_SECRET
    settings.TECH_SSO_AUTHORITY_URL = "http://sandbox.test/sandbox/login"
    return admin
