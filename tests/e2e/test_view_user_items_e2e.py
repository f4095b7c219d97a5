"""In the browser, on View user: remove one sign-in method from its own row's Remove button, through the
modal that names the method, the user and the tenant."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.actions.examples_auth_methods import AUTHENTICATOR, authenticator_holder

from .conftest import log_in
from .test_every_action_e2e import browser_world  # noqa: F401 - the fixture


def test_remove_one_authenticator_from_view_user(browser_world, browser_page):  # noqa: F811
    from graph.sandbox.models import SandboxAuthMethod
    from users.models import AuditEntry

    user = authenticator_holder(browser_world.sandbox)
    row = browser_world.cache(user)
    method = SandboxAuthMethod.objects.filter(user=user, method_type=AUTHENTICATOR).order_by("id").first()
    kept = SandboxAuthMethod.objects.filter(user=user).count() - 1
    page = browser_page
    log_in(page)
    page.goto(f"/users/{row.tenant.slug}/{row.user_id}/")
    button = page.locator(f'#section-auth-methods [data-remove-method="{method.id}"]')
    expect(button).to_be_visible(timeout=15_000)
    button.click()
    modal = page.locator("#modal")
    expect(modal.locator("[data-confirm-text]")).to_contain_text(row.tenant.display_name)
    choice = modal.locator(f'[name="method"][value="{AUTHENTICATOR}:{method.id}"]')
    expect(choice).to_be_checked()
    expect(modal.locator("[data-action-form]")).to_contain_text("Microsoft Authenticator")
    modal.locator("[data-confirm-button]").click()
    result = page.locator(f'#modal [data-result][data-user-id="{row.user_id}"]')
    expect(result).to_have_attribute("data-result", "success")
    expect(result).to_contain_text("Removed Microsoft Authenticator")
    assert not SandboxAuthMethod.objects.filter(pk=method.pk).exists()
    assert SandboxAuthMethod.objects.filter(user=user).count() == kept
    assert AuditEntry.objects.filter(action="remove-auth-method", result="success").count() == 1
    page.console_watch.assert_clean()


def test_admin_removes_a_role_from_view_user(browser_world, browser_page):  # noqa: F811
    from graph.sandbox.graph_views.role_management import assignment_id
    from graph.sandbox.models import SandboxRoleMember
    from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR
    from tests.actions.examples_roles import domain_admin

    user = domain_admin(browser_world.sandbox)
    row = browser_world.cache(user)
    value = assignment_id(DOMAIN_NAME_ADMINISTRATOR, user.id)
    page = browser_page
    log_in(page)  # the browser world's technician is an Admin
    page.goto(f"/users/{row.tenant.slug}/{row.user_id}/")
    button = page.locator(f'#section-roles [data-remove-role="{value}"]')
    expect(button).to_be_visible(timeout=15_000)
    button.click()
    modal = page.locator("#modal")
    expect(modal.locator("[data-confirm-text]")).to_contain_text(row.tenant.display_name)
    expect(modal.locator(f'[name="assignment"][value="{value}"]')).to_be_checked()
    expect(modal.locator("[data-action-form]")).to_contain_text("Domain Name Administrator")
    modal.locator("[data-confirm-button]").click()
    result = page.locator(f'#modal [data-result][data-user-id="{row.user_id}"]')
    expect(result).to_have_attribute("data-result", "success")
    assert not SandboxRoleMember.objects.filter(
        user=user, role__role_template_id=DOMAIN_NAME_ADMINISTRATOR
    ).exists()
    page.console_watch.assert_clean()


def test_remove_one_mobile_device_from_view_user(browser_world, browser_page):  # noqa: F811
    from graph.sandbox.exchange.mobile_devices import _guid, devices_of
    from tests.actions.examples_mobile_devices import device_holder

    user = device_holder(browser_world.sandbox)
    row = browser_world.cache(user)
    tenant = user.tenant
    mine = [d for d in devices_of(tenant) if d["UserId"] == str(user.id)]
    chosen = _guid(tenant, mine[0])
    page = browser_page
    log_in(page)
    page.goto(f"/users/{row.tenant.slug}/{row.user_id}/")
    button = page.locator(f'#section-mobile-devices [data-remove-device="{chosen}"]')
    expect(button).to_be_visible(timeout=15_000)
    expect(page.locator("#section-mobile-devices")).to_contain_text("does not wipe")
    button.click()
    modal = page.locator("#modal")
    expect(modal.locator("[data-confirm-text]")).to_contain_text("does not wipe")
    expect(modal.locator(f'[name="device"][value="{chosen}"]')).to_be_checked()
    modal.locator("[data-confirm-button]").click()
    result = page.locator(f'#modal [data-result][data-user-id="{row.user_id}"]')
    expect(result).to_have_attribute("data-result", "success")
    expect(result).to_contain_text("Not wiped")
    tenant.refresh_from_db()
    assert [d["DeviceId"] for d in devices_of(tenant) if d["UserId"] == str(user.id)] == [
        d["DeviceId"] for d in mine[1:]
    ]
    page.console_watch.assert_clean()
