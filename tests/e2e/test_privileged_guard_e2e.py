"""A Helpdesk technician opens Reset password on a user holding Domain Name Administrator (privileged, and
not on the portal's old list): the modal refuses, naming the role, and offers no confirm button."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PASSWORD, log_in
from .test_actions_e2e import actions_world  # noqa: F401  (the fixture)


def test_helpdesk_sees_the_refusal_naming_the_role(actions_world, browser_page, django_user_model):  # noqa: F811
    from graph.sandbox.models import SandboxRoleMember
    from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR
    from tenants.models import TechnicianProfile

    tenant, sandbox = actions_world
    target = SandboxRoleMember.objects.get(
        role__tenant=sandbox, role__role_template_id=DOMAIN_NAME_ADMINISTRATOR
    ).user
    helpdesk = django_user_model.objects.create_user(username="helpdesk", password=PASSWORD)
    TechnicianProfile.objects.create(user=helpdesk, role=TechnicianProfile.Role.HELPDESK,
                                     scope=TechnicianProfile.Scope.ALL)  # fmt: skip
    page = browser_page
    log_in(page, "helpdesk")
    page.goto(f"/users/?tenant={tenant.slug}&q={target.display_name.split()[0]}")
    row = page.locator("[data-user-row]", has_text=target.upn_lower).first
    row.locator("[data-row-actions]").click()
    row.locator("[data-action-menu]").get_by_role("link", name="Reset password (must change)").click()
    modal = page.locator("#modal")
    skips = modal.locator("[data-action-skips]")
    expect(skips).to_contain_text(
        f"Needs the Admin role because {target.properties['userPrincipalName']} holds Domain Name Administrator."
    )
    expect(modal.locator("[data-confirm-button]")).to_have_count(0)
    page.wait_for_timeout(400)  # the fade-in
    page.screenshot(path="/tmp/privileged-refusal.png", caret="initial")
    page.console_watch.assert_clean()
    target.refresh_from_db()
    assert target.account_enabled is True
