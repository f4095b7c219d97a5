"""Objects above tenants in a real browser (issue 13): a scoped Admin is offered no connection or tenant
controls; the Admin over all tenants changes a connection endpoint and is told the credentials are gone."""

from __future__ import annotations

import pytest

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e]


def test_scoped_admin_sees_no_connection_or_tenant_controls(browser_page, seeded, django_user_model):
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username="fabadmin", password=PASSWORD)
    profile = TechnicianProfile.objects.create(user=user, role="admin", scope="only")
    profile.tenants.set([seeded["tenants"]["Fabrikam Inc"]])
    page = browser_page
    log_in(page, "fabadmin")
    assert page.locator("#tenant-table tr", has_text="Fabrikam Inc").count() == 1
    assert page.locator("#tenant-table tr", has_text="Northwind").count() == 0
    assert page.get_by_role("button", name="Discover tenants").count() == 0
    assert page.get_by_role("link", name="Add tenant manually").count() == 0
    assert page.get_by_role("switch").count() == 0
    assert page.get_by_role("link", name="Connections").count() == 0
    for url in ("/tenants/connections/", f"/tenants/connections/{seeded['connection'].pk}/", "/tenants/add/"):
        assert page.goto(url).status == 403, url
    assert page.goto(f"/technicians/{seeded['technician'].pk}/").status == 404  # the all-tenant Admin
    page.goto("/technicians/")
    assert page.locator("tbody tr", has_text="fabadmin").count() == 1
    assert page.locator("tbody tr", has_text="tech").filter(has_not_text="fabadmin").count() == 0
    page.console_watch.assert_clean()


def test_all_tenant_admin_changes_an_endpoint_and_is_told_credentials_are_gone(browser_page, seeded):
    connection = seeded["connection"]
    connection.refresh_token = "partner-refresh-token"
    connection.save()
    page = browser_page
    log_in(page)
    page.get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_text("Endpoints (advanced)").click()
    assert page.locator("#endpoint-warning").is_visible()
    page.get_by_label("Graph endpoint").fill("https://graph.attacker.example")
    page.get_by_role("button", name="Save connection").click()
    assert "is not a Microsoft endpoint" in page.locator("#id_graph_url").locator("..").inner_text()
    page.get_by_label("Graph endpoint").fill("https://graph.microsoft.us")
    page.get_by_role("button", name="Save connection").click()
    page.wait_for_url(f"**/tenants/connections/{connection.pk}/")
    page.locator("#toasts").get_by_text("credentials never follow a changed endpoint").wait_for()
    assert page.locator("#credentials-missing").is_visible()
    connection.refresh_from_db()
    assert connection.graph_url == "https://graph.microsoft.us"
    assert (connection.client_secret, connection.refresh_token) == ("", "")
    page.goto("/tenants/connections/")
    assert page.get_by_text("Secret not set").count() == 1 and page.get_by_text("Not signed in").count() == 1
    page.console_watch.assert_clean()
