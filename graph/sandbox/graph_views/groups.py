"""/groups, /groups/{id}, group members (list, $ref add/remove) and /directoryRoles."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

from .. import directory
from ..auth import graph_endpoint
from ..errors import bad_request, not_found
from ..models import SandboxDirectoryRole, SandboxGroup, SandboxUser
from ..odata import parse_list_query, parse_select
from ..odata_fields import GROUP_SPEC, USER_SPEC
from .common import (
    check_user_select,
    collection_body,
    context_url,
    get_group,
    graph_json,
    no_content,
    read_json_body,
    selection_fragment,
    user_json,
)
from .directory_objects import group_json, role_json
from .paging import page

GROUPS_PAGE_SIZE = 100
_REF = re.compile(r"/(?:directoryObjects|users)/([0-9a-fA-F-]{36})/?$")


@graph_endpoint(methods=("GET",))
def groups_collection(request: HttpRequest) -> HttpResponse:
    query = parse_list_query(request, GROUP_SPEC)
    groups = SandboxGroup.objects.filter(tenant=request.graph_tenant).filter(query.filter_q)
    if query.search_q is not None:
        groups = groups.filter(query.search_q)
    total = groups.count() if query.count else None
    rows, next_link = page(
        request, groups, query, sortable=GROUP_SPEC.sortable, default_top=GROUPS_PAGE_SIZE,
        scope=f"{request.graph_tenant.id}:groups",
    )  # fmt: skip
    items = [group_json(group, query.select) for group in rows]
    fragment = selection_fragment("groups", query.select)
    return graph_json(collection_body(request, fragment, items, next_link=next_link, count=total))


@graph_endpoint(methods=("GET",))
def group_item(request: HttpRequest, group_id: str) -> HttpResponse:
    group = get_group(request, group_id)
    select = parse_select(request.GET.get("$select"), GROUP_SPEC)
    fragment = selection_fragment("groups", select) + "/$entity"
    return graph_json({"@odata.context": context_url(request, fragment), **group_json(group, select)})


@graph_endpoint(methods=("GET",))
def group_members(request: HttpRequest, group_id: str) -> HttpResponse:
    group = get_group(request, group_id)
    query = parse_list_query(request, USER_SPEC)
    check_user_select(request, query.select, collection=True)
    users = SandboxUser.objects.filter(group_memberships__group=group, deleted_datetime__isnull=True)
    users = users.filter(query.filter_q)
    if query.search_q is not None:
        users = users.filter(query.search_q)
    total = users.count() if query.count else None
    rows, next_link = page(
        request, users, query, sortable=USER_SPEC.sortable, default_top=100,
        scope=f"{request.graph_tenant.id}:members:{group.id}",
    )  # fmt: skip
    items = [{"@odata.type": "#microsoft.graph.user", **user_json(user, query.select)} for user in rows]
    return graph_json(collection_body(request, "directoryObjects", items, next_link=next_link, count=total))


def _referenced_user(request: HttpRequest, reference) -> SandboxUser:
    if not isinstance(reference, str) or not reference:
        raise bad_request("Invalid object identifier ''.", code="Request_BadRequest")
    match = _REF.search(reference)
    if not match:
        raise bad_request(f"Invalid object identifier '{reference}'.")
    object_id = match.group(1)
    user = SandboxUser.objects.filter(
        tenant=request.graph_tenant, pk=object_id, deleted_datetime__isnull=True
    ).first()
    if user is None:
        raise not_found(object_id)
    return user


@graph_endpoint(methods=("POST",))
def group_members_ref(request: HttpRequest, group_id: str) -> HttpResponse:
    group = get_group(request, group_id)
    body = read_json_body(request)
    user = _referenced_user(request, body.get("@odata.id"))
    directory.add_group_member(group, user)
    return no_content()


@graph_endpoint(methods=("DELETE",))
def group_member_ref(request: HttpRequest, group_id: str, member_id: str) -> HttpResponse:
    group = get_group(request, group_id)
    user = SandboxUser.objects.filter(tenant=request.graph_tenant, pk=_uuid_or_none(member_id)).first()
    if user is None:
        raise not_found(member_id)
    directory.remove_group_member(group, user)
    return no_content()


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@graph_endpoint(methods=("GET",))
def directory_roles(request: HttpRequest) -> HttpResponse:
    roles = SandboxDirectoryRole.objects.filter(tenant=request.graph_tenant).order_by("display_name")
    return graph_json(
        {"@odata.context": context_url(request, "directoryRoles"), "value": [role_json(r) for r in roles]}
    )
