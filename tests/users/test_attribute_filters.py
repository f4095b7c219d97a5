"""Directory attribute filters (department, jobTitle, ... as Graph names them): case-insensitive exact match
against the cache, combinable, each shown as a chip whose remove link drops exactly its parameter."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from users.filters import ATTRIBUTE_FILTERS, parse_table_query

from .factories import make_admin, make_tenant, make_users

DEPARTMENTS = ("Sales", "Finance", "")
CITIES = ("Amsterdam", "Berlin")


@pytest.fixture
def seeded(db, client):
    tenant = make_tenant("Contoso", domain="contoso.example")
    make_users(
        tenant,
        12,
        department=lambda i: DEPARTMENTS[i % 3],
        city=lambda i: CITIES[i % 2],
        job_title=lambda i: "Engineer" if i < 6 else "Manager",
        company_name="Contoso Ltd",
        office_location=lambda i: f"Floor {i % 2}",
        country="Netherlands",
        usage_location=lambda i: "NL" if i % 4 else "DE",
    )
    client.force_login(make_admin())
    return tenant


def names(client, **params) -> tuple[set[str], object]:
    response = client.get("/users/", {"tenant": "all", "per_page": 500, **params})
    assert response.status_code == 200
    return {row["user"].user_principal_name for row in response.context["rows"]}, response


@pytest.mark.parametrize(
    ("param", "value", "column", "expected"),
    [
        ("department", "sales", "department", "Sales"),
        ("jobTitle", "ENGINEER", "job_title", "Engineer"),
        ("companyName", "contoso ltd", "company_name", "Contoso Ltd"),
        ("officeLocation", "floor 1", "office_location", "Floor 1"),
        ("city", "amsterdam", "city", "Amsterdam"),
        ("country", "netherlands", "country", "Netherlands"),
        ("usageLocation", "de", "usage_location", "DE"),
    ],
)
def test_each_attribute_filter_matches_the_cache_case_insensitively(
    seeded, client, param, value, column, expected
):
    from users.models import DirectoryUser

    found, response = names(client, **{param: value})
    wanted = set(
        DirectoryUser.objects.filter(**{column: expected}).values_list("user_principal_name", flat=True)
    )
    assert wanted and found == wanted
    chips = response.context["query"].chips
    assert [c["param"] for c in chips] == [param]


def test_two_filters_combine_and_each_chip_drops_only_its_own(seeded, client):
    both, response = names(client, department="Sales", city="Amsterdam")
    sales, _ = names(client, department="Sales")
    amsterdam, _ = names(client, city="Amsterdam")
    assert both == sales & amsterdam and both
    html = response.content.decode()
    assert "Department: Sales" in html and "City: Amsterdam" in html
    for chip in response.context["query"].chips:
        kept = parse_qs(chip["remove_query"])
        assert chip["param"] not in kept
        assert {"department", "city"} - {chip["param"]} <= set(kept)


def test_invalid_usage_location_is_reported_not_ignored_silently():
    query = parse_table_query(QueryDict("usageLocation=Netherlands&city=Paris"))
    assert query.usageLocation == "" and query.city == "Paris"
    assert any("Usage location" in e and "two-letter" in e for e in query.errors)


VALUES = st.sampled_from(["Sales", "sales", "Amsterdam", "Floor 1", "NL", "x", "", "%", "_", "a\x00b"])


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picked=st.dictionaries(st.sampled_from(list(ATTRIBUTE_FILTERS)), VALUES, max_size=4))
def test_combinations_never_500_and_stay_a_subset(client, picked):
    from tenants.models import Tenant

    if not Tenant.objects.exists():
        make_users(
            make_tenant("Contoso", domain="contoso.example"), 8, department=lambda i: DEPARTMENTS[i % 3]
        )
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.filter(username="admin").first() or make_admin())
    everyone, _ = names(client)
    found, response = names(client, **picked)
    assert found <= everyone
    for chip in response.context["query"].chips:
        assert chip["param"] not in parse_qs(chip["remove_query"])
