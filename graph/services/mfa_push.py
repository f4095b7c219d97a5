"""Send an MFA push through the legacy Azure MFA connector ("StrongAuthenticationService").

Flow (cipp-api-actions.md §11, with its weak points fixed):
1. find the tenant's "Azure Multi-Factor Auth Client" service principal (appId 981f26a1-...) with a
   ``$filter`` on appId (not a listing of every service principal), creating it when the tenant lacks it;
2. add a short-lived password credential to it (``addPassword``);
3. redeem that secret at the identity platform's **v1** token endpoint for the connector resource,
   retrying briefly while the new secret propagates;
4. ``BeginTwoWayAuthentication`` (XML), which blocks until the user answers or the push times out;
5. ``removePassword`` in a ``finally``: the credential never outlives the call, even on failure.

The connector is undocumented by Microsoft; the request and response elements follow the reference study,
and the result values (Success / PhoneAppDenied / PhoneAppNoResponse) are assumptions. The secret and the
connector token are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import requests

from graph import http
from graph.client import GraphClient
from graph.errors import AuthError, GraphError, TransientError, token_error_from_result

logger = logging.getLogger(__name__)

MFA_CLIENT_APP_ID = "981f26a1-7f43-403b-a875-f8b09b8cd720"
CONNECTOR_RESOURCE = "https://adnotifications.windowsazure.com/StrongAuthenticationService.svc/Connector"
# Graph host of a Microsoft cloud → that cloud's connector.
CONNECTORS = {
    "graph.microsoft.com": CONNECTOR_RESOURCE,
    "graph.microsoft.us": "https://adnotifications.windowsazure.us/StrongAuthenticationService.svc/Connector",
    "dod-graph.microsoft.us": "https://adnotifications.windowsazure.us/StrongAuthenticationService.svc/Connector",
}
CREDENTIAL_NAME = "cippusers MFA push (temporary)"
CONTEXT_ID = "69ff05bf-eb61-47f7-a70e-e7d77b6d47d0"  # fixed, as the reference sends
TOKEN_ATTEMPTS = 10  # a new secret takes a few seconds to work
PUSH_READ_TIMEOUT = 120.0  # the connector holds the request open until the user answers

APPROVED, DENIED, TIMED_OUT, FAILED = "approved", "denied", "timed_out", "failed"
_DENIED_VALUES = {"phoneappdenied", "phoneappfraud", "userdenied", "fraud"}
_TIMEOUT_VALUES = {"phoneappnoresponse", "noresponse", "timeout", "authenticationtimedout"}


@dataclass
class PushResult:
    outcome: str  # approved / denied / timed_out / failed
    value: str  # the connector's Result/Value
    message: str
    request_ids: list[str] = field(default_factory=list)
    cleanup_error: str | None = None  # the temporary credential could not be removed


def connector_base(connection) -> str:
    """The connector's URL for a connection: by Microsoft cloud, from the Graph host. A connection whose
    Graph is not a Microsoft cloud (the sandbox) serves the connector beside its Graph root:
    ``.../graph`` → ``.../mfa/StrongAuthenticationService.svc/Connector``."""
    parts = urlsplit(connection.graph_url.rstrip("/"))
    host = (parts.hostname or "").lower()
    if host in CONNECTORS:
        return CONNECTORS[host]
    if parts.path.endswith("/graph"):
        root = parts.path[: -len("/graph")]
        return f"{parts.scheme}://{parts.netloc}{root}/mfa/StrongAuthenticationService.svc/Connector"
    raise GraphError(f"no MFA connector is known for Graph host {host!r}", code="connectorUnknown")


# --- step 1 and 2: the service principal and its temporary credential ------------------------------------


def find_or_create_mfa_service_principal(client: GraphClient) -> str:
    body = client.get(
        "/servicePrincipals",
        params={"$filter": f"appId eq '{MFA_CLIENT_APP_ID}'", "$select": "id,appId,displayName"},
    )
    found = body.get("value") or []
    if found:
        return str(found[0]["id"])
    created = client.post("/servicePrincipals", {"appId": MFA_CLIENT_APP_ID})
    return str(created["id"])


def add_temporary_secret(client: GraphClient, sp_id: str, *, now: datetime | None = None) -> tuple[str, str]:
    """(keyId, secretText) of a credential valid from 5 minutes ago (clock skew) to 10 minutes ahead."""
    now = now or datetime.now(UTC)
    body = client.post(
        f"/servicePrincipals/{sp_id}/addPassword",
        {
            "passwordCredential": {
                "displayName": CREDENTIAL_NAME,
                "startDateTime": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endDateTime": (now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        },
    )
    key_id, secret = body.get("keyId"), body.get("secretText")
    if not key_id or not secret:
        raise GraphError("addPassword returned no keyId/secretText", code="invalidResponse")
    return str(key_id), str(secret)


def remove_secret(client: GraphClient, sp_id: str, key_id: str) -> None:
    client.post(f"/servicePrincipals/{sp_id}/removePassword", {"keyId": key_id})


# --- step 3: connector token -----------------------------------------------------------------------------


def connector_token(
    connection, tenant_id: str, secret: str, *, session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep, attempts: int = TOKEN_ATTEMPTS,
) -> str:  # fmt: skip
    session = session or http.shared_session()
    url = f"{connection.login_url.rstrip('/')}/{tenant_id}/oauth2/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": MFA_CLIENT_APP_ID,
        "client_secret": secret,
        "resource": CONNECTOR_RESOURCE,
    }
    for attempt in range(1, attempts + 1):
        try:
            response = session.post(url, data=form, timeout=http.default_timeout())
        except requests.RequestException as exc:
            raise TransientError(f"{type(exc).__name__} talking to the identity platform") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("access_token"):
            return str(body["access_token"])
        error = token_error_from_result(body if isinstance(body, dict) else {}, status=response.status_code)
        # AADSTS7000215 (invalid secret) right after addPassword means "not propagated yet".
        propagating = isinstance(error, AuthError) and getattr(error, "aadsts", None) == "AADSTS7000215"
        if not propagating or attempt == attempts:
            raise error
        sleep(1.0)
    raise AuthError("no connector token", code="invalid_client")  # pragma: no cover - loop always returns


# --- step 4: the push ------------------------------------------------------------------------------------


def push_request_xml(upn: str) -> str:
    return (
        "<BeginTwoWayAuthenticationRequest>"
        "<Version>1.0</Version>"
        f"<UserPrincipalName>{escape(upn)}</UserPrincipalName>"
        "<Lcid>en-us</Lcid>"
        '<AuthenticationMethodProperties xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">'
        "<a:KeyValueOfstringstring><a:Key>OverrideVoiceOtp</a:Key><a:Value>false</a:Value></a:KeyValueOfstringstring>"
        "</AuthenticationMethodProperties>"
        f"<ContextId>{CONTEXT_ID}</ContextId>"
        "<SyncCall>true</SyncCall>"
        "<RequireUserMatch>true</RequireUserMatch>"
        "<CallerName>radius</CallerName>"
        "<CallerIP>UNKNOWN:</CallerIP>"
        "</BeginTwoWayAuthenticationRequest>"
    )


def parse_push_response(text: str) -> PushResult:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise GraphError(
            "the MFA connector answered with a document type declaration", code="invalidResponse"
        )
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - DOCTYPE/ENTITY refused above; expat resolves no external entities
    except ElementTree.ParseError:
        raise GraphError("the MFA connector's answer is not XML", code="invalidResponse") from None
    value = (root.findtext("Result/Value") or "").strip()
    message = (root.findtext("Result/Message") or "").strip()
    authenticated = (root.findtext("AuthenticationResult") or "").strip().lower() == "true"
    lowered = value.lower()
    if authenticated:
        return PushResult(APPROVED, value or "Success", message or "The user approved the sign-in request.")
    if lowered in _DENIED_VALUES:
        return PushResult(DENIED, value, message or "The user denied the sign-in request.")
    if lowered in _TIMEOUT_VALUES:
        return PushResult(TIMED_OUT, value, message or "The user did not answer in time.")
    return PushResult(FAILED, value or "Unknown", message or "The MFA connector did not confirm the request.")


def begin_two_way_authentication(
    connection, token: str, upn: str, *, session: requests.Session | None = None
) -> PushResult:
    session = session or http.shared_session()
    url = f"{connector_base(connection)}/BeginTwoWayAuthentication"
    try:
        response = session.post(
            url,
            data=push_request_xml(upn).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
            timeout=(http.default_timeout(), PUSH_READ_TIMEOUT),
        )
    except requests.Timeout:
        return PushResult(TIMED_OUT, "Timeout", "No answer from the MFA connector before the time limit.")
    except requests.RequestException as exc:
        raise TransientError(f"{type(exc).__name__} talking to the MFA connector") from None
    if response.status_code >= 400:
        cls = AuthError if response.status_code in (401, 403) else GraphError
        raise cls(f"the MFA connector answered HTTP {response.status_code}", status=response.status_code,
                  code="connectorError")  # fmt: skip
    return parse_push_response(response.text)


# --- the whole flow ----------------------------------------------------------------------------------------


def send_mfa_push(
    client: GraphClient, upn: str, *, sleep: Callable[[float], None] = time.sleep
) -> PushResult:
    """Run steps 1-5 for one user; the temporary credential is removed whatever happens in between."""
    sp_id = find_or_create_mfa_service_principal(client)
    key_id, secret = add_temporary_secret(client, sp_id)
    result: PushResult | None = None
    try:
        token = connector_token(client.connection, client.tenant_id, secret, sleep=sleep)
        del secret
        result = begin_two_way_authentication(client.connection, token, upn)
    finally:
        cleanup_error = None
        try:
            remove_secret(client, sp_id, key_id)
        except GraphError as exc:
            cleanup_error = f"the temporary credential {key_id} could not be removed ({exc}); it expires by itself within 10 minutes"
            logger.warning("MFA push: %s", cleanup_error)
        if result is not None:
            result.cleanup_error = cleanup_error
    return result
