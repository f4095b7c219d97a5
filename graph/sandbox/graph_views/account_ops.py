"""Account operations of the sandbox: revokeSignInSessions, the password method's resetPassword (password
writeback for synced users: 202 Accepted + Location of a long-running operation) and that operation.

Behaviour follows Microsoft's documentation: revokeSignInSessions answers 200 with ``{"value": true}`` and
moves ``signInSessionsValidFromDateTime`` to now (refresh tokens issued before stop working — the sandbox
identity platform checks ``sessions_valid_after``). resetPassword on the fixed password method id is the
self-service/admin writeback path: it needs an on-premises synced user (cloud users get 400, as the
service answers when writeback does not apply), checks complexity, and reports through
``/users/{id}/authentication/operations/{id}``: "running" at the first poll, "succeeded" afterwards.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .. import directory
from ..auth import graph_endpoint
from ..errors import GraphProblem, bad_request
from .common import context_url, get_user, graph_json, read_json_body

PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"
_OPERATION_TTL = 3600


def _operation_key(tenant_id, operation_id: str) -> str:
    return f"sandbox:password-operation:{tenant_id}:{operation_id}"


@graph_endpoint(methods=("POST",))
def revoke_sign_in_sessions(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    now = timezone.now()
    user.sessions_valid_after = now
    directory.set_directory_managed(user, {"signInSessionsValidFromDateTime": directory.graph_now(now)})
    return graph_json({"@odata.context": context_url(request, "Edm.Boolean"), "value": True})


@graph_endpoint(methods=("POST",))
def reset_password(request: HttpRequest, user_key: str, method_id: str) -> HttpResponse:
    user = get_user(request, user_key)
    if method_id.lower() != PASSWORD_METHOD_ID:
        raise GraphProblem(
            404, "itemNotFound", f"The password authentication method '{method_id}' was not found."
        )
    body = read_json_body(request)
    password = body.get("newPassword")
    if not user.properties.get("onPremisesSyncEnabled"):
        raise bad_request(
            "Password reset through the password method is only supported for users synchronized from "
            "on-premises with password writeback enabled. Use the passwordProfile property for cloud users.",
            code="invalidRequest",
        )
    if not isinstance(password, str) or not directory.password_is_complex(password):
        raise bad_request(directory.PASSWORD_COMPLEXITY, code="invalidPassword")
    user.password_hash = make_password(password)
    directory.set_directory_managed(user, {"lastPasswordChangeDateTime": directory.graph_now()})
    operation_id = str(uuid.uuid4())
    created = directory.graph_now()
    cache.set(_operation_key(user.tenant_id, operation_id),
              {"user": str(user.id), "created": created, "polls": 0}, _OPERATION_TTL)  # fmt: skip
    base = request.build_absolute_uri(request.path).split("/users/")[0]
    location = f"{base}/users/{user.id}/authentication/operations/{operation_id}"
    response = HttpResponse(status=202)
    response["Location"] = location
    return response


@graph_endpoint(methods=("GET",))
def password_operation(request: HttpRequest, user_key: str, operation_id: str) -> HttpResponse:
    user = get_user(request, user_key)
    key = _operation_key(user.tenant_id, operation_id)
    state = cache.get(key)
    if state is None or state["user"] != str(user.id):
        raise GraphProblem(404, "itemNotFound", f"The operation '{operation_id}' was not found.")
    state["polls"] += 1
    cache.set(key, state, _OPERATION_TTL)
    status = "running" if state["polls"] == 1 else "succeeded"
    return graph_json({
        "@odata.context": context_url(request, f"users('{user.id}')/authentication/operations/$entity"),
        "id": operation_id, "status": status, "createdDateTime": state["created"],
        "lastActionDateTime": directory.graph_now(), "resourceLocation": None, "statusDetail": None,
    })  # fmt: skip
