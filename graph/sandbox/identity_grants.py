"""The sandbox identity platform's token grants: client credentials, refresh token and authorization code.

Each grant takes the parsed form and the tenant named in the token URL and returns the JSON body Microsoft
would return, or raises :class:`GrantError` carrying the ``error`` / ``AADSTSnnnn`` pair the real service
uses for that failure (``identity.py`` renders it with trace ids). Refresh tokens and authorization codes
are opaque random strings; only their SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.utils import timezone

from .models import SandboxAuthCode, SandboxGdapRelationship, SandboxRefreshToken, SandboxTenant, SandboxUser
from .tokens import EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, hash_opaque, issue_access_token, new_opaque_secret

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# Refresh tokens die after 90 days without use, like Microsoft's default inactivity lifetime.
REFRESH_TOKEN_INACTIVITY = timedelta(days=90)
AUTH_CODE_LIFETIME = timedelta(minutes=10)
_SHAREPOINT_ADMIN = re.compile(r"^https://[a-z0-9-]+-admin\.sharepoint\.com$")

# What the demo partner app holds when it asks for ``<resource>/.default``: delegated permissions (scp)
# for user grants, application permissions (roles) for client credentials.
DELEGATED_DEFAULTS = {
    GRAPH_AUDIENCE: (
        "AuditLog.Read.All",
        "DelegatedAdminRelationship.Read.All",
        "Directory.AccessAsUser.All",
        "Directory.ReadWrite.All",
        "Files.ReadWrite.All",
        "Group.ReadWrite.All",
        "MailboxSettings.ReadWrite",
        "Organization.Read.All",
        "User.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ),
    EXCHANGE_AUDIENCE: ("Exchange.Manage",),
}
APPLICATION_DEFAULTS = {
    GRAPH_AUDIENCE: (
        "AuditLog.Read.All",
        "Directory.ReadWrite.All",
        "Files.ReadWrite.All",
        "Group.ReadWrite.All",
        "MailboxSettings.ReadWrite",
        "Organization.Read.All",
        "User.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ),
    EXCHANGE_AUDIENCE: ("Exchange.ManageAsApp",),
}
SHAREPOINT_DELEGATED = ("AllSites.FullControl",)
SHAREPOINT_APPLICATION = ("Sites.FullControl.All",)


class GrantError(Exception):
    """A refused token request: OAuth ``error``, AADSTS number, message, HTTP status."""

    def __init__(self, error: str, code: int, message: str, status: int = 400):
        super().__init__(f"AADSTS{code}: {message}")
        self.error = error
        self.code = code
        self.message = message
        self.status = status


def missing_parameter(name: str) -> GrantError:
    return GrantError(
        "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


@dataclass(frozen=True)
class RequestedScope:
    resource: str  # the audience of the access token
    permissions: tuple[str, ...]  # short names, e.g. ("User.Read",); ("/.default",) for the default set
    oidc: frozenset[str]

    @property
    def is_default(self) -> bool:
        return self.permissions == (".default",)


def known_resource(resource: str) -> bool:
    return resource in (GRAPH_AUDIENCE, EXCHANGE_AUDIENCE) or bool(_SHAREPOINT_ADMIN.match(resource))


def parse_scope(raw: str, tenant_label: str) -> RequestedScope:
    """Split ``scope`` into its one resource and the permissions asked of it (Microsoft issues a token for
    exactly one resource per request; a bare permission such as ``User.Read`` means Graph)."""
    items = raw.split()
    oidc = frozenset(item for item in items if item in OIDC_SCOPES)
    resources: dict[str, list[str]] = {}
    for item in items:
        if item in OIDC_SCOPES:
            continue
        if "://" in item:
            parts = urlsplit(item)
            resource = f"{parts.scheme}://{parts.netloc}".lower()
            path = parts.path.strip("/")
            # "https://graph.microsoft.com" alone names the resource: its default permissions.
            permission = path.rsplit("/", 1)[-1] if path else ".default"
        else:
            resource, permission = GRAPH_AUDIENCE, item
        resources.setdefault(resource, []).append(permission)
    if len(resources) > 1:
        raise GrantError(
            "invalid_scope",
            28000,
            f"Provided value for the input parameter scope is not valid because it contains more than one "
            f"resource. Scope {raw} is not valid.",
        )
    if not resources:
        return RequestedScope(GRAPH_AUDIENCE, ("User.Read",), oidc)
    resource, permissions = next(iter(resources.items()))
    if not known_resource(resource):
        raise GrantError(
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named {tenant_label}. This "
            "can happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You might have sent your authentication request to the "
            "wrong tenant.",
        )
    if ".default" in permissions and len(permissions) > 1:
        raise GrantError(
            "invalid_scope",
            70011,
            f"The provided request must include a 'scope' input parameter. The provided value for the input "
            f"parameter 'scope' is not valid. The scope {raw} is not valid. static scope limit exceeded.",
        )
    return RequestedScope(resource, tuple(permissions), oidc)


def delegated_permissions(scope: RequestedScope) -> tuple[str, ...]:
    if not scope.is_default:
        return scope.permissions
    return DELEGATED_DEFAULTS.get(scope.resource, SHAREPOINT_DELEGATED)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_info(user: SandboxUser) -> str:
    """MSAL's ``home_account_id`` is ``uid.utid``: the user and their home tenant."""
    return _b64url(json.dumps({"uid": str(user.id), "utid": str(user.tenant_id)}).encode())


def _id_token_key() -> bytes:
    return hashlib.sha256(("sandbox-id-token-key:" + settings.SECRET_KEY).encode()).digest()


def id_token(user: SandboxUser, *, client_id: str, tenant_id: str, issuer_base: str, nonce: str = "") -> str:
    """An OpenID Connect id_token. MSAL reads it without checking the signature but insists on aud."""
    now = int(time.time())
    claims = {
        "aud": client_id,
        "iss": f"{issuer_base}/{tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": user.display_name,
        "oid": str(user.id),
        "preferred_username": user.upn_lower,
        "sub": _b64url(hashlib.sha256(f"{user.id}:{client_id}".encode()).digest()),
        "tid": tenant_id,
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode(claims, _id_token_key(), algorithm="HS256")


def mint_refresh_token(user: SandboxUser, client_id: str, scope: str = "") -> str:
    """Issue a refresh token for ``user`` and return it in clear (stored only as its SHA-256)."""
    value, digest = new_opaque_secret()
    SandboxRefreshToken.objects.create(
        token_hash=digest,
        client_id=client_id,
        user=user,
        scope=scope or "https://graph.microsoft.com/.default",
    )
    return value


def mint_authorization_code(
    user: SandboxUser, *, client_id: str, redirect_uri: str, scope: str, code_challenge: str,
    code_challenge_method: str, nonce: str,
) -> str:  # fmt: skip
    value, digest = new_opaque_secret()
    SandboxAuthCode.objects.create(
        code_hash=digest,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        nonce=nonce,
        user=user,
        expires_at=timezone.now() + AUTH_CODE_LIFETIME,
    )
    return value


# --- grants ------------------------------------------------------------------------------------------------


def client_credentials(form, tenant: SandboxTenant | None, tenant_label: str, client_id: str) -> dict:
    if tenant is None:
        raise GrantError(
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided "
            "credentials.",
        )
    raw_scope = form.get("scope", "")
    if not raw_scope.strip():
        raise missing_parameter("scope")
    scope = parse_scope(raw_scope, tenant_label)
    if not scope.is_default or scope.oidc:
        raise GrantError(
            "invalid_scope",
            1002012,
            f"The provided value for scope {raw_scope} is not valid. Client credential flows must have a scope "
            "value with /.default suffixed to the resource identifier (application ID URI).",
        )
    roles = APPLICATION_DEFAULTS.get(scope.resource, SHAREPOINT_APPLICATION)
    token, expires_in = issue_access_token(
        tenant_id=str(tenant.id), audience=scope.resource, app_id=client_id, roles=roles
    )
    return {
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": token,
    }


def _effective_tenant(user: SandboxUser, tenant: SandboxTenant | None) -> SandboxTenant:
    """The tenant an access token for ``user`` may name: the URL's tenant if it is the user's home tenant or
    a customer the home tenant holds an active GDAP relationship with; ``common``/``organizations`` mean
    the home tenant."""
    home = user.tenant
    if tenant is None or tenant.pk == home.pk:
        return home
    now = timezone.now()
    allowed = (
        SandboxGdapRelationship.objects.filter(partner=home, customer=tenant, status="active")
        .exclude(end_datetime__lte=now)
        .exists()
    )
    if not allowed:
        raise GrantError(
            "invalid_grant",
            50020,
            f"User account '{user.upn_lower}' from identity provider 'https://sts.windows.net/{home.pk}/' does "
            f"not exist in tenant '{tenant.display_name}' and cannot access the application "
            f"'{settings.SANDBOX_CLIENT_ID}' in that tenant. The account needs to be added as an external user "
            "in the tenant first. Sign out and sign in again with a different Azure Active Directory user "
            "account.",
        )
    return tenant


def _check_user_can_sign_in(user: SandboxUser) -> None:
    if user.deleted_datetime is not None:
        raise GrantError(
            "invalid_grant",
            50034,
            f"The user account {user.upn_lower} does not exist in the {user.tenant_id} directory. To sign into "
            "this application, the account must be added to the directory.",
        )
    if not user.account_enabled:
        raise GrantError("invalid_grant", 50057, "The user account is disabled.")


def _user_token_response(
    user: SandboxUser,
    *,
    tenant: SandboxTenant,
    scope: RequestedScope,
    client_id: str,
    issuer_base: str,
    nonce: str = "",
    granted_scope: str,
) -> dict:
    permissions = delegated_permissions(scope)
    token, expires_in = issue_access_token(
        tenant_id=str(tenant.pk),
        audience=scope.resource,
        app_id=client_id,
        user_id=str(user.pk),
        upn=user.upn_lower,
        scopes=permissions,
    )
    body = {
        "token_type": "Bearer",
        "scope": " ".join([f"{scope.resource}/{p}" for p in permissions] + sorted(scope.oidc - {"email"})),
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": token,
        "client_info": client_info(user),
    }
    if "offline_access" in scope.oidc:
        body["refresh_token"] = mint_refresh_token(user, client_id, granted_scope)
    if "openid" in scope.oidc:
        body["id_token"] = id_token(
            user, client_id=client_id, tenant_id=str(tenant.pk), issuer_base=issuer_base, nonce=nonce
        )
    return body


def refresh_token_grant(
    form, tenant: SandboxTenant | None, tenant_label: str, client_id: str, issuer_base: str
):
    presented = form.get("refresh_token", "")
    if not presented:
        raise missing_parameter("refresh_token")
    record = (
        SandboxRefreshToken.objects.select_related("user", "user__tenant")
        .filter(token_hash=hash_opaque(presented))
        .first()
    )
    if record is None or record.client_id != client_id:
        raise GrantError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    user = record.user
    issued = record.issued_at
    if record.revoked_at is not None or (user.sessions_valid_after and user.sessions_valid_after > issued):
        valid_from = user.sessions_valid_after or record.revoked_at
        raise GrantError(
            "invalid_grant",
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
            "might have changed or reset their password. The grant was issued on "
            f"'{issued:%Y-%m-%dT%H:%M:%S.%fZ}' and the TokensValidFrom date (before which tokens are not valid) "
            f"for this user is '{valid_from:%Y-%m-%dT%H:%M:%S.0000000Z}'.",
        )
    last_active = record.last_used_at or issued
    if timezone.now() - last_active > REFRESH_TOKEN_INACTIVITY:
        raise GrantError(
            "invalid_grant",
            700082,
            f"The refresh token has expired due to inactivity. The token was issued on "
            f"{issued:%Y-%m-%dT%H:%M:%S.%fZ} and was inactive for 90.00:00:00.",
        )
    _check_user_can_sign_in(user)
    target = _effective_tenant(user, tenant)
    scope = parse_scope(form.get("scope", "") or record.scope, tenant_label)
    # Microsoft keeps the redeemed refresh token valid and hands out a new one; so does the sandbox.
    SandboxRefreshToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
    return _user_token_response(
        user,
        tenant=target,
        scope=scope,
        client_id=client_id,
        issuer_base=issuer_base,
        granted_scope=record.scope,
    )


def _pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        computed = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
    else:
        computed = verifier
    return secrets.compare_digest(computed, challenge)


def authorization_code_grant(
    form, tenant: SandboxTenant | None, tenant_label: str, client_id: str, issuer_base: str
) -> dict:
    presented = form.get("code", "")
    if not presented:
        raise missing_parameter("code")
    record = (
        SandboxAuthCode.objects.select_related("user", "user__tenant")
        .filter(code_hash=hash_opaque(presented))
        .first()
    )
    if record is None or record.client_id != client_id:
        raise GrantError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
    if record.used_at is not None:
        raise GrantError(
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
            "existing refresh token.",
        )
    if record.expires_at <= timezone.now():
        raise GrantError(
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new "
            "interactive authorization request for this user and resource.",
        )
    redirect_uri = form.get("redirect_uri", "")
    if not redirect_uri:
        raise missing_parameter("redirect_uri")
    if redirect_uri != record.redirect_uri:
        raise GrantError(
            "invalid_grant",
            500112,
            f"The reply address '{redirect_uri}' does not match the reply address '{record.redirect_uri}' "
            "provided when requesting Authorization code.",
        )
    if record.code_challenge:
        verifier = form.get("code_verifier", "")
        if not verifier:
            raise GrantError(
                "invalid_grant",
                50148,
                "The code_verifier does not match the code_challenge supplied in the authorization request "
                "for PKCE.",
            )
        if not _pkce_matches(verifier, record.code_challenge, record.code_challenge_method):
            raise GrantError(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
    # One redemption only, even when two requests race for the same code.
    claimed = SandboxAuthCode.objects.filter(pk=record.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not claimed:
        raise GrantError(
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new code.",
        )
    user = record.user
    _check_user_can_sign_in(user)
    target = _effective_tenant(user, tenant)
    scope = parse_scope(form.get("scope", "") or record.scope, tenant_label)
    return _user_token_response(
        user,
        tenant=target,
        scope=scope,
        client_id=client_id,
        issuer_base=issuer_base,
        nonce=record.nonce,
        granted_scope=record.scope,
    )
