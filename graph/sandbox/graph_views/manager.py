"""A user's manager: GET /users/{id}/manager, GET|PUT|DELETE /users/{id}/manager/$ref.

As Graph documents them (user-list-manager, user-post-manager, user-delete-manager): the reference body is
``{"@odata.id": "https://graph.microsoft.com/v1.0/users/{id}"}`` (``directoryObjects/{id}`` works too, and
clients such as CIPP send ``users/{userPrincipalName}``); PUT and DELETE answer 204; a user without a
manager answers 404 ``Request_ResourceNotFound``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse

from .. import directory
from ..auth import graph_endpoint
from ..errors import GraphProblem, bad_request
from ..odata import parse_select
from ..odata_fields import USER_SPEC
from .common import context_url, get_user, graph_json, no_content, read_json_body, user_json

_REFERENCE = re.compile(r"/(?:users|directoryObjects)/([^/?#]+)/?$")


def manager_json(manager, select: list[str] | None = None) -> dict:
    return {"@odata.type": "#microsoft.graph.user", **user_json(manager, select)}


def _no_manager() -> GraphProblem:
    return GraphProblem(404, "Request_ResourceNotFound", directory.MANAGER_NOT_FOUND)


def _referenced_user(request: HttpRequest, reference):
    if not isinstance(reference, str) or not reference.strip():
        raise bad_request("Invalid object identifier ''.")
    match = _REFERENCE.search(reference.strip())
    if not match:
        raise bad_request(f"Invalid object identifier '{reference}'.")
    return get_user(request, unquote(match.group(1)))  # 404 for an unknown (or another tenant's) user


@graph_endpoint(methods=("GET",))
def manager(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    found = directory.current_manager(user)
    if found is None:
        raise _no_manager()
    select = parse_select(request.GET.get("$select"), USER_SPEC)
    body = {"@odata.context": context_url(request, "directoryObjects/$entity"), **manager_json(found, select)}
    return graph_json(body)


@graph_endpoint(methods=("GET", "PUT", "DELETE"))
def manager_ref(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    if request.method == "PUT":
        directory.set_manager(user, _referenced_user(request, read_json_body(request).get("@odata.id")))
        return no_content()
    if request.method == "DELETE":
        directory.remove_manager(user)
        return no_content()
    found = directory.current_manager(user)
    if found is None:
        raise _no_manager()
    return graph_json(
        {
            "@odata.context": context_url(request, "$ref"),
            "@odata.id": f"https://graph.microsoft.com/v2/{request.graph_tenant.id}/directoryObjects/{found.id}"
            "/Microsoft.DirectoryServices.User",
        }
    )
