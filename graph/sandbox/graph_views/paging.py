"""Keyset paging with opaque, signed $skiptoken values.

A token carries the sort key of the last row served and a fingerprint of the normalised query, so it
cannot be replayed against a different filter, ordering or selection (Graph rejects those too).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlencode

from django.core import signing
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from ..errors import GraphProblem
from ..odata import ListQuery

_SALT = "sandbox.graph.skiptoken"


def expired_page_token() -> GraphProblem:
    return GraphProblem(
        400,
        "Directory_ExpiredPageToken",
        "The specified page token value has expired and can no longer be included in your request.",
    )


def _encode_value(value):
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decode_value(value):
    if isinstance(value, dict) and "dt" in value:
        return datetime.fromisoformat(value["dt"])
    return value


def sign_token(payload: dict) -> str:
    return signing.dumps(payload, salt=_SALT, compress=True)


def read_token(token: str) -> dict:
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise expired_page_token() from None
    if not isinstance(payload, dict):
        raise expired_page_token()
    return payload


def link_with(request: HttpRequest, **replace: str) -> str:
    """This request's absolute URL with some query options replaced (and $skiptoken/$deltatoken dropped)."""
    params = [
        (k, v) for k, v in request.GET.items() if k not in {"$skiptoken", "$deltatoken"} and k not in replace
    ]
    params.extend(replace.items())
    return request.build_absolute_uri(request.path) + (
        "?" + urlencode(params, safe="$,'():") if params else ""
    )


def page(request: HttpRequest, queryset: QuerySet, query: ListQuery, *, sortable: dict[str, str], default_top: int,
         scope: str) -> tuple[list, str | None]:  # fmt: skip
    """Return (rows of this page, @odata.nextLink or None). ``scope`` ties tokens to tenant and path."""
    if query.orderby:
        column, descending = sortable[query.orderby[0]], query.orderby[1]
    else:
        column, descending = "id", False
    fingerprint = query.fingerprint(scope)
    ordering = [f"-{column}" if descending else column] + (["id"] if column != "id" else [])
    queryset = queryset.order_by(*ordering)
    raw_token = request.GET.get("$skiptoken")
    if raw_token:
        payload = read_token(raw_token)
        if payload.get("f") != fingerprint:
            raise expired_page_token()
        last_value, last_id = _decode_value(payload["v"]), uuid.UUID(payload["id"])
        if column == "id":
            queryset = queryset.filter(id__gt=last_id)
        else:
            beyond = Q(**{f"{column}__lt" if descending else f"{column}__gt": last_value})
            queryset = queryset.filter(beyond | Q(**{column: last_value}, id__gt=last_id))
    size = query.top or default_top
    rows = list(queryset[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    token = sign_token({"f": fingerprint, "v": _encode_value(getattr(last, column)), "id": str(last.id)})
    return rows, link_with(request, **{"$skiptoken": token})
