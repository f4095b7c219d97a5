"""/directory/deletedItems for users: list with $select/$top/paging, get, restore (the same object with its
properties, group memberships and licences; UPN and proxy-address clashes refused as Microsoft documents),
permanent delete, and delta reporting the restored user as changed."""

from __future__ import annotations

import pytest

from graph.sandbox import directory
from graph.sandbox.models import SandboxGroupMember, SandboxTombstone, SandboxUser

from .factories import add_member_row, make_group, make_user

pytestmark = pytest.mark.django_db

UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists."


def _error(response):
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def test_list_pages_deleted_users_only_with_select(graph, tenant):
    live = make_user(tenant, "live")
    gone = [make_user(tenant, f"gone{i}") for i in range(3)]
    for user in gone:
        assert graph("DELETE", f"users/{user.id}").status_code == 204
    response = graph.get(
        "directory/deletedItems/microsoft.graph.user?$select=id,userPrincipalName,deletedDateTime&$top=2"
    )
    assert response.status_code == 200
    first = response.json()
    assert len(first["value"]) == 2 and "@odata.nextLink" in first
    second = graph.get(first["@odata.nextLink"]).json()
    items = first["value"] + second["value"]
    assert {item["id"] for item in items} == {str(u.id) for u in gone}
    assert str(live.id) not in {item["id"] for item in items}
    assert all(
        set(item) == {"id", "userPrincipalName", "deletedDateTime"} and item["deletedDateTime"]
        for item in items
    )
    assert "@odata.nextLink" not in second


def test_get_restore_and_purge(graph, tenant):
    user = make_user(tenant, "adele", jobTitle="Buyer")
    group = make_group(tenant, "Buyers")
    add_member_row(group, user)
    graph("DELETE", f"users/{user.id}")
    assert graph.get(f"users/{user.id}").status_code == 404
    found = graph.get(f"directory/deletedItems/{user.id}")
    assert found.status_code == 200 and found.json()["userPrincipalName"] == user.upn_lower
    assert found.json()["deletedDateTime"]
    restored = graph("POST", f"directory/deletedItems/{user.id}/restore", {})
    assert restored.status_code == 200 and restored.json()["id"] == str(user.id)
    back = graph.get(f"users/{user.id}?$select=jobTitle").json()
    assert back["jobTitle"] == "Buyer"
    assert SandboxGroupMember.objects.filter(group=group, user=user).exists()
    # Not deleted any more: restoring again or purging answers as for an unknown deleted item.
    assert graph("POST", f"directory/deletedItems/{user.id}/restore", {}).status_code == 404
    graph("DELETE", f"users/{user.id}")
    assert graph("DELETE", f"directory/deletedItems/{user.id}").status_code == 204
    assert not SandboxUser.objects.filter(pk=user.pk).exists()
    assert SandboxTombstone.objects.filter(object_id=user.id).exists()
    assert graph.get(f"directory/deletedItems/{user.id}").status_code == 404


def test_restore_refused_when_a_live_user_took_the_upn(graph, tenant):
    old = make_user(tenant, "megan")
    graph("DELETE", f"users/{old.id}")
    body = {"accountEnabled": True, "displayName": "New Megan", "mailNickname": "megan2",
            "userPrincipalName": old.upn_lower, "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}  # fmt: skip
    assert graph("POST", "users", body).status_code == 201  # a deleted user's UPN is free again
    assert _error(graph("POST", f"directory/deletedItems/{old.id}/restore", {})) == (
        400, "Request_BadRequest", UPN_TAKEN,
    )  # fmt: skip
    old.refresh_from_db()
    assert old.deleted_datetime is not None


def test_restore_with_a_proxy_clash_needs_auto_reconcile(graph, tenant):
    old = make_user(tenant, "lee")
    directory.set_directory_managed(
        old, {"proxyAddresses": [f"SMTP:{old.upn_lower}", "smtp:sales@contoso.com"]}
    )
    graph("DELETE", f"users/{old.id}")
    holder = make_user(tenant, "pat")
    # Seeds may hand out an address a deleted user still holds (Graph clients cannot: PATCH mail refuses).
    directory.set_directory_managed(holder, {"proxyAddresses": ["SMTP:sales@contoso.com"]})
    assert _error(graph("POST", f"directory/deletedItems/{old.id}/restore", {}))[0] == 400
    ok = graph("POST", f"directory/deletedItems/{old.id}/restore", {"autoReconcileProxyConflict": True})
    assert ok.status_code == 200
    old.refresh_from_db()
    assert old.properties["proxyAddresses"] == [f"SMTP:{old.upn_lower}"]


def test_delta_reports_a_restored_user_as_changed(graph, tenant):
    user = make_user(tenant, "soft")
    graph("DELETE", f"users/{user.id}")
    start = graph.get("users/delta?$select=displayName").json()
    while "@odata.deltaLink" not in start:
        start = graph.get(start["@odata.nextLink"]).json()
    graph("POST", f"directory/deletedItems/{user.id}/restore", {})
    items = graph.get(start["@odata.deltaLink"]).json()["value"]
    assert [(i["id"], i["displayName"]) for i in items] == [(str(user.id), "Soft")]


def test_top_over_999_is_refused(graph):
    assert graph.get("directory/deletedItems/microsoft.graph.user?$top=1000").status_code == 400
