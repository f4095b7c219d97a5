"""Identity Protection's risky users (``/identityProtection/riskyUsers``), Entra ID P2 only.

* ``GET /identityProtection/riskyUsers`` — ``$filter`` ``id eq``, ``userPrincipalName eq``, ``riskLevel eq``,
  ``riskState eq`` (joined with ``and``), ``$top`` 1..500, nextLink paging.
* ``GET /identityProtection/riskyUsers/{id}`` — 404 for a user Identity Protection never flagged.
* ``POST /identityProtection/riskyUsers/dismiss`` and ``/confirmCompromised`` ``{"userIds": [...]}`` -> 204.

Microsoft documents that the API "requires a Microsoft Entra ID P2 license" and clients report a plain 403
Forbidden without it; the exact wording of that error is not documented, so the message below is the
sandbox's own (assumption).
"""

from __future__ import annotations

import re
import uuid

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..auth import graph_endpoint
from ..directory import graph_now
from ..errors import GraphProblem, bad_request, not_found, unsupported_query
from ..models import SandboxRiskyUser, SandboxSku, SandboxUser
from ..odata import parse_top
from .audit_logs import split_conjunction
from .common import collection_body, context_url, graph_json, no_content, read_json_body
from .paging import expired_page_token, link_with, read_token, sign_token

P2_PLAN = "AAD_PREMIUM_P2"
MAX_TOP = 500
_CLAUSE = re.compile(r"^\(?\s*(?P<field>\w+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*\)?$")
_FIELDS = {"riskLevel": "risk_level", "riskState": "risk_state"}


def tenant_has_p2(tenant) -> bool:
    for plans in SandboxSku.objects.filter(tenant=tenant).values_list("service_plans", flat=True):
        if any(plan.get("servicePlanName") == P2_PLAN for plan in plans or []):
            return True
    return False


def p2_required() -> GraphProblem:
    # Assumption (see module docstring): status 403 is what clients observe; code and text are ours.
    return GraphProblem(
        403, "Forbidden", "Your tenant is not licensed for this feature: Microsoft Entra ID P2 is required."
    )


def risky_user_json(row: SandboxRiskyUser) -> dict:
    user = row.user
    return {
        "id": str(user.pk),
        "isDeleted": user.deleted_datetime is not None,
        "isProcessing": False,
        "riskLastUpdatedDateTime": graph_now(row.risk_last_updated),
        "riskLevel": row.risk_level,
        "riskState": row.risk_state,
        "riskDetail": row.risk_detail,
        "userDisplayName": user.display_name,
        "userPrincipalName": user.properties.get("userPrincipalName") or user.upn_lower,
    }


def _filter(text: str) -> Q:
    query = Q()
    for raw in split_conjunction(text):
        match = _CLAUSE.match(raw)
        if not match:
            raise unsupported_query(f"Invalid filter clause: '{raw}' is not supported on riskyUsers.")
        field, literal = match.group("field"), match.group("value").replace("''", "'")
        if field == "id":
            try:
                query &= Q(user_id=uuid.UUID(literal))
            except ValueError:
                query &= Q(pk__in=[])
        elif field == "userPrincipalName":
            query &= Q(user__upn_lower=literal.lower())
        elif field in _FIELDS:
            query &= Q(**{_FIELDS[field]: literal})
        else:
            raise unsupported_query(f"Invalid filter clause: '{raw}' is not supported on riskyUsers.")
    return query


def _rows(request: HttpRequest):
    if not tenant_has_p2(request.graph_tenant):
        raise p2_required()
    return SandboxRiskyUser.objects.filter(user__tenant=request.graph_tenant).select_related("user")


@graph_endpoint(methods=("GET",))
def risky_users(request: HttpRequest) -> HttpResponse:
    rows = _rows(request)
    if request.GET.get("$filter"):
        rows = rows.filter(_filter(request.GET["$filter"]))
    top = parse_top(request.GET.get("$top"), MAX_TOP) or MAX_TOP
    fingerprint = f"{request.graph_tenant.pk}:riskyUsers:{request.GET.get('$filter', '')}:{top}"
    if request.GET.get("$skiptoken"):
        payload = read_token(request.GET["$skiptoken"])
        if payload.get("f") != fingerprint:
            raise expired_page_token()
        rows = rows.filter(user_id__gt=uuid.UUID(payload["id"]))
    page = list(rows.order_by("user_id")[: top + 1])
    next_link = None
    if len(page) > top:
        page = page[:top]
        token = sign_token({"f": fingerprint, "id": str(page[-1].user_id)})
        next_link = link_with(request, **{"$skiptoken": token})
    items = [risky_user_json(row) for row in page]
    return graph_json(collection_body(request, "identityProtection/riskyUsers", items, next_link=next_link))


@graph_endpoint(methods=("GET",))
def risky_user_item(request: HttpRequest, user_id: str) -> HttpResponse:
    try:
        key = uuid.UUID(user_id)
    except ValueError:
        raise not_found(user_id) from None
    row = _rows(request).filter(user_id=key).first()
    if row is None:
        raise not_found(user_id)
    body = {"@odata.context": context_url(request, "identityProtection/riskyUsers/$entity")}
    return graph_json(body | risky_user_json(row))


def _user_ids(request: HttpRequest) -> list[uuid.UUID]:
    raw = read_json_body(request).get("userIds")
    if not isinstance(raw, list) or not raw:
        raise bad_request("The request must contain a non-empty 'userIds' array.", code="BadRequest")
    try:
        return [uuid.UUID(str(value)) for value in raw]
    except ValueError:
        raise bad_request("Every value in 'userIds' must be a user object id.", code="BadRequest") from None


def _set_state(request: HttpRequest, **values) -> HttpResponse:
    rows = _rows(request)
    ids = _user_ids(request)
    now = timezone.now()
    existing = set(rows.filter(user_id__in=ids).values_list("user_id", flat=True))
    rows.filter(user_id__in=existing).update(risk_last_updated=now, **values)
    # Confirming a user Identity Protection had not flagged creates its risky-user record.
    users = SandboxUser.objects.filter(tenant=request.graph_tenant, pk__in=set(ids) - existing)
    if values.get("risk_state") == "confirmedCompromised":
        SandboxRiskyUser.objects.bulk_create(
            SandboxRiskyUser(user=user, risk_last_updated=now, **values) for user in users
        )
    return no_content()


@graph_endpoint(methods=("POST",))
def dismiss(request: HttpRequest) -> HttpResponse:
    return _set_state(
        request, risk_level="none", risk_state="dismissed", risk_detail="adminDismissedAllRiskForUser"
    )


@graph_endpoint(methods=("POST",))
def confirm_compromised(request: HttpRequest) -> HttpResponse:
    return _set_state(
        request,
        risk_level="high",
        risk_state="confirmedCompromised",
        risk_detail="adminConfirmedUserCompromised",
    )
