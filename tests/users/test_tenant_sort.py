"""Sorting All tenants by tenant walks per-tenant slices instead of sorting every row; it must return
exactly the rows and order of the generic ORDER BY, on every page, both directions."""

import pytest

from users.filters import parse_table_query
from users.queries import _paginate_by_tenant, ordering, users_for_tenants

from .factories import make_tenant, make_users

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("sort", ["tenant", "-tenant"])
@pytest.mark.parametrize("per_page", [25, 50])
def test_walk_matches_the_generic_order(sort, per_page):
    tenants = [make_tenant(name=name) for name in ("Bravo", "Alpha", "Charlie", "Alpha")]  # a repeated name
    for size, tenant in zip((30, 7, 61, 12), tenants, strict=True):
        make_users(tenant, size)
    ids = [t.pk for t in tenants]
    query = parse_table_query({"sort": sort, "per_page": str(per_page)})
    qs = users_for_tenants(ids)
    expected = list(qs.order_by(*ordering(query)).values_list("pk", flat=True))
    pages = -(-len(expected) // per_page)
    seen = []
    for number in range(1, pages + 1):
        page_query = parse_table_query({"sort": sort, "per_page": str(per_page), "page": str(number)})
        page = _paginate_by_tenant(qs, page_query)
        assert page is not None and page.count == len(expected)
        seen.extend(row.pk for row in page.rows)
    assert seen == expected
