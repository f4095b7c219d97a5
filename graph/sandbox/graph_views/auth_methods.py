"""/users/{id}/authentication/methods (v1.0 and beta) and beta /users/{id}/authentication/requirements.

Methods are polymorphic: each item carries ``@odata.type`` (``#microsoft.graph.phoneAuthenticationMethod``
...). Secrets are never returned: ``password``/``secretKey``/``temporaryAccessPass`` read as null, as Graph
documents. Every user has a password method, whether or not it was seeded.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..directory import graph_now
from ..errors import bad_request, unsupported_query
from ..models import SandboxAuthMethod, SandboxUser, SandboxUserAuthentication
from ..odata import parse_top
from .common import collection_body, context_url, get_user, graph_json

# The password method's id is the same well-known GUID for every user in Microsoft's service.
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"
# Properties Graph always answers null on read, whatever was set.
_HIDDEN_ON_READ = {"password", "secretKey", "temporaryAccessPass"}
MFA_STATES = ("disabled", "enabled", "enforced")


def method_json(method: SandboxAuthMethod) -> dict:
    body = {"@odata.type": f"#microsoft.graph.{method.method_type}", "id": str(method.id)}
    body.update({k: (None if k in _HIDDEN_ON_READ else v) for k, v in (method.properties or {}).items()})
    if method.created_datetime is not None and "createdDateTime" in body:
        body["createdDateTime"] = graph_now(method.created_datetime)
    return body


def password_method(user: SandboxUser) -> dict:
    # Graph documents the password method's createdDateTime as "currently not populated".
    return {
        "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
        "id": PASSWORD_METHOD_ID,
        "password": None,
        "createdDateTime": None,
    }


@graph_endpoint(methods=("GET",))
def authentication_methods(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    unsupported = [k for k in request.GET if k.startswith("$") and k not in {"$top", "$select"}]
    if unsupported:
        raise unsupported_query(
            f"Query option '{unsupported[0]}' is not supported on authentication methods."
        )
    top = parse_top(request.GET.get("$top"), 999)
    methods = SandboxAuthMethod.objects.filter(user=user).order_by("created_datetime", "id")
    items = [password_method(user)] + [method_json(m) for m in methods]
    if top:
        items = items[:top]
    return graph_json(collection_body(request, f"users('{user.id}')/authentication/methods", items))


def _requirements_of(user: SandboxUser) -> str:
    row = SandboxUserAuthentication.objects.filter(user=user).first()
    return row.per_user_mfa_state if row else "disabled"


@graph_endpoint(methods=("GET",))
def authentication_requirements(request: HttpRequest, user_key: str) -> HttpResponse:
    if request.graph_version != "beta":
        raise bad_request("Resource not found for the segment 'requirements'.", code="BadRequest")
    user = get_user(request, user_key)
    return graph_json(
        {
            "@odata.context": context_url(request, f"users('{user.id}')/authentication/requirements"),
            "perUserMfaState": _requirements_of(user),
        }
    )
