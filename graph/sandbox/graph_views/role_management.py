"""/roleManagement/directory: role definitions (list with $filter/$select, get) and role assignments (list
filtered by principalId or roleDefinitionId, create, get, delete).

Definitions are the built-in catalogue (graph.sandbox.role_catalogue): ``id`` and ``templateId`` are the
role template id. ``isPrivileged`` is a property of the *beta* unifiedRoleDefinition, so only beta returns
it and accepts it in $filter/$select; v1.0 answers as it does for any property it does not have.

Assignments are the tenant's role memberships: a user's (SandboxRoleMember) or a role-assignable group's
(SandboxGroupRoleMember), always at directory scope "/". Only a group created with isAssignableToRole can
be assigned a role. Assigning a role that is not activated in the tenant yet activates it (it then shows in
/directoryRoles), as Microsoft does. An assignment's id encodes role template and principal (Microsoft's ids
are opaque strings of the same kind).
"""

from __future__ import annotations

import base64
import binascii
import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..errors import GraphProblem, bad_request, not_found, unsupported_query
from ..models import (
    SandboxDirectoryRole,
    SandboxGroup,
    SandboxGroupRoleMember,
    SandboxRoleMember,
    SandboxUser,
)
from ..odata import Literal, Node, parse_filter
from ..role_catalogue import BUILT_IN, BY_TEMPLATE, BuiltInRole
from .common import collection_body, context_url, graph_json, no_content, read_json_body

DEFINITION_FILTERABLE = {"id", "templateId", "displayName", "isBuiltIn"}
ASSIGNMENT_FILTERABLE = {"principalId", "roleDefinitionId", "directoryScopeId"}


# --- role definitions ------------------------------------------------------------------------------------------


def _beta(request: HttpRequest) -> bool:
    return request.graph_version == "beta"


def definition_json(role: BuiltInRole, *, beta: bool) -> dict:
    body = {
        "id": role.template_id,
        "description": role.description,
        "displayName": role.display_name,
        "isBuiltIn": True,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "rolePermissions": [],
        "templateId": role.template_id,
        "version": "1",
    }
    if beta:
        body["isPrivileged"] = role.is_privileged
    return body


def _no_property(name: str) -> GraphProblem:
    return bad_request(
        f"Could not find a property named '{name}' on type 'microsoft.graph.unifiedRoleDefinition'.",
        code="BadRequest",
    )


def _select(request: HttpRequest, known: set[str], *, definitions: bool) -> list[str] | None:
    raw = request.GET.get("$select")
    if not raw:
        return None
    names = [part.strip() for part in raw.split(",") if part.strip()]
    for name in names:
        if name not in known:
            if definitions:
                raise _no_property(name)
            raise bad_request(f"Parsing OData Select and Expand failed: Term '{name}' is not valid.")
    return names


def _check_options(request: HttpRequest, allowed: set[str]) -> None:
    extra = [k for k in request.GET if k.startswith("$") and k not in allowed]
    if extra:
        raise unsupported_query(
            f"Query option '{extra[0]}' is not supported on this resource by the sandbox."
        )


def _matches(node: Node, item: dict, filterable: set[str], *, definitions: bool) -> bool:
    """Evaluate an OData filter of ``eq``/``in`` comparisons joined by ``and``/``or`` on one JSON item."""
    if node.op in ("and", "or"):
        left = _matches(node.args[0], item, filterable, definitions=definitions)
        right = _matches(node.args[1], item, filterable, definitions=definitions)
        return (left and right) if node.op == "and" else (left or right)
    if node.op == "cmp" and node.args[0] == "eq":
        _, path, literal = node.args
        return _value(path, item, filterable, definitions) == _literal(literal)
    if node.op == "in":
        path, literals = node.args
        return _value(path, item, filterable, definitions) in [_literal(lit) for lit in literals]
    raise unsupported_query("Unsupported or invalid query filter clause specified.")


def _value(path, item: dict, filterable: set[str], definitions: bool):
    name = path if isinstance(path, str) else "/".join(str(part) for part in path)
    if name not in filterable:
        if definitions and name not in item:
            raise _no_property(name)
        raise unsupported_query(f"Filtering on '{name}' is not supported.")
    value = item.get(name)
    return value.lower() if isinstance(value, str) else value


def _literal(literal: Literal):
    value = literal.value
    return str(value).lower() if literal.kind in ("string", "guid") else value


@graph_endpoint(methods=("GET",))
def role_definitions(request: HttpRequest) -> HttpResponse:
    _check_options(request, {"$filter", "$select", "$top"})
    beta = _beta(request)
    filterable = DEFINITION_FILTERABLE | ({"isPrivileged"} if beta else set())
    items = [definition_json(role, beta=beta) for role in BUILT_IN]
    select = _select(request, set(items[0]) if items else set(), definitions=True)
    if request.GET.get("$filter"):
        node = parse_filter(request.GET["$filter"])
        items = [item for item in items if _matches(node, item, filterable, definitions=True)]
    if select:
        items = [{name: item.get(name) for name in ["id", *select]} for item in items]
    fragment = "roleManagement/directory/roleDefinitions"
    fragment += f"({','.join(select)})" if select else ""
    return graph_json(collection_body(request, fragment, items))


@graph_endpoint(methods=("GET",))
def role_definition(request: HttpRequest, definition_id: str) -> HttpResponse:
    role = BY_TEMPLATE.get(definition_id.lower())
    if role is None:
        raise not_found(definition_id)
    body = definition_json(role, beta=_beta(request))
    fragment = "roleManagement/directory/roleDefinitions/$entity"
    return graph_json({"@odata.context": context_url(request, fragment), **body})


# --- role assignments ------------------------------------------------------------------------------------------


def assignment_id(template_id: uuid.UUID | str, principal_id: uuid.UUID | str) -> str:
    raw = uuid.UUID(str(template_id)).bytes_le + uuid.UUID(str(principal_id)).bytes_le
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "-1"


def _parse_assignment_id(value: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    text = value.removesuffix("-1")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 32:
        return None
    return uuid.UUID(bytes_le=raw[:16]), uuid.UUID(bytes_le=raw[16:])


def assignment_json(template_id, principal_id) -> dict:
    return {
        "id": assignment_id(template_id, principal_id),
        "principalId": str(principal_id),
        "roleDefinitionId": str(template_id),
        "directoryScopeId": "/",
        "appScopeId": None,
        "condition": None,
    }


def _assignments(tenant) -> list[dict]:
    # A user in deleted items keeps its role assignments (a restore brings them back, and Microsoft asks a
    # higher-privileged caller to restore such a user), so they stay listed until the user is purged.
    users = SandboxRoleMember.objects.filter(role__tenant=tenant)
    groups = SandboxGroupRoleMember.objects.filter(role__tenant=tenant)
    items = [assignment_json(m.role.role_template_id, m.user_id) for m in users.select_related("role")]
    items += [assignment_json(m.role.role_template_id, m.group_id) for m in groups.select_related("role")]
    return sorted(items, key=lambda item: item["id"])


def _principal(tenant, principal_id: str) -> SandboxUser | SandboxGroup:
    try:
        key = uuid.UUID(str(principal_id))
    except ValueError:
        raise bad_request(f"Invalid object identifier '{principal_id}'.") from None
    user = SandboxUser.objects.filter(tenant=tenant, pk=key, deleted_datetime__isnull=True).first()
    if user is not None:
        return user
    group = SandboxGroup.objects.filter(tenant=tenant, pk=key).first()
    if group is None:
        raise not_found(str(principal_id))
    if not group.is_assignable_to_role:
        raise bad_request(
            "The group is not assignable to a role: only groups created with isAssignableToRole can hold a "
            "directory role."
        )
    return group


def _activated_role(tenant, role: BuiltInRole) -> SandboxDirectoryRole:
    found, _ = SandboxDirectoryRole.objects.get_or_create(
        tenant=tenant,
        role_template_id=uuid.UUID(role.template_id),
        defaults={"display_name": role.display_name, "description": role.description},
    )
    return found


def _create_assignment(request: HttpRequest) -> HttpResponse:
    body = read_json_body(request)
    missing = [name for name in ("principalId", "roleDefinitionId", "directoryScopeId") if not body.get(name)]
    if missing:
        raise bad_request(f"Required property '{missing[0]}' is missing.")
    if body["directoryScopeId"] != "/":
        raise bad_request("The sandbox assigns roles at directory scope '/' only.")
    role = BY_TEMPLATE.get(str(body["roleDefinitionId"]).lower())
    if role is None:
        raise bad_request(f"Invalid role definition id '{body['roleDefinitionId']}'.")
    tenant = request.graph_tenant
    principal = _principal(tenant, str(body["principalId"]))
    with transaction.atomic():
        directory_role = _activated_role(tenant, role)
        if isinstance(principal, SandboxUser):
            _, created = SandboxRoleMember.objects.get_or_create(role=directory_role, user=principal)
        else:
            _, created = SandboxGroupRoleMember.objects.get_or_create(role=directory_role, group=principal)
    if not created:
        raise bad_request(
            "A conflicting object with one or more of the specified property values is present in the "
            "directory.",
            code="Request_BadRequest",
        )
    item = assignment_json(role.template_id, principal.pk)
    fragment = "roleManagement/directory/roleAssignments/$entity"
    return graph_json({"@odata.context": context_url(request, fragment), **item}, status=201)


@graph_endpoint(methods=("GET", "POST"))
def role_assignments(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create_assignment(request)
    _check_options(request, {"$filter", "$select", "$top"})
    items = _assignments(request.graph_tenant)
    if request.GET.get("$filter"):
        node = parse_filter(request.GET["$filter"])
        items = [item for item in items if _matches(node, item, ASSIGNMENT_FILTERABLE, definitions=False)]
    select = _select(request, set(assignment_json(uuid.UUID(int=0), uuid.UUID(int=0))), definitions=False)
    if select:
        items = [{name: item.get(name) for name in ["id", *select]} for item in items]
    return graph_json(collection_body(request, "roleManagement/directory/roleAssignments", items))


def _find_assignment(tenant, assignment: str):
    parsed = _parse_assignment_id(assignment)
    if parsed is None:
        return None
    template, principal = parsed
    users = SandboxRoleMember.objects.filter(
        role__tenant=tenant, role__role_template_id=template, user_id=principal
    )
    groups = SandboxGroupRoleMember.objects.filter(
        role__tenant=tenant, role__role_template_id=template, group_id=principal
    )
    return users.first() or groups.first()


@graph_endpoint(methods=("GET", "DELETE"))
def role_assignment(request: HttpRequest, assignment: str) -> HttpResponse:
    found = _find_assignment(request.graph_tenant, assignment)
    if found is None:
        raise not_found(assignment)
    if request.method == "DELETE":
        found.delete()
        return no_content()
    principal = found.user_id if isinstance(found, SandboxRoleMember) else found.group_id
    item = assignment_json(found.role.role_template_id, principal)
    fragment = "roleManagement/directory/roleAssignments/$entity"
    return graph_json({"@odata.context": context_url(request, fragment), **item})
