"""User actions in the browser against the sandbox, under the strict CSP: the row menu → modal → confirm →
result, the row updated in place; a selection → Job progress page → results; a Reader sees no menu."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in


@pytest.fixture
def actions_world(transactional_db, sandbox_connection, django_user_model):
    from graph.sandbox.models import SandboxTenant
    from tenants.models import TechnicianProfile, Tenant, TenantDomain
    from users.sync import sync_tenant

    sandbox = SandboxTenant.objects.get(display_name="Northwind Traders")
    domain = sandbox.domains.get(is_default=True).name
    tenant = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection,
                                   display_name=sandbox.display_name, default_domain=domain, has_exchange=True)  # fmt: skip
    TenantDomain.objects.create(tenant=tenant, name=domain, is_default=True)
    sync_tenant(tenant, full=True)
    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    reader = django_user_model.objects.create_user(username="reader", password=PASSWORD)
    TechnicianProfile.objects.create(user=reader, role=TechnicianProfile.Role.READER,
                                     scope=TechnicianProfile.Scope.ALL)  # fmt: skip
    return tenant, sandbox


def _enabled_members(sandbox, n):
    users = sandbox.users.filter(user_type="Member", account_enabled=True, deleted_datetime__isnull=True,
                                 role_memberships__isnull=True).order_by("display_name")  # fmt: skip
    return list(users[:n])


def test_row_menu_modal_confirm_result_and_row_updates(actions_world, browser_page):
    tenant, sandbox = actions_world
    target = _enabled_members(sandbox, 1)[0]
    page = browser_page
    log_in(page)
    page.goto(f"/users/?tenant={tenant.slug}&q={target.display_name.split()[0]}")
    row = page.locator("[data-user-row]", has_text=target.upn_lower).first
    row.locator("[data-row-actions]").click()
    menu = row.locator("[data-action-menu]")
    menu.get_by_role("link", name="Block sign-in").wait_for()
    expect(menu.locator(".dropdown-header")).to_contain_text(["Account"])
    page.screenshot(path="/tmp/actions-menu.png", caret="initial")
    menu.get_by_role("link", name="Block sign-in").click()
    modal = page.locator("#modal")
    expect(modal.locator("[data-confirm-text]")).to_contain_text(target.display_name)
    expect(modal.locator("[data-confirm-text]")).to_contain_text(tenant.display_name)
    expect(modal.locator("[data-confirm-button]")).to_be_visible()
    page.wait_for_timeout(400)  # the fade-in
    page.screenshot(path="/tmp/actions-modal.png", caret="initial")
    modal.locator("[data-confirm-button]").click()
    result = modal.locator("[data-action-results]")
    expect(result.locator("[data-result]")).to_have_attribute("data-result", "success")
    page.wait_for_timeout(300)
    page.screenshot(path="/tmp/actions-results.png", caret="initial")
    # The row is updated in place (the table re-renders behind the modal).
    expect(page.locator("[data-user-row].row-disabled", has_text=target.upn_lower)).to_have_count(1)
    modal.get_by_role("button", name="Done").click()
    expect(modal).to_be_hidden()
    target.refresh_from_db()
    assert target.account_enabled is False
    page.console_watch.assert_clean()


def test_password_reset_shows_the_password_once(actions_world, browser_page):
    tenant, sandbox = actions_world
    target = next(u for u in _enabled_members(sandbox, 10) if not u.properties.get("onPremisesSyncEnabled"))
    page = browser_page
    log_in(page)
    page.goto(f"/users/?tenant={tenant.slug}&q={target.display_name.split()[0]}")
    row = page.locator("[data-user-row]", has_text=target.upn_lower).first
    row.locator("[data-row-actions]").click()
    row.locator("[data-action-menu]").get_by_role("link", name="Reset password (must change)").click()
    modal = page.locator("#modal")
    modal.get_by_label("Passphrase", exact=False).check()
    modal.locator("[data-confirm-button]").click()
    secret = modal.locator("[data-secret]")
    expect(secret).to_have_text(re.compile(r"^[A-Z][a-z]+(-[a-z]+){4,}-\d\d$"))
    page.screenshot(path="/tmp/actions-password.png", caret="initial")
    modal.get_by_role("button", name="Done").click()
    expect(page.locator("[data-secret]")).to_have_count(0)  # gone from the page once closed
    page.console_watch.assert_clean()


def test_a_selection_becomes_a_job_with_results(actions_world, browser_page):
    tenant, sandbox = actions_world
    page = browser_page
    log_in(page)
    page.goto(f"/users/?tenant={tenant.slug}&status=enabled&per_page=25")
    boxes = page.locator("[data-user-row] [data-row-select]")
    for index in range(6):
        boxes.nth(index).check()
    bar = page.locator("[data-bulk-bar]")
    expect(bar).to_be_visible()
    bar.get_by_role("button", name="Security").click()
    bar.get_by_role("button", name="Revoke all sessions").click()
    modal = page.locator("#modal")
    expect(modal.locator(".action-count")).to_contain_text("6")
    modal.locator("[data-confirm-button]").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    expect(page.locator("[data-job-state]")).to_have_text(re.compile("Succeeded|Finished with failures"))
    expect(page.locator("[data-item-status]")).to_have_count(6)
    page.screenshot(path="/tmp/actions-job.png", full_page=True, caret="initial")
    page.console_watch.assert_clean()


def test_a_reader_sees_no_action_menu(actions_world, browser_page):
    tenant, _ = actions_world
    page = browser_page
    log_in(page, username="reader")
    page.goto(f"/users/?tenant={tenant.slug}")
    page.locator("[data-user-row]").first.wait_for()
    expect(page.locator("[data-row-actions]")).to_have_count(0)
    expect(page.locator("[data-bulk-action]")).to_have_count(0)
    page.locator("[data-user-row] [data-panel-link]").first.click()
    expect(page.locator("#user-panel-content [data-user-actions-menu]")).to_contain_text(
        "Your role cannot run actions"
    )
    page.console_watch.assert_clean()
