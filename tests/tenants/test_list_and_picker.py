"""Tenant list, favourites, enable/disable, the header picker and tenant selection."""

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import FavouriteTenant, Tenant
from tenants.selection import SESSION_KEY

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def tenants(make_tenant):
    return {
        "contoso": make_tenant("Contoso", "contoso.com", "contoso.onmicrosoft.com"),
        "fabrikam": make_tenant(
            "Fabrikam", "fabrikam.com", has_entra_p2=True, capabilities_checked_at="2026-01-01T00:00Z"
        ),
        "northwind": make_tenant(
            "Northwind", "northwind.example", kind=Tenant.Kind.SANDBOX, last_sync_error="boom"
        ),
    }


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("tenants:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_shows_rows_badges_and_shell(tech_client, tenants):
    response = tech_client.get(reverse("tenants:list"))
    html = response.content.decode()
    assert response.status_code == 200
    for tenant in tenants.values():
        assert tenant.display_name in html
        assert str(tenant.tenant_id) in html
    assert "Entra P2" in html and "Sandbox" in html and "boom" in html
    assert 'id="modal-content"' in html and 'id="toasts"' in html  # the shell
    assert "Log out" in html and "Add tenant manually" in html
    assert 'style="' not in html and "<style" not in html  # strict CSP: nothing inline
    assert "<script>" not in html


def test_search_reflects_query_and_htmx_gets_only_the_table(tech_client, tenants):
    full = tech_client.get(reverse("tenants:list"), {"q": "fabri"}).content.decode()
    assert (
        'value="fabri"' in full and "Fabrikam" in full and "Contoso" not in full.split('id="tenant-table"')[1]
    )
    partial = tech_client.get(reverse("tenants:list"), {"q": "onmicrosoft"}, **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="tenant-table"')
    assert "Contoso" in partial and "Fabrikam" not in partial and "<html" not in partial


def test_empty_search_says_so(tech_client, tenants):
    html = tech_client.get(reverse("tenants:list"), {"q": "nothing-like-this"}, **HTMX).content.decode()
    assert "No tenant matches" in html


def test_reader_sees_list_read_only(reader_client, tenants):
    html = reader_client.get(reverse("tenants:list")).content.decode()
    assert "Contoso" in html
    assert "Add tenant manually" not in html and "Discover tenants" not in html
    assert reverse("tenants:toggle-enabled", args=[tenants["contoso"].tenant_id]) not in html


def test_favourite_toggles_and_htmx_swaps_the_button(reader_client, reader, tenants):
    url = reverse("tenants:favourite", args=[tenants["contoso"].tenant_id])
    response = reader_client.post(url, **HTMX)
    assert response.status_code == 200
    assert "bi-star-fill" in response.content.decode()
    assert FavouriteTenant.objects.filter(user=reader, tenant=tenants["contoso"]).exists()
    response = reader_client.post(url, {"next": "/tenants/?q=x"})
    assert response.status_code == 302 and response["Location"] == "/tenants/?q=x"
    assert not FavouriteTenant.objects.filter(user=reader).exists()


@pytest.mark.parametrize("name", ["tenants:favourite", "tenants:toggle-enabled"])
def test_row_actions_are_post_only(tech_client, tenants, name):
    assert tech_client.get(reverse(name, args=[tenants["contoso"].tenant_id])).status_code == 405


def test_enable_toggle_is_staff_only(reader_client, tech_client, tenants):
    url = reverse("tenants:toggle-enabled", args=[tenants["contoso"].tenant_id])
    assert reader_client.post(url).status_code == 403
    tenants["contoso"].refresh_from_db()
    assert tenants["contoso"].enabled is True
    response = tech_client.post(url, **HTMX)
    assert response.status_code == 200
    assert "Contoso disabled" in response["HX-Trigger"]
    assert 'aria-checked="false"' in response.content.decode()
    tenants["contoso"].refresh_from_db()
    assert tenants["contoso"].enabled is False


def test_posts_need_the_csrf_token(technician, tenants):
    client = Client(enforce_csrf_checks=True)
    client.force_login(technician)
    url = reverse("tenants:favourite", args=[tenants["contoso"].tenant_id])
    assert client.post(url).status_code == 403
    assert client.post(reverse("tenants:select"), {"tenant": ""}).status_code == 403
    # With the token the page carries in its meta tag (what app.js sends), the same POST works.
    page = client.get(reverse("tenants:list")).content.decode()
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post(url, HTTP_X_CSRFTOKEN=token).status_code == 302


def test_picker_lists_favourites_first_and_only_enabled(tech_client, technician, tenants, make_tenant):
    make_tenant("Zeta Disabled", "zeta.example", enabled=False)
    FavouriteTenant.objects.create(user=technician, tenant=tenants["northwind"])
    html = tech_client.get(reverse("tenants:picker"), **HTMX).content.decode()
    assert html.index("Northwind") < html.index("Contoso") < html.index("Fabrikam")
    assert "Favourites" in html and "All tenants" in html and "Zeta" not in html
    matches = tech_client.get(reverse("tenants:picker"), {"q": "contoso.onmicrosoft"}).content.decode()
    assert "Contoso" in matches and "Northwind" not in matches and "Fabrikam" not in matches
    by_guid = tech_client.get(
        reverse("tenants:picker"), {"q": str(tenants["fabrikam"].tenant_id)}
    ).content.decode()
    assert "Fabrikam" in by_guid and "Contoso" not in by_guid


def test_select_stores_tenant_and_redirects_back_safely(tech_client, tenants):
    fabrikam = tenants["fabrikam"]
    response = tech_client.post(
        reverse("tenants:select"), {"tenant": str(fabrikam.tenant_id), "next": "/tenants/?q=f"}
    )
    assert response["Location"] == "/tenants/?q=f"
    assert tech_client.session[SESSION_KEY] == str(fabrikam.tenant_id)
    # The header shows it as the current tenant.
    assert "data-picker-current>Fabrikam<" in tech_client.get(reverse("tenants:list")).content.decode()
    evil = tech_client.post(reverse("tenants:select"), {"tenant": "", "next": "https://evil.example/"})
    assert evil["Location"] == reverse("tenants:list")
    assert SESSION_KEY not in tech_client.session


def test_select_refuses_unknown_or_disabled_tenant(tech_client, tenants):
    tenants["contoso"].enabled = False
    tenants["contoso"].save()
    tech_client.post(reverse("tenants:select"), {"tenant": str(tenants["contoso"].tenant_id)})
    assert SESSION_KEY not in tech_client.session
    tech_client.post(reverse("tenants:select"), {"tenant": "not-a-guid"})
    assert SESSION_KEY not in tech_client.session


def test_nav_renders_only_existing_pages(tech_client, db):
    html = tech_client.get(reverse("tenants:list")).content.decode()
    assert 'href="/tenants/"' in html and "Connections" in html
    # Users/Jobs/Audit appear once their URL names exist; until then they must not break the page.
    from django.urls import NoReverseMatch

    for name, label in (("users:list", ">Users<"), ("jobs:list", ">Jobs<"), ("audit:list", ">Audit<")):
        try:
            reverse(name)
        except NoReverseMatch:
            assert label not in html.replace('aria-hidden="true"></i> ', ">")


def test_a_scoped_technician_never_meets_other_tenants(scoped_client, tenants):
    client = scoped_client(tenants["contoso"])
    fabrikam = tenants["fabrikam"]
    html = client.get(reverse("tenants:list")).content.decode()
    assert "Contoso" in html and "Fabrikam" not in html and str(fabrikam.tenant_id) not in html
    picker = client.get(reverse("tenants:picker")).content.decode()
    assert "Contoso" in picker and "Fabrikam" not in picker and "Northwind" not in picker
    # Out of scope is "does not exist": 404, never 403.
    assert client.post(reverse("tenants:favourite", args=[fabrikam.tenant_id])).status_code == 404
    assert client.post(reverse("tenants:toggle-enabled", args=[fabrikam.tenant_id])).status_code == 404
    assert (
        client.post(reverse("tenants:toggle-enabled", args=[tenants["contoso"].tenant_id])).status_code == 403
    )
    client.post(reverse("tenants:select"), {"tenant": str(fabrikam.tenant_id)})
    assert SESSION_KEY not in client.session


def test_a_selection_taken_out_of_scope_falls_back_to_all_tenants(tech_client, technician, tenants):
    tech_client.post(reverse("tenants:select"), {"tenant": str(tenants["fabrikam"].tenant_id)})
    technician.technician.scope = "only"
    technician.technician.save()
    technician.technician.tenants.set([tenants["contoso"]])
    html = tech_client.get(reverse("tenants:list")).content.decode()
    assert "data-picker-current>All tenants<" in html
    assert SESSION_KEY not in tech_client.session
