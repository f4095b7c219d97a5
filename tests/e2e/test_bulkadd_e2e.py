"""Bulk add in the browser against the sandbox, under the strict CSP: download the template, fill 24 rows
(some wrong), upload, see each problem next to its field, fix one in place and leave one out, run, watch the
progress, show and download the passwords once, and find the users in the users table."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e]

ROWS = 24


@pytest.fixture
def bulk_e2e_world(transactional_db, sandbox_connection, django_user_model):
    from django.core.cache import cache

    from graph.sandbox.models import SandboxTenant
    from tenants.models import TechnicianProfile, Tenant, TenantDomain
    from users.sync import sync_tenant

    cache.clear()
    sandbox = SandboxTenant.objects.get(display_name="Northwind Traders")
    for sku in sandbox.skus.all():
        sku.prepaid_enabled += 100
        sku.save(update_fields=["prepaid_enabled"])
    default = sandbox.domains.get(is_default=True).name
    tenant = Tenant.objects.create(tenant_id=sandbox.pk, connection=sandbox_connection, display_name=sandbox.display_name,
                                   default_domain=default, has_exchange=True)  # fmt: skip
    for domain in sandbox.domains.all():
        TenantDomain.objects.create(
            tenant=tenant, name=domain.name, is_default=domain.is_default, is_initial=domain.is_initial
        )
    sync_tenant(tenant, full=True)
    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.EDITOR, scope=TechnicianProfile.Scope.ALL
    )
    return tenant, sandbox


def test_template_upload_fix_run_progress_passwords_once_users_listed(
    bulk_e2e_world, browser_page, tmp_path: Path
):
    tenant, sandbox = bulk_e2e_world
    page = browser_page
    log_in(page)
    page.goto(f"/users/?tenant={tenant.slug}")
    page.locator("[data-bulk-add]").click()
    page.wait_for_url(re.compile(r"/users/bulk-add/\?tenant="))
    expect(page.locator("[data-limits]")).to_contain_text("10,000 rows")
    page.screenshot(path="/tmp/bulkadd-start.png", full_page=True, caret="initial")

    with page.expect_download() as download_info:
        page.locator("[data-template=csv]").click()
    template = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(template)))
    assert (
        header[:5] == ["givenName", "surname", "displayName", "username", "domain"] and "licences" in header
    )

    tag = uuid.uuid4().hex[:5]
    rows = []
    for i in range(ROWS):
        row = dict.fromkeys(header, "")
        row.update({"givenName": f"Eve{i}", "surname": f"Bulk{tag}", "username": f"eve{i}.{tag}",
                    "licences": "Microsoft 365 Business Premium", "groups": "SG-VPN-Users", "jobTitle": "Analyst"})  # fmt: skip
        rows.append(row)
    rows[2]["username"] = "eve 2 has spaces"  # wrong: fixed in place below
    rows[5]["domain"] = "contoso.com"  # wrong: not the tenant's domain → left out
    rows[8]["usageLocation"] = "Atlantis"  # wrong: fixed in place below
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    filled = tmp_path / "new-starters.csv"
    filled.write_text(buffer.getvalue(), encoding="utf-8-sig")

    page.locator("[data-bulk-upload] input[type=file]").set_input_files(str(filled))
    page.locator("[data-upload-button]").click()
    page.wait_for_url(re.compile(r"/users/bulk-add/\d+/$"))
    expect(page.locator("[data-count-problems]")).to_have_text("3 with problems")
    expect(page.locator("[data-run-button]")).to_be_disabled()
    bad_upn = page.locator("tr[data-row='4'] [data-cell=upn] [data-problem]")
    expect(bad_upn).to_contain_text("Letters, digits")
    expect(page.locator("tr[data-row='7'] [data-cell=upn] [data-problem]")).to_contain_text(
        "not a verified domain"
    )
    expect(page.locator("tr[data-row='10'] [data-cell=licences] [data-problem]")).to_contain_text(
        "not a country"
    )
    page.screenshot(path="/tmp/bulkadd-preview.png", full_page=True, caret="initial")

    # Fix row 4 in place (htmx): the form shows the problem next to the field.
    page.locator("[data-fix-row='4']").click()
    form = page.locator("tr[data-editing] [data-edit-form]")
    expect(form.locator("[data-field-problem=username]")).to_contain_text("Letters, digits")
    form.get_by_label("Username").fill(f"eve2.{tag}")
    page.screenshot(path="/tmp/bulkadd-fix.png", caret="initial")
    form.locator("[data-save-row]").click()
    expect(page.locator("[data-count-problems]")).to_have_text("2 with problems")
    # Row 10: a typo in the country.
    page.locator("[data-fix-row='10']").click()
    form = page.locator("tr[data-editing] [data-edit-form]")
    form.get_by_label("Usage location").fill("GB")
    form.locator("[data-save-row]").click()
    expect(page.locator("[data-count-problems]")).to_have_text("1 with problems")
    # Row 7 is left out instead.
    page.locator("[data-leave-out='7']").click()
    expect(page.locator("[data-count-problems]")).to_have_text("no problems")
    run = page.locator("[data-run-button]")
    expect(run).to_be_enabled()
    expect(run).to_contain_text(f"Create {ROWS - 1} users in Northwind Traders")
    run.click()

    page.wait_for_url(re.compile(r"/users/bulk-add/\d+/progress/$"))
    expect(page.locator("[data-job-state]")).to_have_text("Succeeded")
    expect(page.locator("[data-created]")).to_have_text(str(ROWS - 1))
    expect(page.locator("[data-failed]")).to_have_text("0")
    page.screenshot(path="/tmp/bulkadd-progress.png", full_page=True, caret="initial")
    page.locator("[data-results-link]").click()
    page.wait_for_url(re.compile(r"/users/bulk-add/\d+/results/$"))
    expect(page.locator("[data-result-row]")).to_have_count(ROWS - 1)
    secrets = page.locator("[data-secret-table]")
    expect(secrets).to_be_hidden()
    page.locator("[data-toggle-secrets]").click()
    expect(secrets).to_be_visible()
    expect(page.locator("[data-secret-row]")).to_have_count(ROWS - 1)
    shown = page.locator("[data-secret]").all_inner_texts()
    page.screenshot(path="/tmp/bulkadd-results.png", full_page=True, caret="initial")

    with page.expect_download() as download_info:
        page.locator("[data-download-secrets]").click()
    table = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_bytes().decode("utf-8-sig"))))
    assert table[0] == ["display name", "user principal name", "password"] and len(table) == ROWS
    assert sorted(line[2] for line in table[1:]) == sorted(shown)
    expect(page.locator("[data-secrets-downloaded]")).to_be_visible()
    page.reload()
    expect(page.locator("[data-secrets-gone]")).to_contain_text("downloaded")
    expect(page.locator("[data-secret]")).to_have_count(0)

    # Every new user is in the users table straight away.
    page.goto(f"/users/?tenant={tenant.slug}&q=eve&per_page=100")
    expect(page.locator("[data-user-row]", has_text=f"{tag}")).to_have_count(ROWS - 1)
    from graph.sandbox.models import SandboxUser

    assert SandboxUser.objects.filter(tenant=sandbox, upn_lower__contains=f".{tag}@").count() == ROWS - 1
    page.console_watch.assert_clean()
