"""Role definitions (isPrivileged on beta), role assignments (list by principal, create, delete), role-assignable
groups and roles held through them (transitiveMemberOf, not memberOf)."""

from __future__ import annotations

import pytest

from graph.sandbox.models import SandboxDirectoryRole
from graph.sandbox.role_catalogue import BUILT_IN
from users.actions.privileged_roles import MICROSOFT_PRIVILEGED, SHIPPED

from .factories import GraphCaller, add_member_row, make_group, make_user

pytestmark = pytest.mark.django_db

DOMAIN_NAME_ADMIN = "8329153b-31d0-4727-b945-745eb3bc5f31"
PASSWORD_ADMIN = "966707d0-3269-4727-9be2-8c3a10f19b9d"
DEFINITIONS = "roleManagement/directory/roleDefinitions"
ASSIGNMENTS = "roleManagement/directory/roleAssignments"


@pytest.fixture
def beta(client, tenant):
    return GraphCaller(client, tenant, version="beta")


def test_privileged_definitions_on_beta_match_the_shipped_list(beta):
    body = beta.get(
        f"{DEFINITIONS}?$filter=isPrivileged eq true&$select=id,templateId,displayName,isPrivileged"
    )
    assert body.status_code == 200, body.content
    values = body.json()["value"]
    assert values and all(item["isPrivileged"] is True for item in values)
    assert set(values[0]) == {"id", "templateId", "displayName", "isPrivileged"}
    # The sandbox's labels and the portal's shipped fallback list say the same thing.
    assert {item["templateId"] for item in values} == set(MICROSOFT_PRIVILEGED)
    names = {item["templateId"]: item["displayName"] for item in values}
    assert names[DOMAIN_NAME_ADMIN] == "Domain Name Administrator"
    everything = beta.get(DEFINITIONS).json()["value"]
    assert len(everything) == len(BUILT_IN) > len(values)
    exchange = next(i for i in everything if i["displayName"] == "Exchange Administrator")
    assert exchange["isPrivileged"] is False and exchange["templateId"] in SHIPPED  # guarded all the same


def test_v1_definitions_have_no_is_privileged(graph):
    item = graph.get(f"{DEFINITIONS}/{DOMAIN_NAME_ADMIN}").json()
    assert item["templateId"] == item["id"] == DOMAIN_NAME_ADMIN and item["isBuiltIn"] is True
    assert "isPrivileged" not in item
    response = graph.get(f"{DEFINITIONS}?$filter=isPrivileged eq true")
    assert response.status_code == 400 and "isPrivileged" in response.json()["error"]["message"]
    named = graph.get(f"{DEFINITIONS}?$filter=displayName eq 'Password Administrator'").json()["value"]
    assert [d["id"] for d in named] == [PASSWORD_ADMIN]
    assert graph.get(f"{DEFINITIONS}/00000000-0000-0000-0000-000000000000").status_code == 404


def test_assign_to_user_and_group_then_delete(graph, tenant):
    adele = make_user(tenant, "adele")
    megan = make_user(tenant, "megan")
    plain = make_group(tenant, "Plain group", "security")
    admins = make_group(tenant, "Role group", "security", is_assignable_to_role=True)
    add_member_row(admins, megan)

    created = graph("POST", ASSIGNMENTS, {"principalId": str(adele.id), "roleDefinitionId": DOMAIN_NAME_ADMIN,
                                          "directoryScopeId": "/"})  # fmt: skip
    assert created.status_code == 201, created.content
    assignment = created.json()
    assert assignment["principalId"] == str(adele.id) and assignment["roleDefinitionId"] == DOMAIN_NAME_ADMIN
    # The role is now activated in the tenant and the user holds it directly.
    assert SandboxDirectoryRole.objects.filter(
        tenant=tenant, display_name="Domain Name Administrator"
    ).exists()
    roles = graph.get(f"users/{adele.id}/memberOf/microsoft.graph.directoryRole", eventual=True).json()[
        "value"
    ]
    assert [r["roleTemplateId"] for r in roles] == [DOMAIN_NAME_ADMIN]

    refused = graph("POST", ASSIGNMENTS, {"principalId": str(plain.id), "roleDefinitionId": PASSWORD_ADMIN,
                                          "directoryScopeId": "/"})  # fmt: skip
    assert refused.status_code == 400 and "assignable" in refused.json()["error"]["message"]
    via_group = graph("POST", ASSIGNMENTS, {"principalId": str(admins.id), "roleDefinitionId": PASSWORD_ADMIN,
                                            "directoryScopeId": "/"})  # fmt: skip
    assert via_group.status_code == 201
    again = graph("POST", ASSIGNMENTS, {"principalId": str(admins.id), "roleDefinitionId": PASSWORD_ADMIN,
                                        "directoryScopeId": "/"})  # fmt: skip
    assert again.status_code == 400

    # Megan holds Password Administrator only through the group: transitiveMemberOf, not memberOf.
    direct = graph.get(f"users/{megan.id}/memberOf/microsoft.graph.directoryRole", eventual=True).json()
    assert direct["value"] == []
    transitive = graph.get(f"users/{megan.id}/transitiveMemberOf/microsoft.graph.directoryRole?"
                           "$select=id,displayName,roleTemplateId", eventual=True).json()  # fmt: skip
    assert [(r["displayName"], r["roleTemplateId"]) for r in transitive["value"]] == [
        ("Password Administrator", PASSWORD_ADMIN)
    ]
    everything = graph.get(f"users/{megan.id}/transitiveMemberOf").json()["value"]
    kinds = sorted(item["@odata.type"] for item in everything)
    assert kinds == ["#microsoft.graph.directoryRole", "#microsoft.graph.group"]
    group_item = next(i for i in everything if i["@odata.type"] == "#microsoft.graph.group")
    assert group_item["isAssignableToRole"] is True

    listed = graph.get(f"{ASSIGNMENTS}?$filter=principalId eq '{admins.id}'").json()["value"]
    assert [a["id"] for a in listed] == [via_group.json()["id"]]
    by_role = graph.get(f"{ASSIGNMENTS}?$filter=roleDefinitionId eq '{DOMAIN_NAME_ADMIN}'").json()["value"]
    assert [a["principalId"] for a in by_role] == [str(adele.id)]
    assert graph.get(f"{ASSIGNMENTS}/{assignment['id']}").json()["principalId"] == str(adele.id)

    assert graph("DELETE", f"{ASSIGNMENTS}/{via_group.json()['id']}").status_code == 204
    after = graph.get(f"users/{megan.id}/transitiveMemberOf/microsoft.graph.directoryRole", eventual=True)
    assert after.json()["value"] == []
    assert graph("DELETE", f"{ASSIGNMENTS}/{via_group.json()['id']}").status_code == 404
    assert graph.get(f"{ASSIGNMENTS}/not-an-id").status_code == 404


def test_transitive_cast_needs_consistency_level(graph, tenant):
    adele = make_user(tenant, "adele")
    response = graph.get(f"users/{adele.id}/transitiveMemberOf/microsoft.graph.directoryRole")
    assert response.status_code == 400


def test_seeded_tenants_hold_roles_beyond_the_classic_seats(sandbox_world, client):
    from graph.sandbox.models import SandboxGroup, SandboxRoleMember

    for sandbox_tenant in sandbox_world:
        if sandbox_tenant.is_partner:
            continue
        holder = SandboxRoleMember.objects.get(
            role__tenant=sandbox_tenant, role__role_template_id=DOMAIN_NAME_ADMIN
        )
        group = SandboxGroup.objects.get(tenant=sandbox_tenant, is_assignable_to_role=True)
        member = group.memberships.get().user
        graph = GraphCaller(client, sandbox_tenant)
        roles = graph.get(
            f"users/{member.id}/transitiveMemberOf/microsoft.graph.directoryRole", eventual=True
        )
        assert [r["displayName"] for r in roles.json()["value"]] == ["Password Administrator"]
        direct = graph.get(f"users/{holder.user_id}/memberOf/microsoft.graph.directoryRole", eventual=True)
        assert [r["displayName"] for r in direct.json()["value"]] == ["Domain Name Administrator"]
