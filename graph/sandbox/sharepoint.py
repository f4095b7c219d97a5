"""The SharePoint admin site's CSOM endpoint and OneDrive provisioning of the sandbox.

``/sandbox/sharepoint/{name}-admin/_vti_bin/client.svc/ProcessQuery`` stands for
``https://{name}-admin.sharepoint.com/_vti_bin/client.svc/ProcessQuery``. It takes the XML request the CSOM
library writes and answers as SharePoint does: a JSON array whose first element carries ``ErrorInfo``
(null on success) followed by ``action id, result`` pairs, all in an HTTP 200. HTTP statuses are kept for
what happens before CSOM runs: 401 for a missing, expired or foreign token (with SharePoint's
``WWW-Authenticate`` and ``x-ms-diagnostics`` headers), 429/5xx from the tenant's switches.

Only ``Tenant.RequestPersonalSites`` is implemented. It queues one :class:`SandboxPersonalSiteRequest` per
licensed user without a OneDrive; :func:`complete_due_provisioning` turns a request whose ``ready_at`` has
passed into a SandboxDrive, and the Graph views that read drives call it first — so "provisioning
completes later" holds here too (``SandboxTenant.settings["onedrive_provisioning_seconds"]``, default 90).
As in SharePoint, app-only tokens are refused for this method (pnp/powershell#4329) and unknown or
unlicensed users are accepted silently and never get a drive.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import switches
from .models import SandboxDrive, SandboxPersonalSiteRequest, SandboxTenant, SandboxUser
from .tokens import TokenError, verify_access_token

TENANT_TYPE_ID = "{268004ae-ef6b-4e9b-8425-127220d84719}"
NS = "{http://schemas.microsoft.com/sharepoint/clientquery/2009}"
LIBRARY_VERSION = "16.0.25012.12003"
DEFAULT_PROVISIONING_SECONDS = 90
MAX_USERS = 200
ONE_TB = 1024**4
SHAREPOINT_APP_ID = "00000003-0000-0ff1-ce00-000000000000"


class CsomError(Exception):
    """Becomes the response's ``ErrorInfo`` (HTTP 200, as CSOM reports server-side exceptions)."""

    def __init__(self, type_name: str, code: int, message: str):
        super().__init__(message)
        self.type_name = type_name
        self.code = code
        self.message = message


def invalid_query(message: str) -> CsomError:
    return CsomError("Microsoft.SharePoint.Client.InvalidClientQueryException", -2146233088, message)


def _correlation() -> str:
    return str(uuid.uuid4())


def _csom_json(payload: list, trace: str) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), content_type="application/json; charset=utf-8")
    response["SPRequestGuid"] = trace
    response["request-id"] = trace
    response["MicrosoftSharePointTeamServices"] = LIBRARY_VERSION
    return response


def _header(trace: str, error: CsomError | None = None) -> dict:
    info = None
    if error is not None:
        info = {
            "ErrorMessage": error.message,
            "ErrorValue": None,
            "TraceCorrelationId": trace,
            "ErrorCode": error.code,
            "ErrorTypeName": error.type_name,
        }
    return {"SchemaVersion": "15.0.0.0", "LibraryVersion": LIBRARY_VERSION, "ErrorInfo": info,
            "TraceCorrelationId": trace}  # fmt: skip


def _unauthorized(tenant_id: str, reason: str, trace: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"error_description": reason}), status=401, content_type="application/json; charset=utf-8"
    )
    response["WWW-Authenticate"] = (
        f'Bearer realm="{tenant_id}",client_id="{SHAREPOINT_APP_ID}",'
        'trusted_issuers="00000001-0000-0000-c000-000000000000@*,https://sts.windows.net/*/",'
        'authorization_uri="https://login.windows.net/common/oauth2/authorize"'
    )
    response["x-ms-diagnostics"] = f'3000003;reason="{reason}";category="invalid_client"'
    response["SPRequestGuid"] = trace
    return response


def tenant_owns_name(tenant: SandboxTenant, name: str) -> bool:
    return tenant.domains.filter(name=f"{name}.onmicrosoft.com", is_initial=True).exists()


# --- provisioning ---------------------------------------------------------------------------------------


def provisioning_delay(tenant: SandboxTenant) -> timedelta:
    seconds = (tenant.settings or {}).get("onedrive_provisioning_seconds", DEFAULT_PROVISIONING_SECONDS)
    return timedelta(seconds=max(0, int(seconds)))


def has_sharepoint_licence(user: SandboxUser) -> bool:
    plans = user.properties.get("assignedPlans") or []
    return any(p.get("service") == "SharePoint" and p.get("capabilityStatus", "Enabled") == "Enabled"
               for p in plans)  # fmt: skip


def request_personal_sites(tenant: SandboxTenant, upns: list[str], *, requested_by: str = "") -> int:
    """Queue OneDrive creation; returns how many users were newly queued (others ignored silently)."""
    now = timezone.now()
    queued = 0
    for upn in upns:
        user = SandboxUser.objects.filter(
            tenant=tenant, upn_lower=upn.strip().lower(), deleted_datetime__isnull=True
        ).first()
        if user is None or user.user_type == "Guest" or not has_sharepoint_licence(user):
            continue
        if SandboxDrive.objects.filter(user=user).exists():
            continue
        pending = SandboxPersonalSiteRequest.objects.filter(user=user).first()
        if pending is not None and pending.completed_at is None:
            continue  # already queued: a repeated request changes nothing
        SandboxPersonalSiteRequest.objects.update_or_create(
            user=user,
            defaults={"requested_at": now, "ready_at": now + provisioning_delay(tenant),
                      "requested_by": requested_by, "completed_at": None},
        )  # fmt: skip
        queued += 1
    return queued


def _drive_for(user: SandboxUser, when) -> SandboxDrive:
    initial = user.tenant.domains.filter(is_initial=True).values_list("name", flat=True).first() or "tenant"
    personal = user.upn_lower.replace("@", "_").replace(".", "_")
    key = uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-onedrive:{user.pk}")
    return SandboxDrive.objects.create(
        id=f"b!{key.hex[:22]}{uuid.uuid5(key, 'site').hex[:20]}",
        user=user,
        created_datetime=when,
        quota_total=ONE_TB,
        web_url=f"https://{initial.split('.')[0]}-my.sharepoint.com/personal/{personal}/Documents",
    )


def complete_due_provisioning(*, user: SandboxUser | None = None, tenant: SandboxTenant | None = None,
                              now=None) -> int:  # fmt: skip
    """Create the OneDrives whose provisioning time has come (for one user or a tenant); returns the count."""
    now = now or timezone.now()
    due = SandboxPersonalSiteRequest.objects.filter(completed_at__isnull=True, ready_at__lte=now)
    if user is not None:
        due = due.filter(user=user)
    if tenant is not None:
        due = due.filter(user__tenant=tenant)
    done = 0
    for request in due.select_related("user", "user__tenant"):
        if not SandboxDrive.objects.filter(user=request.user).exists():
            _drive_for(request.user, request.ready_at)
            done += 1
        request.completed_at = now
        request.save(update_fields=["completed_at"])
    return done


# --- CSOM -----------------------------------------------------------------------------------------------


def _string_array(parameter: ET.Element) -> list[str]:
    if parameter.get("Type") != "Array":
        raise CsomError(
            "System.ArgumentException",
            -2147024809,
            "Specified argument was out of the range of valid values.\r\nParameter name: userIds",
        )
    values = []
    for obj in parameter:
        if obj.tag != f"{NS}Object" or obj.get("Type") != "String":
            raise invalid_query("The type of data at position 0 is different than the one expected.")
        values.append(obj.text or "")
    return values


def _run_request(root: ET.Element, tenant: SandboxTenant, claims) -> list:
    """Evaluate the request's object paths and actions; returns the ``id, result`` pairs."""
    if root.tag != f"{NS}Request":
        raise invalid_query("The request XML is not a CSOM Request.")
    declared = root.find(f"{NS}ObjectPaths")
    paths = {el.get("Id"): el for el in (list(declared) if declared is not None else [])}
    evaluated: dict[str, dict] = {}

    def evaluate(path_id: str) -> dict:
        if path_id in evaluated:
            return evaluated[path_id]
        element = paths.get(path_id)
        if element is None:
            raise invalid_query(f"The object path with id {path_id} is not defined.")
        if element.tag == f"{NS}Constructor":
            if (element.get("TypeId") or "").lower() != TENANT_TYPE_ID:
                raise CsomError(
                    "Microsoft.SharePoint.Client.InvalidClientQueryException", -1,
                    f"Cannot find stub for type with id {element.get('TypeId')}. "
                    "The specified server library may be unavailable.",
                )  # fmt: skip
            result = {"_ObjectType_": "Microsoft.Online.SharePoint.TenantAdministration.Tenant"}
        elif element.tag == f"{NS}Method":
            evaluate(element.get("ParentId") or "")
            result = _call_method(element, tenant, claims)
        else:
            raise invalid_query(f"Object path {element.tag.removeprefix(NS)} is not supported here.")
        evaluated[path_id] = result
        return result

    out: list = []
    actions = root.find(f"{NS}Actions")
    if actions is None:
        raise invalid_query("The request has no Actions.")
    for action in actions:
        action_id = int(action.get("Id") or 0)
        result = evaluate(action.get("ObjectPathId") or "")
        if action.tag == f"{NS}ObjectPath":
            out += [action_id, {"IsNull": False}]
        elif action.tag == f"{NS}Query":
            out += [action_id, result]
        else:
            raise invalid_query(f"Action {action.tag.removeprefix(NS)} is not supported here.")
    return out


def _call_method(element: ET.Element, tenant: SandboxTenant, claims) -> dict:
    name = element.get("Name")
    if name != "RequestPersonalSites":
        raise invalid_query(f'Method "{name}" does not exist.')
    if claims.is_app_only:
        raise CsomError("System.UnauthorizedAccessException", -2147024891,
                        "Attempted to perform an unauthorized operation.")  # fmt: skip
    parameters = element.find(f"{NS}Parameters")
    parameter = parameters[0] if parameters is not None and len(parameters) else None
    if parameter is None:
        raise invalid_query("Parameter count mismatch: RequestPersonalSites takes one parameter.")
    emails = _string_array(parameter)
    if not emails or len(emails) > MAX_USERS:
        raise CsomError(
            "System.ArgumentException", -2147024809,
            f"The number of users must be between 1 and {MAX_USERS}.\r\nParameter name: userIds",
        )  # fmt: skip
    request_personal_sites(tenant, emails, requested_by=claims.upn or "")
    return {
        "_ObjectType_": "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation",
        "_ObjectIdentity_": f"{uuid.uuid4()}|908bed80-a04a-4433-b4a0-883d9847d110:{tenant.pk}\nSpoOperation\nRequestPersonalSites",
        "HasTimedout": False,
        "IsComplete": True,
        "PollingInterval": 15000,
    }


@csrf_exempt
@login_not_required
def process_query(request: HttpRequest, site: str) -> HttpResponse:
    trace = _correlation()
    if not site.endswith("-admin"):
        return HttpResponse("Not found", status=404, content_type="text/plain")
    name = site.removesuffix("-admin")
    if request.method != "POST":
        response = HttpResponse("Method not allowed", status=405, content_type="text/plain")
        response["Allow"] = "POST"
        return response
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        claims = verify_access_token(token.strip() if scheme.lower() == "bearer" else "",
                                     audience=f"https://{site}.sharepoint.com")  # fmt: skip
        tenant = SandboxTenant.objects.get(pk=claims.tenant_id)
    except TokenError as exc:
        return _unauthorized(
            "", exc.message.replace("audience.", f"audience Uri 'https://{site}.sharepoint.com'."), trace
        )
    except (SandboxTenant.DoesNotExist, ValidationError, ValueError):
        return _unauthorized("", "The token's tenant does not exist.", trace)
    if not tenant_owns_name(tenant, name):
        return _unauthorized(str(tenant.pk), "There has been an error authenticating the request.", trace)
    throttled = switches.apply_switches(request, tenant)
    if throttled is not None:
        return throttled
    if "xml" not in (request.content_type or ""):
        return _csom_json(
            [_header(trace, invalid_query("The request content type must be text/xml."))], trace
        )
    try:
        # ElementTree never resolves external entities, and expat >= 2.4.1 caps entity amplification;
        # Django bounds the body size (DATA_UPLOAD_MAX_MEMORY_SIZE).
        root = ET.fromstring(request.body or b"")  # noqa: S314
    except ET.ParseError:
        return _csom_json([_header(trace, invalid_query("The request XML is not well formed."))], trace)
    try:
        results = _run_request(root, tenant, claims)
    except CsomError as error:
        return _csom_json([_header(trace, error)], trace)
    return _csom_json([_header(trace), *results], trace)


# Included under /sandbox/sharepoint/ (graph/sandbox/urls.py): {name}-admin stands for the admin host.
urlpatterns = [
    path("<str:site>/_vti_bin/client.svc/ProcessQuery", process_query, name="sharepoint-csom"),
]
