"""Export selected in a real browser: tick two rows, Export selected → CSV, the download holds those two."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.users.factories import make_technician, make_tenant, make_users

from .conftest import log_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def users_world(transactional_db):
    tenant = make_tenant("Contoso", domain="contoso.example")
    make_users(tenant, 12)
    make_technician("tech", role="reader", scope="all")
    return tenant


def test_tick_two_rows_and_export_them(browser_page, users_world):
    page = browser_page
    log_in(page)
    page.goto("/users/?tenant=contoso.example")
    rows = page.locator("[data-user-row]")
    expect(rows).to_have_count(12)
    chosen = []
    for index in (1, 4):
        rows.nth(index).locator("[data-row-select]").check()
        chosen.append(rows.nth(index).locator("td.col-mail").inner_text().strip())
    page.locator("[data-export-selected]").click()
    with page.expect_download() as download_info:
        page.locator("[data-export-selected-format=csv]").click()
    download = download_info.value
    assert download.suggested_filename.startswith("users-contoso-") and download.suggested_filename.endswith(
        ".csv"
    )
    with open(download.path(), encoding="utf-8-sig") as handle:
        lines = list(csv.reader(io.StringIO(handle.read())))
    assert lines[0][:2] == ["Display name", "Email"]
    assert sorted(line[1] for line in lines[1:]) == sorted(chosen)
