"""A technician's first hour, in Chromium against the synced sandbox (Fabrikam: hybrid users, several
licences each): the More info panel scrolls with its header and Previous/Next in view and its last action
reachable at 1440x900 and 390 px; actions that do not apply are greyed out with their reason; the header
picker names the tenant opened by URL; the row menu fits a 390 px screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def fabrikam(transactional_db, sandbox_connection, django_user_model):
    from graph.sandbox.models import SandboxTenant
    from tenants.models import TechnicianProfile, Tenant, TenantDomain
    from users.sync import sync_tenant

    tenants = {}
    for name in ("Fabrikam Inc", "Northwind Traders"):
        sandbox = SandboxTenant.objects.get(display_name=name)
        domain = sandbox.domains.get(is_default=True).name
        tenants[name] = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection,
                                              display_name=name, default_domain=domain, has_exchange=True)  # fmt: skip
        TenantDomain.objects.create(tenant=tenants[name], name=domain, is_default=True)
    sync_tenant(tenants["Fabrikam Inc"], full=True)  # Northwind stays unsynced: only the picker needs it
    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    return tenants


def _rows(tenant):
    from users.models import DirectoryUser

    return DirectoryUser.objects.filter(tenant=tenant, user_type="Member", account_enabled=True)


def busiest_user(tenant):
    """The member with the most licences, given a long list of proxy addresses too (as a long-serving
    user collects), so More info is far taller than any screen."""
    row = max(_rows(tenant).order_by("display_name"), key=lambda r: (len(r.license_sku_ids), -r.pk))
    assert len(row.license_sku_ids) >= 2, "the seed gives some Fabrikam users two licences or more"
    alias = row.user_principal_name.split("@")[0]
    row.proxy_addresses = [*row.proxy_addresses, *(f"smtp:{alias}.{n}@fabrikam.com" for n in range(25))]
    row.save(update_fields=["proxy_addresses"])
    return row


def open_more_info(page, tenant, row):
    page.goto(f"/users/?tenant={tenant.slug}&q={row.user_principal_name}")
    page.get_by_role("link", name=f"More info about {row.display_name}").first.click()
    page.locator("#user-panel.show").wait_for()
    expect(page.locator("#user-panel-title")).to_have_text(row.display_name)
    return page.locator("#user-panel")


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 0.5


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["1440x900", "390px"])
def test_more_info_scrolls_and_its_last_action_opens(fabrikam, browser_page, viewport):
    page = browser_page
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    tenant = fabrikam["Fabrikam Inc"]
    row = busiest_user(tenant)
    log_in(page)
    panel = open_more_info(page, tenant, row)
    body = panel.locator(".user-panel-body")
    scroll_height, client_height = body.evaluate("b => [b.scrollHeight, b.clientHeight]")
    assert scroll_height > client_height + 200, "the panel's content should be taller than the screen"
    assert panel.bounding_box()["height"] <= viewport[1] + 0.5  # the panel itself never outgrows the screen

    toggles = panel.locator("[data-user-actions-menu] [data-bs-toggle=dropdown]")
    last = toggles.last
    expect(last).to_have_text("Groups")
    last.click()  # Playwright scrolls it into view first: impossible if the body did not scroll
    assert body.evaluate("b => b.scrollTop") > 0
    # The header and Previous/Next stayed where they were.
    assert in_view(page, panel.locator("#user-panel-title")) and in_view(
        page, panel.locator(".user-panel-nav")
    )
    menu = panel.locator("[data-user-actions-menu] .dropdown-menu.show")
    action = menu.locator("[data-action-link]").last
    expect(action).to_be_visible()
    assert in_view(page, action)
    label = action.inner_text().strip()
    action.click()
    modal = page.locator("#modal")
    expect(modal).to_be_visible()
    expect(modal.locator("[data-confirm-text]")).to_contain_text(row.display_name)
    expect(modal).to_contain_text(label)
    page.screenshot(path=f"/tmp/more-info-{viewport[0]}.png", caret="initial")
    page.console_watch.assert_clean()


def test_greyed_out_actions_say_why_and_the_picker_names_the_page_tenant(fabrikam, browser_page):
    from users.actions import registry

    page = browser_page
    tenant = fabrikam["Fabrikam Inc"]
    provision = registry.get("onedrive-provision")
    exchange_only = next(r for r in _rows(tenant).order_by("display_name")
                         if r.is_licensed and provision.why_not(r) and "no OneDrive" in provision.why_not(r))  # fmt: skip
    synced = _rows(tenant).filter(on_premises_sync_enabled=True).exclude(on_premises_immutable_id="").first()
    assert synced is not None, "the seed has hybrid users in Fabrikam"
    log_in(page)

    # Opened by URL: the header picker names Fabrikam, whatever the session held.
    page.goto(f"/users/?tenant={tenant.slug}&q={exchange_only.user_principal_name}")
    expect(page.locator("[data-picker-current]")).to_have_text("Fabrikam Inc")

    # Row menu: Pre-provision OneDrive greyed out with the licence reason, not a link.
    row = page.locator("[data-user-row]", has_text=exchange_only.user_principal_name.lower()).first
    row.locator("[data-row-actions]").click()
    menu = row.locator("[data-action-menu]")
    off = menu.locator('[data-action-off="onedrive-provision"]')
    expect(off).to_be_visible()
    expect(off).to_have_attribute("aria-disabled", "true")
    expect(off).to_contain_text("no OneDrive to create")
    expect(menu.locator('[data-action-link="onedrive-provision"]')).to_have_count(0)
    off.click(force=True)  # clicking it does nothing
    expect(page.locator("#modal")).to_be_hidden()
    page.keyboard.press("Escape")

    # View user of a synced user: Clear immutable ID is there, greyed out, and explains itself.
    page.goto(f"/users/{tenant.slug}/{synced.user_id}/")
    expect(page.locator("[data-picker-current]")).to_have_text("Fabrikam Inc")
    page.locator('#user-detail-actions [data-action-group="Account"]').click()
    clear = page.locator('#user-detail-actions [data-action-off="clear-immutable-id"]')
    expect(clear).to_be_visible()
    expect(clear).to_contain_text("Still synced from on-premises AD")
    page.screenshot(path="/tmp/view-user-greyed-out.png", caret="initial")
    page.keyboard.press("Escape")

    # Picking another tenant in the header opens that tenant's table, and the header says so.
    page.locator("[data-tenant-picker] [data-bs-toggle=dropdown]").click()
    page.locator(".picker-item", has_text="Northwind Traders").first.click()
    page.wait_for_url(re.compile(r"/users/$"))
    expect(page.locator("[data-picker-current]")).to_have_text("Northwind Traders")
    expect(page.locator(".page-scope")).to_have_text("Northwind Traders")
    page.console_watch.assert_clean()


def test_row_menu_fits_a_390px_screen(fabrikam, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    tenant = fabrikam["Fabrikam Inc"]
    target = _rows(tenant).order_by("display_name").first()
    log_in(page)
    page.goto(f"/users/?tenant={tenant.slug}&q={target.user_principal_name}")
    row = page.locator("[data-user-row]", has_text=target.user_principal_name.lower()).first
    row.locator("[data-row-actions]").click()
    menu = row.locator("[data-action-menu]")
    groups = menu.locator("[data-action-menu-group]")
    expect(groups.first).to_be_visible()
    expect(menu.locator("[data-action-menu-group][open]")).to_have_count(0)  # folded: six headers, not a page
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844 + 0.5
    assert box["height"] < 844 / 2
    page.screenshot(path="/tmp/row-menu-390.png", caret="initial")
    menu.locator('summary[data-action-group="Groups"]').click()
    expect(menu.locator("[data-action-menu-group][open]")).to_have_count(1)
    add = menu.locator('[data-action-link="add-to-group"]')
    expect(add).to_be_visible()
    assert in_view(page, add)
    add.click()
    expect(page.locator("#modal [data-confirm-text]")).to_contain_text(target.display_name)
    expect(menu).to_be_hidden()  # the menu closed behind the modal
    page.console_watch.assert_clean()
