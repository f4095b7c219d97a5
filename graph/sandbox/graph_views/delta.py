"""GET /users/delta: an initial round over every active user, then rounds of changes since a token.

Tokens are signed and carry the tenant, the change-counter value the round covered up to, the $select
of the first request and (for delta tokens) when they were issued. A delta token from another tenant, or
issued before ``SandboxTenant.delta_tokens_valid_after`` (the expiry switch), answers 410 Gone with a
Location header pointing at a fresh initial round, so the client resynchronises (error code
``syncStateNotFound``, Microsoft's code for expired directory delta tokens).
"""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..errors import GraphProblem, bad_request
from ..models import SandboxTenant, SandboxTombstone, SandboxUser
from ..odata import parse_select
from ..odata_fields import USER_SPEC
from .common import check_user_select, collection_body, graph_json, selection_fragment, user_json
from .paging import read_token, sign_token

DELTA_PAGE_SIZE = 100


def _base_link(request: HttpRequest) -> str:
    return request.build_absolute_uri(request.path)


def _link(request: HttpRequest, name: str, payload: dict) -> str:
    return f"{_base_link(request)}?{urlencode({name: sign_token(payload)})}"


def _resync(request: HttpRequest, select: list[str] | None) -> GraphProblem:
    location = _base_link(request)
    if select:
        location += "?" + urlencode({"$select": ",".join(s for s in select if s != "id")}, safe="$,")
    # Status and Location follow the delta-query "synchronization reset" guidance; the code and message
    # are the ones Microsoft documents for expired directory-object (users, groups) delta tokens.
    return GraphProblem(
        410,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        headers={"Location": location},
    )


def _current_version(tenant: SandboxTenant) -> int:
    return SandboxTenant.objects.filter(pk=tenant.pk).values_list("change_counter", flat=True).get()


def _read_delta_token(request: HttpRequest, raw: str) -> dict:
    try:
        payload = read_token(raw)
    except GraphProblem:
        raise bad_request("The delta token is invalid.") from None
    if payload.get("k") != "deltatoken":
        raise bad_request("The delta token is invalid.")
    tenant = request.graph_tenant
    valid_after: datetime | None = tenant.delta_tokens_valid_after
    if payload.get("t") != str(tenant.id) or (
        valid_after and payload.get("iat", 0) < valid_after.timestamp()
    ):
        raise _resync(request, payload.get("select"))
    return payload


def _delta_link(request: HttpRequest, upper: int, select) -> str:
    payload = {
        "k": "deltatoken",
        "t": str(request.graph_tenant.id),
        "v": upper,
        "select": select,
        "iat": time.time(),
    }
    return _link(request, "$deltatoken", payload)


def _removed(object_id, reason: str) -> dict:
    return {"id": str(object_id), "@removed": {"reason": reason}}


@graph_endpoint(methods=("GET",))
def users_delta(request: HttpRequest) -> HttpResponse:
    tenant = request.graph_tenant
    allowed = {"$select", "$deltatoken", "$skiptoken", "$top"}
    extra = [k for k in request.GET if k.startswith("$") and k not in allowed]
    if extra:
        raise bad_request(f"Query option '{extra[0]}' is not supported with delta.", code="BadRequest")
    if request.GET.get("$skiptoken"):
        state = read_token(request.GET["$skiptoken"])
        if state.get("k") != "deltapage" or state.get("t") != str(tenant.id):
            raise _resync(request, state.get("select"))
    elif request.GET.get("$deltatoken") == "latest":
        select = parse_select(request.GET.get("$select"), USER_SPEC)
        body = collection_body(request, selection_fragment("users", select), [])
        body["@odata.deltaLink"] = _delta_link(request, _current_version(tenant), select)
        return graph_json(body)
    elif request.GET.get("$deltatoken"):
        token = _read_delta_token(request, request.GET["$deltatoken"])
        state = {"k": "deltapage", "t": str(tenant.id), "since": token["v"], "upper": _current_version(tenant),
                 "select": token.get("select"), "id": None}  # fmt: skip
    else:
        select = parse_select(request.GET.get("$select"), USER_SPEC)
        state = {"k": "deltapage", "t": str(tenant.id), "since": None, "upper": _current_version(tenant),
                 "select": select, "id": None}  # fmt: skip
    select = state["select"]
    check_user_select(request, select, collection=True)

    users = SandboxUser.objects.filter(tenant=tenant)
    if state["since"] is None:
        users = users.filter(deleted_datetime__isnull=True)  # initial round: what exists now
    else:
        users = users.filter(version__gt=state["since"], version__lte=state["upper"])
    if state["id"]:
        users = users.filter(id__gt=state["id"])
    rows = list(users.order_by("id")[: DELTA_PAGE_SIZE + 1])
    items = [
        _removed(user.id, "changed") if user.deleted_datetime else user_json(user, select)
        for user in rows[:DELTA_PAGE_SIZE]
    ]
    body = collection_body(request, selection_fragment("users", select), items)
    if len(rows) > DELTA_PAGE_SIZE:
        body["@odata.nextLink"] = _link(
            request, "$skiptoken", {**state, "id": str(rows[DELTA_PAGE_SIZE - 1].id)}
        )
        return graph_json(body)
    if state["since"] is not None:
        tombstones = SandboxTombstone.objects.filter(
            tenant=tenant, version__gt=state["since"], version__lte=state["upper"]
        ).order_by("object_id")
        body["value"].extend(_removed(t.object_id, "deleted") for t in tombstones)
    body["@odata.deltaLink"] = _delta_link(request, state["upper"], select)
    return graph_json(body)
