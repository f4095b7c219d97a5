"""GET /auditLogs/signIns: the tenant's sign-in log, newest first.

Only tenants with Entra ID P1/P2 have sign-in logs through Graph; others get the 403 Graph sends.
Supported ``$filter``: conjunctions (``and``) of ``userId eq``, ``userPrincipalName eq``, ``appId eq``,
``ipAddress eq`` and ``createdDateTime ge|le|gt|lt`` (parentheses allowed). ``$top`` 1..1000 (default
1000), ``$orderby=createdDateTime desc`` (the default order), ``$skiptoken`` from the nextLink.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..errors import GraphProblem, bad_request, unsupported_query
from ..models import SandboxSignIn
from ..odata import parse_top
from .common import collection_body, graph_json, tenant_has_premium
from .paging import expired_page_token, link_with, read_token, sign_token

MAX_TOP = 1000
_STRING_FIELDS = {"userId", "userPrincipalName", "appId", "ipAddress"}
_CLAUSE = re.compile(
    r"^\s*(?P<field>\w+)\s+(?P<op>eq|ge|le|gt|lt)\s+(?P<value>'(?:[^']|'')*'|[0-9TZ:.+-]+)\s*$", re.IGNORECASE
)


def premium_required() -> GraphProblem:
    return GraphProblem(
        403,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    )


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid filter clause: '{value}' is not a valid DateTimeOffset.") from None


def parse_signin_filter(text: str) -> Q:
    query = Q()
    for raw in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        clause = raw.strip()
        while clause.startswith("(") and clause.endswith(")"):
            clause = clause[1:-1].strip()
        match = _CLAUSE.match(clause)
        if not match:
            raise unsupported_query(f"Invalid filter clause: '{raw.strip()}' is not supported on signIns.")
        field, op, value = match.group("field"), match.group("op").lower(), match.group("value")
        if field == "createdDateTime" and not value.startswith("'"):
            query &= Q(
                **{
                    f"created_datetime__{'gte' if op == 'ge' else 'lte' if op == 'le' else op}": _datetime(
                        value
                    )
                }
            )
        elif field in _STRING_FIELDS and op == "eq" and value.startswith("'"):
            literal = value[1:-1].replace("''", "'")
            if field == "userId":
                user_id = _uuid_or_none(literal)
                query &= Q(user_id=user_id) if user_id else Q(pk__in=[])
            elif field == "userPrincipalName":  # Graph stores it lower-case
                query &= Q(properties__userPrincipalName=literal.lower())
            else:
                query &= Q(**{f"properties__{field}": literal})
        else:
            raise unsupported_query(f"Invalid filter clause: '{raw.strip()}' is not supported on signIns.")
    return query


@graph_endpoint(methods=("GET",))
def sign_ins(request: HttpRequest) -> HttpResponse:
    if not tenant_has_premium(request.graph_tenant):
        raise premium_required()
    unsupported = [
        k for k in request.GET if k.startswith("$") and k not in {"$top", "$filter", "$orderby", "$skiptoken"}
    ]
    if unsupported:
        raise unsupported_query(f"Query option '{unsupported[0]}' is not supported on signIns.")
    orderby = request.GET.get("$orderby", "createdDateTime desc").strip()
    if orderby not in ("createdDateTime desc", "createdDateTime"):
        raise unsupported_query(f"Ordering by '{orderby}' is not supported on signIns.")
    top = parse_top(request.GET.get("$top"), MAX_TOP) or MAX_TOP
    rows = SandboxSignIn.objects.filter(tenant=request.graph_tenant)
    if request.GET.get("$filter"):
        rows = rows.filter(parse_signin_filter(request.GET["$filter"]))
    fingerprint = f"{request.graph_tenant.pk}:signIns:{request.GET.get('$filter', '')}:{orderby}"
    if request.GET.get("$skiptoken"):
        payload = read_token(request.GET["$skiptoken"])
        if payload.get("f") != fingerprint:
            raise expired_page_token()
        last = datetime.fromisoformat(payload["v"])
        rows = rows.filter(Q(created_datetime__lt=last) | Q(created_datetime=last, id__lt=payload["id"]))
    page = list(rows.order_by("-created_datetime", "-id")[: top + 1])
    next_link = None
    if len(page) > top:
        page = page[:top]
        token = sign_token(
            {"f": fingerprint, "v": page[-1].created_datetime.isoformat(), "id": str(page[-1].id)}
        )
        next_link = link_with(request, **{"$skiptoken": token})
    items = [{"id": str(row.id), **row.properties} for row in page]
    return graph_json(collection_body(request, "auditLogs/signIns", items, next_link=next_link))
