"""subscribedSkus unit accounting and assignLicense's Graph rules."""

from __future__ import annotations

import uuid

import pytest

from graph.sandbox.models import SandboxLicenseAssignment

from .factories import E3_SKU, EXCHANGE_PLAN, P1_SKU, make_sku, make_user

pytestmark = pytest.mark.django_db


def _assign(graph, user, add=(), remove=(), path="assignLicense"):
    body = {
        "addLicenses": [{"skuId": str(s), "disabledPlans": []} for s in add],
        "removeLicenses": [str(s) for s in remove],
    }
    return graph("POST", f"users/{user.id}/{path}", body)


def test_subscribed_skus_report_units_and_plans(graph, tenant):
    make_sku(tenant, units=3)
    adele = make_user(tenant, "adele", usageLocation="GB")
    _assign(graph, adele, add=[E3_SKU])
    body = graph.get("subscribedSkus").json()
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus"
    (sku,) = body["value"]
    assert sku["skuId"] == str(E3_SKU) and sku["skuPartNumber"] == "SPE_E3"
    assert sku["consumedUnits"] == 1
    assert sku["prepaidUnits"] == {"enabled": 3, "suspended": 0, "warning": 0, "lockedOut": 0}
    assert {p["servicePlanName"] for p in sku["servicePlans"]} == {"EXCHANGE_S_ENTERPRISE", "TEAMS1"}
    assert sku["id"] == f"{tenant.id}_{E3_SKU}"


def test_assign_returns_user_and_updates_properties(graph, tenant):
    make_sku(tenant)
    user = make_user(tenant, "adele", usageLocation="GB")
    before = user.version
    body = {"addLicenses": [{"skuId": str(E3_SKU), "disabledPlans": [EXCHANGE_PLAN]}], "removeLicenses": []}
    response = graph("POST", f"users/{user.id}/microsoft.graph.assignLicense", body)
    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)
    user.refresh_from_db()
    assert user.properties["assignedLicenses"] == [{"disabledPlans": [EXCHANGE_PLAN], "skuId": str(E3_SKU)}]
    assert [p["servicePlanId"] for p in user.properties["assignedPlans"]] != []
    assert EXCHANGE_PLAN not in [p["servicePlanId"] for p in user.properties["assignedPlans"]]
    assert user.version > before
    selected = graph.get(f"users/{user.id}?$select=assignedLicenses").json()
    assert selected["assignedLicenses"][0]["skuId"] == str(E3_SKU)
    # remove again
    assert _assign(graph, user, remove=[E3_SKU]).status_code == 200
    user.refresh_from_db()
    assert user.properties["assignedLicenses"] == [] and user.properties["assignedPlans"] == []


def test_assign_fails_when_units_run_out(graph, tenant):
    make_sku(tenant, units=2)
    users = [make_user(tenant, f"user{i}", usageLocation="GB") for i in range(3)]
    assert _assign(graph, users[0], add=[E3_SKU]).status_code == 200
    assert _assign(graph, users[1], add=[E3_SKU]).status_code == 200
    response = _assign(graph, users[2], add=[E3_SKU])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert error["message"] == f"Subscription with SKU '{E3_SKU}' does not have any available licenses."
    assert not SandboxLicenseAssignment.objects.filter(user=users[2]).exists()
    assert graph.get("subscribedSkus").json()["value"][0]["consumedUnits"] == 2
    # re-posting an already held licence (e.g. to change disabled plans) does not need a free unit
    assert _assign(graph, users[0], add=[E3_SKU]).status_code == 200


def test_assign_rules(graph, tenant):
    make_sku(tenant)
    user = make_user(tenant, "adele")
    response = _assign(graph, user, add=[E3_SKU])
    assert (
        response.json()["error"]["message"]
        == "License assignment cannot be done for user with invalid usage location."
    )
    graph("PATCH", f"users/{user.id}", {"usageLocation": "GB"})
    unknown = uuid.uuid4()
    response = _assign(graph, user, add=[unknown])
    assert response.status_code == 400
    assert (
        response.json()["error"]["message"]
        == f"License {unknown} does not correspond to a valid company License."
    )
    response = graph("POST", f"users/{user.id}/assignLicense", {"addLicenses": []}, validate=False)
    assert response.status_code == 400
    response = _assign(graph, user, remove=[E3_SKU])
    assert response.status_code == 400
    assert graph("POST", "users/nobody@contoso.onmicrosoft.com/assignLicense",
                 {"addLicenses": [], "removeLicenses": []}).status_code == 404  # fmt: skip


def test_deleted_users_free_their_units(graph, tenant):
    make_sku(tenant, units=1)
    adele = make_user(tenant, "adele", usageLocation="GB")
    megan = make_user(tenant, "megan", usageLocation="GB")
    assert _assign(graph, adele, add=[E3_SKU]).status_code == 200
    graph("DELETE", f"users/{adele.id}")
    assert graph.get("subscribedSkus").json()["value"][0]["consumedUnits"] == 0
    assert _assign(graph, megan, add=[E3_SKU]).status_code == 200


def test_premium_sku_listed(graph, tenant):
    make_sku(tenant, sku_id=P1_SKU, part="AAD_PREMIUM", premium=True)
    assert graph.get("subscribedSkus").json()["value"][0]["skuPartNumber"] == "AAD_PREMIUM"
