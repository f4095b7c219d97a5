"""Add user in the browser against the sandbox, under the strict CSP: the seed page's AutoTask LiveLink
opens a correctly filled form, the live checks answer, "Copy prefill link" rebuilds the link, submitting
creates the user and shows the one-time password, and the user is in the users table."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode, urlparse

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in


@pytest.fixture
def add_world(transactional_db, sandbox_connection, django_user_model):
    from tenants.models import TechnicianProfile
    from tests.provisioning.test_add_user_views import build_world

    world = build_world(sandbox_connection)
    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.EDITOR, scope=TechnicianProfile.Scope.ALL
    )
    return world["northwind"]


def seed_livelink(tenant) -> str:
    """The seed page's LiveLink with its AutoTask placeholders filled (ACCOUNTWEBSITEADDRESS as a URL)."""
    values = [
        ("city", "Rotterdam"), ("country", "Netherlands"), ("customerId", str(tenant.tenant_id)),
        ("primDomain", "https://www.northwind.co.uk/"), ("usageLocation", "NL"), ("streetAddress", "Coolsingel 40"),
        ("companyName", "Northwind Traders"), ("businessPhones", "+31 10 123 4567"), ("postalCode", "3011 AB"),
        ("givenName", "Anna"), ("surname", "de Vries"),
    ]  # fmt: skip
    return "/identity/administration/users/add?" + urlencode(values, quote_via=quote)


def test_livelink_to_created_user_in_the_table(add_world, browser_page):
    from graph.sandbox.models import SandboxUser

    tenant = add_world
    page = browser_page
    log_in(page)

    # The users list offers the button (loaded for technicians who may create users).
    page.goto(f"/users/?tenant={tenant.slug}")
    expect(page.locator("[data-add-user]")).to_have_attribute(
        "href", f"/users/add/?tenant={tenant.tenant_id}"
    )

    page.goto(seed_livelink(tenant))
    form = page.locator("#add-user-form")
    expected = {
        "given_name": "Anna", "surname": "de Vries", "city": "Rotterdam", "country": "Netherlands",
        "street_address": "Coolsingel 40", "company_name": "Northwind Traders", "business_phone": "+31 10 123 4567",
        "postal_code": "3011 AB", "domain": "northwind.co.uk", "usage_location": "NL",
    }  # fmt: skip
    for name, value in expected.items():
        expect(form.locator(f'[name="{name}"]')).to_have_value(value)
    expect(page.locator("[data-prefill-notice]")).to_be_visible()
    expect(page.locator("[data-unknown-parameters]")).to_have_count(0)
    expect(page.locator("[data-field-error]")).to_have_count(0)
    # Display name suggested from first + last name (none in the link), following edits of the names.
    expect(form.locator('[name="display_name"]')).to_have_value("Anna de Vries")
    form.locator('[name="given_name"]').fill("Anne")
    expect(form.locator('[name="display_name"]')).to_have_value("Anne de Vries")
    form.locator('[name="given_name"]').fill("Anna")
    # The password box shows only while typing one.
    expect(page.locator("[data-password-manual]")).to_be_hidden()
    assert SandboxUser.objects.filter(upn_lower__startswith="anna.devries@").count() == 0  # nothing sent yet

    # Live check of the UPN as the technician types.
    form.locator('[name="username"]').fill("anna.devries")
    expect(page.locator("#address-check")).to_contain_text("anna.devries@northwind.co.uk")
    expect(page.locator("#address-check")).to_contain_text("free")
    # A field over Graph's limit is flagged while typing.
    form.locator('[name="postal_code"]').fill("9" * 41)
    expect(page.locator("#id_postal_code-live")).to_contain_text("At most 40 characters")
    form.locator('[name="postal_code"]').fill("3011 AB")
    page.screenshot(path="/tmp/add-user-form.png", full_page=True, caret="initial")

    # "Copy prefill link" writes the reference product's parameter names.
    page.locator("[data-copy-link]").click()
    link = page.locator("[data-link-value]").input_value()
    query = parse_qs(urlparse(link).query)
    assert urlparse(link).path == "/identity/administration/users/add"
    assert query["customerId"] == [str(tenant.tenant_id)]
    assert query["givenName"] == ["Anna"] and query["mailNickname"] == ["anna.devries"]
    assert query["primDomain"] == ["northwind.co.uk"] and query["usageLocation"] == ["NL"]
    assert "password" not in link.lower() or "MustChangePass" in link

    # Licence, alias and groups (a security group through Graph, a distribution list through Exchange).
    form.get_by_label("Microsoft 365 Business Premium (3 available)").check()
    form.locator('[name="aliases"]').fill("anna.dv")
    page.locator("[data-group-filter]").fill("sales team")
    expect(form.get_by_label("SG-VPN-Users — Security")).to_be_hidden()
    form.get_by_label("Sales Team — Distribution").check()
    page.locator("[data-group-filter]").fill("")
    form.get_by_label("SG-VPN-Users — Security").check()

    page.get_by_role("button", name="Create user").click()
    result = page.locator("[data-provision-result]")
    expect(result).to_have_attribute("data-created", "true")
    expect(result).to_contain_text("anna.devries@northwind.co.uk")
    secret = result.locator("[data-secret]")
    expect(secret).to_be_visible()
    password = secret.inner_text().strip()
    assert len(password) >= 8
    expect(result.locator('[data-step="create"]')).to_have_attribute("data-status", "success")
    for step in ("licences", "aliases", "groups"):
        expect(result.locator(f'[data-step="{step}"]').first).to_have_attribute("data-status", "success")
    expect(result.locator('[data-status="failed"]')).to_have_count(0)
    page.screenshot(path="/tmp/add-user-result.png", caret="initial")
    created = SandboxUser.objects.get(tenant_id=tenant.tenant_id, upn_lower="anna.devries@northwind.co.uk")
    assert created.properties["city"] == "Rotterdam" and created.properties["usageLocation"] == "NL"
    assert created.properties["passwordProfile"]["forceChangePasswordNextSignIn"] is False

    page.get_by_role("link", name="Back to users").click()
    page.locator("#users-q").fill("anna.devries")
    # The table shows the name (the UPN column is not among the default columns).
    expect(page.locator("[data-user-row]", has_text="Anna de Vries")).to_have_count(1)
    expect(page.locator("#users-count")).to_contain_text("1 user")
    page.console_watch.assert_clean()


def test_display_name_from_the_link_is_kept_and_form_errors_are_shown(add_world, browser_page):
    tenant = add_world
    page = browser_page
    log_in(page)
    query = urlencode({"customerId": tenant.default_domain, "givenName": "Bo", "surname": "Ek",
                       "displayName": "Bo Ek (Contractor)", "primDomain": "contoso.com", "MustChangePass": "yes"})  # fmt: skip
    page.goto(f"/identity/administration/users/add?{query}")
    form = page.locator("#add-user-form")
    expect(form.locator('[name="display_name"]')).to_have_value("Bo Ek (Contractor)")
    form.locator('[name="given_name"]').fill("Bob")
    expect(form.locator('[name="display_name"]')).to_have_value("Bo Ek (Contractor)")  # not overwritten
    expect(form.locator('[name="domain"]')).to_have_value("contoso.com")
    expect(page.locator('[data-field-error="domain"]')).to_contain_text(
        "not one of this tenant's verified domains"
    )
    expect(form.locator('[name="must_change_password"]')).to_be_checked()
    page.console_watch.assert_clean()


def test_copy_from_another_user_fills_the_form(add_world, browser_page):
    from users.models import DirectoryUser

    tenant = add_world
    source = (
        DirectoryUser.objects.filter(tenant=tenant, is_licensed=True)
        .exclude(job_title="")
        .exclude(department="")
        .order_by("display_name")
        .first()
    )
    page = browser_page
    log_in(page)
    page.goto(f"/users/add/?tenant={tenant.tenant_id}&city=Kept")
    form = page.locator("#add-user-form")
    box = form.locator('[name="copy_from"]')
    box.fill(source.display_name[:6])
    expect(page.locator(f'#users-copy_from option[value="{source.user_principal_name}"]')).to_have_count(1)
    box.fill(source.user_principal_name)
    page.locator("[data-copy-button]").click()
    expect(page.locator("#copy-status")).to_contain_text(source.display_name)
    expect(form.locator('[name="job_title"]')).to_have_value(source.job_title)
    expect(form.locator('[name="department"]')).to_have_value(source.department)
    expect(form.locator('[name="city"]')).to_have_value("Kept")  # what was there stays
    for sku in source.license_sku_ids:
        expect(form.locator(f'[name="licences"][value="{str(sku).lower()}"]')).to_be_checked()
    page.console_watch.assert_clean()
