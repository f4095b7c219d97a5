"""Response building and lookups shared by the Graph views."""

from __future__ import annotations

import json
import uuid

from django.http import HttpRequest, HttpResponse

from ..errors import JSON_CONTENT_TYPE, GraphProblem, bad_request, not_found
from ..models import SandboxGroup, SandboxSku, SandboxUser
from ..user_schema import COLLECTION_KINDS, DEFAULT_USER_SELECT, NOT_IN_COLLECTION, USER_PROPERTIES

GRAPH_ROOT = "https://graph.microsoft.com"
PREMIUM_PLANS = {"AAD_PREMIUM", "AAD_PREMIUM_P2"}


def graph_json(body: dict, *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type=JSON_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def context_url(request: HttpRequest, fragment: str) -> str:
    return f"{GRAPH_ROOT}/{request.graph_version}/$metadata#{fragment}"


def selection_fragment(entity_set: str, select: list[str] | None) -> str:
    return f"{entity_set}({','.join(select)})" if select else entity_set


def collection_body(request: HttpRequest, fragment: str, items: list[dict], *, next_link: str | None = None,
                    count: int | None = None) -> dict:  # fmt: skip
    body: dict = {"@odata.context": context_url(request, fragment)}
    if count is not None:
        body["@odata.count"] = count
    if next_link:
        body["@odata.nextLink"] = next_link
    body["value"] = items
    return body


def read_json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            code="BadRequest",
        )
    return body


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None


def get_user(request: HttpRequest, key: str) -> SandboxUser:
    """{user-id}: the object id or the userPrincipalName; deleted users are not found."""
    users = SandboxUser.objects.filter(tenant=request.graph_tenant, deleted_datetime__isnull=True)
    object_id = _as_uuid(key)
    user = users.filter(pk=object_id).first() if object_id else users.filter(upn_lower=key.lower()).first()
    if user is None:
        raise not_found(key)
    return user


def get_group(request: HttpRequest, key: str) -> SandboxGroup:
    object_id = _as_uuid(key)
    group = (
        SandboxGroup.objects.filter(tenant=request.graph_tenant, pk=object_id).first() if object_id else None
    )
    if group is None:
        raise not_found(key)
    return group


def tenant_has_premium(tenant) -> bool:
    for plans in SandboxSku.objects.filter(tenant=tenant).values_list("service_plans", flat=True):
        if any(plan.get("servicePlanName") in PREMIUM_PLANS for plan in plans or []):
            return True
    return False


def check_user_select(request: HttpRequest, select: list[str] | None, *, collection: bool) -> None:
    if not select:
        return
    if collection:
        blocked = [name for name in select if name in NOT_IN_COLLECTION]
        if blocked:
            raise GraphProblem(
                501,
                "NotImplemented",
                f"The following properties are not supported for this query: {', '.join(blocked)}. "
                "Request them on a single user instead.",
            )
    if "signInActivity" in select and not tenant_has_premium(request.graph_tenant):
        raise GraphProblem(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )


def user_json(user: SandboxUser, select: list[str] | None) -> dict:
    names = select or DEFAULT_USER_SELECT
    props = user.properties
    body = {}
    for name in names:
        kind = USER_PROPERTIES.get(name, ("str", False))[0]
        value = props.get(name)
        if value is None and kind in COLLECTION_KINDS:
            value = []
        body[name] = value
    body["id"] = str(user.id)
    return body
