"""Exact Graph requests for Deleted users (``responses``): the paged list with $select/$top, restore,
permanent delete and the role-assignment read of the guard; the All tenants read in parallel threads with
a failing tenant named with Graph's reason."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from graph.client import GraphClient
from graph.services import deleted_users as service
from tests.actions.unitkit import GRAPH, FixedTokens, make_tenant
from users.deleted import reading

pytestmark = pytest.mark.django_db
ROOT = f"{GRAPH}/v1.0"
USER_ID = "5f1b7c2e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"


def _client(tenant) -> GraphClient:
    return GraphClient(
        tenant.connection, str(tenant.tenant_id), token_provider=FixedTokens(), sleep=lambda s: None
    )


@responses.activate
def test_list_follows_next_links_with_select_and_top():
    tenant = make_tenant()
    url = f"{ROOT}/directory/deletedItems/microsoft.graph.user"
    responses.get(url, json={"value": [{"id": "a"}], "@odata.nextLink": f"{url}?$skiptoken=x"})
    responses.get(f"{url}?$skiptoken=x", json={"value": [{"id": "b"}]})
    found, more = service.list_deleted_users(_client(tenant))
    assert [u["id"] for u in found] == ["a", "b"] and more is False
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query["$top"] == ["999"]
    assert query["$select"] == [",".join(service.DELETED_SELECT)]
    assert "deletedDateTime" in query["$select"][0]


@responses.activate
def test_restore_purge_and_role_read_requests():
    tenant = make_tenant()
    responses.post(f"{ROOT}/directory/deletedItems/{USER_ID}/restore", json={"id": USER_ID})
    responses.delete(f"{ROOT}/directory/deletedItems/{USER_ID}", status=204)
    responses.get(
        f"{ROOT}/roleManagement/directory/roleAssignments", json={"value": [{"roleDefinitionId": "r"}]}
    )
    client = _client(tenant)
    assert service.restore_deleted_user(client, USER_ID) == {"id": USER_ID}
    assert json.loads(responses.calls[0].request.body) == {}
    service.purge_deleted_user(client, USER_ID)
    assert responses.calls[1].request.method == "DELETE"
    assert service.role_assignments_of(client, USER_ID) == [{"roleDefinitionId": "r"}]
    query = parse_qs(urlsplit(responses.calls[2].request.url).query)
    assert query["$filter"] == [f"principalId eq '{USER_ID}'"]
    with pytest.raises(ValueError):
        service.restore_deleted_user(client, "someone@contoso.com")  # only object ids, never a UPN in a path


@responses.activate
def test_restore_conflict_raises_graphs_message():
    from graph.errors import GraphError

    tenant = make_tenant()
    message = "Another object with the same value for property userPrincipalName already exists."
    responses.post(f"{ROOT}/directory/deletedItems/{USER_ID}/restore", status=400,
                   json={"error": {"code": "Request_BadRequest", "message": message}})  # fmt: skip
    with pytest.raises(GraphError) as raised:
        service.restore_deleted_user(_client(tenant), USER_ID)
    assert raised.value.message == message and raised.value.status == 400


@responses.activate
def test_all_tenants_read_in_parallel_and_a_failing_tenant_is_named(monkeypatch, settings):
    settings.DELETED_USERS_CONCURRENCY = 4
    good, bad = make_tenant("Good"), make_tenant("Bad")
    bad.connection.graph_url = "https://bad.example.test"  # its own host, so its answers can differ
    bad.connection.save()
    monkeypatch.setattr(reading.GraphClient, "for_tenant", classmethod(lambda cls, t, **kw: _client(t)))
    path = "v1.0/directory/deletedItems/microsoft.graph.user"
    responses.get(f"{GRAPH}/{path}", json={"value": [{"id": str(uuid.uuid4()), "userPrincipalName": "a@good.com",
                                                      "deletedDateTime": "2026-12-01T10:00:00Z"}]})  # fmt: skip
    responses.get(f"https://bad.example.test/{path}", status=403,
                  json={"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}})  # fmt: skip
    listing = reading.read_deleted([good, bad])
    assert [r.upn for r in listing.rows] == ["a@good.com"]
    assert listing.rows[0].deleted_at is not None and listing.rows[0].days_left <= 30
    assert [(f.tenant.pk, f.reason) for f in listing.failures] == [(bad.pk, "Insufficient privileges.")]


@responses.activate
def test_group_held_roles_reads_role_assignable_groups_and_their_assignments():
    tenant = make_tenant()
    gid = "0b7c6d5e-4f3a-4b2c-9d1e-8f7a6b5c4d3e"
    responses.get(f"{ROOT}/groups", json={"value": [{"id": gid, "displayName": "Tier 1 admins"}]})
    responses.get(
        f"{ROOT}/roleManagement/directory/roleAssignments", json={"value": [{"roleDefinitionId": "t1"}]}
    )
    assert service.group_held_roles(_client(tenant)) == [("Tier 1 admins", "t1")]
    groups = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert groups["$filter"] == ["isAssignableToRole eq true"] and groups["$select"] == ["id,displayName"]
    assignments = parse_qs(urlsplit(responses.calls[1].request.url).query)
    assert assignments["$filter"] == [f"principalId eq '{gid}'"]
