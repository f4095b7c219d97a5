"""A technician's first minute on the Users page (issue 19 parts 2 and 3), in a real browser: a tenant
waiting for its first sync says so and offers Refresh; Refresh fills the table; search then finds a name
typed without its accents and in capitals."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import portal_tenants
from users.models import DirectoryUser
from users.search_key import fold

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def first_minute(transactional_db, sandbox_world, sandbox_connection, django_user_model):
    from tenants.models import TechnicianProfile

    tenants = portal_tenants(sandbox_world, sandbox_connection)
    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    return next(t for t in tenants.values() if t.display_name == "Fabrikam Inc")


def test_refresh_from_the_empty_table_then_search_without_accents(browser_page, first_minute):
    page, tenant = browser_page, first_minute
    log_in(page)
    page.goto(f"/users/?tenant={tenant.slug}")
    waiting = page.locator(".first-sync-wait")
    expect(waiting).to_contain_text("Waiting for the first directory sync of Fabrikam Inc.")
    waiting.get_by_role("button", name="Refresh").click()  # the worker runs eagerly in tests
    expect(page.locator("#users-table tbody tr")).to_have_count(50)
    expect(page.locator(".first-sync-wait")).to_have_count(0)

    # A name with an accent, typed in capitals without it.
    accented = next(
        u
        for u in DirectoryUser.objects.filter(tenant=tenant).order_by("display_name")
        if not u.display_name.isascii() and u.surname and not u.surname.isascii()
    )
    typed = fold(accented.surname).upper()
    assert typed != accented.surname.upper()
    page.get_by_label("Search users").fill(typed)
    page.wait_for_url("**q=**")
    expect(page.locator("#users-table tbody tr", has_text=accented.display_name).first).to_be_visible()
    page.console_watch.assert_clean()
