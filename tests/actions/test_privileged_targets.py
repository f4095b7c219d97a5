"""Privileged targets against the seeded sandbox: the seed's Domain Name Administrator (held directly) and
the member of "Password Admins (role-assignable)" (Password Administrator through the group only). Helpdesk
is refused a password reset, an Editor a mail action, and a bulk selection run as a Job skips exactly the
privileged users, each with the role named; an Admin runs them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from graph.sandbox.models import SandboxGroup, SandboxRoleMember
from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR
from tests.actions.examples import EXAMPLES, tenant_named
from tests.actions.test_every_action import outcomes
from users.models import AuditEntry

pytestmark = pytest.mark.django_db
OOO = EXAMPLES["set-out-of-office"].data


def _holders(world):
    tenant = tenant_named(world.sandbox)
    direct = SandboxRoleMember.objects.get(
        role__tenant=tenant, role__role_template_id=DOMAIN_NAME_ADMINISTRATOR
    ).user
    via_group = SandboxGroup.objects.get(tenant=tenant, is_assignable_to_role=True).memberships.get().user
    return direct, via_group


def _post(client, key, world, rows, data, **extra):
    payload = {
        "user": [world.value(r) for r in rows],
        "confirmed": "1",
        "expected_count": str(len(rows)),
        **data,
    }
    return client.post(reverse("users:action", args=[key]), {**payload, **extra})


def test_helpdesk_may_not_reset_the_password_of_a_domain_name_administrator(action_world, role_client,
                                                                             django_capture_on_commit_callbacks):  # fmt: skip
    direct, _ = _holders(action_world)
    row = action_world.cache(direct)
    hash_before = direct.password_hash
    helpdesk = role_client("helpdesk")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(helpdesk, "reset-password", action_world, [row], {"style": "random", "length": "16"})
    assert outcomes(response) == {str(row.user_id): "skipped"}
    why = f"Needs the Admin role because {row.user_principal_name} holds Domain Name Administrator."
    assert why in response.content.decode()
    assert AuditEntry.objects.get().message == why
    direct.refresh_from_db()
    assert direct.password_hash == hash_before
    admin = role_client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin, "reset-password", action_world, [row], {"style": "random", "length": "16"})
    assert outcomes(response) == {str(row.user_id): "success"}


def test_a_role_through_a_group_guards_mail_actions_and_bulk_jobs(action_world, role_client,
                                                                  django_capture_on_commit_callbacks):  # fmt: skip
    from graph.sandbox.models import SandboxMailbox, SandboxUser

    direct, via_group = _holders(action_world)
    tenant = tenant_named(action_world.sandbox)
    plain = [u for u in SandboxUser.objects.filter(tenant=tenant, user_type="Member", account_enabled=True,
                                                   role_memberships__isnull=True, mailbox__isnull=False)
             .exclude(group_memberships__group__is_assignable_to_role=True).order_by("id")[:4]]  # fmt: skip
    rows = [action_world.cache(u) for u in [via_group, direct, *plain]]  # 6 users: above the inline limit
    editor = role_client("editor")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(editor, "set-out-of-office", action_world, rows[:1], OOO)
    assert outcomes(response) == {str(rows[0].user_id): "skipped"}
    assert f"{rows[0].user_principal_name} holds Password Administrator." in response.content.decode()
    assert (
        not (SandboxMailbox.objects.get(user=via_group).auto_reply or {}).get("AutoReplyState") == "Enabled"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(editor, "set-out-of-office", action_world, rows, OOO, typed_count=str(len(rows)))
    assert response.status_code == 302 and "/jobs/" in response["Location"], response.content[:500]
    results = outcomes(response)
    assert results[str(via_group.id)] == "skipped" and results[str(direct.id)] == "skipped"
    assert {results[str(u.id)] for u in plain} == {"success"}
    messages = dict(AuditEntry.objects.filter(result="skipped").values_list("target_user_id", "message"))
    assert "holds Domain Name Administrator" in messages[direct.id]

    admin = role_client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin, "set-out-of-office", action_world, rows[:1], OOO)
    assert outcomes(response) == {str(rows[0].user_id): "success"}


def test_joining_a_role_assignable_group_needs_admin(
    action_world, role_client, django_capture_on_commit_callbacks
):
    """Adding an ordinary user to the role-assignable group would make them a Password Administrator."""
    from graph.sandbox.models import SandboxGroupMember, SandboxUser

    tenant = tenant_named(action_world.sandbox)
    group = SandboxGroup.objects.get(tenant=tenant, is_assignable_to_role=True)
    user = (
        SandboxUser.objects.filter(tenant=tenant, user_type="Member", account_enabled=True,
                                   role_memberships__isnull=True)
        .exclude(group_memberships__group=group).order_by("id").first()
    )  # fmt: skip
    row = action_world.cache(user)
    editor = role_client("editor")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(editor, "add-to-group", action_world, [row], {"group": str(group.id)})
    assert outcomes(response) == {str(row.user_id): "skipped"}
    assert f"{group.display_name} is a role-assignable group" in response.content.decode()
    assert not SandboxGroupMember.objects.filter(group=group, user=user).exists()
    admin = role_client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin, "add-to-group", action_world, [row], {"group": str(group.id)})
    assert outcomes(response) == {str(row.user_id): "success"}
    assert SandboxGroupMember.objects.filter(group=group, user=user).exists()
