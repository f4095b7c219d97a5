"""Deleted users in the browser, against the sandbox, under the strict CSP: from the users page open
Deleted users, tick one, confirm the restore (the page names user, tenant and consequence), and find the
user in the users table at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def deleted_world(transactional_db, sandbox_connection, django_user_model):
    from graph.sandbox.models import SandboxTenant
    from tenants.models import TechnicianProfile, Tenant, TenantDomain

    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    sandbox = SandboxTenant.objects.get(display_name="Northwind Traders")
    domain = sandbox.domains.get(is_default=True).name
    tenant = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection, display_name=sandbox.display_name,
                                   default_domain=domain, has_exchange=True)  # fmt: skip
    TenantDomain.objects.create(tenant=tenant, name=domain, is_default=True)
    quinn = sandbox.users.get(upn_lower__startswith="quinn.leftover@")
    return tenant, quinn


def test_restore_a_deleted_user_and_see_it_in_the_table(deleted_world, browser_page):
    tenant, quinn = deleted_world
    page = browser_page
    page.set_default_timeout(30_000)
    log_in(page)
    page.goto(f"/users/?tenant={tenant.tenant_id}")
    page.locator("[data-deleted-users-link]").click()
    row = page.locator(f"[data-deleted-row='{quinn.pk}']")
    expect(row).to_contain_text("quinn.leftover@")
    expect(row).to_contain_text("27 days")
    row.get_by_role("checkbox").check()
    page.locator("[data-deleted-restore]").click()
    confirm = page.locator("[data-deleted-confirm='restore']")
    expect(confirm).to_contain_text(f"Restore {quinn.upn_lower}")
    expect(confirm).to_contain_text("Northwind Traders")
    expect(confirm).to_contain_text("licences")
    page.locator("[data-confirm-go]").click()
    result = page.locator(f"[data-result-user='{quinn.pk}']")
    expect(result).to_have_attribute("data-result-status", "success")
    result.locator("[data-restored-link]").click()
    expect(page.locator("table")).to_contain_text("Quinn Leftover")
    quinn.refresh_from_db()
    assert quinn.deleted_datetime is None
