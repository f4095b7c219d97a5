"""Technician sign-in with Microsoft Entra ID: OpenID Connect authorization code flow with PKCE (msal).

``entra_login`` starts the flow (msal generates state, nonce and the PKCE verifier; the flow dict is
kept in the server-side session) and sends the browser to the identity platform; ``entra_callback``
lets msal check state and nonce and redeem the code, then maps the signed-in account to a technician:

1. the id token's ``tid`` must be the configured tenant (``TECH_SSO_TENANT_ID``): no guest from another
   organisation signs in, even if the app registration is multi-tenant;
2. a TechnicianProfile with that ``oid`` as ``entra_object_id``, else a user whose username or email is
   the token's ``preferred_username`` (case-insensitive; exactly one, and only when it is not linked to a
   different Entra object). A username/email match is then linked to the ``oid`` for next time;
   Linking is written to the audit log (``technician.sign_in_link``): it decides who a Microsoft account
   signs in as from then on;
3. nobody is created: an unknown account gets a "not registered, ask an Admin" page. An inactive account
   is refused the same way the password login refuses it.

msal only accepts an https authority; a plain-http authority (the embedded sandbox) goes through
``graph.tokens``' plain-http adapter, the same one the Graph token provider uses.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from msal.exceptions import MsalError

from graph.http import shared_session
from graph.tokens import MsalHttpClient, msal_authority
from users.audit import client_ip, record

from .models import TechnicianProfile
from .ui import is_safe_next

logger = logging.getLogger(__name__)

SESSION_KEY = "tech_sso_flow"
SCOPES: list[str] = []  # msal adds openid, profile and offline_access: the id token is all we need
BACKEND = "django.contrib.auth.backends.ModelBackend"
_MICROSOFT_HOSTS = {"login.microsoftonline.com", "login.microsoft.com", "login.microsoftonline.us",
                    "login.chinacloudapi.cn", "login.partner.microsoftonline.cn"}  # fmt: skip


class SignInRefused(Exception):
    """Why an Entra sign-in did not log anybody in, in words for the person at the browser."""

    def __init__(self, message: str, *, title: str = "Sign-in failed", status: int = 403):
        super().__init__(message)
        self.title = title
        self.status = status


def sso_context(request) -> dict:
    """Context processor: the login page shows "Sign in with Microsoft" only when this is on."""
    return {"tech_sso_enabled": bool(getattr(settings, "TECH_SSO_ENABLED", False))}


def build_app() -> msal.ClientApplication:
    """A confidential client with the configured secret, else a public client (PKCE alone)."""
    authority, plain_origin = msal_authority(settings.TECH_SSO_AUTHORITY_URL, settings.TECH_SSO_TENANT_ID)
    options = {}
    if (urlsplit(authority).hostname or "").lower() not in _MICROSOFT_HOSTS:
        options = {"instance_discovery": False, "validate_authority": False}
    http_client = MsalHttpClient(shared_session(), plain_http_origin=plain_origin)
    if settings.TECH_SSO_CLIENT_SECRET:
        return msal.ConfidentialClientApplication(
            settings.TECH_SSO_CLIENT_ID, client_credential=settings.TECH_SSO_CLIENT_SECRET,
            authority=authority, http_client=http_client, token_cache=msal.TokenCache(), **options,
        )  # fmt: skip
    return msal.PublicClientApplication(
        settings.TECH_SSO_CLIENT_ID, authority=authority, http_client=http_client,
        token_cache=msal.TokenCache(), **options,
    )  # fmt: skip


def _require_enabled() -> None:
    if not getattr(settings, "TECH_SSO_ENABLED", False):
        raise Http404("Sign-in with Microsoft is not enabled.")


def _safe_next(request, candidate: str) -> str:
    return candidate if is_safe_next(request, candidate) else resolve_url(settings.LOGIN_REDIRECT_URL)


def _refused(request, exc: SignInRefused):
    return render(request, "registration/oidc_error.html", {"title": exc.title, "message": str(exc)},
                  status=exc.status)  # fmt: skip


@login_not_required
@never_cache
@require_GET
def entra_login(request):
    _require_enabled()
    redirect_uri = request.build_absolute_uri(reverse("oidc-callback"))
    try:
        with warnings.catch_warnings():
            # msal recommends form_post; the callback is a plain GET (query) so the session cookie, which is
            # SameSite=Lax, travels with it. State, nonce and PKCE protect the exchange either way.
            warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
            flow = build_app().initiate_auth_code_flow(
                SCOPES, redirect_uri=redirect_uri, prompt="select_account", response_mode="query"
            )
    except (ValueError, MsalError, requests.RequestException) as exc:
        logger.warning("Entra sign-in could not start: %s", type(exc).__name__)
        refused = SignInRefused("The Microsoft sign-in service could not be reached. Try again, or sign in "
                                "with your local account.", status=503)  # fmt: skip
        return _refused(request, refused)
    request.session[SESSION_KEY] = {"flow": flow, "next": _safe_next(request, request.GET.get("next", ""))}
    return HttpResponseRedirect(flow["auth_uri"])


# Not rate-limited like the password form (tenants/login_throttle.py): Microsoft checks the password and
# applies its own lockout; this only redeems a one-time code bound to the session's state and PKCE verifier.
@login_not_required
@never_cache
@require_GET
def entra_callback(request):
    _require_enabled()
    try:
        user, next_url = _finish(request)
    except SignInRefused as exc:
        return _refused(request, exc)
    login(request, user, backend=BACKEND)
    return HttpResponseRedirect(next_url)


def _finish(request):
    pending = request.session.pop(SESSION_KEY, None)
    if not pending or "flow" not in pending:
        raise SignInRefused("No Microsoft sign-in is in progress in this browser session (it may have expired). "
                            "Start again from the sign-in page.", status=400)  # fmt: skip
    params = request.GET.dict()
    if params.get("error"):
        first_line = (params.get("error_description") or "").strip().splitlines()[:1]
        raise SignInRefused(f"Microsoft refused the sign-in: {params['error']}"
                            + (f" — {first_line[0]}" if first_line else ""), status=400)  # fmt: skip
    try:
        result = build_app().acquire_token_by_auth_code_flow(pending["flow"], params)
    except ValueError as exc:
        # State mismatch or a replayed callback: never redeem such a code.
        raise SignInRefused(f"The sign-in response did not match the request ({exc}). Start again.",
                            status=400) from None  # fmt: skip
    except (MsalError, requests.RequestException) as exc:
        logger.warning("Entra sign-in could not finish: %s", type(exc).__name__)
        raise SignInRefused(
            "The Microsoft sign-in service could not be reached. Try again.", status=503
        ) from None
    if "error" in result:
        description = (result.get("error_description") or "").strip().splitlines()[:1]
        raise SignInRefused(f"Microsoft refused the sign-in: {result['error']}"
                            + (f" — {description[0]}" if description else ""), status=400)  # fmt: skip
    user = match_technician(result.get("id_token_claims") or {}, request=request)
    return user, _safe_next(request, pending.get("next", ""))


def match_technician(claims: dict, *, request=None):
    """The registered, active technician the id token's claims belong to, or SignInRefused."""
    tid, oid = str(claims.get("tid") or "").lower(), claims.get("oid")
    upn = str(claims.get("preferred_username") or claims.get("email") or "").strip()
    if tid != str(settings.TECH_SSO_TENANT_ID).lower():
        raise SignInRefused("This Microsoft account belongs to another organisation. Sign in with your account "
                            "in the MSP's own tenant.", title="Wrong organisation")  # fmt: skip
    try:
        object_id = uuid.UUID(str(oid))
    except ValueError:
        raise SignInRefused("The sign-in response carried no account identifier.", status=400) from None
    profile = TechnicianProfile.objects.select_related("user").filter(entra_object_id=object_id).first()
    user = profile.user if profile else _match_by_name(upn, object_id, request)
    if user is None:
        logger.info("Entra sign-in by an unregistered account (%s)", upn or object_id)
        raise SignInRefused(
            f"{upn or 'This account'} is not registered as a technician. Ask an Admin to add you (with your "
            "Microsoft sign-in name as username or email), then sign in again.",
            title="Not registered",
        )
    if not user.is_active:
        raise SignInRefused(
            "This technician account is deactivated. Ask an Admin.", title="Account deactivated"
        )
    return user


def _match_by_name(upn: str, object_id: uuid.UUID, request=None):
    if not upn:
        return None
    model = get_user_model()
    candidates = list(model.objects.filter(Q(username__iexact=upn) | Q(email__iexact=upn))[:2])
    if len(candidates) != 1:
        return None  # none, or ambiguous: an Admin must link the account explicitly
    user = candidates[0]
    profile = TechnicianProfile.objects.filter(user=user).first()
    if profile is not None and profile.entra_object_id and profile.entra_object_id != object_id:
        return None  # linked to a different Entra account: a same-named newcomer must not take it over
    if profile is not None and not profile.entra_object_id:
        with transaction.atomic():
            profile.entra_object_id = object_id
            profile.save(update_fields=["entra_object_id"])
            record(user, tenant=None, target=(None, user.get_username()), action="technician.sign_in_link",
                   parameters={"entra_object_id": str(object_id), "matched_by": upn[:255]}, result="success",
                   message="Microsoft account linked to this technician by its sign-in name.",
                   source_ip=client_ip(request) if request is not None else None)  # fmt: skip
    return user
