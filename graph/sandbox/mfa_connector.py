"""The legacy Azure MFA connector ("StrongAuthenticationService") and the v1 token endpoint it needs.

Microsoft does not document this API; the wire format follows the reference study (cipp-api-actions.md §11):
a client-credentials token from the **v1** endpoint ``/{tenant}/oauth2/token`` for
``resource=https://adnotifications.windowsazure.com/StrongAuthenticationService.svc/Connector``, obtained
with a password credential added to the tenant's "Azure Multi-Factor Auth Client" service principal
(appId 981f26a1-...), then ``POST .../Connector/BeginTwoWayAuthentication`` with an XML
``BeginTwoWayAuthenticationRequest`` that blocks until the user answers. The response shape
(``Result/Value``, ``AuthenticationResult``) and the result values Success / PhoneAppDenied /
PhoneAppNoResponse are assumptions taken from the reference's parsing and the NPS extension's result names.

How a sandbox user answers: a SandboxMfaPushAnswer row when present; otherwise approve when the user has
the Authenticator app or a phone method, and no answer (time-out) when the user has neither.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from .identity import UnknownTenant, aad_error, resolve_path_tenant, tenant_not_found_message
from .models import SandboxAuthMethod, SandboxMfaPushAnswer, SandboxServicePrincipalSecret, SandboxUser
from .tokens import TokenError, hash_opaque, issue_access_token, verify_access_token

logger = logging.getLogger(__name__)

MFA_CLIENT_APP_ID = "981f26a1-7f43-403b-a875-f8b09b8cd720"
CONNECTOR_RESOURCE = "https://adnotifications.windowsazure.com/StrongAuthenticationService.svc/Connector"
PUSH_CAPABLE = ("microsoftAuthenticatorAuthenticationMethod", "phoneAuthenticationMethod")
RESULTS = {
    SandboxMfaPushAnswer.APPROVE: ("Success", "The user approved the request.", True),
    SandboxMfaPushAnswer.DENY: ("PhoneAppDenied", "The user denied the request.", False),
    SandboxMfaPushAnswer.TIMEOUT: ("PhoneAppNoResponse", "The user did not respond in time.", False),
}


# --- v1 token endpoint (client credentials for the connector resource) -----------------------------------


def _secret_matches(tenant, client_id: str, secret: str) -> bool:
    now = timezone.now()
    return SandboxServicePrincipalSecret.objects.filter(
        service_principal__tenant=tenant,
        service_principal__app_id=client_id,
        secret_hash=hash_opaque(secret),
        start_datetime__lte=now,
        end_datetime__gt=now,
    ).exists()


@login_not_required
@csrf_exempt
@never_cache
def v1_token(request: HttpRequest, tenant: str) -> HttpResponse:
    """``/{tenant}/oauth2/token`` (v1). The sandbox serves it for the MFA connector's client only."""
    if request.method != "POST":
        return aad_error(request, "invalid_request", 900561, "The endpoint only accepts POST requests.")
    try:
        found = resolve_path_tenant(tenant)
    except UnknownTenant:
        return aad_error(request, "invalid_request", 90002, tenant_not_found_message(tenant))
    if found is None:
        return aad_error(request, "invalid_request", 90002, tenant_not_found_message(tenant))
    form = request.POST
    client_id = (form.get("client_id") or "").lower()
    if form.get("grant_type") != "client_credentials":
        return aad_error(
            request, "unsupported_grant_type", 70003,
            "The sandbox's v1 token endpoint supports client_credentials only.",
        )  # fmt: skip
    if client_id != MFA_CLIENT_APP_ID:
        return aad_error(
            request, "unauthorized_client", 700016,
            f"Application with identifier '{client_id}' was not found in the directory '{found.pk}'.",
        )  # fmt: skip
    if not _secret_matches(found, client_id, form.get("client_secret") or ""):
        return aad_error(
            request, "invalid_client", 7000215,
            f"Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{client_id}'.",
            status=401,
        )  # fmt: skip
    if (form.get("resource") or "").rstrip("/") != CONNECTOR_RESOURCE:
        return aad_error(
            request, "invalid_resource", 500011,
            f"The resource principal named {form.get('resource')} was not found in the tenant named {found.pk}.",
        )  # fmt: skip
    token, expires_in = issue_access_token(
        tenant_id=str(found.pk), audience=CONNECTOR_RESOURCE, app_id=client_id
    )
    now = int(timezone.now().timestamp())
    response = JsonResponse(
        {
            "token_type": "Bearer",
            "expires_in": str(expires_in),
            "ext_expires_in": str(expires_in),
            "expires_on": str(now + expires_in),
            "not_before": str(now),
            "resource": CONNECTOR_RESOURCE,
            "access_token": token,
        }
    )
    response["Cache-Control"] = "no-store, no-cache"
    return response


# --- the connector -----------------------------------------------------------------------------------------


def _xml(status: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="application/xml; charset=utf-8")


def _fault(status: int, message: str) -> HttpResponse:
    return _xml(status, f"<Fault><Message>{escape(message)}</Message></Fault>")


def parse_request(raw: bytes) -> dict[str, str]:
    text = raw.decode("utf-8", errors="replace")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("document type declarations are not accepted")
    root = ElementTree.fromstring(text)  # noqa: S314 - DOCTYPE/ENTITY refused above; expat resolves no external entities
    if root.tag != "BeginTwoWayAuthenticationRequest":
        raise ValueError(f"unexpected root element {root.tag}")
    return {child.tag: (child.text or "").strip() for child in root}


def answer_for(user: SandboxUser | None) -> str | None:
    if user is None:
        return None
    row = SandboxMfaPushAnswer.objects.filter(user=user).first()
    if row is not None:
        return row.answer
    capable = SandboxAuthMethod.objects.filter(user=user, method_type__in=PUSH_CAPABLE).exists()
    return SandboxMfaPushAnswer.APPROVE if capable else SandboxMfaPushAnswer.TIMEOUT


@login_not_required
@csrf_exempt
@never_cache
def begin_two_way_authentication(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _fault(405, "Method not allowed.")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        claims = verify_access_token(
            token.strip() if scheme.lower() == "bearer" else "", audience=CONNECTOR_RESOURCE
        )
    except TokenError as exc:
        return _fault(401, exc.message)
    if claims.app_id != MFA_CLIENT_APP_ID:
        return _fault(403, "The caller is not the Azure Multi-Factor Auth Client.")
    try:
        fields = parse_request(request.body)
    except (ElementTree.ParseError, ValueError) as exc:
        return _fault(400, f"The request body is not a valid BeginTwoWayAuthenticationRequest: {exc}")
    upn = fields.get("UserPrincipalName", "").lower()
    if not upn:
        return _fault(400, "UserPrincipalName is required.")
    user = SandboxUser.objects.filter(
        tenant_id=claims.tenant_id, upn_lower=upn, deleted_datetime__isnull=True
    ).first()
    answer = answer_for(user)
    if answer is None:
        value, message, ok = "UserNotFound", "The user was not found in the tenant.", False
    else:
        value, message, ok = RESULTS[answer]
    logger.info("sandbox MFA connector: push to %s answered %s", upn, value)
    return _xml(
        200,
        "<BeginTwoWayAuthenticationResponse>"
        f"<Result><Value>{value}</Value><Message>{escape(message)}</Message><Retry>false</Retry></Result>"
        f"<SessionId>{uuid.uuid4()}</SessionId>"
        f"<UserPrincipalName>{escape(upn)}</UserPrincipalName>"
        f"<AuthenticationResult>{'true' if ok else 'false'}</AuthenticationResult>"
        f"<ContextId>{escape(fields.get('ContextId', ''))}</ContextId>"
        f"<Nonce>{secrets.token_hex(8)}</Nonce>"
        "</BeginTwoWayAuthenticationResponse>",
    )
