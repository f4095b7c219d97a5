"""The users table page: scope, search, filters, sort, paging, column preferences, notices, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tenants.models import Tenant, TenantGroup
from users.models import DirectoryUser, TechnicianPreference
from users.tables import DEFAULT_KEYS, PREFERENCE_KEY

from .factories import make_admin, make_technician, make_tenant, make_users, sku_id

URL = "/users/"
pytestmark = pytest.mark.django_db


def rows(response) -> list[str]:
    """Display names of the rendered rows, in order."""
    return [row["user"].display_name for row in response.context["rows"]]


@pytest.fixture
def contoso():
    tenant = make_tenant("Contoso", domain="contoso.example", has_entra_p1=True)
    make_users(tenant, 60)
    return tenant


@pytest.fixture
def admin_client(client):
    client.force_login(make_admin())
    return client


def test_url_names():
    assert reverse("users:list") == "/users/"
    assert reverse("users:export-csv") == "/users/export.csv"
    assert reverse("users:export-xlsx") == "/users/export.xlsx"


def test_default_page_lists_fifty_sorted_by_display_name(admin_client, contoso):
    response = admin_client.get(URL, {"tenant": "contoso.example"})
    assert response.status_code == 200
    names = rows(response)
    assert len(names) == 50
    assert names == sorted(names)
    assert response.context["page"].count == 60
    assert "Microsoft 365 E3" in response.content.decode() or "Power BI Pro" in response.content.decode()


def test_tenant_by_guid_and_by_domain_are_the_same_scope(admin_client, contoso):
    by_domain = admin_client.get(URL, {"tenant": "CONTOSO.example"})
    by_guid = admin_client.get(URL, {"tenant": str(contoso.tenant_id)})
    assert rows(by_domain) == rows(by_guid)
    assert by_guid.context["query"].tenant == "contoso.example"  # canonical slug in every link


def test_session_tenant_is_the_default_scope(admin_client, contoso):
    other = make_tenant("Other")
    make_users(other, 3)
    session = admin_client.session
    session["tenant"] = str(contoso.tenant_id)
    session.save()
    response = admin_client.get(URL)
    assert response.context["scope"].tenant == contoso
    assert response.context["page"].count == 60


def test_no_session_tenant_means_all_tenants(admin_client, contoso):
    other = make_tenant("Other")
    make_users(other, 3)
    response = admin_client.get(URL)
    assert response.context["scope"].param == "all"
    assert response.context["page"].count == 63
    assert [c.key for c in response.context["columns"]][0] == "tenant"


def test_unknown_tenant_is_a_clear_404_not_a_500(admin_client):
    response = admin_client.get(URL, {"tenant": "nowhere.example"})
    assert response.status_code == 404
    assert "No tenant “nowhere.example” among the tenants you can see." in response.content.decode()


def test_page_size_and_paging(admin_client, contoso):
    response = admin_client.get(URL, {"tenant": "contoso.example", "per_page": "25", "page": "3"})
    assert len(rows(response)) == 10
    assert response.context["page"].number == 3
    past_end = admin_client.get(URL, {"tenant": "contoso.example", "per_page": "25", "page": "99"})
    assert past_end.context["page"].number == 3  # the last page, not an empty one


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "disabled"}, lambda u: not u.account_enabled),
        ({"status": "enabled"}, lambda u: u.account_enabled),
        ({"licence": "unlicensed"}, lambda u: not u.is_licensed),
        ({"licence": "licensed"}, lambda u: u.is_licensed),
        ({"source": "synced"}, lambda u: u.on_premises_sync_enabled),
        ({"source": "cloud"}, lambda u: not u.on_premises_sync_enabled),
        ({"type": "guest"}, lambda u: u.user_type == "Guest"),
        ({"type": "member"}, lambda u: u.user_type == "Member"),
        ({"domain": "contoso.example"}, lambda u: u.upn_domain == "contoso.example"),
        ({"sku": str(sku_id("POWER_BI_PRO"))}, lambda u: str(sku_id("POWER_BI_PRO")) in u.license_sku_ids),
    ],
)
def test_each_filter_selects_exactly_the_matching_users(admin_client, contoso, params, expected):
    response = admin_client.get(URL, {"tenant": "contoso.example", "per_page": "500", **params})
    assert not response.context["query"].errors
    shown = {row["user"].pk for row in response.context["rows"]}
    wanted = {u.pk for u in DirectoryUser.objects.filter(tenant=contoso) if expected(u)}
    assert wanted and shown == wanted


def test_filters_combine(admin_client, contoso):
    response = admin_client.get(
        URL, {"tenant": "contoso.example", "status": "enabled", "source": "synced", "per_page": "500"}
    )
    shown = {row["user"].pk for row in response.context["rows"]}
    wanted = set(
        DirectoryUser.objects.filter(
            tenant=contoso, account_enabled=True, on_premises_sync_enabled=True
        ).values_list("pk", flat=True)
    )
    assert shown == wanted


@pytest.mark.parametrize(
    ("term", "index"),
    [
        ("ada lovelace 00000", 0),  # display name prefix, any case
        ("KERNIGHAN", 10),  # surname prefix (the second word of the display name)
        ("brian.kernighan11@", 11),  # UPN / mail prefix
        ("LOVELACE2@contoso.onmicrosoft", 2),  # the middle of an alias: found inside proxy_search
    ],
)
def test_search_is_case_insensitive_over_names_upn_mail_and_aliases(admin_client, contoso, term, index):
    target = DirectoryUser.objects.get(tenant=contoso, display_name__endswith=f" {index:05d}")
    response = admin_client.get(URL, {"tenant": "contoso.example", "q": term, "per_page": "500"})
    assert target.pk in {row["user"].pk for row in response.context["rows"]}


def test_search_does_not_match_the_middle_of_a_display_name(admin_client, contoso):
    response = admin_client.get(URL, {"tenant": "contoso.example", "q": "00001"})
    assert response.context["page"].count == 0
    assert "No user matches these filters." in response.content.decode()


@pytest.mark.parametrize(
    "key", ["display_name", "mail", "created", "licences", "enabled", "user_type", "tenant"]
)
def test_sort_by_any_sortable_column_both_ways_with_a_stable_tiebreak(admin_client, contoso, key):
    TechnicianPreference.objects.all().delete()
    asc = admin_client.get(URL, {"tenant": "contoso.example", "sort": key, "per_page": "100"})
    desc = admin_client.get(URL, {"tenant": "contoso.example", "sort": f"-{key}", "per_page": "100"})
    asc_ids = [row["user"].pk for row in asc.context["rows"]]
    desc_ids = [row["user"].pk for row in desc.context["rows"]]
    assert len(asc_ids) == 60
    assert asc_ids == list(reversed(desc_ids))


def test_empty_dates_sort_last_in_both_directions(admin_client, contoso):
    for sort in ("last_sign_in", "-last_sign_in"):
        response = admin_client.get(URL, {"tenant": "contoso.example", "sort": sort, "per_page": "100"})
        values = [row["user"].last_sign_in for row in response.context["rows"]]
        first_none = values.index(None)
        assert all(v is None for v in values[first_none:])
        dated = values[:first_none]
        assert dated == sorted(dated, reverse=sort.startswith("-"))


def test_sort_headers_toggle_and_reset_the_page(admin_client, contoso):
    response = admin_client.get(URL, {"tenant": "contoso.example", "sort": "mail", "page": "2"})
    headers = {h["column"].key: h for h in response.context["headers"]}
    assert "sort=-mail" in headers["mail"]["url"] and "page=" not in headers["mail"]["url"]
    assert headers["mail"]["aria_sort"] == "ascending"
    assert headers["display_name"]["aria_sort"] == "none"


def test_htmx_request_gets_only_the_table_partial(admin_client, contoso):
    response = admin_client.get(URL, {"tenant": "contoso.example", "sort": "-mail"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="users-table"')
    assert "<html" not in body
    assert 'hx-swap-oob="true"' in body and 'name="sort" value="-mail"' in body


def test_full_page_without_js_has_the_form_and_the_table(admin_client, contoso):
    body = admin_client.get(URL, {"tenant": "contoso.example"}).content.decode()
    assert 'id="users-filters"' in body and 'method="get"' in body
    scripts = ('<script src="/static/js/users-table.js" defer></script>',
               '<script src="/static/js/actions.js" defer></script>')  # fmt: skip
    rest = body.split("</head>")[1]
    for script in scripts:
        rest = rest.replace(script, "")
    assert "<script" not in rest


def test_column_preferences_persist_and_render(admin_client, contoso):
    response = admin_client.post(
        reverse("users:columns"),
        {
            "columns": ["mail", "department", "last_sign_in", "bogus"],
            "query": "tenant=contoso.example&sort=mail",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/users/?tenant=contoso.example&sort=mail"
    pref = TechnicianPreference.objects.get(key=PREFERENCE_KEY)
    assert pref.value == {"columns": ["display_name", "mail", "department", "last_sign_in"]}
    page = admin_client.get(URL, {"tenant": "contoso.example"})
    assert [c.key for c in page.context["columns"]] == ["display_name", "mail", "department", "last_sign_in"]
    # Reset goes back to the defaults.
    admin_client.post(reverse("users:columns"), {"action": "reset", "query": ""})
    page = admin_client.get(URL, {"tenant": "contoso.example"})
    assert [c.key for c in page.context["columns"]] == list(DEFAULT_KEYS)


def test_column_chooser_over_htmx_returns_the_table(admin_client, contoso):
    response = admin_client.post(
        reverse("users:columns"),
        {"columns": ["user_id"], "query": "tenant=contoso.example"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="users-table"')
    assert "User id" in response.content.decode()


def test_last_sign_in_not_available_without_p1(admin_client):
    tenant = make_tenant("NoP1", has_entra_p1=False, has_entra_p2=False)
    make_users(tenant, 3)
    admin_client.post(reverse("users:columns"), {"columns": ["last_sign_in"], "query": ""})
    body = admin_client.get(URL, {"tenant": tenant.slug}).content.decode()
    assert "not available" in body


def test_all_tenants_names_stale_failed_and_never_synced_tenants(admin_client, contoso, settings):
    settings.USERS_SYNC_INTERVAL_MINUTES = 15
    now = timezone.now()
    make_tenant(
        "Fabrikam",
        last_sync_status=Tenant.SyncStatus.FAILED,
        last_sync_at=now - timedelta(minutes=3),
        last_sync_error="AADSTS50020: consent revoked",
    )
    make_tenant("Northwind", last_sync_at=now - timedelta(minutes=31))  # older than 2 x 15 min
    make_tenant("Tailspin", last_sync_status=Tenant.SyncStatus.NEVER, last_sync_at=None)
    make_tenant("Fresh", last_sync_at=now - timedelta(minutes=29))
    response = admin_client.get(URL, {"tenant": "all"})
    named = {n["tenant"].display_name: n["kind"] for n in response.context["notices"]}
    assert named == {"Fabrikam": "failed", "Northwind": "stale", "Tailspin": "never"}
    body = response.content.decode()
    assert "Fabrikam</span>:" in body and "last sync failed 3\xa0minutes ago" in body
    assert "AADSTS50020: consent revoked" in body


def test_tenant_group_scope(admin_client, contoso):
    other = make_tenant("Other")
    make_users(other, 4)
    group = TenantGroup.objects.create(name="Benelux")
    group.tenants.add(other)
    response = admin_client.get(URL, {"tenant": f"group:{group.pk}"})
    assert response.context["page"].count == 4
    assert response.context["scope"].label == "Benelux"
    assert admin_client.get(URL, {"tenant": "group:999"}).status_code == 404


def test_technician_never_sees_tenants_outside_scope(client, contoso):
    hidden = make_tenant("Hidden")
    make_users(hidden, 5, display_name=lambda i: f"Secret person {i}")
    client.force_login(make_technician(tenants=[contoso]))
    all_view = client.get(URL, {"tenant": "all", "per_page": "500"})
    assert all_view.context["page"].count == 60
    assert "Secret person" not in all_view.content.decode()
    # Out of scope answers like a tenant that does not exist.
    by_domain = client.get(URL, {"tenant": hidden.slug})
    assert by_domain.status_code == 404 and "Secret person" not in by_domain.content.decode()
    searched = client.get(URL, {"tenant": "all", "q": "secret"})
    assert searched.context["page"].count == 0


def test_technician_without_profile_sees_nothing(client, django_user_model, contoso):
    client.force_login(django_user_model.objects.create_user(username="nobody", password="x" * 12))
    response = client.get(URL, {"tenant": "all"})
    assert response.status_code == 200 and response.context["page"].count == 0
    assert client.get(URL, {"tenant": contoso.slug}).status_code == 404


def _page_queries(client, per_page: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, {"tenant": "all", "per_page": per_page})
    assert len(response.context["rows"]) == int(per_page)
    return len(ctx.captured_queries)


def test_queries_per_page_do_not_grow_with_rows(admin_client):
    for name in ("A", "B", "C"):
        make_users(make_tenant(name, has_entra_p1=True), 100)
    admin_client.post(
        reverse("users:columns"),
        {"columns": [c for c in ("mail", "licences", "last_sign_in", "proxy_addresses", "upn")]},
    )
    small = _page_queries(admin_client, "25")
    large = _page_queries(admin_client, "250")
    assert small == large
    assert large <= 12, large


def test_scope_error_in_an_htmx_request_shows_the_message_in_the_table(admin_client):
    response = admin_client.get(URL, {"tenant": "gone.example"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="users-table"') and "No tenant “gone.example”" in body
