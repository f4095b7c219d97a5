"""The users table in a real browser: search, sort, filter, page size, column chooser, More info panel with
keyboard navigation, export download, and no CSP violation on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.users.factories import make_technician, make_tenant, make_users

from .conftest import log_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def users_world(transactional_db):
    tenant = make_tenant("Contoso", domain="contoso.example", has_entra_p1=True)
    make_users(tenant, 60)
    make_technician("tech", role="admin", scope="all")
    return tenant


def rows(page):
    return page.locator("#users-table tbody tr")


def first_cell_texts(page, column: str) -> list[str]:
    return page.locator(f"#users-table tbody td.col-{column}").all_inner_texts()


def test_search_sort_filter_page_size_and_columns(browser_page, users_world):
    page = browser_page
    log_in(page)
    page.goto("/users/?tenant=contoso.example")
    expect(rows(page)).to_have_count(50)
    expect(page.locator("#users-count")).to_contain_text("60 users")

    # Search narrows server-side and lands in the URL.
    page.get_by_label("Search users").fill("kernighan")
    page.wait_for_url("**q=kernighan**")
    expect(rows(page)).to_have_count(10)
    page.get_by_label("Search users").fill("")
    page.wait_for_url(lambda url: "q=" not in url)
    expect(rows(page)).to_have_count(50)

    # Sort by email, then descending.
    page.locator("th.col-mail a.sort-link").click()
    page.wait_for_url("**sort=mail**")
    mails = first_cell_texts(page, "mail")
    assert mails == sorted(mails)
    page.locator("th.col-mail a.sort-link").click()
    page.wait_for_url("**sort=-mail**")
    assert first_cell_texts(page, "mail") == sorted(first_cell_texts(page, "mail"), reverse=True)

    # A filter keeps the sort (the form's hidden sort was refreshed out of band).
    page.get_by_label("Status", exact=True).select_option("disabled")
    page.wait_for_url("**status=disabled**")
    assert "sort=-mail" in page.url
    assert set(first_cell_texts(page, "enabled")) == {"Disabled"}
    expect(rows(page)).to_have_count(12)

    # Page size.
    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_label("Rows per page").select_option("25")
    page.wait_for_url("**per_page=25**")
    expect(rows(page)).to_have_count(25)
    expect(page.locator(".table-pager")).to_contain_text("Page 1 of 3")

    # Column chooser: saved for this technician, still there after a reload.
    page.get_by_role("button", name="Columns").click()
    page.get_by_label("Department").check()
    page.get_by_role("button", name="Save columns").click()
    expect(page.locator("#users-table thead")).to_contain_text("Department")
    page.reload()
    expect(page.locator("#users-table thead")).to_contain_text("Department")
    expect(rows(page)).to_have_count(25)  # the reload kept the URL state too

    # Selection: the page, then every matching row (carried as the query, not as ids).
    bar = page.locator("[data-bulk-bar]")
    expect(bar).to_be_hidden()
    page.get_by_label("Select every user on this page").check()
    expect(bar).to_contain_text("25 selected on this page")
    page.get_by_role("button", name="Select all 60 matching").click()
    expect(bar).to_contain_text("All 60 matching users selected")
    assert bar.locator("[data-bulk-query]").is_enabled()
    assert "per_page=25" in bar.locator("[data-bulk-query]").input_value()
    page.get_by_role("button", name="Clear selection").click()
    expect(bar).to_be_hidden()
    page.console_watch.assert_clean()


def test_more_info_panel_by_keyboard_and_export_download(browser_page, users_world):
    page = browser_page
    log_in(page)
    page.goto("/users/?tenant=contoso.example&sort=-created")
    names = first_cell_texts(page, "display_name")

    page.get_by_role("link", name=f"More info about {names[0]}").click()
    panel = page.locator("#user-panel")
    expect(panel).to_be_visible()
    page.locator("#user-panel.show").wait_for()  # slid in: Bootstrap now traps the focus inside
    title = page.locator("#user-panel-title")
    expect(title).to_be_focused()
    expect(title).to_have_text(names[0])
    expect(panel).to_contain_text("1 of 60")
    expect(page.locator("tr.row-current")).to_contain_text(names[0])

    page.keyboard.press("j")
    expect(title).to_have_text(names[1])
    page.keyboard.press("ArrowDown")
    expect(title).to_have_text(names[2])
    expect(panel).to_contain_text("3 of 60")
    page.keyboard.press("k")
    expect(title).to_have_text(names[1])
    page.keyboard.press("ArrowUp")
    expect(title).to_have_text(names[0])
    expect(panel.locator(".user-panel-nav")).to_contain_text("Previous")

    # Focus stays in the panel (Bootstrap traps it); Esc closes and returns focus to the row's button.
    expect(title).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.get_by_role("link", name=f"More info about {names[0]}")).to_be_focused()

    page.get_by_role("button", name="Export").click()
    with page.expect_download() as info:
        page.locator("[data-export=csv]").click()
    download = info.value
    assert download.suggested_filename.startswith("users-contoso-") and download.suggested_filename.endswith(
        ".csv"
    )
    with open(download.path(), encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "Display name,Email,Licences,Account,Source"
    assert len(lines) == 61 and lines[1].startswith(names[0])
    page.console_watch.assert_clean()


def test_screenshot_of_the_table(browser_page, users_world):
    """Not an assertion about looks: keeps /tmp/users.png current for a human to review."""
    page = browser_page
    log_in(page)
    page.goto("/users/?tenant=contoso.example")
    page.locator("#users-table tbody tr").first.wait_for()
    page.screenshot(path="/tmp/users.png", caret="initial")
    page.console_watch.assert_clean()
