"""Access tokens for Graph and Exchange, obtained with MSAL.

One MSAL ``ConfidentialClientApplication`` per (connection, customer tenant), each with its own in-memory
token cache, kept in a process-level dict guarded by a lock. Two modes:

* ``delegated`` (GDAP / Secure Application Model): the partner admin's refresh token, issued by the
  partner tenant, is redeemed at the *customer* tenant's authority. When the identity platform rotates
  the refresh token, the new one lives only in MSAL's in-memory cache and is preferred for the next
  redemption; it is never written to the database or anywhere else.
* ``app`` (client credentials): the app's client secret, or its certificate when no secret is set.

Access tokens are reused until about five minutes before they expire. Only one thread per
(connection, tenant, mode) talks to the token endpoint at a time.

MSAL insists on an ``https://`` authority. When a connection's ``login_url`` is plain ``http://`` (the
local sandbox), MSAL is given the https spelling of the same URL together with an http client that
translates between the two spellings on the wire — a generic adapter, not a sandbox special case.

Nothing here logs a token, a refresh token or a secret; MSAL's own DEBUG output is kept at WARNING by
``settings.LOGGING``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from msal.exceptions import MsalError

from graph.errors import AuthError, GraphError, TransientError, token_error_from_result
from graph.http import default_timeout, shared_session

logger = logging.getLogger(__name__)

DELEGATED = "delegated"
APP = "app"
_MODE_ALIASES = {"delegated": DELEGATED, "app": APP, "app_only": APP}

# Re-use an access token until this many seconds before its expiry (or half its lifetime if shorter).
EXPIRY_MARGIN_SECONDS = 300

# Hosts of Microsoft's clouds: MSAL validates these itself; anything else is "known to the developer".
_MICROSOFT_LOGIN_HOSTS = {
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "login.microsoftonline.us",
    "login-us.microsoftonline.com",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
}

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----.+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----",
    re.DOTALL,
)
_CERTIFICATE_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def normalise_mode(mode: str) -> str:
    try:
        return _MODE_ALIASES[mode]
    except KeyError:
        raise ValueError(f"unknown token mode {mode!r} (use 'delegated' or 'app')") from None


# --- the plain-http authority adapter ------------------------------------------------------------------


@dataclass
class _Response:
    """The response shape MSAL's http_client contract needs (status_code, text, headers)."""

    status_code: int
    text: str
    headers: dict

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"HTTP {self.status_code} from the identity platform")


class MsalHttpClient:
    """``http_client`` for MSAL over our shared session (pooling, transport adapters, timeouts).

    With ``plain_http_origin`` set (e.g. ``http://127.0.0.1:8000``), MSAL talks about the https spelling
    of that origin: outgoing ``https://origin`` URLs are sent to ``http://origin``, and ``http://origin``
    URLs inside responses (the discovery document's endpoints) are shown to MSAL as ``https://origin``.
    """

    def __init__(self, session: requests.Session, *, plain_http_origin: str | None = None) -> None:
        self._session = session
        self._http_origin = plain_http_origin
        self._https_origin = "https://" + plain_http_origin[len("http://") :] if plain_http_origin else None

    def _outgoing(self, url: str) -> str:
        if self._https_origin and (url == self._https_origin or url.startswith(self._https_origin + "/")):
            return self._http_origin + url[len(self._https_origin) :]
        return url

    def _incoming(self, response: requests.Response) -> _Response:
        text = response.text
        if self._http_origin and self._http_origin in text:
            text = text.replace(self._http_origin + "/", self._https_origin + "/")
        return _Response(response.status_code, text, dict(response.headers))

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> _Response:
        kwargs.setdefault("timeout", default_timeout())
        return self._incoming(
            self._session.get(self._outgoing(url), params=params, headers=headers, **kwargs)
        )

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> _Response:
        kwargs.setdefault("timeout", default_timeout())
        response = self._session.post(
            self._outgoing(url), params=params, data=data, headers=headers, **kwargs
        )
        return self._incoming(response)

    def close(self) -> None:
        """MSAL may close its client; the shared session outlives any one application."""


def msal_authority(login_url: str, tenant_id: str) -> tuple[str, str | None]:
    """(https authority for MSAL, plain-http origin to translate or None)."""
    base = login_url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AuthError(f"login URL {login_url!r} is not an http(s) URL", code="invalid_authority")
    authority = f"https://{parts.netloc}{parts.path}/{tenant_id}"
    plain_origin = f"http://{parts.netloc}" if parts.scheme == "http" else None
    return authority, plain_origin


# --- credentials -------------------------------------------------------------------------------------


def client_credential_for(connection: Any) -> str | dict:
    """The app's credential: client secret if set, otherwise certificate (private key + thumbprint)."""
    if connection.client_secret:
        return connection.client_secret
    if connection.certificate_pem:
        key = _PRIVATE_KEY_RE.search(connection.certificate_pem)
        if not key:
            raise AuthError("the stored certificate has no PEM private key", code="invalid_client_credential")
        credential: dict[str, str] = {"private_key": key.group(0)}
        certificate = _CERTIFICATE_RE.search(connection.certificate_pem)
        if certificate:
            credential["public_certificate"] = certificate.group(0)
        if connection.certificate_thumbprint:
            credential["thumbprint"] = connection.certificate_thumbprint.replace(":", "").upper()
        elif not certificate:
            raise AuthError(
                "a certificate thumbprint or the certificate itself is needed to sign in with a key",
                code="invalid_client_credential",
            )
        return credential
    raise AuthError("the connection has neither a client secret nor a certificate", code="invalid_client")


def _fingerprint(connection: Any, mode: str) -> str:
    """Changes whenever credentials or endpoints change, so a re-consent never reuses a stale app/cache.
    Only a hash is kept; the secrets themselves stay in the connection row."""
    material = "\x00".join(
        [
            mode,
            str(connection.client_id),
            connection.login_url,
            connection.client_secret or "",
            connection.certificate_pem or "",
            connection.certificate_thumbprint or "",
            connection.refresh_token if mode == DELEGATED else "",
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class _AppState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    app: msal.ConfidentialClientApplication | None = None
    # resource -> (access token, reuse-until epoch seconds)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)


class TokenProvider:
    """Hands out bearer tokens per (connection, tenant, resource, mode)."""

    def __init__(self, *, session: requests.Session | None = None, clock=time.time) -> None:
        self._session = session
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[tuple, _AppState] = {}

    # -- public ---------------------------------------------------------------------------------------

    def get_token(self, connection: Any, tenant_id: str, resource: str, mode: str = DELEGATED) -> str:
        mode = normalise_mode(mode)
        resource = resource.rstrip("/")
        state = self._state(connection, str(tenant_id), mode)
        token = self._cached(state, resource)
        if token:
            return token
        with state.lock:  # one refresh at a time per (connection, tenant, mode)
            token = self._cached(state, resource)
            if token:
                return token
            result = self._acquire(state, connection, str(tenant_id), resource, mode)
            expires_in = _as_seconds(result.get("expires_in"), default=600)
            margin = min(EXPIRY_MARGIN_SECONDS, expires_in / 2)
            state.access_tokens[resource] = (result["access_token"], self._clock() + expires_in - margin)
            logger.debug("token acquired for tenant %s resource %s (%s mode)", tenant_id, resource, mode)
            return result["access_token"]

    def invalidate(self, connection: Any, tenant_id: str, resource: str, mode: str = DELEGATED) -> None:
        """Forget a cached access token (the resource rejected it), keeping the MSAL app and its cache."""
        state = self._state(connection, str(tenant_id), normalise_mode(mode))
        with state.lock:
            state.access_tokens.pop(resource.rstrip("/"), None)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()

    # -- internals ------------------------------------------------------------------------------------

    def _state(self, connection: Any, tenant_id: str, mode: str) -> _AppState:
        key = (connection.pk, tenant_id.lower(), mode, _fingerprint(connection, mode))
        with self._lock:
            state = self._states.get(key)
            if state is None:
                # Drop states of older credentials of the same connection/tenant/mode.
                for old in [k for k in self._states if k[:3] == key[:3]]:
                    del self._states[old]
                state = self._states[key] = _AppState()
            return state

    def _cached(self, state: _AppState, resource: str) -> str | None:
        entry = state.access_tokens.get(resource)
        if entry and entry[1] > self._clock():
            return entry[0]
        return None

    def _build_app(self, connection: Any, tenant_id: str) -> msal.ConfidentialClientApplication:
        return build_msal_app(connection, tenant_id, session=self._session)

    def _acquire(self, state: _AppState, connection: Any, tenant_id: str, resource: str, mode: str) -> dict:
        scopes = [f"{resource}/.default"]
        if mode == DELEGATED and not connection.refresh_token:
            raise AuthError(
                "the connection has no partner refresh token; complete the consent first",
                code="no_refresh_token",
            )
        try:
            if state.app is None:
                state.app = self._build_app(connection, tenant_id)
            app = state.app
            if mode == APP:
                result = app.acquire_token_for_client(scopes=scopes)
            else:
                rotated = _newest_refresh_token(app)
                result = app.acquire_token_by_refresh_token(
                    rotated or connection.refresh_token, scopes=scopes
                )
                if rotated and result.get("error") == "invalid_grant":
                    # The rotated token was refused; the stored one may still be good (e.g. re-consent).
                    result = app.acquire_token_by_refresh_token(connection.refresh_token, scopes=scopes)
        except GraphError:
            raise
        except requests.RequestException as exc:
            raise TransientError(
                f"identity platform unreachable: {type(exc).__name__}", code="identityUnavailable"
            ) from None
        except MsalError as exc:
            raise TransientError(
                f"identity platform error: {type(exc).__name__}", code="identityUnavailable"
            ) from None
        except ValueError as exc:
            # MSAL raises ValueError for an unknown tenant/authority or an unusable credential. Its text
            # names the authority or the key format, never the secret itself.
            state.app = None
            raise AuthError(str(exc).split("\n", 1)[0], code="invalid_authority") from None
        if "access_token" not in result:
            raise token_error_from_result(result)
        return result


def _newest_refresh_token(app: msal.ConfidentialClientApplication) -> str | None:
    items = list(app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
    return items[-1].get("secret") if items else None


def _as_seconds(value: Any, *, default: int) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(default)


default_provider = TokenProvider()


def build_msal_app(connection: Any, tenant_id: str, *, session=None) -> msal.ConfidentialClientApplication:
    """msal's confidential client for one connection and tenant, with its own token cache.

    Also used for the interactive flows (partner admin consent, technician sign-in), so the credentials,
    the authority and the plain-http handling of a local sandbox live here only."""
    authority, plain_origin = msal_authority(connection.login_url, tenant_id)
    host = (urlsplit(authority).hostname or "").lower()
    options: dict[str, Any] = {}
    if host not in _MICROSOFT_LOGIN_HOSTS:
        options = {"instance_discovery": False, "validate_authority": False}
    return msal.ConfidentialClientApplication(
        str(connection.client_id),
        client_credential=client_credential_for(connection),
        authority=authority,
        token_cache=msal.SerializableTokenCache(),
        http_client=MsalHttpClient(session or shared_session(), plain_http_origin=plain_origin),
        **options,
    )
