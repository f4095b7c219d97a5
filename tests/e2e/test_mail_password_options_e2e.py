"""In the browser, through the modal: a typed password that breaks Entra's rules gets its error next to the
field (and is not rendered back), a good one is set and shown nowhere; forwarding outside a tenant whose
outbound spam policy blocks it is warned about before confirming and in the result."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.actions.examples import cloud_member, tenant_named
from tests.actions.examples_password_options import CHOSEN_PASSWORD

from .conftest import log_in
from .test_every_action_e2e import _open_from_row_menu, browser_world  # noqa: F401 - the fixture


def test_typed_password_error_next_to_the_field_then_set(browser_world, browser_page):  # noqa: F811
    from users.models import AuditEntry

    user = cloud_member(browser_world.sandbox, skip=2)
    row = browser_world.cache(user)
    page = browser_page
    log_in(page)
    _open_from_row_menu(page, "set-chosen-password", row)
    form = page.locator("#modal [data-action-form]")
    form.locator('[name="new_password"]').fill("password")
    form.locator("[data-confirm-button]").click()
    error = page.locator("#modal #id_new_password-error")
    expect(error).to_contain_text("three of")
    field = page.locator('#modal [name="new_password"]')
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("")
    field.fill(CHOSEN_PASSWORD)
    page.locator("#modal [data-confirm-button]").click()
    result = page.locator(f'#modal [data-result][data-user-id="{row.user_id}"]')
    expect(result).to_have_attribute("data-result", "success")
    assert CHOSEN_PASSWORD not in page.content()
    user.refresh_from_db()
    assert user.properties["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert AuditEntry.objects.filter(action="set-chosen-password").count() == 1
    page.console_watch.assert_clean()


def test_external_forwarding_warned_in_a_blocking_tenant(browser_world, browser_page):  # noqa: F811
    from graph.sandbox.models import SandboxMailbox, SandboxUser

    fabrikam = tenant_named(browser_world.sandbox, "Fabrikam Inc")
    box = (SandboxMailbox.objects.filter(user__tenant=fabrikam, recipient_type_details="UserMailbox",
                                         user__role_memberships__isnull=True, user__account_enabled=True)
           .order_by("user__display_name").first())  # fmt: skip
    row = browser_world.cache(SandboxUser.objects.get(pk=box.user_id))
    page = browser_page
    log_in(page)
    _open_from_row_menu(page, "set-forwarding", row)
    modal = page.locator("#modal")
    expect(modal.locator(".action-warning")).to_contain_text(
        "blocks automatic forwarding to outside addresses"
    )
    form = modal.locator("[data-action-form]")
    form.locator('[name="destination"][value="external"]').check()
    form.locator('[name="external_address"]').fill("archive@partner.example")
    form.locator('[name="keep_copy"]').set_checked(True)
    form.locator("[data-confirm-button]").click()
    result = page.locator(f'#modal [data-result][data-user-id="{row.user_id}"]')
    expect(result).to_have_attribute("data-result", "success")
    expect(result).to_contain_text(re.compile("not delivered"))
    box.refresh_from_db()
    assert (
        box.forwarding_smtp_address == "smtp:archive@partner.example" and box.deliver_to_mailbox_and_forward
    )
    page.console_watch.assert_clean()
