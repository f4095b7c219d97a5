"""The users table's queryset: scope, search, filters, sort, one page, and a row's neighbours.

Every page is a constant number of queries whatever its size: one COUNT(*) and one SELECT of the page
(``select_related("tenant")``; licence names come from the denormalised ``license_names`` text, so no
per-row lookups). The bulky ``graph`` JSON is deferred: the table never reads it.

Search ignores case and accents the same way on SQLite and PostgreSQL (``users.search_key``), and stays
indexable on PostgreSQL at 100,000 rows:
  * prefix match on display name, given name, surname, UPN, mail and every SMTP address: the term, folded
    in Python, against ``search_key`` (those values folded by the sync, each after a separator), as one
    ``LIKE '%<sep>term%'`` that the pg_trgm GIN index on ``search_key`` serves;
  * substring match on ``proxy_search`` (lower-case aliases joined by spaces), so any part of an address
    (``@fabrikam.com``, ``x500:``) is found. The value is already lower-case, so plain ``LIKE``
    (``contains`` on the lowered term) is used: no ``UPPER()`` and indexable by a pg_trgm GIN index.
A prefix in the middle of a display name ("00001" in "Ada Lovelace 00001") is not a match: a technician
types the start of a name or an address.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from .filters import ATTRIBUTE_FILTERS, TableQuery
from .models import DirectoryUser, DirectoryUserLicense
from .query_merge import merge_supported, merge_worthwhile, merged_page_sql, merged_rows
from .search_key import SEPARATOR, fold
from .tables import SORTABLE

# The table, export and panel never read these; the JSON can be kilobytes per row.
DEFERRED_FIELDS = ("graph",)


def search_q(term: str) -> Q:
    term = term.strip()
    if not term:
        return Q()
    aliases = Q(proxy_search__contains=term.lower())
    folded = fold(term)
    if not folded:  # only marks or separators: nothing to look for as a prefix
        return aliases
    return Q(search_key__contains=SEPARATOR + folded) | aliases


def filter_users(qs: QuerySet, query: TableQuery, tenants=None) -> QuerySet:
    if query.q:
        qs = qs.filter(search_q(query.q))
    if query.status:
        qs = qs.filter(account_enabled=query.status == "enabled")
    if query.licence:
        qs = qs.filter(is_licensed=query.licence == "licensed")
    if query.sku:
        # Through the (tenant, sku_id) index; a semi-join, so a user is never listed twice.
        holders = DirectoryUserLicense.objects.filter(sku_id=query.sku)
        if tenants is not None:  # the (tenant, sku_id) index narrows to the scope before the join
            holders = holders.filter(**_tenant_lookup(tenants))
        holders = holders.values("user_id")
        qs = qs.filter(pk__in=holders)
    if query.source:
        qs = qs.filter(on_premises_sync_enabled=query.source == "synced")
    if query.type:
        # Graph's userType is "Member" or "Guest"; an exact match keeps the (tenant, user_type) index.
        qs = qs.filter(user_type=query.type.capitalize())
    if query.domain:
        # upn_domain is stored lower-case by the sync; an exact match keeps the (tenant, upn_domain) index.
        qs = qs.filter(upn_domain=query.domain)
    for param, (column, _) in ATTRIBUTE_FILTERS.items():
        value = getattr(query, param)
        if value:  # case-insensitive exact match, inside the tenant slice the scope already narrows to
            qs = qs.filter(**{f"{column}__iexact": value})
    return qs


def _nullable(name: str) -> bool:
    model = DirectoryUser
    field = None
    for part in name.split("__"):
        field = model._meta.get_field(part)
        model = field.related_model or model
    return bool(field and field.null)


def ordering(query: TableQuery) -> list:
    """ORDER BY for the query's sort with the primary key as a stable tiebreaker (same direction, so
    descending is the exact reverse of ascending). Only nullable columns (dates) say NULLS LAST: on the
    NOT NULL ones a plain ASC/DESC lets PostgreSQL walk the (tenant, column) index either way, where an
    explicit DESC NULLS LAST would force a sort of every row in scope."""
    column = SORTABLE.get(query.sort_key) or SORTABLE["display_name"]
    desc = query.descending
    order = []
    for name in column.sort_fields:
        nulls_last = True if _nullable(name) else None
        order.append(F(name).desc(nulls_last=nulls_last) if desc else F(name).asc(nulls_last=nulls_last))
    order.append(F("pk").desc() if desc else F("pk").asc())
    return order


def _tenant_lookup(tenants) -> dict:
    """``tenant=`` for one Tenant, ``tenant__in=`` for a queryset or list of them."""
    if hasattr(tenants, "pk") and not isinstance(tenants, QuerySet):
        return {"tenant": tenants}
    return {"tenant__in": tenants}


def users_for_tenants(tenants) -> QuerySet:
    """Users of ``tenants`` (a Tenant, or a queryset/list of tenants) before any table filter."""
    qs = DirectoryUser.objects.select_related("tenant").defer(*DEFERRED_FIELDS)
    return qs.filter(**_tenant_lookup(tenants))


# Set on a table queryset's Query (Query.clone() copies it, so it survives further filtering): the tenant
# set the rows are restricted to, which paginate() needs for the per-tenant merge.
_SCOPE_ATTR = "cippusers_tenant_scope"


def table_queryset(tenants, query: TableQuery) -> QuerySet:
    qs = filter_users(users_for_tenants(tenants), query, tenants).order_by(*ordering(query))
    setattr(qs.query, _SCOPE_ATTR, tenants)
    return qs


@dataclass
class Page:
    rows: list
    number: int
    per_page: int
    count: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def start_index(self) -> int:
        return 0 if not self.count else (self.number - 1) * self.per_page + 1

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    def window(self, size: int = 2) -> list[int | None]:
        """Page numbers to link: first, last and ``size`` either side of the current page; None = gap."""
        pages = sorted(
            {
                1,
                self.num_pages,
                *range(max(1, self.number - size), min(self.num_pages, self.number + size) + 1),
            }
        )
        out: list[int | None] = []
        for previous, current in zip([0, *pages], pages, strict=False):
            if current - previous > 1:
                out.append(None)
            out.append(current)
        return out


def paginate(qs: QuerySet, query: TableQuery) -> Page:
    """Two queries: COUNT(*) and the page. A page past the end shows the last page (a stale bookmark after
    users were removed still lands somewhere useful)."""
    if query.sort_key == "tenant":
        page = _paginate_by_tenant(qs, query)
        if page is not None:
            return page
    # Fetched before the count whatever the page, so the number of queries does not depend on the page.
    tenant_ids = _merge_tenant_ids(qs, query)
    count = qs.count()
    per_page = query.per_page
    last = max(1, -(-count // per_page))
    number = min(query.page, last)
    offset = (number - 1) * per_page
    if not count:
        rows = []
    elif tenant_ids is not None and merge_worthwhile(len(tenant_ids), offset + per_page):
        rows = _merged_page(qs, query, tenant_ids, offset, per_page)
    else:
        rows = list(qs[offset : offset + per_page])
    return Page(rows=rows, number=number, per_page=per_page, count=count)


def _merge_tenant_ids(qs: QuerySet, query: TableQuery) -> list[int] | None:
    """The scope's tenant ids when the page may be read as a merge of per-tenant slices (see
    ``query_merge``): a multi-tenant table queryset, in the table's own order, on PostgreSQL (SQLite
    sorts the few rows of a test database as fast either way). None: use the generic query."""
    tenants = getattr(qs.query, _SCOPE_ATTR, None)
    if tenants is None or (hasattr(tenants, "pk") and not isinstance(tenants, QuerySet)):
        return None
    column = SORTABLE.get(query.sort_key) or SORTABLE["display_name"]
    if "tenant_id" in column.sort_fields or any("__" in name for name in column.sort_fields):
        return None  # sorted through the tenant table: not a per-tenant index order
    if list(qs.query.order_by) != ordering(query) or not merge_supported(qs):
        return None
    if isinstance(tenants, QuerySet):
        return list(tenants.order_by().values_list("pk", flat=True))
    return [getattr(tenant, "pk", tenant) for tenant in tenants]


def _merged_page(qs: QuerySet, query: TableQuery, tenant_ids: list[int], offset: int, per_page: int) -> list:
    column = SORTABLE.get(query.sort_key) or SORTABLE["display_name"]
    fields = tuple(column.sort_fields)
    sql, params = merged_page_sql(
        qs,
        fields,
        tuple(_nullable(name) for name in fields),
        query.descending,
        tenant_ids,
        offset,
        per_page,
    )
    return merged_rows(qs, sql, params)


# A page that spans more tenants than this is fetched by the generic (sorting) query instead.
_TENANT_WALK_MAX = 8


def _paginate_by_tenant(qs: QuerySet, query: TableQuery) -> Page | None:
    """Sort by tenant without sorting every row: ORDER BY tenant name, id cannot use an index (the name
    lives in another table), so count per tenant (one GROUP BY, index-only), find the tenants the page
    falls in, and read each one's slice along its (tenant, id) index. Same rows, same order as
    ``ordering()``; None when the page would touch too many tenants."""
    desc = query.descending
    name_order = F("tenant__display_name").desc() if desc else F("tenant__display_name").asc()
    tenant_order = F("tenant_id").desc() if desc else F("tenant_id").asc()
    counts = list(
        qs.order_by()
        .values("tenant_id", "tenant__display_name")
        .annotate(n=Count("pk"))
        .order_by(name_order, tenant_order)
    )
    count = sum(row["n"] for row in counts)
    per_page = query.per_page
    last = max(1, -(-count // per_page))
    number = min(query.page, last)
    start, end = (number - 1) * per_page, number * per_page
    slices, position = [], 0
    for row in counts:
        lo, hi = position, position + row["n"]
        if hi > start and lo < end:
            slices.append((row["tenant_id"], max(start, lo) - lo, min(end, hi) - lo))
        position = hi
        if position >= end:
            break
    if len(slices) > _TENANT_WALK_MAX:
        return None
    pk_order = F("pk").desc() if desc else F("pk").asc()
    rows: list = []
    for tenant_id, first, stop in slices:
        rows.extend(qs.filter(tenant_id=tenant_id).order_by(pk_order)[first:stop])
    return Page(rows=rows, number=number, per_page=per_page, count=count)


@dataclass
class Neighbours:
    previous: DirectoryUser | None
    next: DirectoryUser | None
    position: int  # 1-based position in the current order; 0 when the user no longer matches the filters
    count: int


def _sort_value(user: DirectoryUser, name: str):
    value = user
    for part in name.split("__"):
        value = getattr(value, part)
    return value


def _keyset_q(user: DirectoryUser, query: TableQuery, *, after: bool) -> Q:
    """Rows strictly before (or after) ``user`` in ``ordering(query)``: a keyset condition that mirrors
    the ORDER BY, nulls last, so no row is skipped or repeated. Written without NOT, which SQL's NULL
    logic would make drop rows."""
    column = SORTABLE.get(query.sort_key) or SORTABLE["display_name"]
    # Ascending: before = smaller, after = larger; descending flips both (the pk tiebreak included).
    op = "lt" if after == query.descending else "gt"
    # Build from the last key to the first: (k1 beyond) | (k1 equal & (k2 beyond | ... (pk beyond))).
    condition = Q(**{f"pk__{op}": user.pk})
    for name in reversed(column.sort_fields):
        value = _sort_value(user, name)
        if value is None:
            # Nulls are last: nothing null-valued comes after a null except by tiebreak; every non-null
            # value comes before it.
            beyond = Q(pk__in=[]) if after else Q(**{f"{name}__isnull": False})
            equal = Q(**{f"{name}__isnull": True})
        else:
            beyond = Q(**{f"{name}__{op}": value})
            if after:
                beyond |= Q(**{f"{name}__isnull": True})
            equal = Q(**{name: value})
        condition = beyond | (equal & condition)
    return condition


def neighbours(qs: QuerySet, user: DirectoryUser, query: TableQuery) -> Neighbours:
    """Previous and next rows around ``user`` in the table's current order and filters (four indexed
    queries, independent of the position). ``qs`` is ``table_queryset(...)`` (filtered and ordered)."""
    before = qs.filter(_keyset_q(user, query, after=False))
    matches = qs.filter(pk=user.pk).exists()
    previous = before.reverse().first()
    following = qs.filter(_keyset_q(user, query, after=True)).first()
    count = qs.count()
    position = before.count() + 1 if matches else 0
    return Neighbours(previous=previous, next=following, position=position, count=count)
