"""/servicePrincipals: just what the legacy MFA connector flow needs — find the first-party "Azure
Multi-Factor Auth Client" by appId, create it when a tenant lacks it, and add / remove a short-lived
password credential on it. Only the SHA-256 of a credential's secret is stored; the secret itself leaves
once, in the addPassword response, as Graph documents (``secretText``).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..auth import graph_endpoint
from ..directory import graph_now
from ..errors import GraphProblem, bad_request, not_found, unsupported_query
from ..models import SandboxServicePrincipal, SandboxServicePrincipalDetail, SandboxServicePrincipalSecret
from ..tokens import hash_opaque
from .common import collection_body, context_url, graph_json, no_content, read_json_body

# First-party applications the sandbox knows, by appId: what POST /servicePrincipals may instantiate.
FIRST_PARTY_APPS = {"981f26a1-7f43-403b-a875-f8b09b8cd720": "Azure Multi-Factor Auth Client"}
_APP_ID_FILTER = re.compile(r"^\s*appId\s+eq\s+'([0-9a-fA-F-]{36})'\s*$")
MAX_CREDENTIAL_LIFETIME = timedelta(days=730)


def sp_json(sp: SandboxServicePrincipal, select: list[str] | None = None) -> dict:
    body = {
        "id": str(sp.id),
        "appId": str(sp.app_id),
        "displayName": sp.display_name,
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "passwordCredentials": [
            {
                "keyId": str(s.key_id),
                "displayName": s.display_name,
                "hint": s.hint,
                "secretText": None,
                "startDateTime": graph_now(s.start_datetime),
                "endDateTime": graph_now(s.end_datetime),
            }
            for s in sp.secrets.all()
        ],
    }
    # Publisher facts (appOwnerOrganizationId, verifiedPublisher, ...) seeded by seed_compromise.
    detail = SandboxServicePrincipalDetail.objects.filter(service_principal=sp).first()
    body.update(detail.properties if detail else {})
    if select:
        body = {k: v for k, v in body.items() if k in select or k == "id"}
    return body


def _find(request: HttpRequest, key: str) -> SandboxServicePrincipal:
    try:
        sp_id = uuid.UUID(key)
    except ValueError:
        raise not_found(key) from None
    sp = SandboxServicePrincipal.objects.filter(tenant=request.graph_tenant, pk=sp_id).first()
    if sp is None:
        raise not_found(key)
    return sp


@graph_endpoint(methods=("GET", "POST"))
def service_principals(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    found = SandboxServicePrincipal.objects.filter(tenant=request.graph_tenant).order_by("display_name")
    raw_filter = request.GET.get("$filter")
    if raw_filter:
        match = _APP_ID_FILTER.match(raw_filter)
        if not match:
            raise unsupported_query("The sandbox filters service principals by appId eq '<guid>' only.")
        found = found.filter(app_id=uuid.UUID(match.group(1)))
    select = [s.strip() for s in request.GET.get("$select", "").split(",") if s.strip()] or None
    items = [sp_json(sp, select) for sp in found[:999]]
    return graph_json(collection_body(request, "servicePrincipals", items))


def _create(request: HttpRequest) -> HttpResponse:
    body = read_json_body(request)
    app_id = str(body.get("appId") or "").lower()
    if app_id not in FIRST_PARTY_APPS:
        raise bad_request(
            f"The appId '{app_id}' of the service principal does not reference a valid application object.",
            code="Request_BadRequest",
        )
    if SandboxServicePrincipal.objects.filter(tenant=request.graph_tenant, app_id=app_id).exists():
        raise GraphProblem(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property appId already exists.",
        )
    sp = SandboxServicePrincipal.objects.create(
        tenant=request.graph_tenant, app_id=app_id, display_name=FIRST_PARTY_APPS[app_id]
    )
    result = sp_json(sp)
    result["@odata.context"] = context_url(request, "servicePrincipals/$entity")
    return graph_json(result, status=201)


def _when(raw, default: datetime) -> datetime:
    if raw in (None, ""):
        return default
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid date-time value '{raw}'.", code="BadRequest") from None
    if moment.tzinfo is None:
        raise bad_request(f"Date-time value '{raw}' needs a time zone offset.", code="BadRequest")
    return moment


@graph_endpoint(methods=("POST",))
def add_password(request: HttpRequest, sp_id: str) -> HttpResponse:
    sp = _find(request, sp_id)
    credential = read_json_body(request).get("passwordCredential") or {}
    if not isinstance(credential, dict):
        raise bad_request("passwordCredential must be an object.", code="BadRequest")
    now = timezone.now()
    start = _when(credential.get("startDateTime"), now)
    end = _when(credential.get("endDateTime"), start + timedelta(days=730))
    if end <= start:
        raise bad_request("endDateTime must be later than startDateTime.", code="BadRequest")
    if end - start > MAX_CREDENTIAL_LIFETIME:
        raise bad_request("The credential lifetime exceeds the maximum allowed.", code="BadRequest")
    secret = secrets.token_urlsafe(30)
    row = SandboxServicePrincipalSecret.objects.create(
        service_principal=sp,
        display_name=str(credential.get("displayName") or "")[:256],
        hint=secret[:3],
        secret_hash=hash_opaque(secret),
        start_datetime=start,
        end_datetime=end,
    )
    return graph_json(
        {
            "@odata.context": context_url(request, "microsoft.graph.passwordCredential"),
            "customKeyIdentifier": None,
            "displayName": row.display_name,
            "endDateTime": graph_now(end),
            "hint": row.hint,
            "keyId": str(row.key_id),
            "secretText": secret,
            "startDateTime": graph_now(start),
        }
    )


@graph_endpoint(methods=("POST",))
def remove_password(request: HttpRequest, sp_id: str) -> HttpResponse:
    sp = _find(request, sp_id)
    raw = read_json_body(request).get("keyId")
    try:
        key_id = uuid.UUID(str(raw))
    except ValueError:
        raise bad_request(f"Invalid keyId '{raw}'.", code="BadRequest") from None
    deleted, _ = SandboxServicePrincipalSecret.objects.filter(service_principal=sp, key_id=key_id).delete()
    if not deleted:
        raise GraphProblem(
            404, "Request_ResourceNotFound", f"No password credential found with keyId '{key_id}'."
        )
    return no_content()
