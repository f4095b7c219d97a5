"""Roles in a real browser: a Reader sees no change buttons and is refused admin pages; the audit log's
filters narrow the table and live in the URL."""

from __future__ import annotations

import uuid

import pytest

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def reader(seeded, django_user_model):
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username="reader", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=user, role=TechnicianProfile.Role.READER, scope=TechnicianProfile.Scope.ALL
    )
    return user


def test_reader_sees_no_change_buttons_and_is_refused_admin_pages(browser_page, reader):
    page = browser_page
    log_in(page, "reader")
    table = page.locator("#tenant-table")
    assert table.locator("tr", has_text="Fabrikam Inc").count() == 1
    assert page.get_by_role("button", name="Discover tenants").count() == 0
    assert page.get_by_role("link", name="Add tenant manually").count() == 0
    assert page.get_by_role("switch").count() == 0
    for url in ("/technicians/", "/audit/", "/tenants/connections/"):
        response = page.goto(url)
        assert response.status == 403, url
    assert page.goto("/technicians/roles/").status == 200
    assert page.get_by_text("You are Reader").count() == 1
    page.console_watch.assert_clean()


def test_audit_filters_narrow_the_table_and_stay_in_the_url(browser_page, seeded):
    from users.audit import record

    tech, fabrikam = seeded["technician"], seeded["tenants"]["Fabrikam Inc"]
    record(tech, tenant=fabrikam, target=(uuid.uuid4(), "ann@fabrikam.com"), action="user.update",
           parameters={"department": "Sales"}, result="success")  # fmt: skip
    record(tech, tenant=fabrikam, target=(uuid.uuid4(), "bob@fabrikam.com"), action="user.password_reset",
           parameters={"password": "never-shown"}, result="failed", message="Graph said no")  # fmt: skip
    page = browser_page
    log_in(page)
    page.goto("/audit/")
    rows = page.locator("#audit-table tbody tr")
    assert rows.count() == 2
    page.get_by_label("Action").select_option("user.password_reset")
    page.get_by_label("Result").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/audit/?*action=user.password_reset*")
    assert rows.count() == 1 and "bob@fabrikam.com" in rows.first.inner_text()
    assert "never-shown" not in page.content()
    assert "action=user.password_reset" in page.get_by_role("link", name="Export CSV").get_attribute("href")
    page.get_by_label("User (UPN contains)").fill("ann")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("No entry matches these filters.").wait_for()
    page.get_by_role("link", name="Clear").click()
    page.wait_for_url("**/audit/")
    assert rows.count() == 2
    page.console_watch.assert_clean()


def test_scoped_technician_never_sees_another_tenant(browser_page, seeded, django_user_model):
    """A Helpdesk technician scoped to Fabrikam: the picker, All tenants and direct links to another
    tenant's users show nothing of Northwind, and a Northwind user's page is a plain 404."""
    from tenants.models import TechnicianProfile
    from tests.users.factories import make_users

    fabrikam, northwind = seeded["tenants"]["Fabrikam Inc"], seeded["tenants"]["Northwind Traders"]
    make_users(fabrikam, 3, display_name="Fabrikam Person")
    make_users(northwind, 2, display_name="Northwind Secret")
    from users.models import DirectoryUser

    hidden = DirectoryUser.objects.filter(tenant=northwind).first()
    user = django_user_model.objects.create_user(username="scoped", password=PASSWORD)
    profile = TechnicianProfile.objects.create(
        user=user, role=TechnicianProfile.Role.HELPDESK, scope=TechnicianProfile.Scope.ONLY
    )
    profile.tenants.add(fabrikam)

    page = browser_page
    log_in(page, "scoped")
    assert page.locator("#tenant-table").get_by_text("Northwind Traders").count() == 0
    page.goto("/users/?tenant=all")
    table = page.locator("#users-table")
    assert table.get_by_text("Fabrikam Person").count() >= 1
    assert table.get_by_text("Northwind Secret").count() == 0
    assert page.get_by_text("Northwind").count() == 0
    response = page.goto(f"/users/?tenant={northwind.default_domain}")
    assert "Northwind Secret" not in page.content()
    assert response.status in (403, 404)
    detail = page.goto(f"/users/{northwind.default_domain}/{hidden.user_id}/")
    assert detail.status == 404
    assert "Northwind Secret" not in page.content()
    export = page.request.get("/users/export.csv?tenant=all")
    assert export.ok and "Northwind Secret" not in export.text()
