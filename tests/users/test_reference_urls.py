"""The reference product's users URLs redirect to ours; ?tenantFilter= is read as ?tenant= everywhere."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from users.models import DirectoryUser

from .factories import make_admin, make_technician, make_tenant, make_users

pytestmark = pytest.mark.django_db
PREFIX = "/identity/administration/users"


@pytest.fixture
def contoso():
    tenant = make_tenant("Contoso", domain="contoso.example")
    make_users(tenant, 3)
    return tenant


@pytest.fixture
def fabrikam():
    return make_tenant("Fabrikam", domain="fabrikam.example")


def split(response):
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response["Location"])
    return parts.path, parse_qs(parts.query)


@pytest.mark.parametrize("slash", ["", "/"])
def test_users_list_by_domain_and_guid_keeps_other_parameters(client, contoso, slash):
    client.force_login(make_admin())
    for value in ("contoso.example", str(contoso.tenant_id)):
        path, query = split(
            client.get(f"{PREFIX}{slash}", {"tenantFilter": value, "q": "ada", "sort": "upn"})
        )
        assert path == reverse("users:list")
        assert query == {"tenant": [contoso.slug], "q": ["ada"], "sort": ["upn"]}


def test_users_list_all_tenants(client, contoso):
    client.force_login(make_admin())
    assert split(client.get(PREFIX, {"tenantFilter": "AllTenants"})) == (
        reverse("users:list"),
        {"tenant": ["all"]},
    )


def test_view_user_redirects_to_view_user(client, contoso):
    client.force_login(make_admin())
    user = DirectoryUser.objects.filter(tenant=contoso).first()
    response = client.get(f"{PREFIX}/user", {"userId": str(user.user_id), "tenantFilter": "contoso.example"})
    path, query = split(response)
    assert path == reverse("users:detail", args=[contoso.slug, user.user_id])
    assert query == {}
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(("suffix", "name"), [("/bulk-add", "users:bulk-add"), ("/invite", "users:invite")])
def test_bulk_add_and_invite_redirect(client, contoso, suffix, name):
    client.force_login(make_admin())
    path, query = split(
        client.get(PREFIX + suffix, {"tenantFilter": str(contoso.tenant_id), "kind": "guests"})
    )
    assert path == reverse(name)
    assert query == {"tenant": [contoso.slug], "kind": ["guests"]}
    assert split(client.get(PREFIX + suffix)) == (reverse(name), {})


def test_unknown_and_out_of_scope_answer_404_alike(client, contoso, fabrikam):
    client.force_login(make_technician(role="editor", tenants=[contoso]))
    user_id = str(uuid.uuid4())
    for value in ("fabrikam.example", str(fabrikam.tenant_id), "nowhere.example"):
        assert client.get(PREFIX, {"tenantFilter": value}).status_code == 404
        assert client.get(f"{PREFIX}/user", {"userId": user_id, "tenantFilter": value}).status_code == 404
        assert client.get(f"{PREFIX}/invite", {"tenantFilter": value}).status_code == 404
    assert (
        client.get(f"{PREFIX}/user", {"userId": "not-a-guid", "tenantFilter": "contoso.example"}).status_code
        == 404
    )
    assert client.get(f"{PREFIX}/user", {"userId": user_id}).status_code == 404
    # In scope but no such user: View user's own 404 after the redirect.
    response = client.get(
        f"{PREFIX}/user", {"userId": str(uuid.uuid4()), "tenantFilter": "contoso.example"}, follow=True
    )
    assert response.status_code == 404
    # No user named: the tenant's table (the reference's page without a user).
    assert split(client.get(f"{PREFIX}/user", {"tenantFilter": "contoso.example"})) == (
        reverse("users:list"),
        {"tenant": [contoso.slug]},
    )


def test_bulk_add_and_invite_need_the_editor_role_up_front(client, contoso):
    client.force_login(make_technician(role="reader", tenants=[contoso]))
    assert client.get(f"{PREFIX}/invite", {"tenantFilter": "contoso.example"}).status_code == 403
    assert client.get(f"{PREFIX}/bulk-add").status_code == 403
    assert split(client.get(PREFIX, {"tenantFilter": "contoso.example"}))[0] == reverse("users:list")


def test_anonymous_goes_to_login_keeping_the_query(client, contoso):
    response = client.get(f"{PREFIX}/user", {"userId": "x", "tenantFilter": "contoso.example"})
    assert response.status_code == 302
    parts = urlsplit(response["Location"])
    assert parts.path == reverse("login")
    next_url = parse_qs(parts.query)["next"][0]
    assert next_url == f"{PREFIX}/user?userId=x&tenantFilter=contoso.example"


def test_tenant_filter_is_a_synonym_of_tenant_on_our_pages(client, contoso, fabrikam):
    make_users(fabrikam, 2)
    client.force_login(make_admin())
    by_filter = client.get(reverse("users:list"), {"tenantFilter": "contoso.example"})
    assert by_filter.status_code == 200
    assert by_filter.context["scope"].tenant == contoso
    export = client.get(reverse("users:export-csv"), {"tenantFilter": "contoso.example"})
    assert b"".join(export.streaming_content).decode("utf-8-sig").count("\n") == 4  # header + 3 users
    # Both given and different: ours wins.
    both = client.get(
        reverse("users:list"), {"tenant": "fabrikam.example", "tenantFilter": "contoso.example"}
    )
    assert both.context["scope"].tenant == fabrikam


def test_tenant_filter_out_of_scope_is_404_on_our_pages(client, contoso, fabrikam):
    client.force_login(make_technician(tenants=[contoso]))
    assert client.get(reverse("users:list"), {"tenantFilter": "fabrikam.example"}).status_code == 404
    assert client.get(reverse("users:list"), {"tenant": "fabrikam.example"}).status_code == 404
