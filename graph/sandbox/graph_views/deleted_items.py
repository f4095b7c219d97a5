"""/directory/deletedItems for users: list (microsoft.graph.user cast, $select/$top/paging), get, restore and
permanent delete.

A deleted user is the same SandboxUser row with ``deleted_datetime`` set (DELETE /users/{id}); it keeps its
properties, licences, group and role memberships, so a restore brings all of them back, as Microsoft
documents for the 30-day window. Restore answers 400 Request_BadRequest "Another object with the same value
for property userPrincipalName already exists." when a live object took the UPN meanwhile (the same for a
proxy address unless ``autoReconcileProxyConflict`` is true, which drops the clashing addresses).
"""

from __future__ import annotations

import json
import uuid

from django.http import HttpRequest, HttpResponse

from .. import directory
from ..auth import graph_endpoint
from ..errors import bad_request, not_found
from ..models import SandboxUser
from ..odata import parse_list_query
from ..odata_fields import USER_SPEC
from ..user_schema import DEFAULT_USER_SELECT
from .common import check_user_select, collection_body, context_url, graph_json, no_content, user_json
from .paging import page

DELETED_PAGE_SIZE = 100
# Without $select a deleted item also shows when it was deleted.
DELETED_DEFAULT_SELECT = [*DEFAULT_USER_SELECT, "deletedDateTime"]
MAX_TOP = 999


def _deleted_users(request: HttpRequest):
    return SandboxUser.objects.filter(tenant=request.graph_tenant, deleted_datetime__isnull=False)


def _deleted_user(request: HttpRequest, object_id: str) -> SandboxUser:
    try:
        key = uuid.UUID(str(object_id))
    except ValueError:
        raise bad_request(f"Invalid object identifier '{object_id}'.") from None
    user = _deleted_users(request).filter(pk=key).first()
    if user is None:
        raise not_found(str(object_id))
    return user


@graph_endpoint(methods=("GET",))
def deleted_users(request: HttpRequest) -> HttpResponse:
    """GET /directory/deletedItems/microsoft.graph.user"""
    query = parse_list_query(request, USER_SPEC)
    check_user_select(request, query.select, collection=True)
    if query.top is not None and query.top > MAX_TOP:
        raise bad_request(
            f"Invalid page size specified: '{query.top}'. Must be between 1 and {MAX_TOP} inclusive."
        )
    users = _deleted_users(request).filter(query.filter_q)
    if query.search_q is not None:
        users = users.filter(query.search_q)
    total = users.count() if query.count else None
    rows, next_link = page(
        request, users, query, sortable=USER_SPEC.sortable, default_top=DELETED_PAGE_SIZE,
        scope=f"{request.graph_tenant.id}:deleted-users",
    )  # fmt: skip
    items = [user_json(user, query.select or DELETED_DEFAULT_SELECT) for user in rows]
    return graph_json(
        collection_body(
            request, "directory/deletedItems/microsoft.graph.user", items, next_link=next_link, count=total
        )  # fmt: skip
    )


@graph_endpoint(methods=("GET", "DELETE"))
def deleted_item(request: HttpRequest, object_id: str) -> HttpResponse:
    """GET or DELETE (permanently) /directory/deletedItems/{id}"""
    user = _deleted_user(request, object_id)
    if request.method == "DELETE":
        directory.hard_delete_user(user)
        return no_content()
    select = parse_list_query(request, USER_SPEC).select
    body = {"@odata.context": context_url(request, "directory/deletedItems/$entity"),
            "@odata.type": "#microsoft.graph.user", **user_json(user, select or DELETED_DEFAULT_SELECT)}  # fmt: skip
    return graph_json(body)


@graph_endpoint(methods=("POST",))
def restore_deleted_item(request: HttpRequest, object_id: str) -> HttpResponse:
    """POST /directory/deletedItems/{id}/restore (body optional: autoReconcileProxyConflict)"""
    user = _deleted_user(request, object_id)
    body = _optional_body(request)
    reconcile = body.get("autoReconcileProxyConflict", False)
    if not isinstance(reconcile, bool):
        raise bad_request("Invalid value specified for property 'autoReconcileProxyConflict'.")
    restored = directory.restore_user(user, auto_reconcile_proxy_conflict=reconcile)
    payload = {"@odata.context": context_url(request, "directoryObjects/$entity"),
               "@odata.type": "#microsoft.graph.user", **user_json(restored, None)}  # fmt: skip
    return graph_json(payload)


def _optional_body(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise bad_request("Invalid request body.", code="BadRequest") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid request body.", code="BadRequest")
    return body
