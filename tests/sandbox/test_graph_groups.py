"""memberOf for the four group kinds and roles, /groups queries, members/$ref rules, /directoryRoles."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from graph.sandbox.models import SandboxGroupMember

from .factories import add_member_row, make_group, make_role, make_tenant, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant):
    adele = make_user(tenant, "adele")
    groups = {kind: make_group(tenant, f"{kind} group", kind) for kind in
              ("microsoft365", "security", "mailEnabledSecurity", "distribution", "dynamic", "synced")}  # fmt: skip
    for group in groups.values():
        add_member_row(group, adele)
    role = make_role(tenant, "User Administrator", adele)
    return {"adele": adele, "groups": groups, "role": role}


def test_member_of_lists_all_kinds(graph, world):
    adele = world["adele"]
    body = graph.get(f"users/{adele.id}/memberOf").json()
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"
    types = [item["@odata.type"] for item in body["value"]]
    assert types.count("#microsoft.graph.group") == 6
    assert types.count("#microsoft.graph.directoryRole") == 1
    by_name = {item["displayName"]: item for item in body["value"]}
    assert by_name["microsoft365 group"]["groupTypes"] == ["Unified"]
    assert by_name["distribution group"]["mailEnabled"] is True
    assert by_name["distribution group"]["securityEnabled"] is False
    assert (
        by_name["mailEnabledSecurity group"]["mailEnabled"]
        and by_name["mailEnabledSecurity group"]["securityEnabled"]
    )
    assert by_name["dynamic group"]["membershipRule"]
    assert by_name["synced group"]["onPremisesSyncEnabled"] is True
    assert by_name["User Administrator"]["roleTemplateId"] == str(world["role"].role_template_id)


def test_member_of_cast_needs_consistency_level(graph, world):
    adele = world["adele"]
    response = graph.get(f"users/{adele.id}/memberOf/microsoft.graph.group")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_UnsupportedQuery"
    response = graph.get(f"users/{adele.id}/memberOf/microsoft.graph.group?$count=true", eventual=True)
    body = response.json()
    assert body["@odata.count"] == 6
    assert {item["@odata.type"] for item in body["value"]} == {"#microsoft.graph.group"}


def test_member_of_paging_and_select(graph, world):
    adele = world["adele"]
    first = graph.get(f"users/{adele.id}/memberOf?$top=4&$select=displayName").json()
    assert len(first["value"]) == 4
    assert set(first["value"][0]) == {"@odata.type", "id", "displayName"}
    second = graph.get(first["@odata.nextLink"]).json()
    assert len(second["value"]) == 3 and "@odata.nextLink" not in second


def test_groups_filters(graph, world):
    def names(expr):
        response = graph.get("groups?$filter=" + quote(expr))
        assert response.status_code == 200, response.content
        return sorted(g["displayName"] for g in response.json()["value"])

    assert names("groupTypes/any(c:c eq 'Unified')") == ["microsoft365 group"]
    assert names("mailEnabled eq true and securityEnabled eq false") == [
        "distribution group",
        "microsoft365 group",
    ]
    assert names("startswith(displayName,'dyn')") == ["dynamic group"]
    assert names("securityEnabled eq true and mailEnabled eq false") == [
        "dynamic group",
        "security group",
        "synced group",
    ]
    selected = graph.get("groups?$select=displayName,mailEnabled&$top=2").json()
    assert set(selected["value"][0]) == {"id", "displayName", "mailEnabled"}
    assert "@odata.nextLink" in selected


def test_group_item_and_members(graph, world):
    group = world["groups"]["security"]
    assert graph.get(f"groups/{group.id}").json()["displayName"] == "security group"
    members = graph.get(f"groups/{group.id}/members").json()["value"]
    assert [m["id"] for m in members] == [str(world["adele"].id)]
    assert members[0]["@odata.type"] == "#microsoft.graph.user"
    assert graph.get("groups/00000000-0000-0000-0000-000000000000").status_code == 404


def _ref(user) -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user.id}"}


def test_add_and_remove_member(graph, tenant, world):
    megan = make_user(tenant, "megan")
    group = world["groups"]["microsoft365"]
    response = graph("POST", f"groups/{group.id}/members/$ref", _ref(megan))
    assert response.status_code == 204
    assert SandboxGroupMember.objects.filter(group=group, user=megan).exists()
    again = graph("POST", f"groups/{group.id}/members/$ref", _ref(megan))
    assert again.status_code == 400
    assert again.json()["error"]["message"] == (
        "One or more added object references already exist for the following modified properties: 'members'."
    )
    assert graph("DELETE", f"groups/{group.id}/members/{megan.id}/$ref").status_code == 204
    assert graph("DELETE", f"groups/{group.id}/members/{megan.id}/$ref").status_code == 404


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("mailEnabledSecurity", "Cannot Update a mail-enabled security groups and or distribution list."),
        ("distribution", "Cannot Update a mail-enabled security groups and or distribution list."),
        ("dynamic", "dynamic group"),
        ("synced", "on-premises mastered Directory Sync objects"),
    ],
)
def test_members_of_non_writable_groups(graph, tenant, world, kind, fragment):
    megan = make_user(tenant, "megan")
    group = world["groups"][kind]
    response = graph("POST", f"groups/{group.id}/members/$ref", _ref(megan))
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]
    response = graph("DELETE", f"groups/{group.id}/members/{world['adele'].id}/$ref")
    assert response.status_code == 400


def test_add_member_bad_references(graph, tenant, world):
    group = world["groups"]["security"]
    assert graph("POST", f"groups/{group.id}/members/$ref", {}, validate=False).status_code == 400
    missing = {
        "@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/11111111-1111-1111-1111-111111111111"
    }
    assert graph("POST", f"groups/{group.id}/members/$ref", missing).status_code == 404
    stranger = make_user(make_tenant("Fabrikam"), "sam")
    assert graph("POST", f"groups/{group.id}/members/$ref", _ref(stranger)).status_code == 404


def test_directory_roles(graph, world):
    body = graph.get("directoryRoles").json()
    assert [r["displayName"] for r in body["value"]] == ["User Administrator"]
