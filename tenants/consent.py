"""The partner admin's one-time sign-in (Secure Application Model): authorization code flow with PKCE.

``start_consent`` keeps msal's flow dict (state, nonce, PKCE verifier) in the server-side session and
returns the URL to send the browser to; ``finish_consent`` redeems the code the identity platform sends
back and stores the refresh token, encrypted, on the connection. The token never leaves this module in
clear: not in messages, logs or pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from django.urls import reverse
from django.utils import timezone

from graph import tokens as graph_tokens
from graph.errors import GraphError

from .models import PartnerConnection

logger = logging.getLogger(__name__)

SESSION_KEY = "tenants_consent"
# Delegated access to Graph; msal adds offline_access/openid/profile itself, which yields the refresh token.
CONSENT_SCOPES = ["https://graph.microsoft.com/.default"]


class ConsentError(Exception):
    """Why the sign-in did not produce a refresh token, in words for the technician (AADSTS code kept)."""


@dataclass
class ConsentResult:
    connection: PartnerConnection
    upn: str


def msal_app_for(connection: PartnerConnection):
    """msal's confidential client for the partner tenant, built by graph/ (which knows the credentials,
    the endpoints and the plain-http authority of a local sandbox), so no msal plumbing is duplicated here."""
    return graph_tokens.build_msal_app(connection, str(connection.partner_tenant_id))


def start_consent(request, connection: PartnerConnection) -> str:
    redirect_uri = request.build_absolute_uri(reverse("tenants:consent-callback"))
    flow = msal_app_for(connection).initiate_auth_code_flow(
        CONSENT_SCOPES, redirect_uri=redirect_uri, prompt="select_account"
    )
    # The endpoint is remembered: a token minted by one sign-in endpoint is never stored for another.
    request.session[SESSION_KEY] = {
        "connection": connection.pk,
        "flow": flow,
        "login_url": connection.login_url,
    }
    return flow["auth_uri"]


def finish_consent(request, params: dict) -> ConsentResult:
    pending = request.session.pop(SESSION_KEY, None)
    if not pending:
        raise ConsentError(
            "No partner sign-in is in progress in this session (it may have expired). Start again."
        )
    connection = PartnerConnection.objects.filter(pk=pending.get("connection")).first()
    if connection is None:
        raise ConsentError("The partner connection was deleted while signing in.")
    if "login_url" in pending and pending["login_url"] != connection.login_url:
        raise ConsentError("The connection's sign-in endpoint changed while signing in. Start again.")
    if params.get("error"):
        raise ConsentError(_reason(params.get("error"), params.get("error_description")))
    try:
        result = msal_app_for(connection).acquire_token_by_auth_code_flow(pending["flow"], params)
    except ValueError as exc:
        # msal raises ValueError for a state mismatch or a replayed callback: never redeem such a code.
        raise ConsentError(f"The sign-in response did not match the request ({exc}). Start again.") from exc
    except GraphError as exc:
        raise ConsentError(exc.message) from exc
    except requests.RequestException as exc:
        raise ConsentError(f"The identity platform could not be reached ({type(exc).__name__}).") from exc
    if "error" in result:
        raise ConsentError(_reason(result.get("error"), result.get("error_description")))
    refresh_token = result.get("refresh_token")
    if not refresh_token:
        raise ConsentError("The identity platform returned no refresh token (was offline access granted?).")
    claims = result.get("id_token_claims") or {}
    upn = claims.get("preferred_username") or claims.get("upn") or ""
    connection.refresh_token = refresh_token
    connection.refresh_token_obtained_at = timezone.now()
    connection.refresh_token_upn = upn[:255]
    connection.save(
        update_fields=["refresh_token", "refresh_token_obtained_at", "refresh_token_upn", "updated_at"]
    )
    logger.info("partner consent stored for connection %s by %s", connection.pk, upn or "(unknown account)")
    return ConsentResult(connection=connection, upn=upn)


def _reason(error, description) -> str:
    # The description's first line holds the AADSTS code and its meaning; the rest is trace/correlation ids.
    first_line = (description or "").strip().splitlines()[0] if description else ""
    return f"{error}: {first_line}" if first_line else str(error)
