"""View user in the browser: every section loads in parallel from the sandbox, under the strict CSP."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in

SCREENSHOT = "/tmp/userdetail.png"


@pytest.fixture
def detail_world(transactional_db, sandbox_connection, django_user_model):
    from graph.sandbox.graph_views.common import tenant_has_premium
    from graph.sandbox.models import (
        SandboxDrive,
        SandboxMailbox,
        SandboxRoleMember,
        SandboxSignIn,
        SandboxTenant,
    )
    from graph.sandbox.seed_activity import seed_user_activity
    from tenants.models import TechnicianProfile, Tenant, TenantDomain
    from tests.userdetail.conftest import cache_row

    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.READER, scope=TechnicianProfile.Scope.ALL
    )
    sandbox = SandboxTenant.objects.get(display_name="Fabrikam Inc")
    seed_user_activity(sandbox, random.Random(3))
    domain = sandbox.domains.get(is_default=True).name
    tenant = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection, display_name=sandbox.display_name,
                                   default_domain=domain, has_entra_p1=tenant_has_premium(sandbox), has_exchange=True)  # fmt: skip
    TenantDomain.objects.create(tenant=tenant, name=domain, is_default=True)
    candidates = sandbox.users.filter(user_type="Member", account_enabled=True).order_by("created_datetime")
    user = next(
        u for u in candidates
        if SandboxRoleMember.objects.filter(user=u).exists() and SandboxSignIn.objects.filter(user=u).count() > 5
        and SandboxMailbox.objects.filter(user=u).exists() and SandboxDrive.objects.filter(user=u).exists()
    )  # fmt: skip
    cache_row(tenant, user)
    return tenant, user


def test_view_user_loads_every_section(detail_world, browser_page):
    tenant, user = detail_world
    page = browser_page
    log_in(page)
    page.goto(f"/users/{tenant.slug}/{user.pk}/")
    page.get_by_role("heading", name=user.display_name).wait_for()
    # (no wait_for_function: the page's CSP forbids eval)
    page.locator("[data-section-pending]").first.wait_for(state="detached")
    expect(page.locator("[data-section-pending]")).to_have_count(0)
    for title in ("Profile", "Licences", "Groups and roles", "Authentication methods", "Per-user MFA",
                  "Devices", "Recent sign-ins", "Mailbox", "OneDrive"):  # fmt: skip
        assert page.get_by_role("heading", name=title, exact=True).is_visible(), title
    assert page.locator(".detail-error").count() == 0
    assert page.locator("#section-sign-ins tbody tr").count() > 5
    assert page.locator("#section-groups .detail-roles li").count() >= 1
    page.locator("#section-mfa .detail-reload").click()  # a reload swaps the section in place
    page.locator("#section-mfa .detail-mfa").wait_for()
    page.screenshot(path=SCREENSHOT, full_page=True)
    page.console_watch.assert_clean()
