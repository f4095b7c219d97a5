"""Edit user in the browser, against the sandbox, under the strict CSP: change the job title, clear the
department, add a licence, leave a group, review the list of changes, save, and read every step's result."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e]
SCREENSHOT = "/tmp/edit-user.png"


@pytest.fixture
def edit_world(transactional_db, sandbox_connection, django_user_model):
    from graph.sandbox.models import SandboxGroup, SandboxSku, SandboxTenant
    from tenants.models import TechnicianProfile, Tenant, TenantDomain

    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.EDITOR, scope=TechnicianProfile.Scope.ALL
    )
    sandbox = SandboxTenant.objects.get(display_name="Northwind Traders")
    domain = sandbox.domains.get(is_default=True).name
    tenant = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection, display_name=sandbox.display_name,
                                   default_domain=domain, has_exchange=True)  # fmt: skip
    TenantDomain.objects.create(tenant=tenant, name=domain, is_default=True)
    group = SandboxGroup.objects.get(tenant=sandbox, display_name="All Company")
    # A SKU with free units that the user does not hold yet.
    sku = next(s for s in SandboxSku.objects.filter(tenant=sandbox) if s.assignments.count() < s.prepaid_enabled
               and s.sku_part_number != "SPB")  # fmt: skip
    candidates = sandbox.users.filter(user_type="Member", account_enabled=True).order_by("created_datetime")
    user = next(
        u for u in candidates
        if u.properties.get("department") and u.properties.get("usageLocation") and not u.properties.get("onPremisesSyncEnabled")
        and u.group_memberships.filter(group=group).exists() and not u.licenses.filter(sku=sku).exists()
    )  # fmt: skip
    return tenant, user, group, sku


def test_edit_user_end_to_end(edit_world, browser_page):
    from graph.sandbox.models import SandboxGroupMember, SandboxLicenseAssignment

    tenant, user, group, sku = edit_world
    page = browser_page
    log_in(page)
    page.set_default_timeout(30_000)  # the machine running the suite may be busy
    page.goto(f"/users/{tenant.slug}/{user.pk}/edit/")
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.get_by_label("Department")).to_have_value(user.properties["department"])

    page.get_by_label("Job title").fill("Head of Testing")
    page.get_by_label("Department").fill("")
    add = page.locator(f"#lic-add-{sku.sku_id}")
    add.check()
    # Ticking a licence reveals its service-plan toggles (static/js/user-edit.js).
    expect(page.locator(f"[data-add-licence='{sku.sku_id}'] [data-add-plans]")).to_be_visible()
    page.locator(f"#group-remove-{group.pk}").check()
    page.get_by_role("button", name="Review changes").click()

    summary = page.locator("[data-edit-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Job title: “" + (user.properties.get("jobTitle") or ""))
    expect(summary).to_contain_text("Head of Testing")
    expect(summary).to_contain_text("Department: “" + user.properties["department"] + "” → cleared")
    expect(summary).to_contain_text("Add ")
    expect(summary).to_contain_text("Remove from All Company (Microsoft 365)")
    expect(summary.locator("li")).to_have_count(4)
    page.screenshot(path="/tmp/edit-user-review.png", caret="initial")
    user.refresh_from_db()
    assert user.properties.get("jobTitle") != "Head of Testing"  # nothing sent before confirming

    page.get_by_role("button", name="Save these changes").click()
    results = page.locator("[data-edit-results]")
    expect(results).to_be_visible()
    for step in ("profile", "licences", "groups"):
        expect(results.locator(f"[data-step='{step}']")).to_have_attribute("data-result", "success")
    expect(results).to_contain_text("Removed from All Company")
    # The form below was read again: it shows the new values.
    expect(page.get_by_label("Job title")).to_have_value("Head of Testing")
    expect(page.get_by_label("Department")).to_have_value("")
    page.screenshot(path=SCREENSHOT, full_page=True, caret="initial")

    user.refresh_from_db()
    assert user.properties["jobTitle"] == "Head of Testing" and user.properties["department"] is None
    assert SandboxLicenseAssignment.objects.filter(user=user, sku=sku).exists()
    assert not SandboxGroupMember.objects.filter(user=user, group=group).exists()
    page.console_watch.assert_clean()
