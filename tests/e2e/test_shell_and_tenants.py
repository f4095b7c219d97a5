"""The shell and the tenant pages in a real browser: login, list, picker, dark mode, and no CSP violation."""

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = [pytest.mark.e2e]


def screenshot(page, path):
    # caret="initial": Playwright otherwise injects a <style> to hide the caret, which the CSP (rightly) blocks.
    page.screenshot(path=path, full_page=True, caret="initial")


def test_technician_logs_in_and_sees_the_tenant_list(browser_page, seeded):
    page = browser_page
    log_in(page)
    table = page.locator("#tenant-table")
    row = table.locator("tr", has_text="Fabrikam Inc")
    assert row.count() == 1
    assert "Entra P2" in row.inner_text() and "Exchange" in row.inner_text()
    assert "AADSTS50020" in table.locator("tr", has_text="Tailspin Toys").inner_text()

    # Live search: the table narrows and the URL carries ?q=.
    page.get_by_label("Filter tenants").fill("northwind")
    page.wait_for_url("**/tenants/?q=northwind")
    assert table.locator("tbody tr").count() == 1

    # The modal form opens from the page and shows a field error without leaving it.
    page.get_by_label("Filter tenants").fill("")
    page.get_by_role("link", name="Add tenant manually").click()
    dialog = page.locator("#modal")
    dialog.get_by_role("button", name="Add tenant").wait_for()
    page.locator("#modal.show").wait_for()
    expect(dialog.get_by_label("Tenant id or domain")).to_be_focused()
    page.wait_for_timeout(400)  # the fade-in, for the screenshot only
    screenshot(page, "/tmp/tenants-modal.png")
    dialog.get_by_role("button", name="Add tenant").click()
    dialog.get_by_text("This field is required.").wait_for()
    # The re-rendered form keeps the keyboard in the dialog, on the field in error.
    expect(dialog.get_by_label("Tenant id or domain")).to_be_focused()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.locator(".modal-backdrop").wait_for(state="detached")
    # Adding failed, so nothing changed; the emptied filter brought every row back.
    assert table.locator("tbody tr").count() == 4
    screenshot(page, "/tmp/tenants.png")
    page.console_watch.assert_clean()


def test_tenant_picker_searches_and_selects(browser_page, seeded):
    page = browser_page
    log_in(page)
    picker_button = page.locator("#tenant-picker-button")
    assert "All tenants" in picker_button.inner_text()

    page.locator("main").click()
    page.keyboard.press("/")
    search = page.get_by_label("Search tenants")
    search.wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "picker-q"
    search.press_sequentially("tailspin", delay=20)
    page.locator("#picker-results", has_text="Tailspin Toys").wait_for()
    assert "Adatum" not in page.locator("#picker-results").inner_text()  # disabled tenants are not offered
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    page.locator("#tenant-picker-button", has_text="Tailspin Toys").wait_for()

    # Keyboard only: Ctrl+K, arrow down to the first result (All tenants), Enter.
    page.keyboard.press("Control+k")
    search.wait_for(state="visible")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent").strip() == "All tenants"
    page.keyboard.press("Enter")
    page.locator("#tenant-picker-button", has_text="All tenants").wait_for()
    page.console_watch.assert_clean()


def test_dark_mode_toggle_is_remembered_without_csp_violations(browser_page, seeded):
    page = browser_page
    log_in(page)
    html = page.locator("html")
    assert html.get_attribute("data-bs-theme") == "light"
    page.get_by_role("button", name="Toggle dark mode").click()
    assert html.get_attribute("data-bs-theme") == "dark"
    page.reload()
    assert html.get_attribute("data-bs-theme") == "dark"
    screenshot(page, "/tmp/tenants-dark.png")

    # Star a tenant (htmx POST with the CSRF header from the meta tag) and open the account menu.
    star = page.get_by_role("button", name="Add Fabrikam Inc to favourites")
    star.click()
    page.get_by_role("button", name="Remove Fabrikam Inc from favourites").wait_for()
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("button", name="Log out").wait_for(state="visible")
    page.get_by_role("button", name="Toggle dark mode").click()
    assert html.get_attribute("data-bs-theme") == "light"
    page.console_watch.assert_clean()


def test_theme_follows_the_system_until_chosen(chromium, live_server, seeded):
    context = chromium.new_context(base_url=live_server.url, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto("/login/")
        assert page.locator("html").get_attribute("data-bs-theme") == "dark"
    finally:
        context.close()
