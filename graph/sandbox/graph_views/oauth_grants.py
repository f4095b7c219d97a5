"""Delegated consents and app role assignments, and a service principal read by id.

* ``GET /users/{id}/oauth2PermissionGrants`` — the grants that let a client act for this user
  (consentType ``Principal``, principalId = the user).
* ``GET /oauth2PermissionGrants`` with ``$filter`` on ``clientId``, ``principalId``, ``resourceId``,
  ``consentType`` (``eq``, joined with ``and``); ``GET|PATCH|DELETE /oauth2PermissionGrants/{id}``
  (PATCH changes ``scope``; DELETE revokes the consent: the client can no longer get tokens for those scopes).
* ``GET /users/{id}/appRoleAssignments``, ``DELETE /users/{id}/appRoleAssignments/{id}``.
* ``GET /servicePrincipals/{id}`` with the publisher facts (``appOwnerOrganizationId``, ``verifiedPublisher``).

Shapes follow the v1.0 oAuth2PermissionGrant and appRoleAssignment resources (no timestamps on grants, as
in Graph: when a consent happened is in the directory audit log, "Consent to application").
"""

from __future__ import annotations

import re
import uuid

from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..directory import graph_now
from ..errors import bad_request, not_found, unsupported_query
from ..models import SandboxAppRoleAssignment, SandboxOAuth2PermissionGrant, SandboxServicePrincipal
from .audit_logs import split_conjunction
from .common import collection_body, context_url, get_user, graph_json, no_content, read_json_body
from .service_principals import sp_json

_GRANT_FILTER = re.compile(r"^\(?\s*(?P<field>\w+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*\)?$")
_GRANT_FIELDS = {"clientId": "client_id", "principalId": "principal_id", "resourceId": "resource_id"}
CONSENT_TYPES = ("Principal", "AllPrincipals")


def grant_json(grant: SandboxOAuth2PermissionGrant) -> dict:
    return {
        "id": grant.id,
        "clientId": str(grant.client_id),
        "consentType": grant.consent_type,
        "principalId": str(grant.principal_id) if grant.principal_id else None,
        "resourceId": str(grant.resource_id),
        "scope": grant.scope,
    }


def assignment_json(row: SandboxAppRoleAssignment) -> dict:
    return {
        "id": row.id,
        "deletedDateTime": None,
        "appRoleId": str(row.app_role_id),
        "createdDateTime": graph_now(row.created_datetime),
        "principalDisplayName": row.principal.display_name,
        "principalId": str(row.principal_id),
        "principalType": "User",
        "resourceDisplayName": row.resource.display_name,
        "resourceId": str(row.resource_id),
    }


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _grant_filter(text: str) -> Q:
    query = Q()
    for raw in split_conjunction(text):
        match = _GRANT_FILTER.match(raw)
        if not match:
            raise unsupported_query(
                f"Invalid filter clause: '{raw}' is not supported on oauth2PermissionGrants."
            )
        field, literal = match.group("field"), match.group("value").replace("''", "'")
        if field == "consentType":
            query &= Q(consent_type=literal)
        elif field in _GRANT_FIELDS:
            object_id = _uuid(literal)
            query &= Q(**{_GRANT_FIELDS[field]: object_id}) if object_id else Q(pk__in=[])
        else:
            raise unsupported_query(
                f"Invalid filter clause: '{raw}' is not supported on oauth2PermissionGrants."
            )
    return query


@graph_endpoint(methods=("GET",))
def user_oauth2_grants(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    grants = SandboxOAuth2PermissionGrant.objects.filter(tenant=request.graph_tenant, principal=user)
    items = [grant_json(g) for g in grants.order_by("id")]
    return graph_json(collection_body(request, "oauth2PermissionGrants", items))


@graph_endpoint(methods=("GET",))
def oauth2_grants(request: HttpRequest) -> HttpResponse:
    grants = SandboxOAuth2PermissionGrant.objects.filter(tenant=request.graph_tenant)
    if request.GET.get("$filter"):
        grants = grants.filter(_grant_filter(request.GET["$filter"]))
    items = [grant_json(g) for g in grants.order_by("id")[:1000]]
    return graph_json(collection_body(request, "oauth2PermissionGrants", items))


@graph_endpoint(methods=("GET", "PATCH", "DELETE"))
def oauth2_grant_item(request: HttpRequest, grant_id: str) -> HttpResponse:
    grant = SandboxOAuth2PermissionGrant.objects.filter(tenant=request.graph_tenant, pk=grant_id).first()
    if grant is None:
        raise not_found(grant_id)
    if request.method == "DELETE":
        grant.delete()
        return no_content()
    if request.method == "PATCH":
        body = read_json_body(request)
        unknown = sorted(set(body) - {"scope"})
        if unknown:
            raise bad_request(
                f"Property '{unknown[0]}' is read-only or does not exist on oAuth2PermissionGrant."
            )
        scope = body.get("scope")
        if not isinstance(scope, str):
            raise bad_request("Property 'scope' must be a string of space-separated permission names.")
        grant.scope = " ".join(scope.split())
        grant.save(update_fields=["scope"])
        return no_content()
    body = {"@odata.context": context_url(request, "oauth2PermissionGrants/$entity"), **grant_json(grant)}
    return graph_json(body)


@graph_endpoint(methods=("GET",))
def user_app_role_assignments(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    rows = SandboxAppRoleAssignment.objects.filter(principal=user).select_related("principal", "resource")
    items = [assignment_json(row) for row in rows.order_by("created_datetime", "id")]
    return graph_json(collection_body(request, f"users('{user.pk}')/appRoleAssignments", items))


@graph_endpoint(methods=("GET", "DELETE"))
def user_app_role_assignment_item(request: HttpRequest, user_key: str, assignment_id: str) -> HttpResponse:
    user = get_user(request, user_key)
    row = (
        SandboxAppRoleAssignment.objects.filter(principal=user, pk=assignment_id)
        .select_related("principal", "resource")
        .first()
    )
    if row is None:
        raise not_found(assignment_id)
    if request.method == "DELETE":
        row.delete()
        return no_content()
    fragment = f"users('{user.pk}')/appRoleAssignments/$entity"
    return graph_json({"@odata.context": context_url(request, fragment), **assignment_json(row)})


@graph_endpoint(methods=("GET",))
def service_principal_item(request: HttpRequest, sp_id: str) -> HttpResponse:
    object_id = _uuid(sp_id)
    sp = (
        SandboxServicePrincipal.objects.filter(tenant=request.graph_tenant, pk=object_id).first()
        if object_id
        else None
    )
    if sp is None:
        raise not_found(sp_id)
    select = [s.strip() for s in request.GET.get("$select", "").split(",") if s.strip()] or None
    body = {"@odata.context": context_url(request, "servicePrincipals/$entity"), **sp_json(sp, select)}
    return graph_json(body)
