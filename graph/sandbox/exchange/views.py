"""``POST /sandbox/exchange/adminapi/{beta|v1.0}/{tenant}/InvokeCommand`` (contract Part A).

Order of checks, as the service answers: bearer token for https://outlook.office365.com (401), token
tenant == URL tenant (403), the tenant's switches (latency/429/5xx), body shape (400), then the cmdlet.
Paging: ``Prefer: odata.maxpagesize=N`` sets the page size; while more rows remain the body carries
``@odata.nextLink`` (this URL plus ``$skiptoken``), to which clients POST the same body again.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import switches
from ..identity import find_tenant
from ..tokens import EXCHANGE_AUDIENCE, TokenError, verify_access_token
from . import (  # noqa: F401 - importing registers their cmdlets
    audit_search,  # noqa: F401
    autoreply,
    distribution_groups,  # noqa: F401
    errors,
    inbox_rule_writes,  # noqa: F401
    inbox_rules,  # noqa: F401
    mail_contacts,  # noqa: F401
    mailbox,
    mailbox_writes,  # noqa: F401
    message_trace,  # noqa: F401
    mobile_devices,  # noqa: F401
    outbound_spam,  # noqa: F401
)
from .cmdlets import invoke, page, select_properties
from .errors import CmdletError, exchange_error

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
# The challenge Exchange Online sends with a 401.
WWW_AUTHENTICATE = (
    'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
    'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
    'token_types="app_asserted_user_v1 service_asserted_app_v1", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token"'
)


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _page_size(request: HttpRequest) -> tuple[int, bool]:
    match = _MAXPAGESIZE.search(request.headers.get("Prefer", ""))
    if not match:
        return DEFAULT_PAGE_SIZE, False
    return max(1, min(MAX_PAGE_SIZE, int(match.group(1)))), True


def _parse_body(request: HttpRequest) -> tuple[str, dict]:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    command = body.get("CmdletInput") if isinstance(body, dict) else None
    name = command.get("CmdletName") if isinstance(command, dict) else None
    parameters = command.get("Parameters", {}) if isinstance(command, dict) else None
    if not isinstance(name, str) or not name.strip() or not isinstance(parameters, dict):
        raise CmdletError(
            400,
            errors.BAD_REQUEST,
            'The request body must be a JSON object {"CmdletInput": {"CmdletName": "<cmdlet>", '
            '"Parameters": {...}}}.',
        )
    return name.strip(), parameters


def _skiptoken(request: HttpRequest) -> int:
    raw = request.GET.get("$skiptoken", "0")
    if not raw.isdigit():
        raise CmdletError(400, errors.BAD_REQUEST, f"The $skiptoken '{raw}' is not valid.")
    return int(raw)


def _next_link(request: HttpRequest, offset: int) -> str:
    query = [(key, value) for key, value in request.GET.items() if key != "$skiptoken"]
    query.append(("$skiptoken", str(offset)))
    return request.build_absolute_uri(request.path) + "?" + urlencode(query, safe="$,")


@login_not_required
@csrf_exempt
def invoke_command(request: HttpRequest, version: str, tenant: str) -> HttpResponse:
    if request.method != "POST":
        response = exchange_error(405, "BadRequest", "InvokeCommand accepts POST only.")
        response["Allow"] = "POST"
        return response
    try:
        claims = verify_access_token(_bearer(request), audience=EXCHANGE_AUDIENCE)
    except TokenError as exc:
        return exchange_error(
            401, "Unauthorized", exc.message, headers={"WWW-Authenticate": WWW_AUTHENTICATE}
        )
    target = find_tenant(tenant)
    if target is None or str(target.pk) != claims.tenant_id:
        return exchange_error(
            403,
            "Forbidden",
            f"The access token's tenant '{claims.tenant_id}' is not the tenant '{tenant}' named in the URL.",
        )
    throttled = switches.apply_switches(request, target, flavour="exchange")
    if throttled is not None:
        return throttled
    try:
        name, parameters = _parse_body(request)
        offset = _skiptoken(request)
        command, output = invoke(target, name, parameters, request)
        size, size_requested = _page_size(request)
        items, more = page(output.rows, offset, size)
    except CmdletError as exc:
        return exc.response()
    selected = [part.strip() for part in request.GET.get("$select", "").split(",") if part.strip()]
    if selected:
        items = [select_properties(item, selected) for item in items]
    body: dict = {
        "@odata.context": request.build_absolute_uri(
            f"{request.path.rsplit('/', 1)[0]}/$metadata#Collection({command.output_type})"
        ),
    }
    if output.warnings and offset == 0:
        body["@adminapi.warnings"] = output.warnings
    body["value"] = items
    if more:
        body["@odata.nextLink"] = _next_link(request, offset + size)
    response = JsonResponse(body)
    if size_requested:
        response["Preference-Applied"] = f"odata.maxpagesize={size}"
    return response
