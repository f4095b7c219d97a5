"""GET /users/delta: initial round with paging and $select, incremental rounds, @removed, 410 resync."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from graph.sandbox import directory

from .factories import GraphCaller, make_tenant, make_user, token_for

pytestmark = pytest.mark.django_db


def _drain(graph, url):
    """Follow nextLinks to the deltaLink; return (items, deltaLink, pages)."""
    items, pages = [], 0
    while True:
        response = graph.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages += 1
        items.extend(body["value"])
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def test_initial_round_pages_with_select_then_delta_link(graph, tenant):
    for index in range(130):
        make_user(tenant, f"user{index:03d}", department="Sales")
    items, delta_link, pages = _drain(graph, "users/delta?$select=displayName,department")
    assert pages == 2
    assert len(items) == 130
    assert all(set(item) == {"id", "displayName", "department"} for item in items)
    assert (
        delta_link.startswith("http://testserver/sandbox/graph/v1.0/users/delta?$deltatoken=")
        or "deltatoken" in delta_link
    )
    # nothing changed: an empty round and a new deltaLink
    again, _, _ = _drain(graph, delta_link)
    assert again == []


def test_incremental_round_reports_changes_and_removals(graph, tenant):
    keep = make_user(tenant, "keep")
    change = make_user(tenant, "change")
    soft = make_user(tenant, "soft")
    hard = make_user(tenant, "hard")
    _, delta_link, _ = _drain(graph, "users/delta?$select=displayName,jobTitle")

    directory.update_user(change, {"jobTitle": "Boss"})
    directory.soft_delete_user(soft)
    hard_id = str(hard.id)
    directory.hard_delete_user(hard)
    added = make_user(tenant, "added")

    items, next_delta, _ = _drain(graph, delta_link)
    by_id = {item["id"]: item for item in items}
    assert str(keep.id) not in by_id
    assert by_id[str(change.id)] == {"id": str(change.id), "displayName": "Change", "jobTitle": "Boss"}
    assert by_id[str(added.id)]["displayName"] == "Added"
    assert by_id[str(soft.id)] == {"id": str(soft.id), "@removed": {"reason": "changed"}}
    assert by_id[hard_id] == {"id": hard_id, "@removed": {"reason": "deleted"}}
    # restoring the soft-deleted user brings it back in the next round
    directory.restore_user(soft)
    items, _, _ = _drain(graph, next_delta)
    assert [item["id"] for item in items] == [str(soft.id)]
    assert items[0]["displayName"] == "Soft"


def test_expired_delta_token_answers_410_with_fresh_start(graph, tenant):
    make_user(tenant, "adele")
    _, delta_link, _ = _drain(graph, "users/delta?$select=displayName")
    tenant.delta_tokens_valid_after = timezone.now() + timedelta(seconds=1)
    tenant.save()
    response = graph.get(delta_link)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "syncStateNotFound"
    location = response["Location"]
    assert urlsplit(location).path == "/sandbox/graph/v1.0/users/delta"
    assert parse_qs(urlsplit(location).query) == {"$select": ["displayName"]}
    items, _, _ = _drain(graph, location)
    assert len(items) == 1


def test_delta_token_from_another_tenant_is_gone(client, graph, tenant):
    make_user(tenant, "adele")
    _, delta_link, _ = _drain(graph, "users/delta")
    other = make_tenant("Fabrikam")
    response = GraphCaller(client, other).get(delta_link)
    assert response.status_code == 410


def test_tampered_delta_token(graph, tenant):
    response = graph.get("users/delta?$deltatoken=not-a-token")
    assert response.status_code == 400


def test_latest_delta_token_skips_initial_round(graph, tenant):
    make_user(tenant, "adele")
    body = graph.get("users/delta?$deltatoken=latest").json()
    assert body["value"] == [] and "@odata.deltaLink" in body
    added = make_user(tenant, "megan")
    items, _, _ = _drain(graph, body["@odata.deltaLink"])
    assert [item["id"] for item in items] == [str(added.id)]


def test_skiptoken_of_another_tenant_is_refused(client, graph, tenant):
    for index in range(101):
        make_user(tenant, f"u{index}")
    next_link = graph.get("users/delta").json()["@odata.nextLink"]
    other = make_tenant("Fabrikam")
    assert GraphCaller(client, other).get(next_link).status_code == 410
    assert token_for(tenant)  # sanity: factories still usable
