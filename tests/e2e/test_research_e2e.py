"""Research compromised account in the browser: from View user's actions to the report, sorting its tables,
then remediation from the report page; all under the strict CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in

SCREENSHOT = "/tmp/research-report.png"


@pytest.fixture
def research_browser_world(transactional_db, sandbox_world, sandbox_connection, django_user_model):
    from graph.sandbox.graph_views.common import tenant_has_premium
    from graph.sandbox.seed_compromise import compromise_cast
    from tenants.models import TechnicianProfile, Tenant, TenantDomain
    from users.sync import apply_user_record

    sandbox = next(t for t in sandbox_world if t.display_name == "Fabrikam Inc")
    default = sandbox.domains.get(is_default=True).name
    tenant = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection, display_name=sandbox.display_name,
                                   default_domain=default, has_exchange=True,
                                   has_entra_p1=tenant_has_premium(sandbox))  # fmt: skip
    TenantDomain.objects.create(tenant=tenant, name=default, is_default=True)
    compromised, _clean = compromise_cast(sandbox)
    row = apply_user_record(tenant, {**compromised.properties, "id": str(compromised.pk)}, partial=False)
    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(user=tech, role=TechnicianProfile.Role.ADMIN,
                                     scope=TechnicianProfile.Scope.ALL)  # fmt: skip
    return tenant, row, compromised


def test_research_and_remediate_in_the_browser(research_browser_world, browser_page):
    tenant, row, compromised = research_browser_world
    page = browser_page
    log_in(page)
    page.goto(f"/users/{tenant.slug}/{row.user_id}/")
    page.locator('#user-detail-actions [data-action-group="Security"]').click()
    page.locator('#user-detail-actions [data-action-link="research-compromise"]').click()
    modal = page.locator("#modal")
    expect(modal.locator("[data-confirm-text]")).to_contain_text("only reads")
    expect(modal.get_by_label("Look back (days)")).to_have_value("7")
    modal.get_by_label("Look back (days)").fill("10")
    modal.locator("[data-confirm-button]").click()
    # The test settings run Celery eagerly, so the gathering happens within this request.
    expect(modal.locator('[data-result="success"]')).to_contain_text("Research started over the last 10 days",
                                                                      timeout=90_000)  # fmt: skip
    modal.get_by_role("link", name="Open the report").click()

    # The report: verdict first, then every section, sortable tables, countries, timeline.
    page.wait_for_url(re.compile(r".*/research/$"))
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "malicious", timeout=30_000)
    expect(page.get_by_role("heading", name="Signs of compromise found")).to_be_visible()
    expect(page.locator('[data-verdict-list="malicious"]')).to_contain_text("Impossible travel")
    expect(page.locator('[data-section="inbox_rules"]')).to_have_attribute("data-section-status", "flagged")
    expect(page.locator('[data-section="inbox_rules"] tr[data-flagged]')).to_have_count(3)
    expect(page.locator('[data-section="countries"]')).to_contain_text("NG")
    expect(page.locator('[data-section="timeline"] tbody tr').first).to_be_visible()
    expect(page.get_by_text("last 10 days")).to_be_visible()

    # Sorting the sign-ins by country, both ways.
    sign_ins = page.locator('[data-section="sign_ins"] table')
    header = sign_ins.get_by_role("button", name="Country")
    header.click()
    expect(sign_ins.locator("th").nth(5)).to_have_attribute("aria-sort", "ascending")
    countries = sign_ins.locator("tbody tr td:nth-child(6)").all_inner_texts()
    assert countries == sorted(countries, key=str.lower)
    header.click()
    expect(sign_ins.locator("th").nth(5)).to_have_attribute("aria-sort", "descending")
    countries = sign_ins.locator("tbody tr td:nth-child(6)").all_inner_texts()
    assert countries == sorted(countries, key=str.lower, reverse=True)

    # CSV per section.
    with page.expect_download() as download:
        page.locator('[data-section="inbox_rules"] a.research-csv').click()
    assert download.value.suggested_filename.endswith("-inbox_rules.csv")
    page.screenshot(path=SCREENSHOT, full_page=True)
    page.screenshot(path="/tmp/research-top.png")

    # Remediate: untick the password and MFA steps, run the rest.
    page.locator("[data-research-remediate]").click()
    form = page.locator("#modal [data-remediate-form]")
    expect(form).to_contain_text("Block sign-in")
    form.get_by_label("Reset the password (must change at next sign-in)").uncheck()
    form.get_by_label("Remove MFA methods").uncheck()
    form.locator("[data-confirm-button]").click()
    expect(page.locator("[data-remediation]")).to_be_visible(timeout=90_000)
    items = page.locator("[data-remediation] [data-item-key]")
    expect(items).to_have_count(5)
    for key in ("block-sign-in", "revoke-sessions", "disable-rules", "remove-forwarding", "revoke-grants"):
        expect(page.locator(f'[data-remediation] [data-item-key="{key}"]')).to_have_attribute(
            "data-item-status", "success")  # fmt: skip
    # Gathered again afterwards: sign-in now shows blocked.
    expect(page.locator(".research-state")).to_contain_text("blocked")
    page.screenshot(path="/tmp/research-after.png")
    compromised.refresh_from_db()
    assert compromised.account_enabled is False
    page.console_watch.assert_clean()
