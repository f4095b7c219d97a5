"""The sandbox's identity platform: OpenID discovery, the sign-in page (authorization code + PKCE) and the
token endpoint, served under ``/sandbox/login/{tenant}/`` in the URL shapes MSAL uses against
login.microsoftonline.com. ``{tenant}`` is a tenant GUID, any verified domain, ``organizations`` or
``common``.

These views are the identity provider itself, so they need no portal login. The token endpoint is a
machine API (no CSRF); the sign-in form keeps Django's CSRF protection because a browser posts it.
Error bodies and pages carry the ``AADSTSnnnn`` codes of the real service; grants live in
``identity_grants``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.hashers import check_password
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.request import validate_host
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from . import identity_grants as grants
from .identity_grants import GrantError, mint_refresh_token  # noqa: F401 - mint_refresh_token is public API
from .models import SandboxDomain, SandboxTenant, SandboxUser

logger = logging.getLogger(__name__)

TENANT_ALIASES = frozenset({"common", "organizations"})
# Redirect URIs the demo app accepts. Microsoft matches an app registration's list exactly; the sandbox app
# is registered nowhere, so it accepts any http(s) URL on a host this deployment answers to (loopback,
# Django's test host and ALLOWED_HOSTS). That still keeps codes from being sent to foreign sites.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "testserver", "[::1]")
_REGION_OF_COUNTRY = {"US": "NA", "CA": "NA", "MX": "NA", "AU": "OC", "NZ": "OC", "JP": "AS", "IN": "AS"}


class UnknownTenant(Exception):
    pass


def find_tenant(segment: str) -> SandboxTenant | None:
    """The tenant a URL segment names (GUID or verified domain), or None when nothing matches."""
    segment = (segment or "").strip()
    try:
        tenant_id = uuid.UUID(segment)
    except ValueError:
        domain = (
            SandboxDomain.objects.select_related("tenant")
            .filter(name=segment.lower(), is_verified=True)
            .first()
        )
        return domain.tenant if domain else None
    return SandboxTenant.objects.filter(pk=tenant_id).first()


def resolve_path_tenant(segment: str) -> SandboxTenant | None:
    """None for ``common``/``organizations``; raise UnknownTenant for a segment that names no tenant."""
    if segment.lower() in TENANT_ALIASES:
        return None
    tenant = find_tenant(segment)
    if tenant is None:
        raise UnknownTenant(segment)
    return tenant


def login_base(request: HttpRequest) -> str:
    """Absolute URL of ``/sandbox/login`` on whatever host and scheme the caller used."""
    probe = reverse("sandbox:oidc-configuration", args=["common"])
    return request.build_absolute_uri(probe.removesuffix("/common/v2.0/.well-known/openid-configuration"))


# --- error bodies --------------------------------------------------------------------------------------------


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _correlation_id(request: HttpRequest) -> str:
    given = request.headers.get("client-request-id", "")
    try:
        return str(uuid.UUID(given))
    except ValueError:
        return str(uuid.uuid4())


def aad_error_body(request: HttpRequest, error: str, code: int, message: str) -> dict:
    trace_id, correlation_id, timestamp = str(uuid.uuid4()), _correlation_id(request), _timestamp()
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\n"
            f"Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def aad_error(request: HttpRequest, error: str, code: int, message: str, status: int = 400) -> JsonResponse:
    body = aad_error_body(request, error, code, message)
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store, no-cache"
    response["x-ms-request-id"] = body["trace_id"]
    response["client-request-id"] = body["correlation_id"]
    return response


def tenant_not_found_message(segment: str) -> str:
    return (
        f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing "
        "into the correct cloud. Check with your subscription administrator, this may happen if there are no "
        "active subscriptions for the tenant."
    )


def unknown_client_message(client_id: str, tenant_label: str) -> str:
    return (
        f"Application with identifier '{client_id}' was not found in the directory '{tenant_label}'. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented "
        "to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
    )


# --- discovery -----------------------------------------------------------------------------------------------


@login_not_required
@require_safe
def openid_configuration(request: HttpRequest, tenant: str) -> HttpResponse:
    try:
        found = resolve_path_tenant(tenant)
    except UnknownTenant:
        return aad_error(request, "invalid_tenant", 90002, tenant_not_found_message(tenant))
    base = login_base(request)
    segment = str(found.pk) if found else tenant.lower()
    issuer_tenant = str(found.pk) if found else "{tenantid}"
    graph_base = base.removesuffix("/login") + "/graph"
    return JsonResponse(
        {
            "token_endpoint": f"{base}/{segment}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{segment}/discovery/v2.0/keys",
            # Only what this sandbox implements is advertised: the code flow with query responses.
            "response_modes_supported": ["query"],
            "subject_types_supported": ["pairwise"],
            # id_tokens are HMAC-signed with a sandbox key (MSAL never checks the signature).
            "id_token_signing_alg_values_supported": ["HS256"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{graph_base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{segment}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{segment}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{segment}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],  # fmt: skip
            "tenant_region_scope": _REGION_OF_COUNTRY.get(found.country_letter_code, "EU") if found else None,
            # Host names of the public cloud, as the real document gives them; nothing here resolves them.
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


@login_not_required
@require_safe
def jwks(request: HttpRequest, tenant: str) -> HttpResponse:
    # Sandbox tokens are HMAC-signed; there is no public key to publish.
    return JsonResponse({"keys": []})


# --- token endpoint ------------------------------------------------------------------------------------------


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def _authenticate_client(form, basic_secret: str, client_id: str) -> None:
    if form.get("client_assertion") or form.get("client_assertion_type"):
        raise GrantError(
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on "
            f"application. [Reason - The key was not found., Thumbprint of key used by client: 'unknown', "
            f"Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys "
            f"for app Id '{client_id}'.] (The sandbox accepts client secrets only.)",
            status=401,
        )
    secret = form.get("client_secret") or basic_secret
    if not secret:
        raise GrantError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            status=401,
        )
    if not secrets.compare_digest(secret.encode(), settings.SANDBOX_CLIENT_SECRET.encode()):
        raise GrantError(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{client_id}'.",
            status=401,
        )


def _issue(request: HttpRequest, tenant_segment: str) -> dict:
    try:
        tenant = resolve_path_tenant(tenant_segment)
    except UnknownTenant:
        raise GrantError("invalid_request", 90002, tenant_not_found_message(tenant_segment)) from None
    form = request.POST
    basic_client, basic_secret = _basic_credentials(request)
    grant_type = form.get("grant_type", "")
    client_id = form.get("client_id") or basic_client
    if not grant_type:
        raise grants.missing_parameter("grant_type")
    if not client_id:
        raise grants.missing_parameter("client_id")
    tenant_label = str(tenant.pk) if tenant else tenant_segment
    if client_id != settings.SANDBOX_CLIENT_ID:
        raise GrantError("unauthorized_client", 700016, unknown_client_message(client_id, tenant_label))
    if grant_type not in ("client_credentials", "refresh_token", "authorization_code"):
        raise GrantError(
            "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )
    _authenticate_client(form, basic_secret, client_id)
    if grant_type == "client_credentials":
        return grants.client_credentials(form, tenant, tenant_label, client_id)
    issuer_base = login_base(request)
    if grant_type == "refresh_token":
        return grants.refresh_token_grant(form, tenant, tenant_label, client_id, issuer_base)
    return grants.authorization_code_grant(form, tenant, tenant_label, client_id, issuer_base)


@login_not_required
@csrf_exempt
@never_cache
def token(request: HttpRequest, tenant: str) -> HttpResponse:
    if request.method != "POST":
        return aad_error(
            request,
            "invalid_request",
            900561,
            f"The endpoint only accepts POST, OPTIONS requests. Received a {request.method} request.",
        )
    try:
        body = _issue(request, tenant)
    except GrantError as exc:
        logger.info("sandbox token request refused: AADSTS%s %s", exc.code, exc.error)
        return aad_error(request, exc.error, exc.code, exc.message, status=exc.status)
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store, no-cache"
    response["Pragma"] = "no-cache"
    return response


# --- authorize (sign-in page) --------------------------------------------------------------------------------

OAUTH_PARAMS = (
    "client_id", "response_type", "redirect_uri", "scope", "state", "nonce", "response_mode", "prompt",
    "login_hint", "code_challenge", "code_challenge_method", "client_info",
)  # fmt: skip


def redirect_uri_allowed(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return False
    host = parts.hostname.lower()
    return host in LOOPBACK_HOSTS or validate_host(host, settings.ALLOWED_HOSTS)


def _redirect_with(redirect_uri: str, values: dict[str, str]) -> HttpResponseRedirect:
    query = urlencode({key: value for key, value in values.items() if value})
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{query}")


def _fatal_page(request: HttpRequest, code: int, message: str, status: int = 400) -> HttpResponse:
    """Errors Microsoft shows on its own page because the redirect URI cannot be trusted yet."""
    context = {"code": f"AADSTS{code}", "message": message, "trace_id": uuid.uuid4()}
    return render(request, "sandbox/signin_error.html", context, status=status)


def _redirect_error(
    request: HttpRequest, params, error: str, code: int, message: str
) -> HttpResponseRedirect:
    body = aad_error_body(request, error, code, message)
    return _redirect_with(
        params["redirect_uri"],
        {"error": error, "error_description": body["error_description"], "state": params.get("state", "")},
    )


def _check_request(request: HttpRequest, tenant_segment: str, params) -> HttpResponse | None:
    """Validate the authorize request; an error page or error redirect, or None when it may proceed."""
    try:
        resolve_path_tenant(tenant_segment)
    except UnknownTenant:
        return _fatal_page(request, 90002, tenant_not_found_message(tenant_segment))
    client_id = params.get("client_id", "")
    if not client_id:
        return _fatal_page(
            request, 900144, "The request body must contain the following parameter: 'client_id'."
        )
    if client_id != settings.SANDBOX_CLIENT_ID:
        return _fatal_page(request, 700016, unknown_client_message(client_id, tenant_segment))
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        return _fatal_page(
            request, 900144, "The request body must contain the following parameter: 'redirect_uri'."
        )
    if not redirect_uri_allowed(redirect_uri):
        return _fatal_page(
            request,
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
            f"configured for the application '{client_id}'. The sandbox accepts http(s) redirect URIs on "
            "loopback hosts and on this deployment's ALLOWED_HOSTS.",
        )
    response_type = params.get("response_type", "")
    if response_type != "code":
        return _redirect_error(
            request, params, "unsupported_response_type", 700054,
            f"response_type '{response_type}' is not enabled for the application.",
        )  # fmt: skip
    if (params.get("response_mode") or "query") != "query":
        return _redirect_error(
            request, params, "invalid_request", 70011,
            "The provided value for the input parameter 'response_mode' is not valid. The sandbox supports 'query'.",
        )  # fmt: skip
    if not params.get("scope", "").strip():
        return _redirect_error(
            request, params, "invalid_request", 900144,
            "The request body must contain the following parameter: 'scope'.",
        )  # fmt: skip
    try:
        grants.parse_scope(params["scope"], tenant_segment)
    except GrantError as exc:
        return _redirect_error(request, params, exc.error, exc.code, exc.message)
    if params.get("code_challenge") and (params.get("code_challenge_method") or "plain") != "S256":
        return _redirect_error(
            request, params, "invalid_request", 70011,
            "The provided value for the input parameter 'code_challenge_method' is not valid. Expected 'S256'.",
        )  # fmt: skip
    if params.get("prompt") == "none":
        return _redirect_error(
            request, params, "login_required", 50058,
            "A silent sign-in request was sent but no user is signed in.",
        )  # fmt: skip
    return None


def _find_signing_in_user(tenant_segment: str, username: str) -> SandboxUser | None:
    username = username.strip().lower()
    if "@" not in username:
        return None
    tenant = resolve_path_tenant(tenant_segment)
    if tenant is None:  # common/organizations: the UPN's domain names the home tenant
        tenant = find_tenant(username.rsplit("@", 1)[1])
        if tenant is None:
            return None
    return SandboxUser.objects.select_related("tenant").filter(tenant=tenant, upn_lower=username).first()


@login_not_required
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest, tenant: str) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    params = {name: source.get(name, "") for name in OAUTH_PARAMS}
    problem = _check_request(request, tenant, params)
    if problem is not None:
        return problem
    context = {"params": params, "username": params["login_hint"], "error": ""}
    if request.method == "GET":
        return render(request, "sandbox/signin.html", context)
    username = request.POST.get("username", "")
    password = request.POST.get("password", "")
    context["username"] = username
    user = _find_signing_in_user(tenant, username)
    if (
        user is None
        or user.deleted_datetime
        or not user.password_hash
        or not check_password(password, user.password_hash)
    ):
        context["error"] = "AADSTS50126: Error validating credentials due to invalid username or password."
        return render(request, "sandbox/signin.html", context)
    if not user.account_enabled:
        context["error"] = "AADSTS50057: The user account is disabled."
        return render(request, "sandbox/signin.html", context)
    code = grants.mint_authorization_code(
        user,
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"],
        scope=params["scope"],
        code_challenge=params["code_challenge"],
        code_challenge_method=params["code_challenge_method"] if params["code_challenge"] else "",
        nonce=params["nonce"],
    )
    logger.info("sandbox sign-in for %s", user.upn_lower)
    values = {"code": code, "state": params["state"]}
    if params["client_info"] == "1":
        values["client_info"] = grants.client_info(user)
    return _redirect_with(params["redirect_uri"], values)


@login_not_required
@require_GET
def logout(request: HttpRequest, tenant: str) -> HttpResponse:
    target = request.GET.get("post_logout_redirect_uri", "")
    if target and redirect_uri_allowed(target):
        return HttpResponseRedirect(target)
    # The sandbox keeps no sign-in session, so there is nothing else to end.
    return render(request, "sandbox/signin_error.html", {"signed_out": True}, status=200)
