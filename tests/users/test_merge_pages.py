"""All-tenants pages read as a merge of per-tenant slices (PostgreSQL) must hold exactly the rows, in
exactly the order, of the generic ORDER BY: every page, both directions, nulls last, pk tiebreak, with
filters and search. On SQLite paginate() keeps the generic query; the comparison still runs there."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Tenant
from users.filters import parse_table_query
from users.queries import _merge_tenant_ids, ordering, paginate, table_queryset
from users.query_merge import merge_worthwhile

from .factories import make_tenant, make_users

pytestmark = pytest.mark.django_db

ON_POSTGRES = connection.vendor == "postgresql"
NOW = timezone.now()


@pytest.fixture
def world():
    """Three tenants in scope and one outside it whose rows sort first for every column (the case the
    merge exists for); sizes differ and sort values repeat, so ties fall to the pk."""
    outside = make_tenant("Outside")
    make_users(outside, 40, country="Aaa", city="Aaa", created_datetime=NOW - timedelta(days=9999))
    tenants = [make_tenant(name) for name in ("Bravo", "Alpha", "Charlie")]
    make_users(tenants[0], 43)
    make_users(tenants[1], 9, start=100)
    # Many nulls in the nullable date, and repeated values in the text columns.
    make_users(
        tenants[2],
        61,
        start=200,
        created_datetime=lambda i: None if i % 4 == 0 else NOW - timedelta(days=i % 6),
        city=lambda i: ("Leeds", "Rotterdam", "")[i % 3],
    )
    return Tenant.objects.filter(pk__in=[t.pk for t in tenants])


def _params(sort, **extra):
    return {"sort": sort, "per_page": "25", **extra}


def _generic(scope, params) -> list[int]:
    query = parse_table_query(params)
    qs = table_queryset(scope, query)
    return list(qs.order_by(*ordering(query)).values_list("pk", flat=True)[: 10**6])


def _paged(scope, params, total) -> list[int]:
    seen = []
    for number in range(1, max(1, -(-total // 25)) + 1):
        query = parse_table_query({**params, "page": str(number)})
        page = paginate(table_queryset(scope, query), query)
        assert page.count == total and page.number == number
        seen.extend(row.pk for row in page.rows)
    return seen


@pytest.mark.parametrize(
    "sort",
    ["country", "-country", "created", "-created", "city", "-city", "display_name", "-mail", "enabled"],
)
def test_every_page_matches_the_generic_order(world, sort):
    params = _params(sort)
    expected = _generic(world, params)
    assert len(expected) == 43 + 9 + 61
    if sort.lstrip("-") == "created":  # nulls last both ways
        assert all(u is None for u in _created(expected[-8:]))
    assert _paged(world, params, len(expected)) == expected


@pytest.mark.parametrize("sort", ["-created", "created", "city"])
def test_filter_and_search_apply_inside_every_slice(world, sort):
    params = _params(sort, status="enabled", q="a")
    expected = _generic(world, params)
    assert 25 < len(expected) < 113
    assert _paged(world, params, len(expected)) == expected


def test_page_past_the_end_and_empty_result(world):
    query = parse_table_query(_params("-created", page="99"))
    page = paginate(table_queryset(world, query), query)
    assert page.number == 5 and len(page.rows) == 13
    query = parse_table_query(_params("country", q="nobody-matches-this"))
    assert paginate(table_queryset(world, query), query).rows == []


def test_the_merge_is_used_on_postgres_and_queries_stay_constant(world):
    """The merge path is really taken on PostgreSQL (so the tests above compare it with the generic
    order), never on SQLite, and the number of queries does not depend on the page size."""
    query = parse_table_query(_params("country"))
    assert (_merge_tenant_ids(table_queryset(world, query), query) is not None) == ON_POSTGRES
    counts = []
    for per_page in ("25", "50"):
        query = parse_table_query({"sort": "country", "per_page": per_page})
        with CaptureQueriesContext(connection) as captured:
            paginate(table_queryset(world, query), query)
        counts.append(len(captured.captured_queries))
        if ON_POSTGRES:
            assert any("LATERAL" in q["sql"] for q in captured.captured_queries)
    assert counts[0] == counts[1]


def test_merge_limits():
    assert merge_worthwhile(200, 50)
    assert not merge_worthwhile(1, 50)  # one tenant: its own index already stops after the page
    assert not merge_worthwhile(200, 1050)  # deep page: let the generic query sort
    assert not merge_worthwhile(501, 50)


def _created(pks):
    from users.models import DirectoryUser

    values = dict(DirectoryUser.objects.filter(pk__in=pks).values_list("pk", "created_datetime"))
    return [values[pk] for pk in pks]
