"""The bearer-token gate in front of every Graph view.

``graph_endpoint`` verifies ``Authorization: Bearer <jwt>`` for the Graph audience, resolves the token's
``tid`` to a SandboxTenant, runs the tenant's switches (latency, throttling, faults), dispatches on the HTTP
method and turns a raised :class:`GraphProblem` into Graph's error body. Every response leaves with Graph's
correlation headers. Views read ``request.graph_tenant``, ``request.graph_claims`` and
``request.graph_version``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import switches
from .errors import GraphProblem, graph_error, problem_response, stamp_correlation
from .models import SandboxTenant
from .tokens import GRAPH_AUDIENCE, TokenError, verify_access_token

# What Graph sends with a 401, so clients that read the challenge find the authority.
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


def _unauthorized(request: HttpRequest, message: str) -> HttpResponse:
    return graph_error(
        401,
        "InvalidAuthenticationToken",
        message,
        request=request,
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def _bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def authenticate(request: HttpRequest) -> HttpResponse | None:
    """Attach claims and tenant to the request, or return the 401 Graph would send."""
    try:
        claims = verify_access_token(_bearer_token(request), audience=GRAPH_AUDIENCE)
    except TokenError as exc:
        return _unauthorized(request, exc.message)
    try:
        tenant = SandboxTenant.objects.get(pk=claims.tenant_id)
    except (SandboxTenant.DoesNotExist, ValidationError, ValueError):
        return _unauthorized(request, "Access token validation failure. The token's tenant does not exist.")
    request.graph_claims = claims
    request.graph_tenant = tenant
    return None


def method_not_allowed(request: HttpRequest) -> HttpResponse:
    return graph_error(
        405,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request uri.",
        request=request,
    )


def graph_endpoint(methods: tuple[str, ...] = ("GET",), *, switches_enabled: bool = True) -> Callable:
    """Decorate a Graph view ``view(request, **kwargs)``; ``version`` comes from the URL pattern."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, version: str = "v1.0", **kwargs) -> HttpResponse:
            request.graph_version = version
            response = authenticate(request)
            if response is None and switches_enabled:
                in_batch = bool(request.META.get(switches.BATCH_ITEM_KEY))
                response = switches.apply_switches(request, request.graph_tenant, latency=not in_batch)
            if response is None:
                if request.method not in methods:
                    response = method_not_allowed(request)
                else:
                    try:
                        response = view(request, *args, **kwargs)
                    except GraphProblem as problem:
                        response = problem_response(problem, request)
            return stamp_correlation(response, request)

        return csrf_exempt(login_not_required(wrapper))

    return decorate
