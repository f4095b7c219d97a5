"""Users CRUD through the sandbox Graph API: Graph's validation rules, PATCH semantics, soft delete."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password

from graph.sandbox.models import SandboxDomain, SandboxUser

from .factories import PASSWORD, make_sku, make_tenant, make_user

pytestmark = pytest.mark.django_db


def _new_user(**overrides):
    body = {
        "accountEnabled": True,
        "displayName": "Adele Vance",
        "mailNickname": "AdeleV",
        "userPrincipalName": "AdeleV@contoso.onmicrosoft.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "xWwvJ]6NMw+bWH-d"},
    }
    body.update(overrides)
    return body


def _error(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_create_returns_201_with_default_properties_and_stores_only_a_hash(graph, tenant):
    response = graph("POST", "users", _new_user(jobTitle="Retail Manager"))
    assert response.status_code == 201
    body = response.json()
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
    assert body["userPrincipalName"] == "AdeleV@contoso.onmicrosoft.com"
    assert body["jobTitle"] == "Retail Manager"
    assert body["businessPhones"] == []
    assert "accountEnabled" not in body  # not in the default property set
    row = SandboxUser.objects.get(pk=body["id"])
    assert row.upn_lower == "adelev@contoso.onmicrosoft.com"
    assert "xWwvJ]6NMw+bWH-d" not in str(row.properties) and "xWwvJ]6NMw+bWH-d" not in row.password_hash
    assert check_password("xWwvJ]6NMw+bWH-d", row.password_hash)
    assert row.version == tenant.__class__.objects.get(pk=tenant.pk).change_counter


@pytest.mark.parametrize(
    "missing", ["accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"]
)
def test_create_requires_each_required_property(graph, missing):
    body = _new_user()
    del body[missing]
    status, code, message = _error(graph("POST", "users", body))
    assert (status, code) == (400, "Request_BadRequest")
    assert missing in message


def test_create_rejects_unverified_domain(graph):
    status, code, message = _error(graph("POST", "users", _new_user(userPrincipalName="a@fabrikam.com")))
    assert (status, code) == (400, "Request_BadRequest")
    assert message == (
        "The domain portion of the userPrincipalName property is invalid. "
        "You must use one of the verified domain names in your organization."
    )


def test_create_rejects_unverified_domain_even_if_known(graph, tenant):
    SandboxDomain.objects.create(tenant=tenant, name="pending.example", is_verified=False)
    status, _, message = _error(graph("POST", "users", _new_user(userPrincipalName="a@pending.example")))
    assert status == 400 and "domain portion" in message


def test_create_rejects_taken_upn_and_proxy_address(graph, tenant):
    assert graph("POST", "users", _new_user()).status_code == 201
    status, code, message = _error(
        graph("POST", "users", _new_user(userPrincipalName="adelev@CONTOSO.onmicrosoft.com"))
    )
    assert (status, code, message) == (
        400,
        "Request_BadRequest",
        "Another object with the same value for property userPrincipalName already exists.",
    )
    from graph.sandbox import directory

    other = make_user(tenant, "megan")
    directory.set_directory_managed(
        other, {"proxyAddresses": ["SMTP:megan@contoso.onmicrosoft.com", "smtp:mb@contoso.onmicrosoft.com"]}
    )
    status, _, message = _error(
        graph("POST", "users", _new_user(userPrincipalName="mb@contoso.onmicrosoft.com"))
    )
    assert status == 400 and "already exists" in message


@pytest.mark.parametrize("password", ["Sh0rt!", "alllowercase1", "NoDigitsOrSymbols", "12345678901"])
def test_create_rejects_weak_passwords(graph, password):
    body = _new_user(passwordProfile={"password": password})
    assert _error(graph("POST", "users", body)) == (
        400,
        "Request_BadRequest",
        "The specified password does not comply with password complexity requirements.",
    )


def test_create_rejects_unknown_and_read_only_properties(graph):
    status, _, message = _error(graph("POST", "users", _new_user(favouriteColour="blue"), validate=False))
    assert status == 400
    assert (
        message == "Property 'favouriteColour' does not exist as a declared property or extension property."
    )
    status, _, message = _error(graph("POST", "users", _new_user(createdDateTime="2020-01-01T00:00:00Z")))
    assert status == 400 and "read-only" in message


def test_create_rejects_malformed_json(client, graph):
    response = client.post(
        graph.url("users"),
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {graph.token}",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_get_by_id_and_upn_with_select(graph, tenant):
    user = make_user(tenant, "adele", department="Retail", usageLocation="GB")
    by_id = graph.get(f"users/{user.id}?$select=department,accountEnabled")
    assert by_id.status_code == 200
    body = by_id.json()
    assert body["@odata.context"] == (
        "https://graph.microsoft.com/v1.0/$metadata#users(id,department,accountEnabled)/$entity"
    )
    assert body == {**body, "id": str(user.id), "department": "Retail", "accountEnabled": True}
    assert "displayName" not in body
    by_upn = graph.get("users/ADELE@contoso.onmicrosoft.com")
    assert by_upn.json()["id"] == str(user.id)


def test_get_unknown_select_property(graph, tenant):
    user = make_user(tenant, "adele")
    status, code, message = _error(graph.get(f"users/{user.id}?$select=shoeSize"))
    assert (status, code) == (400, "BadRequest")
    assert "shoeSize" in message


def test_patch_changes_only_given_properties_and_null_clears(graph, tenant):
    user = make_user(tenant, "adele", jobTitle="Analyst", department="Finance")
    before = user.version
    response = graph(
        "PATCH", f"users/{user.id}", {"jobTitle": "Lead", "department": None, "accountEnabled": False}
    )
    assert response.status_code == 204
    assert response.content == b""
    user.refresh_from_db()
    assert user.properties["jobTitle"] == "Lead"
    assert user.properties["department"] is None
    assert user.properties["displayName"] == "Adele"
    assert user.account_enabled is False
    assert user.version > before


def test_patch_upn_moves_indexed_column(graph, tenant):
    user = make_user(tenant, "adele")
    assert (
        graph("PATCH", f"users/{user.id}", {"userPrincipalName": "AV@contoso.onmicrosoft.com"}).status_code
        == 204
    )
    user.refresh_from_db()
    assert user.upn_lower == "av@contoso.onmicrosoft.com"
    assert graph.get("users/av@contoso.onmicrosoft.com").status_code == 200


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"id": "00000000-0000-0000-0000-000000000000"}, "read-only"),
        ({"createdDateTime": "2020-01-01T00:00:00Z"}, "read-only"),
        ({"proxyAddresses": ["SMTP:x@contoso.onmicrosoft.com"]}, "read-only"),
        ({"accountEnabled": "yes"}, "Invalid value specified for property 'accountEnabled'"),
        ({"usageLocation": "Great Britain"}, "Invalid value specified for property 'usageLocation'"),
        ({"passwordProfile": {"password": "weak"}}, "password complexity"),
    ],
)
def test_patch_rejections(graph, tenant, changes, fragment):
    user = make_user(tenant, "adele")
    status, _, message = _error(graph("PATCH", f"users/{user.id}", changes, validate=False))
    assert status == 400
    assert fragment in message


def test_patch_unknown_property(graph, tenant):
    user = make_user(tenant, "adele")
    status, code, message = _error(graph("PATCH", f"users/{user.id}", {"x": 1}, validate=False))
    assert (status, code, message) == (
        400, "Request_BadRequest", "Property 'x' does not exist as a declared property or extension property."
    )  # fmt: skip


def test_patch_password_rehashes(graph, tenant):
    user = make_user(tenant, "adele")
    assert (
        graph("PATCH", f"users/{user.id}", {"passwordProfile": {"password": "N3w-Secret-Pass"}}).status_code
        == 204
    )
    user.refresh_from_db()
    assert check_password("N3w-Secret-Pass", user.password_hash)
    assert not check_password(PASSWORD, user.password_hash)


def test_delete_is_soft_and_hides_user(graph, tenant):
    user = make_user(tenant, "adele")
    response = graph("DELETE", f"users/{user.id}")
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.deleted_datetime is not None
    assert graph.get(f"users/{user.id}").status_code == 404
    assert graph.get("users").json()["value"] == []
    # Entra frees the UPN of a user in deleted items: a new user may take it, and restoring the deleted one
    # then fails with the UPN conflict (tests/sandbox/test_deleted_items.py)
    body = _new_user(userPrincipalName=user.properties["userPrincipalName"])
    assert graph("POST", "users", body).status_code == 201
    assert graph("POST", f"directory/deletedItems/{user.id}/restore", {}).status_code == 400


def test_other_tenants_users_are_invisible(graph, client):
    other = make_tenant("Fabrikam")
    stranger = make_user(other, "sam")
    assert graph.get(f"users/{stranger.id}").status_code == 404
    assert graph.get("users/sam@fabrikam.onmicrosoft.com").status_code == 404


def test_sign_in_activity_needs_premium(graph, tenant):
    make_user(tenant, "adele")
    status, code, message = _error(graph.get("users?$select=displayName,signInActivity"))
    assert (status, code, message) == (
        403,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    )
    make_sku(tenant, premium=True)
    response = graph.get("users?$select=displayName,signInActivity")
    assert response.status_code == 200
    assert response.json()["value"][0]["signInActivity"] is None
    assert "signInActivity" not in graph.get("users").json()["value"][0]


def test_collection_refuses_properties_only_available_on_single_user(graph, tenant):
    user = make_user(tenant, "adele")
    response = graph.get("users?$select=displayName,aboutMe")
    assert response.status_code == 501
    assert graph.get(f"users/{user.id}?$select=aboutMe").status_code == 200
