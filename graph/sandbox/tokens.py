"""Bearer tokens the sandbox issues and checks, shaped like the identity platform's v1 access tokens
(JWT with aud, iss, tid, appid, oid, scp/roles, iat/nbf/exp) and signed with HS256 under a sandbox key
derived from SECRET_KEY. Clients treat them as opaque, as they must with Microsoft's tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings

GRAPH_AUDIENCE = "https://graph.microsoft.com"
EXCHANGE_AUDIENCE = "https://outlook.office365.com"
_ALGORITHM = "HS256"


def _signing_key() -> bytes:
    return hashlib.sha256(("sandbox-token-key:" + settings.SECRET_KEY).encode()).digest()


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: str
    audience: str
    app_id: str
    user_id: str | None  # None for app-only tokens
    upn: str | None
    scopes: tuple[str, ...]
    roles: tuple[str, ...]
    issued_at: int
    expires_at: int

    @property
    def is_app_only(self) -> bool:
        return self.user_id is None


class TokenError(Exception):
    """Why a bearer token was refused; ``message`` follows Graph's wording for InvalidAuthenticationToken."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def audience_of_scope(scope: str) -> str | None:
    """``https://graph.microsoft.com/.default`` -> ``https://graph.microsoft.com``; any resource URL works."""
    for item in scope.split():
        if item in {"openid", "profile", "offline_access", "email"}:
            continue
        if "://" in item:
            resource, _, _ = item.rpartition("/")
            return resource.rstrip("/")
    return None


def issue_access_token(
    *,
    tenant_id: str,
    audience: str,
    app_id: str,
    user_id: str | None = None,
    upn: str | None = None,
    scopes: tuple[str, ...] = (),
    roles: tuple[str, ...] = (),
    lifetime: int | None = None,
) -> tuple[str, int]:
    """Return (token, expires_in)."""
    now = int(time.time())
    expires_in = lifetime or settings.SANDBOX_TOKEN_LIFETIME_SECONDS
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "tid": tenant_id,
        "appid": app_id,
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "uti": secrets.token_urlsafe(16),
        "ver": "1.0",
    }
    if user_id:
        claims["oid"] = user_id
        claims["upn"] = upn or ""
        claims["scp"] = " ".join(scopes) or "user_impersonation"
    else:
        claims["oid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{tenant_id}:{app_id}"))
        claims["roles"] = list(roles)
    return jwt.encode(claims, _signing_key(), algorithm=_ALGORITHM), expires_in


def verify_access_token(token: str, *, audience: str, now: int | None = None) -> TokenClaims:
    """Check signature, lifetime and audience; raise TokenError with Graph's message otherwise."""
    if not token:
        raise TokenError("Access token is empty.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError("IDX14100: JWT is not well formed, there are no dots (.).") from None
    if header.get("alg") != _ALGORITHM:
        raise TokenError("Invalid signature.")
    try:
        claims = jwt.decode(
            token,
            _signing_key(),
            algorithms=[_ALGORITHM],
            options={"verify_exp": False, "verify_aud": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError:
        raise TokenError("Invalid signature.") from None
    except jwt.PyJWTError:
        raise TokenError("IDX14100: JWT is not well formed.") from None
    current = int(time.time()) if now is None else now
    if claims.get("exp", 0) <= current:
        raise TokenError("Lifetime validation failed, the token is expired.")
    if claims.get("nbf", 0) > current + 300:
        raise TokenError("Lifetime validation failed, the token is not yet valid.")
    if claims.get("aud") != audience:
        raise TokenError("Invalid audience.")
    return TokenClaims(
        tenant_id=claims["tid"],
        audience=claims["aud"],
        app_id=claims.get("appid", ""),
        user_id=claims.get("oid") if "scp" in claims else None,
        upn=claims.get("upn"),
        scopes=tuple((claims.get("scp") or "").split()),
        roles=tuple(claims.get("roles") or ()),
        issued_at=int(claims.get("iat", 0)),
        expires_at=int(claims["exp"]),
    )


def new_opaque_secret() -> tuple[str, str]:
    """A refresh token or authorization code: (value to hand out, SHA-256 hex to store)."""
    value = secrets.token_urlsafe(48)
    return value, hashlib.sha256(value.encode()).hexdigest()


def hash_opaque(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
