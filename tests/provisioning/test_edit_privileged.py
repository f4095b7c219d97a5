"""Edit user on a privileged target, against the sandbox: an Editor is refused at review (and so at save)
with the role named, for a role held directly (Domain Name Administrator) or only through a role-assignable
group (Password Administrator); nothing is sent. An Admin saves."""

from __future__ import annotations

import pytest

from graph.sandbox.models import SandboxGroup, SandboxRoleMember, SandboxUser
from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR
from tenants.models import TechnicianProfile
from tests.provisioning.test_edit_views import open_form, review, save, statuses, technician, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _holders(edit_world, name="Northwind Traders") -> tuple[SandboxUser, SandboxUser]:
    tenant = edit_world.sandbox[name]
    direct = SandboxRoleMember.objects.get(
        role__tenant=tenant, role__role_template_id=DOMAIN_NAME_ADMINISTRATOR
    ).user
    via_group = SandboxGroup.objects.get(tenant=tenant, is_assignable_to_role=True).memberships.get().user
    return direct, via_group


@pytest.mark.parametrize("who,role", [(0, "Domain Name Administrator"), (1, "Password Administrator")])
def test_editor_is_refused_with_the_role_named_and_nothing_is_sent(world, django_user_model, who, role):  # noqa: F811
    user = _holders(world)[who]
    editor = technician(django_user_model, TechnicianProfile.Role.EDITOR)
    url = world.url(user)
    opened = editor.get(url)
    assert opened.status_code == 200 and opened.context["refused"].endswith(f"holds {role}.")
    assert "Nothing was sent" not in opened.content.decode()  # said up front, before anything is tried
    data = open_form(editor, url)
    _, response = review(editor, url, data, job_title="Taken over")
    assert response.status_code == 403
    page = response.content.decode()
    assert f"Needs the Admin role because {user.properties['userPrincipalName']} holds {role}." in page
    assert not response.context.get("summary")
    # Skipping the review does not help: a forged "apply" is refused the same way.
    response = editor.post(url, {**data, "job_title": "Taken over", "step": "apply", "reviewed": "forged"})
    assert response.status_code == 403 and "results" not in response.context
    # htmx gets the panel (swapped) with the same refusal.
    response = editor.post(url, {**data, "job_title": "Taken over", "step": "review"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and role in response.content.decode()
    user.refresh_from_db()
    assert user.properties.get("jobTitle") != "Taken over"


def test_admin_saves_a_privileged_user(world, django_user_model):  # noqa: F811
    _, user = _holders(world)
    admin = technician(django_user_model, TechnicianProfile.Role.ADMIN)
    url = world.url(user)
    response = save(admin, url, open_form(admin, url), job_title="Password desk lead")
    assert statuses(response)[0][:2] == ("profile", "success")
    user.refresh_from_db()
    assert user.properties["jobTitle"] == "Password desk lead"


def test_editor_may_not_add_an_ordinary_user_to_a_role_assignable_group(world, django_user_model):  # noqa: F811
    from graph.sandbox.models import SandboxGroupMember

    user = world.user("Northwind Traders")
    group = SandboxGroup.objects.get(tenant=world.sandbox["Northwind Traders"], is_assignable_to_role=True)
    editor = technician(django_user_model, TechnicianProfile.Role.EDITOR)
    url = world.url(user)
    data = open_form(editor, url)
    _, response = review(editor, url, data, group_add=[str(group.pk)])
    assert response.status_code == 403
    assert f"{group.display_name} is a role-assignable group" in response.content.decode()
    assert not SandboxGroupMember.objects.filter(group=group, user=user).exists()
    admin = technician(django_user_model, TechnicianProfile.Role.ADMIN)
    response = save(admin, url, open_form(admin, url), group_add=[str(group.pk)])
    assert ("groups", "success") in [(step, status) for step, status, _ in statuses(response)]
    assert SandboxGroupMember.objects.filter(group=group, user=user).exists()


def test_copying_memberships_skips_a_role_assignable_group_for_an_editor(world, django_user_model):  # noqa: F811
    from graph.sandbox.models import SandboxGroupMember

    _, source = _holders(world)
    group = SandboxGroup.objects.get(tenant=world.sandbox["Northwind Traders"], is_assignable_to_role=True)
    target = world.user("Northwind Traders", exclude=[source])
    editor = technician(django_user_model, TechnicianProfile.Role.EDITOR)
    url = world.url(target)
    response = save(
        editor, url, open_form(editor, url), copy_groups_from=source.properties["userPrincipalName"]
    )
    copied = [(status, message) for step, status, message in statuses(response) if step == "copy-groups"]
    assert ("skipped", f"{group.display_name}: needs the Admin role, because members of a role-assignable group "
            "hold the directory roles assigned to it.") in copied  # fmt: skip
    assert not SandboxGroupMember.objects.filter(group=group, user=target).exists()
