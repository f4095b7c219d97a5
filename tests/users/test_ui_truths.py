"""Small UI truths: the header picker names the tenant the page shows (also opened by URL), tenant names on
the Tenants page open their users, and the enabled/disabled column is called "Account"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tenants.selection import select_tenant

from .factories import make_admin, make_tenant, make_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(client):
    contoso = make_tenant("Contoso", domain="contoso.example")
    fabrikam = make_tenant("Fabrikam", domain="fabrikam.example")
    make_users(contoso, 3)
    make_users(fabrikam, 3)
    client.force_login(make_admin())
    session = client.session
    session["tenant"] = str(contoso.tenant_id)  # the picker last chose Contoso
    session.save()
    return client, contoso, fabrikam


def picker_label(page: str) -> str:
    return re.search(r"data-picker-current>([^<]*)<", page).group(1)


def picker_next(page: str) -> str:
    return re.search(r'name="next" value="([^"]*)"', page).group(1)


def active_picker_items(page: str) -> list[str]:
    return re.findall(r'name="tenant" value="([^"]*)" class="dropdown-item picker-item active"', page)


def test_the_picker_names_the_tenant_opened_by_url(two):
    client, contoso, fabrikam = two
    page = client.get(reverse("users:list") + "?tenant=fabrikam.example").content.decode()
    assert picker_label(page) == "Fabrikam"
    assert active_picker_items(page) == [str(fabrikam.tenant_id)]
    # Picking another tenant opens that tenant's table, not this URL (which would show Fabrikam again).
    assert picker_next(page) == reverse("users:list")
    page = client.get(reverse("users:list")).content.decode()  # no tenant in the URL: the session's
    assert picker_label(page) == "Contoso" and active_picker_items(page) == [str(contoso.tenant_id)]
    page = client.get(reverse("users:list") + "?tenant=all").content.decode()
    assert picker_label(page) == "All tenants"
    assert 'value="" class="dropdown-item picker-item active"' in page


def test_view_user_and_the_more_info_page_name_their_tenant(two):
    client, contoso, fabrikam = two
    user = fabrikam.directory_users.order_by("pk").first()
    for name in ("users:detail", "users:panel"):
        page = client.get(reverse(name, args=[fabrikam.slug, user.user_id])).content.decode()
        assert picker_label(page) == "Fabrikam", name
    # Other pages keep naming the session's tenant.
    assert picker_label(client.get(reverse("tenants:list")).content.decode()) == "Contoso"


def test_choosing_in_the_picker_then_shows_that_tenant(two):
    client, contoso, fabrikam = two
    response = client.post(reverse("tenants:select"), {"tenant": str(fabrikam.tenant_id), "next": "/users/"})
    page = client.get(response["Location"]).content.decode()
    assert picker_label(page) == "Fabrikam" and 'Users <span class="page-scope">Fabrikam</span>' in page


def test_tenant_names_link_to_their_users(two):
    client, contoso, fabrikam = two
    fabrikam.enabled = False
    fabrikam.save(update_fields=["enabled"])
    page = client.get(reverse("tenants:list")).content.decode()
    assert f'href="{reverse("users:list")}?tenant=contoso.example"' in page
    assert "?tenant=fabrikam.example" not in page  # a disabled tenant has no users page


def test_the_enabled_column_is_called_account(two):
    client, contoso, fabrikam = two
    page = client.get(reverse("users:list") + "?tenant=contoso.example").content.decode()
    header = re.search(r'<th scope="col" class="col-enabled"[^>]*>(.*?)</th>', page, re.S).group(1)
    assert "Account" in header and "Sign-in" not in header


def test_select_tenant_helper_still_writes_the_session(rf):
    # show_scope never writes the session: only the picker's POST does.
    from tenants.selection import SESSION_KEY, show_scope

    request = rf.get("/")
    request.session = {}
    tenant = make_tenant("Solo", domain="solo.example")
    show_scope(request, tenant)
    assert SESSION_KEY not in request.session
    select_tenant(request, tenant)
    assert request.session[SESSION_KEY] == str(tenant.tenant_id)
