"""Parsing the table's query string: valid values kept, invalid ones dropped with a notice, never a 500."""

from __future__ import annotations

import uuid

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from users.filters import DEFAULT_PAGE_SIZE, DEFAULT_SORT, TableQuery, parse_table_query
from users.queries import Page

from .factories import make_admin, make_tenant, make_users, sku_id


def parse(query_string: str, **kw) -> TableQuery:
    return parse_table_query(QueryDict(query_string), **kw)


def test_defaults():
    query = parse("")
    assert query == TableQuery()
    assert query.sort == DEFAULT_SORT and query.per_page == DEFAULT_PAGE_SIZE and query.page == 1
    assert query.urlencode() == ""
    assert not query.errors


def test_valid_values_round_trip_through_the_url():
    text = "tenant=contoso.example&q=ada&status=disabled&licence=licensed&source=cloud&type=guest&domain=contoso.example&sort=-created&per_page=250&page=3"
    query = parse(text)
    assert not query.errors
    assert parse(query.urlencode()) == query
    assert query.descending and query.sort_key == "created"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("sort=password", "sort", "Sort “password” was ignored"),
        ("sort=business_phones", "sort", "Sort “business_phones” was ignored"),  # not sortable
        ("per_page=1000", "per_page", "Rows per page “1000” was ignored"),
        ("page=0", "page", "Page “0” was ignored"),
        ("page=abc", "page", "Page “abc” was ignored"),
        ("status=maybe", "status", "Status “maybe” was ignored"),
        ("sku=not-a-guid", "sku", "Licence “not-a-guid” was ignored"),
        ("domain=evil.com%27%3B--", "domain", "That is not a domain name."),
        ("q=" + "x" * 201, "q", "Search"),
        ("q=a%00b", "q", "Search “a\ufffdb” was ignored: Null characters are not allowed."),
    ],
)
def test_invalid_values_fall_back_to_defaults_with_a_notice(text, field, message):
    query = parse(text)
    assert getattr(query, field) == getattr(TableQuery(), field)
    assert any(message in error for error in query.errors), query.errors


def test_sku_must_be_subscribed_in_scope():
    known = sku_id("SPE_E3")
    assert parse(f"sku={known}", sku_ids={known}).sku == known
    stranger = uuid.uuid4()
    query = parse(f"sku={stranger}", sku_ids={known})
    assert query.sku is None
    assert "No tenant in this view subscribes to that licence." in query.errors[0]


def test_domain_is_lower_cased():
    assert parse("domain=Contoso.EXAMPLE").domain == "contoso.example"


def test_sort_url_toggles_and_resets_page():
    query = parse("sort=mail&page=4&q=ad")
    assert QueryDict(query.sort_url("mail"))["sort"] == "-mail"
    assert "page" not in QueryDict(query.sort_url("mail"))
    assert QueryDict(query.sort_url("created"))["sort"] == "created"
    assert QueryDict(query.page_url(5))["q"] == "ad"


def test_page_window():
    page = Page(rows=[], number=10, per_page=50, count=50 * 40)
    assert page.window() == [1, None, 8, 9, 10, 11, 12, None, 40]
    assert Page(rows=[], number=1, per_page=50, count=0).window() == [1]


PARAM_NAMES = st.sampled_from(
    ["tenant", "q", "status", "licence", "sku", "source", "type", "domain", "sort", "page", "per_page", "x"]
)
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "all",
            "group:1",
            "group:x",
            "-",
            "-display_name",
            "0",
            "-1",
            "99999999999",
            "500",
            str(uuid.uuid4()),
        ]
    ),
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=6))
def test_arbitrary_query_strings_never_500(client, params):
    from django.contrib.auth import get_user_model

    from tenants.models import Tenant

    admin = get_user_model().objects.filter(username="admin").first() or make_admin()
    if not Tenant.objects.exists():
        make_users(make_tenant("Contoso", domain="contoso.example"), 5)
    client.force_login(admin)
    # Values travel as the browser would send them: percent-encoded, NULs and all.
    for url in ("/users/", "/users/export.csv"):
        response = client.get(url, params)
        assert response.status_code in (200, 400, 404), (url, params, response.status_code)
        if url == "/users/" and response.status_code == 200:
            assert response.context["page"].count >= 0
