"""Remove directory role: the exact Graph requests (``responses``), the last Global Administrator refused
before any DELETE, runs against the sandbox with its state checked (direct role removed; a role held through a
group named and not offered), the role pre-chosen from View user, and refusals by role and out of scope."""

from __future__ import annotations

import pytest
import responses
from django.urls import reverse

from graph.services import role_assignments
from tests.actions.unitkit import GRAPH, context, make_tenant, make_user, targets
from users.actions import registry
from users.actions.registry import Status
from users.models import AuditEntry

USER = "11111111-1111-4111-8111-111111111111"
GROUP = "22222222-2222-4222-8222-222222222222"
GA = role_assignments.GLOBAL_ADMINISTRATOR
ASSIGNMENTS = f"{GRAPH}/v1.0/roleManagement/directory/roleAssignments"


def _unit_graph(ga_holders: list[dict]):
    responses.get(f"{GRAPH}/v1.0/roleManagement/directory/roleDefinitions",
                  json={"value": [{"id": GA, "templateId": GA, "displayName": "Global Administrator"},
                                  {"id": "p1", "templateId": "p1", "displayName": "Password Administrator"}]})  # fmt: skip
    responses.get(ASSIGNMENTS, match=[responses.matchers.query_param_matcher(
        {"$filter": f"principalId eq '{USER}'"})],
        json={"value": [{"id": "ga-user", "principalId": USER, "roleDefinitionId": GA, "directoryScopeId": "/"}]})  # fmt: skip
    responses.get(f"{GRAPH}/v1.0/users/{USER}/transitiveMemberOf/microsoft.graph.group",
                  match=[responses.matchers.header_matcher({"ConsistencyLevel": "eventual"})],
                  json={"value": [{"id": GROUP, "displayName": "Password Admins", "isAssignableToRole": True},
                                  {"id": "plain", "displayName": "Sales", "isAssignableToRole": False}]})  # fmt: skip
    responses.get(ASSIGNMENTS, match=[responses.matchers.query_param_matcher(
        {"$filter": f"principalId eq '{GROUP}'"})],
        json={"value": [{"id": "pw-group", "principalId": GROUP, "roleDefinitionId": "p1", "directoryScopeId": "/"}]})  # fmt: skip
    responses.get(ASSIGNMENTS, match=[responses.matchers.query_param_matcher(
        {"$filter": f"roleDefinitionId eq '{GA}'"})], json={"value": ga_holders})  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("other_ga", [False, True])
@responses.activate
def test_exact_requests_and_the_last_global_admin(django_user_model, other_ga):
    holders = [{"id": "ga-user", "principalId": USER, "roleDefinitionId": GA}]
    if other_ga:
        holders.append({"id": "ga-other", "principalId": "someone", "roleDefinitionId": GA})
    _unit_graph(holders)
    responses.delete(f"{ASSIGNMENTS}/ga-user", status=204)
    tenant = make_tenant()
    ctx = context(tenant, django_user_model.objects.create_superuser(username="boss", password="x"))
    [target] = targets(tenant, [make_user(tenant, user_id=USER, display_name="Adele Vance")])
    rows = role_assignments.user_roles(ctx.graph, USER)
    assert [(r["role"], r["removable"], r["via_group"]) for r in rows] == [
        ("Global Administrator", True, ""),
        ("Password Administrator", False, "Password Admins"),
    ]
    outcome = registry.get("remove-directory-role").run(ctx, target, {"assignment": "ga-user"})
    deletes = [c for c in responses.calls if c.request.method == "DELETE"]
    if other_ga:
        assert (
            outcome.status == Status.SUCCESS and outcome.message == "Removed the Global Administrator role."
        )
        assert [c.request.url for c in deletes] == [f"{ASSIGNMENTS}/ga-user"]
    else:
        assert outcome.status == Status.FAILED and "only Global Administrator" in outcome.message
        assert "Contoso" in outcome.message and not deletes
    through = registry.get("remove-directory-role").run(ctx, target, {"assignment": "pw-group"})
    assert through.status == Status.FAILED and "through the group Password Admins" in through.message


def _post(client, world, row, assignment):
    return client.post(reverse("users:action", args=["remove-directory-role"]), {
        "user": world.value(row), "confirmed": "1", "expected_count": "1", "assignment": assignment},
        HTTP_HX_REQUEST="true")  # fmt: skip


def _direct_holder(template):
    from graph.sandbox.models import SandboxRoleMember

    return (SandboxRoleMember.objects.filter(role__tenant__display_name="Northwind Traders",
                                             role__role_template_id=template)
            .select_related("user").order_by("user__created_datetime").first())  # fmt: skip


def test_admin_removes_a_direct_role_on_the_sandbox(action_world, role_client):
    from graph.sandbox.graph_views.role_management import assignment_id
    from graph.sandbox.models import SandboxRoleMember
    from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR

    held = _direct_holder(DOMAIN_NAME_ADMINISTRATOR)
    row = action_world.cache(held.user)
    value = assignment_id(DOMAIN_NAME_ADMINISTRATOR, held.user_id)
    for role in ("helpdesk", "editor"):
        assert _post(role_client(role), action_world, row, value).status_code == 403
    other = next(t for t in action_world.tenants.values() if t.pk != row.tenant.pk)
    assert _post(role_client("admin", tenants=[other]), action_world, row, value).status_code == 404
    client = role_client("admin")
    section = client.get(reverse("users:detail-roles", args=[row.tenant.slug, row.user_id]))
    assert f'data-remove-role="{value}"' in section.content.decode()
    page = client.get(reverse("users:action", args=["remove-directory-role"]),
                      {"user": action_world.value(row), "assignment": value}, HTTP_HX_REQUEST="true")  # fmt: skip
    text = page.content.decode()
    assert "Domain Name Administrator" in text and "Northwind Traders" in text
    assert "checked" in text.split(f'value="{value}"')[1].split(">")[0]
    response = _post(client, action_world, row, value)
    assert 'data-result="success"' in response.content.decode()
    assert not SandboxRoleMember.objects.filter(pk=held.pk).exists()
    assert AuditEntry.objects.get(result="success").parameters == {"assignment": value}


def test_role_through_a_group_is_named_and_not_offered(action_world, role_client):
    from graph.sandbox.graph_views.role_management import assignment_id
    from graph.sandbox.models import SandboxGroupMember, SandboxGroupRoleMember
    from graph.sandbox.seed_roles import PASSWORD_ADMINISTRATOR, ROLE_GROUP_NAME

    grant = SandboxGroupRoleMember.objects.get(role__tenant__display_name="Northwind Traders",
                                               role__role_template_id=PASSWORD_ADMINISTRATOR)  # fmt: skip
    member = SandboxGroupMember.objects.filter(group=grant.group).select_related("user").first().user
    row = action_world.cache(member)
    client = role_client("admin")
    section = client.get(reverse("users:detail-roles", args=[row.tenant.slug, row.user_id])).content.decode()
    assert (
        "Password Administrator" in section
        and ROLE_GROUP_NAME in section
        and "data-remove-role" not in section
    )
    refused = _post(client, action_world, row, assignment_id(PASSWORD_ADMINISTRATOR, grant.group_id))
    assert refused.status_code == 422 and ROLE_GROUP_NAME in refused.content.decode()
    assert SandboxGroupRoleMember.objects.filter(pk=grant.pk).exists()


def test_the_last_global_admin_is_kept_on_the_sandbox(action_world, role_client):
    from graph.sandbox.graph_views.role_management import assignment_id
    from graph.sandbox.models import SandboxRoleMember

    holders = list(SandboxRoleMember.objects.filter(role__tenant__display_name="Northwind Traders",
                                                    role__role_template_id=GA).select_related("user"))  # fmt: skip
    assert holders, "the seed has a Global Administrator"
    client = role_client("admin")
    for extra in holders[1:]:  # down to one holder, each removal allowed while another remains
        response = _post(
            client, action_world, action_world.cache(extra.user), assignment_id(GA, extra.user_id)
        )
        assert 'data-result="success"' in response.content.decode()
    last = holders[0]
    response = _post(client, action_world, action_world.cache(last.user), assignment_id(GA, last.user_id))
    text = response.content.decode()
    assert 'data-result="failed"' in text and "only Global Administrator" in text
    assert SandboxRoleMember.objects.filter(pk=last.pk).exists()
