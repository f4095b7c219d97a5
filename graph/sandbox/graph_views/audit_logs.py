"""GET /auditLogs/directoryAudits (and /{id}): the tenant's Entra audit log, newest first.

Microsoft keeps directory audits for 7 days in tenants without Entra ID P1/P2 and 30 days with them
(Entra "data retention" page); older rows are simply not returned, as by Graph. No licence is needed to read
them. Supported ``$filter`` (the properties Microsoft documents as filterable on directoryAudit), joined with
``and`` and optionally parenthesised:

* ``activityDateTime ge|le|gt|lt <DateTimeOffset>``
* ``initiatedBy/user/id eq '<guid>'``, ``initiatedBy/user/userPrincipalName eq '...'``
* ``targetResources/any(t:t/id eq '<id>')`` (any lambda variable name)
* ``activityDisplayName eq '...'``, ``category eq '...'``, ``loggedByService eq '...'``,
  ``correlationId eq '...'``, ``id eq '...'``

``$top`` 1..1000 (default 1000), ``$orderby=activityDateTime desc|asc`` (default desc), ``$skiptoken`` from the
nextLink, which is bound to the query it came from.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..auth import graph_endpoint
from ..errors import bad_request, not_found, unsupported_query
from ..models import SandboxDirectoryAudit
from ..odata import parse_top
from .common import collection_body, context_url, graph_json, tenant_has_premium
from .paging import expired_page_token, link_with, read_token, sign_token

MAX_TOP = 1000
FREE_RETENTION = timedelta(days=7)
PREMIUM_RETENTION = timedelta(days=30)
_SUPPORTED_OPTIONS = {"$top", "$filter", "$orderby", "$skiptoken"}
_STRING = r"'(?P<value>(?:[^']|'')*)'"
_DATE_CLAUSE = re.compile(r"^activityDateTime\s+(?P<op>eq|ge|le|gt|lt)\s+(?P<value>\S+)$", re.IGNORECASE)
_ANY_CLAUSE = re.compile(rf"^targetResources/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)/id\s+eq\s+{_STRING}\s*\)$")
_EQ_CLAUSE = re.compile(rf"^(?P<field>[\w/]+)\s+eq\s+{_STRING}$")
# Filterable string properties -> how the sandbox stores them.
_EQ_FIELDS = {
    "initiatedBy/user/id": "initiated_by_user_id",
    "initiatedBy/user/userPrincipalName": "initiated_by_upn",
    "activityDisplayName": "activity_display_name",
    "category": "category",
    "id": "id",
    "loggedByService": "properties__loggedByService",
    "correlationId": "properties__correlationId",
}
_CASE_INSENSITIVE = {"initiatedBy/user/userPrincipalName", "initiatedBy/user/id"}


def retention(tenant) -> timedelta:
    return PREMIUM_RETENTION if tenant_has_premium(tenant) else FREE_RETENTION


def split_conjunction(text: str) -> list[str]:
    """Split ``a and b and (c)`` on the top-level ``and``s, leaving quoted strings and parentheses alone."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    lowered = text.lower()
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted  # '' inside a literal toggles twice, which is what we want
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and lowered.startswith(" and ", i):
            parts.append(text[start:i])
            i += 5
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _strip_parentheses(clause: str) -> str:
    while (
        clause.startswith("(") and clause.endswith(")") and not clause.lower().startswith("targetresources")
    ):
        clause = clause[1:-1].strip()
    return clause


def _datetime(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid filter clause: '{value}' is not a valid DateTimeOffset.") from None
    if moment.tzinfo is None:
        raise bad_request(f"Invalid filter clause: '{value}' is not a valid DateTimeOffset.")
    return moment


def parse_audit_filter(text: str) -> Q:
    query = Q()
    for raw in split_conjunction(text):
        clause = _strip_parentheses(raw)
        date = _DATE_CLAUSE.match(clause)
        if date:
            op = date.group("op").lower()
            lookup = {"eq": "", "ge": "__gte", "le": "__lte", "gt": "__gt", "lt": "__lt"}[op]
            query &= Q(**{f"activity_datetime{lookup}": _datetime(date.group("value"))})
            continue
        target = _ANY_CLAUSE.match(clause)
        if target:
            literal = target.group("value").replace("''", "'").lower()
            query &= Q(target_ids__contains=f"|{literal}|")
            continue
        equal = _EQ_CLAUSE.match(clause)
        if equal and equal.group("field") in _EQ_FIELDS:
            field = equal.group("field")
            literal = equal.group("value").replace("''", "'")
            if field in _CASE_INSENSITIVE:
                literal = literal.lower()
            query &= Q(**{_EQ_FIELDS[field]: literal})
            continue
        raise unsupported_query(f"Invalid filter clause: '{raw}' is not supported on directoryAudits.")
    return query


def audit_json(row: SandboxDirectoryAudit) -> dict:
    return {"id": row.id, **row.properties}


@graph_endpoint(methods=("GET",))
def directory_audits(request: HttpRequest) -> HttpResponse:
    unsupported = [key for key in request.GET if key.startswith("$") and key not in _SUPPORTED_OPTIONS]
    if unsupported:
        raise unsupported_query(f"Query option '{unsupported[0]}' is not supported on directoryAudits.")
    orderby = " ".join(request.GET.get("$orderby", "activityDateTime desc").split())
    if orderby not in ("activityDateTime desc", "activityDateTime asc", "activityDateTime"):
        raise unsupported_query(f"Ordering by '{orderby}' is not supported on directoryAudits.")
    descending = orderby.endswith("desc")
    top = parse_top(request.GET.get("$top"), MAX_TOP) or MAX_TOP
    tenant = request.graph_tenant
    rows = SandboxDirectoryAudit.objects.filter(
        tenant=tenant, activity_datetime__gte=timezone.now() - retention(tenant)
    )
    if request.GET.get("$filter"):
        rows = rows.filter(parse_audit_filter(request.GET["$filter"]))
    fingerprint = f"{tenant.pk}:directoryAudits:{request.GET.get('$filter', '')}:{orderby}:{top}"
    if request.GET.get("$skiptoken"):
        payload = read_token(request.GET["$skiptoken"])
        if payload.get("f") != fingerprint:
            raise expired_page_token()
        last = datetime.fromisoformat(payload["v"])
        if descending:
            rows = rows.filter(
                Q(activity_datetime__lt=last) | Q(activity_datetime=last, id__lt=payload["id"])
            )
        else:
            rows = rows.filter(
                Q(activity_datetime__gt=last) | Q(activity_datetime=last, id__gt=payload["id"])
            )
    ordering = ("-activity_datetime", "-id") if descending else ("activity_datetime", "id")
    page = list(rows.order_by(*ordering)[: top + 1])
    next_link = None
    if len(page) > top:
        page = page[:top]
        token = sign_token({"f": fingerprint, "v": page[-1].activity_datetime.isoformat(), "id": page[-1].id})
        next_link = link_with(request, **{"$skiptoken": token})
    items = [audit_json(row) for row in page]
    return graph_json(collection_body(request, "auditLogs/directoryAudits", items, next_link=next_link))


@graph_endpoint(methods=("GET",))
def directory_audit_item(request: HttpRequest, audit_id: str) -> HttpResponse:
    tenant = request.graph_tenant
    row = SandboxDirectoryAudit.objects.filter(
        tenant=tenant, pk=audit_id, activity_datetime__gte=timezone.now() - retention(tenant)
    ).first()
    if row is None:
        raise not_found(audit_id)
    body = {"@odata.context": context_url(request, "auditLogs/directoryAudits/$entity"), **audit_json(row)}
    return graph_json(body)
