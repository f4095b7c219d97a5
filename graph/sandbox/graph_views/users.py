"""/users, /users/{id|upn}, /users/$count, /users/{id}/memberOf and /users/{id}/transitiveMemberOf.

memberOf lists direct memberships: groups and the directory roles assigned to the user. transitiveMemberOf
adds what the user holds through its groups: the directory roles of each role-assignable group it belongs to
(groups in the sandbox have no nested groups, so its group list is the same).
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

from .. import directory
from ..auth import graph_endpoint
from ..errors import GraphProblem, bad_request, unsupported_query
from ..models import SandboxGroup, SandboxGroupRoleMember, SandboxUser
from ..odata import (
    ADVANCED_DOCS,
    consistency_eventual,
    parse_bool_option,
    parse_list_query,
    parse_select,
    parse_top,
)
from ..odata_fields import USER_SPEC
from .common import (
    check_user_select,
    collection_body,
    context_url,
    get_user,
    graph_json,
    no_content,
    read_json_body,
    selection_fragment,
    user_json,
)
from .directory_objects import group_json, role_json
from .manager import manager_json
from .paging import expired_page_token, link_with, read_token, sign_token

USERS_PAGE_SIZE = 100


def _active_users(request: HttpRequest):
    return SandboxUser.objects.filter(tenant=request.graph_tenant, deleted_datetime__isnull=True)


def _list_users(request: HttpRequest) -> HttpResponse:
    from .paging import page

    query = parse_list_query(request, USER_SPEC)
    check_user_select(request, query.select, collection=True)
    if "signInActivity" in query.filter_text:
        check_user_select(request, ["signInActivity"], collection=True)  # same premium requirement
    users = _active_users(request).filter(query.filter_q)
    if query.search_q is not None:
        users = users.filter(query.search_q)
    total = users.count() if query.count else None
    rows, next_link = page(
        request,
        users,
        query,
        sortable=USER_SPEC.sortable,
        default_top=USERS_PAGE_SIZE,
        scope=f"{request.graph_tenant.id}:users",
    )
    items = [user_json(user, query.select) for user in rows]
    fragment = selection_fragment("users", query.select)
    return graph_json(collection_body(request, fragment, items, next_link=next_link, count=total))


def _create_user(request: HttpRequest) -> HttpResponse:
    user = directory.create_user(request.graph_tenant, read_json_body(request))
    body = {"@odata.context": context_url(request, "users/$entity"), **user_json(user, None)}
    return graph_json(body, status=201, headers={"Location": link_for_user(request, user)})


def link_for_user(request: HttpRequest, user: SandboxUser) -> str:
    base = request.build_absolute_uri(request.path).split("/users")[0]
    return f"{base}/users/{user.id}"


@graph_endpoint(methods=("GET", "POST"))
def users_collection(request: HttpRequest) -> HttpResponse:
    return _list_users(request) if request.method == "GET" else _create_user(request)


@graph_endpoint(methods=("GET",))
def users_count(request: HttpRequest) -> HttpResponse:
    if not consistency_eventual(request):
        raise unsupported_query(
            f"Raw count (/$count) is not supported because the 'ConsistencyLevel:eventual' header is missing. {ADVANCED_DOCS}"
        )
    query = parse_list_query(request, USER_SPEC)
    users = _active_users(request).filter(query.filter_q)
    if query.search_q is not None:
        users = users.filter(query.search_q)
    return HttpResponse(str(users.count()), content_type="text/plain;charset=utf-8")


@graph_endpoint(methods=("GET", "PATCH", "DELETE"))
def user_item(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    if request.method == "PATCH":
        directory.update_user(user, read_json_body(request))
        return no_content()
    if request.method == "DELETE":
        directory.soft_delete_user(user)
        return no_content()
    allowed = {"$select", "$expand"}
    extra = [k for k in request.GET if k.startswith("$") and k not in allowed]
    if extra:
        raise bad_request(f"Query option '{extra[0]}' is not allowed.", code="BadRequest")
    expand = _expand_manager(request.GET.get("$expand"))
    select = parse_select(request.GET.get("$select"), USER_SPEC)
    check_user_select(request, select, collection=False)
    fragment = selection_fragment("users", select) + "/$entity"
    body = {"@odata.context": context_url(request, fragment), **user_json(user, select)}
    if expand is not None:
        found = directory.current_manager(user)
        if found is not None:  # Graph leaves the navigation property out when there is no manager
            body["manager"] = manager_json(found, expand or None)
    return graph_json(body)


_EXPAND_MANAGER = re.compile(r"\s*manager(?:\(\$select=([^)]*)\))?\s*")


def _expand_manager(raw: str | None) -> list[str] | None:
    """``$expand=manager`` or ``manager($select=a,b)``: [] or the selection; None when not asked for."""
    if raw is None:
        return None
    match = _EXPAND_MANAGER.fullmatch(raw)
    if not match:
        raise GraphProblem(
            400, "Request_UnsupportedQuery", "$expand is not supported by the sandbox on this resource."
        )
    if not match.group(1):
        return []
    return parse_select(match.group(1), USER_SPEC) or []


def _memberships(user: SandboxUser, cast: str | None, transitive: bool = False) -> list[tuple[str, dict]]:
    """[(object id, item json)] of the user's memberships (direct, or also through its groups), sorted by id
    for keyset paging."""
    items: list[tuple[str, dict]] = []
    if cast in (None, "microsoft.graph.group"):
        for group in SandboxGroup.objects.filter(memberships__user=user):
            items.append((str(group.id), {"@odata.type": "#microsoft.graph.group", **group_json(group)}))
    if cast in (None, "microsoft.graph.directoryRole"):
        roles = {m.role.id: m.role for m in user.role_memberships.select_related("role")}
        if transitive:
            held = SandboxGroupRoleMember.objects.filter(group__memberships__user=user).select_related("role")
            roles.update({m.role.id: m.role for m in held})
        for role in roles.values():
            items.append((str(role.id), {"@odata.type": "#microsoft.graph.directoryRole", **role_json(role)}))
    return sorted(items, key=lambda item: item[0])


@graph_endpoint(methods=("GET",))
def user_transitive_member_of(request: HttpRequest, user_key: str, cast: str | None = None) -> HttpResponse:
    return _member_of(request, user_key, cast, transitive=True)


@graph_endpoint(methods=("GET",))
def user_member_of(request: HttpRequest, user_key: str, cast: str | None = None) -> HttpResponse:
    return _member_of(request, user_key, cast, transitive=False)


def _member_of(request: HttpRequest, user_key: str, cast: str | None, *, transitive: bool) -> HttpResponse:
    user = get_user(request, user_key)
    listing = "transitiveMemberOf" if transitive else "memberOf"
    if cast not in (None, "microsoft.graph.group", "microsoft.graph.directoryRole"):
        raise bad_request(f"Resource not found for the segment '{cast}'.", code="BadRequest")
    eventual = consistency_eventual(request)
    if cast and not eventual:
        raise unsupported_query(
            f"The OData cast segment '{cast}' is not supported because the 'ConsistencyLevel:eventual' header is "
            f"missing. {ADVANCED_DOCS}"
        )
    allowed = {"$select", "$top", "$count", "$skiptoken"}
    extra = [k for k in request.GET if k.startswith("$") and k not in allowed]
    if extra:
        raise unsupported_query(f"Query option '{extra[0]}' is not supported on {listing} by the sandbox.")
    count = parse_bool_option(request.GET.get("$count"), "$count")
    if count and not eventual:
        raise bad_request("$count is not currently supported.")
    top = parse_top(request.GET.get("$top"), 999) or 100
    raw_select = request.GET.get("$select")
    select = [s.strip() for s in raw_select.split(",") if s.strip()] if raw_select else None
    items = _memberships(user, cast, transitive)
    scope = f"{request.graph_tenant.id}:{listing}:{user.id}:{cast}:{raw_select}"
    if request.GET.get("$skiptoken"):
        payload = read_token(request.GET["$skiptoken"])
        if payload.get("f") != scope:
            raise expired_page_token()
        items = [item for item in items if item[0] > payload["id"]]
    total = len(_memberships(user, cast, transitive)) if count else None
    page_items, next_link = items[:top], None
    if len(items) > top:
        next_link = link_with(request, **{"$skiptoken": sign_token({"f": scope, "id": page_items[-1][0]})})
    values = []
    for _, item in page_items:
        if select:
            item = {
                "@odata.type": item["@odata.type"],
                **{k: item.get(k) for k in ["id", *select] if k in item},
            }
        values.append(item)
    fragment = f"directoryObjects({','.join(select)})" if select else "directoryObjects"
    if cast:
        fragment = f"{cast.split('.')[-1]}s"
    return graph_json(collection_body(request, fragment, values, next_link=next_link, count=total))
