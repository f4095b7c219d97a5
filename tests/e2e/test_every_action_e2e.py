"""Every registered action, driven in the browser (a new action gets this for free): an Admin opens the
action from the users table's row menu for the action's worked example target (tests/actions/examples.py),
fills the example's form data into the modal, confirms, and sees a truthful result for that user, under the
strict CSP, with one audit entry for the target. A one-time secret is shown once, with a Copy button, and
is not on the job's page afterwards."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.urls import reverse
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.actions.conftest import ActionWorld
from tests.actions.examples import EXAMPLES
from tests.conftest import portal_tenants
from users.actions import registry

from .conftest import PASSWORD, log_in

KEYS = [action.key for action in registry.all_actions()]
TRUTHFUL = ("success", "accepted", "skipped")


@pytest.fixture
def browser_world(transactional_db, sandbox_world, sandbox_connection, django_user_model):
    """The seeded sandbox with a Tenant row per customer (as tests/actions' ``action_world``) and an Admin."""
    from tenants.models import TechnicianProfile

    tenants = portal_tenants(sandbox_world, sandbox_connection)
    tech = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=tech, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    return ActionWorld(list(sandbox_world), tenants, sandbox_connection)


def _open_from_row_menu(page, key: str, row) -> None:
    page.goto(f"/users/?tenant={row.tenant.slug}&q={row.user_principal_name}")
    table_row = page.locator("[data-user-row]", has_text=row.user_principal_name.lower()).first
    table_row.locator("[data-row-actions]").click()
    link = table_row.locator(f'[data-action-link="{key}"]')
    expect(link, f"the row menu offers no {key!r} for the example's target").to_have_count(1)
    link.click()
    expect(page.locator("#modal [data-action-form]")).to_be_visible()


def _as_datetime_local(value: str) -> str:
    """A form value such as "2026-11-27 09:00[:00]" in the form a datetime-local input takes."""
    match = re.match(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d)", value)
    return f"{match.group(1)}T{match.group(2)}" if match else value


def _fill(form, data: dict) -> None:
    """Put the example's raw form values into the modal's fields, as a technician would."""
    for name, value in data.items():
        fields = form.locator(f'[name="{name}"]')
        assert fields.count(), f"the modal has no field {name!r}"
        first = fields.first
        tag = first.evaluate("el => el.tagName.toLowerCase()")
        kind = (first.get_attribute("type") or "").lower()
        values = value if isinstance(value, list | tuple) else [value]
        if tag == "select":
            first.select_option([str(v) for v in values])
        elif kind == "radio":
            form.locator(f'[name="{name}"][value="{value}"]').check()
        elif kind == "checkbox":
            if fields.count() == 1:
                first.set_checked(bool(value) and value not in ("off", "false", "0"))
            else:
                for index in range(fields.count()):
                    box = fields.nth(index)
                    box.set_checked(box.get_attribute("value") in {str(v) for v in values})
        elif kind == "datetime-local":
            first.fill(_as_datetime_local(str(value)))
        else:  # text, number, url, email, textarea
            first.fill(str(value))
    # A checkbox the example leaves out is one the example's POST leaves unticked.
    boxes = form.locator('.action-fields input[type="checkbox"]')
    for index in range(boxes.count()):
        box = boxes.nth(index)
        if box.get_attribute("name") not in data:
            box.set_checked(False)


def _confirm(page) -> None:
    form = page.locator("#modal [data-action-form]")
    typed = form.locator("[data-type-count]")
    if typed.count():
        typed.fill(typed.get_attribute("data-type-count"))
    form.locator("[data-confirm-button]").click()


def _outcome(page, row) -> tuple[str, str]:
    """(status, message) of the target's result: in the modal, or on the job page a background run goes to."""
    modal_results = page.locator("#modal [data-action-results], [data-job-state]")
    try:
        modal_results.first.wait_for(timeout=15_000)
    except PlaywrightTimeout:  # report what the technician saw instead of a bare timeout
        pytest.fail(
            f"no result after confirming; the page shows:\n{page.locator('body').inner_text()[:2000]}"
        )
    if page.locator("[data-job-state]").count():  # a background run: wait for the job to finish
        finished = re.compile("Succeeded|Finished with failures|Failed|Cancelled")
        expect(page.locator("[data-job-state]")).to_have_text(finished, timeout=30_000)
        item = page.locator("[data-item-status]", has_text=row.user_principal_name)
        expect(item).to_have_count(1)
        return item.get_attribute("data-item-status"), item.inner_text().strip()
    result = page.locator(f'#modal [data-result][data-user-id="{row.user_id}"]')
    expect(result).to_have_count(1)
    return result.get_attribute("data-result"), result.locator(".action-result-message").inner_text().strip()


def _check_secret_shown_once(page, row) -> None:
    results = page.locator("#modal [data-action-results]")
    secret = results.locator(f'[data-result][data-user-id="{row.user_id}"] [data-secret]')
    expect(secret).to_have_count(1)
    value = secret.inner_text().strip()
    assert len(value) >= 8, f"the one-time secret looks empty: {value!r}"
    expect(results.locator("[data-copy-secret]")).to_have_count(1)
    expect(results.locator("[data-copy-secret]")).to_be_visible()
    job_url = reverse("jobs:detail", args=[int(results.get_attribute("data-job"))])
    page.reload()
    assert value not in page.content(), "the secret is still on the page after reloading"
    page.goto(job_url)
    expect(page.locator("body")).to_be_visible()
    assert page.locator("[data-secret]").count() == 0 and value not in page.content(), (
        "the secret shows on the job's page"
    )


@pytest.mark.parametrize("key", KEYS)
def test_every_action_in_the_browser(key, browser_world, browser_page):
    from users.models import AuditEntry

    action = registry.get(key)
    example = EXAMPLES.get(key)
    assert example is not None, f"no example for {key} in tests/actions/examples*.py"
    target = example.target(browser_world.sandbox)
    row = browser_world.cache(target)
    data = example.data(browser_world.sandbox) if callable(example.data) else dict(example.data)
    example = dataclasses.replace(example, data=data)

    page = browser_page
    log_in(page)
    _open_from_row_menu(page, key, row)
    modal = page.locator("#modal")
    expect(modal.locator("[data-confirm-text]")).to_contain_text(row.tenant.display_name)
    _fill(modal.locator("[data-action-form]"), example.data)
    _confirm(page)

    status, message = _outcome(page, row)
    assert status in TRUTHFUL, f"{key}: {status}: {message}"
    if status == "skipped":
        assert message, f"{key}: skipped without a reason"
    if action.secret_output and status in ("success", "accepted"):
        _check_secret_shown_once(page, row)

    entries = AuditEntry.objects.filter(action=key, target_user_id=row.user_id)
    assert entries.count() == 1, f"{key}: expected one audit entry for the target, found {entries.count()}"
    assert entries.get().result == status
    page.console_watch.assert_clean()
