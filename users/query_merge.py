"""One page of a multi-tenant users table as a merge of per-tenant ordered slices (PostgreSQL).

Why: the generic ``ORDER BY column, id LIMIT 50`` across a tenant set walks the ``(column, id)`` index
and throws away every row of tenants outside the set that sorts first — 100,000 rows when another big
tenant shares the database. Whatever the other tenants hold, rows [offset, offset + per_page) of the
merged order are among the first ``offset + per_page`` rows of each tenant in the set, so reading that
many keys per tenant along its ``(tenant, column, id)`` index (one LATERAL subquery per tenant id) and
ordering the union gives exactly the generic page. The cost is bounded by tenants x depth, not by the
size of the table, hence the limits below and the generic query beyond them.

The per-tenant slice is the caller's own queryset (scope, filters, search, ordering) plus
``tenant_id = <this tenant>``, compiled by Django with ``sql_with_params()``: nothing is re-implemented,
so a filter added to the table is merged correctly without touching this module.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import BigIntegerField, QuerySet
from django.db.models.expressions import RawSQL

# Deeper pages or wider scopes read more keys than the generic query would: let it sort instead.
MERGE_DEPTH_MAX = 1000  # offset + per_page
MERGE_TENANTS_MAX = 500
MERGE_KEYS_MAX = 60_000  # tenants x (offset + per_page) keys read in the worst case

_TENANT = "merge_t"
_SLICE = "merge_s"


def merge_supported(qs: QuerySet) -> bool:
    return connections[qs.db].vendor == "postgresql"


def merge_worthwhile(tenant_count: int, depth: int) -> bool:
    return (
        1 < tenant_count <= MERGE_TENANTS_MAX
        and depth <= MERGE_DEPTH_MAX
        and tenant_count * depth <= MERGE_KEYS_MAX
    )


def merged_page_sql(
    qs: QuerySet,
    sort_fields: tuple[str, ...],
    nullable: tuple[bool, ...],
    descending: bool,
    tenant_ids: list[int],
    offset: int,
    limit: int,
) -> tuple[str, tuple]:
    """SQL (and params) selecting the primary keys of rows [offset, offset + limit) of ``qs`` (already
    filtered and ordered by ``sort_fields`` then pk, ``descending`` or not, nulls last where
    ``nullable``), read as per-tenant slices of ``offset + limit`` keys."""
    # Constant identifiers only; every value (tenant ids, filters, search, limits) is a bound parameter.
    tenant_ref = RawSQL(f'"{_TENANT}"."id"', (), output_field=BigIntegerField())  # noqa: S611
    inner = qs.filter(tenant_id=tenant_ref).values_list("pk", *sort_fields)[: offset + limit]
    inner_sql, inner_params = inner.query.sql_with_params()
    keys = [f"k{i}" for i in range(len(sort_fields))]
    direction = "DESC" if descending else "ASC"
    order = [
        f'"{_SLICE}"."{key}" {direction}{" NULLS LAST" if is_null else ""}'
        for key, is_null in zip(keys, nullable, strict=True)
    ]
    order.append(f'"{_SLICE}"."pk" {direction}')
    columns = ", ".join(["pk", *keys])
    # Identifiers are constants; inner_sql is compiled by Django with its values kept in inner_params.
    sql = (
        f'SELECT "{_SLICE}"."pk" FROM unnest(%s::bigint[]) AS "{_TENANT}"(id) '  # noqa: S608
        f'CROSS JOIN LATERAL ({inner_sql}) AS "{_SLICE}"({columns}) '
        f"ORDER BY {', '.join(order)} LIMIT %s OFFSET %s"
    )
    return sql, (list(tenant_ids), *inner_params, limit, offset)


def merged_rows(qs: QuerySet, page_sql: str, params: tuple) -> list:
    """The page's rows, by primary key, in ``qs``'s own order (one query; ``qs`` re-sorts <= limit rows)."""
    return list(qs.filter(pk__in=RawSQL(page_sql, params)))  # noqa: S611 -- built above, values bound
