"""SharePoint Online admin through CSOM: OneDrive pre-provisioning (``Tenant.RequestPersonalSites``).

Graph has no operation that provisions a OneDrive (graph-contract ``not_in_graph.onedrive_provisioning``).
SharePoint Online PowerShell's ``Request-SPOPersonalSite`` and the reference product both post a CSOM
request to the tenant's admin site, ``https://{name}-admin.sharepoint.com/_vti_bin/client.svc/ProcessQuery``,
with a delegated token whose audience is that admin host. This module builds that request exactly as the
.NET CSOM library serialises it (XML body, ``Content-Type: text/xml``), with every user name XML-escaped
(the reference interpolates them raw), and reads the JSON array CSOM answers with.

CSOM reports failures inside an HTTP 200 answer: the first element's ``ErrorInfo`` is then set
(``ErrorMessage``, ``ErrorTypeName``, ``ErrorCode``). Transport failures (401 on a token SharePoint refuses,
429/503 throttling with ``Retry-After``) come as HTTP statuses. Both become ``graph.errors`` exceptions.

The admin host is per tenant: ``Tenant.sharepoint_admin_host`` caches it once found, from Graph's
``GET /sites/root`` (``siteCollection.hostname``, authoritative even after a tenant rename) or, failing
that, from the tenant's initial ``<name>.onmicrosoft.com`` domain. The URL actually called comes from
``PartnerConnection.sharepoint_url_template`` so the sandbox can serve every tenant's admin site under
one host; the token's resource is always Microsoft's ``https://{name}-admin.sharepoint.com``.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

import requests
from django.conf import settings

from graph import http
from graph.client import GraphClient, RecordedWrite
from graph.errors import (
    AuthError,
    BadRequestError,
    GraphError,
    NotFoundError,
    ThrottledError,
    TransientError,
    class_for_status,
    parse_retry_after,
)
from graph.tokens import TokenProvider, default_provider

logger = logging.getLogger(__name__)

# Microsoft.Online.SharePoint.TenantAdministration.Tenant, as the CSOM stubs name it on the wire.
TENANT_TYPE_ID = "{268004ae-ef6b-4e9b-8425-127220d84719}"
CSOM_NAMESPACE = "http://schemas.microsoft.com/sharepoint/clientquery/2009"
PROCESS_QUERY_PATH = "/_vti_bin/client.svc/ProcessQuery"
# Request-SPOPersonalSite: "You can specify up to 200 users."
MAX_USERS_PER_REQUEST = 200
# Microsoft asks SharePoint callers to decorate their traffic (NONISV|Company|App/Version) so throttling
# treats them as a known application rather than an anonymous script.
USER_AGENT = "NONISV|cippusers|cippusers/1.0"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_RETRY_STATUSES = frozenset({429, 503})  # SharePoint throttling: the request was not processed


class SharePointNameError(GraphError):
    default_code = "sharePointNameUnknown"


def admin_host_for(name: str) -> str:
    return f"{name}-admin.sharepoint.com"


def sharepoint_name_from_host(host: str) -> str:
    """``northwindtraders`` from ``northwindtraders.sharepoint.com``, ``…-admin.…`` or ``…-my.…``."""
    label = host.strip().lower().split(".", 1)[0]
    for suffix in ("-admin", "-my"):
        if label.endswith(suffix):
            return label[: -len(suffix)]
    return label


def _valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name or ""))


def resolve_admin_host(tenant: Any, graph: GraphClient | None = None) -> str:
    """The tenant's SharePoint admin host (``name-admin.sharepoint.com``), found once and kept on the
    Tenant row. Raises SharePointNameError when neither Graph nor the initial domain tells it."""
    if tenant.sharepoint_admin_host:
        return tenant.sharepoint_admin_host
    name = ""
    if graph is not None:
        try:
            root = graph.get("/sites/root", params={"$select": "id,siteCollection,webUrl"})
        except (NotFoundError, AuthError, BadRequestError) as exc:
            logger.info(
                "GET /sites/root failed for tenant %s (%s); using the initial domain", tenant.pk, exc.code
            )
        else:
            host = (root.get("siteCollection") or {}).get("hostname") or str(root.get("id") or "").split(",")[
                0
            ]
            name = sharepoint_name_from_host(host) if host.endswith(".sharepoint.com") else ""
    initial = (getattr(tenant, "initial_domain", "") or "").lower()
    if not name and initial.endswith(".onmicrosoft.com"):
        name = initial.split(".", 1)[0]
    if not _valid_name(name):
        raise SharePointNameError(
            "could not find this tenant's SharePoint name (no /sites/root answer and no initial "
            ".onmicrosoft.com domain known); run a directory sync or check the SharePoint licence"
        )
    tenant.sharepoint_admin_host = admin_host_for(name)
    if getattr(tenant, "pk", None):
        type(tenant).objects.filter(pk=tenant.pk).update(sharepoint_admin_host=tenant.sharepoint_admin_host)
    return tenant.sharepoint_admin_host


def request_personal_sites_xml(user_principal_names: Iterable[str]) -> str:
    """The CSOM request body for ``Tenant.RequestPersonalSites(string[] emails)``, byte for byte as the
    .NET CSOM library writes it (ids 3..7 as it allocates them), with the names XML-escaped."""
    objects = "".join(f'<Object Type="String">{escape(upn)}</Object>' for upn in user_principal_names)
    return (
        f'<Request xmlns="{CSOM_NAMESPACE}" AddExpandoFieldTypeSuffix="true" SchemaVersion="15.0.0.0" '
        'LibraryVersion="16.0.0.0" ApplicationName=".NET Library">'
        "<Actions>"
        '<ObjectPath Id="4" ObjectPathId="3" />'
        '<ObjectPath Id="6" ObjectPathId="5" />'
        '<Query Id="7" ObjectPathId="5"><Query SelectAllProperties="true"><Properties /></Query></Query>'
        "</Actions>"
        "<ObjectPaths>"
        f'<Constructor Id="3" TypeId="{TENANT_TYPE_ID}" />'
        '<Method Id="5" ParentId="3" Name="RequestPersonalSites">'
        f'<Parameters><Parameter Type="Array">{objects}</Parameter></Parameters>'
        "</Method>"
        "</ObjectPaths>"
        "</Request>"
    )


def csom_error(info: dict, *, request_id: str | None = None) -> GraphError:
    """A GraphError for CSOM's ``ErrorInfo`` (the service's .NET exception type becomes the code)."""
    type_name = str(info.get("ErrorTypeName") or "")
    message = str(info.get("ErrorMessage") or type_name or "SharePoint refused the request")
    if "UnauthorizedAccess" in type_name:
        cls: type[GraphError] = AuthError
        status = 403
    elif "Argument" in type_name or "InvalidClientQuery" in type_name:
        cls, status = BadRequestError, 400
    elif "NotFound" in type_name:
        cls, status = NotFoundError, 404
    else:
        cls, status = GraphError, None
    return cls(
        message,
        status=status,
        code=type_name.rsplit(".", 1)[-1] or "csomError",
        request_id=info.get("TraceCorrelationId") or request_id,
        exception_type=type_name or None,
    )


def parse_csom_response(payload: Any, *, request_id: str | None = None) -> dict[int, Any]:
    """``{action id: result}`` from CSOM's ``[header, id, result, id, result, …]``; raises on ErrorInfo."""
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], dict):
        raise GraphError("SharePoint answered ProcessQuery with an unexpected body", code="invalidResponse")
    header = payload[0]
    if header.get("ErrorInfo"):
        raise csom_error(header["ErrorInfo"], request_id=header.get("TraceCorrelationId") or request_id)
    rest = payload[1:]
    return {int(rest[i]): rest[i + 1] for i in range(0, len(rest) - 1, 2) if isinstance(rest[i], int)}


def _http_error(response: requests.Response) -> GraphError:
    """SharePoint's own HTTP failures: 401 with ``x-ms-diagnostics``, throttling, server errors."""
    message = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = str((error.get("message") or {}).get("value") or error.get("code") or "")
        message = message or str(body.get("error_description") or "")
    if not message:
        diagnostics = response.headers.get("x-ms-diagnostics", "")
        found = re.search(r'reason="([^"]*)"', diagnostics)
        message = found.group(1) if found else (response.text or "").strip()[:200]
    cls = class_for_status(response.status_code)
    return cls(
        message or f"SharePoint answered {response.status_code}",
        status=response.status_code,
        code="sharePointHttpError",
        request_id=response.headers.get("SPRequestGuid") or response.headers.get("request-id"),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


class SharePointAdminClient:
    """CSOM calls to one tenant's SharePoint admin site, with a delegated token for that site."""

    def __init__(
        self,
        connection: Any,
        tenant_id: str,
        admin_host: str,
        *,
        mode: str = "delegated",
        dry_run: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token_provider: TokenProvider | None = None,
        session: requests.Session | None = None,
    ) -> None:
        name = sharepoint_name_from_host(admin_host)
        if not _valid_name(name):
            raise SharePointNameError(f"{admin_host!r} is not a SharePoint admin host")
        self.connection = connection
        self.tenant_id = str(tenant_id)
        self.name = name
        # Tenant.RequestPersonalSites refuses app-only tokens ("Attempted to perform an unauthorized
        # operation", pnp/powershell#4329), so delegated (GDAP SharePoint Administrator) is the default.
        self.mode = mode
        self.dry_run = settings.GRAPH_DRY_RUN if dry_run is None else dry_run
        self.recorded_writes: list[RecordedWrite] = []
        self.sleep = sleep
        self.tokens = token_provider or default_provider
        self.session = session or http.shared_session()

    @classmethod
    def for_tenant(
        cls, tenant: Any, graph: GraphClient | None = None, **kwargs: Any
    ) -> SharePointAdminClient:
        return cls(tenant.connection, str(tenant.tenant_id), resolve_admin_host(tenant, graph), **kwargs)

    @property
    def resource(self) -> str:
        return f"https://{admin_host_for(self.name)}"

    @property
    def endpoint(self) -> str:
        template = (
            getattr(self.connection, "sharepoint_url_template", "") or "https://{name}-admin.sharepoint.com"
        )
        return template.format(name=self.name).rstrip("/") + PROCESS_QUERY_PATH

    # --- operations -----------------------------------------------------------------------------------

    def request_personal_sites(self, user_principal_names: list[str]) -> dict:
        """Queue OneDrive creation for up to 200 users; returns CSOM's SpoOperation (``IsComplete`` means
        SharePoint accepted the request — the OneDrives themselves appear minutes to hours later)."""
        names = [upn.strip() for upn in user_principal_names if upn and upn.strip()]
        if not names:
            raise ValueError("no user principal names given")
        if len(names) > MAX_USERS_PER_REQUEST:
            raise ValueError(f"at most {MAX_USERS_PER_REQUEST} users per request, got {len(names)}")
        results = self.process_query(request_personal_sites_xml(names))
        operation = results.get(7)
        if not isinstance(operation, dict) or not operation.get("IsComplete"):
            raise GraphError(
                "SharePoint did not confirm the request (no completed operation in its answer)",
                code="requestNotConfirmed",
            )
        return operation

    # --- transport ------------------------------------------------------------------------------------

    def process_query(self, xml_body: str) -> dict[int, Any]:
        if self.dry_run:
            self.recorded_writes.append(RecordedWrite("POST", self.endpoint, xml_body))
            logger.info("dry run: SharePoint ProcessQuery not sent")
            return {7: {"IsComplete": True, "_dry_run": True}}
        response = self._post(xml_body)
        try:
            payload = json.loads(response.content or b"null")
        except ValueError:
            raise GraphError(
                "SharePoint answered ProcessQuery with a body that is not JSON", code="invalidResponse"
            ) from None
        return parse_csom_response(payload, request_id=response.headers.get("SPRequestGuid"))

    def _post(self, xml_body: str) -> requests.Response:
        attempts = http.max_attempts()
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            token = self.tokens.get_token(self.connection, self.tenant_id, self.resource, self.mode)
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "text/xml",
                "Accept": "application/json",
                "X-ClientService-ClientTag": "cippusers (CSOM 16.0)",
                "User-Agent": USER_AGENT,
                "client-request-id": str(uuid.uuid4()),
            }
            try:
                response = self.session.post(
                    self.endpoint,
                    data=xml_body.encode("utf-8"),
                    headers=headers,
                    timeout=http.default_timeout(),
                )
            except requests.RequestException as exc:
                if not http.failed_before_sending(exc):
                    # ProcessQuery writes (see process_query): it may have run, only its answer is lost.
                    raise http.outcome_unknown(exc, "SharePoint", headers["client-request-id"]) from None
                error = TransientError(f"{type(exc).__name__} talking to SharePoint", code="connectionError")
                if attempt >= attempts:
                    raise error from None
                self.sleep(http.retry_delay(attempt, None))
                continue
            if response.status_code < 400:
                return response
            error = _http_error(response)
            if response.status_code == 401 and not reauthenticated:
                reauthenticated = True
                self.tokens.invalidate(self.connection, self.tenant_id, self.resource, self.mode)
                attempt -= 1
                continue
            if response.status_code not in _RETRY_STATUSES or attempt >= attempts:
                logger.info("SharePoint ProcessQuery failed: %s", error)
                if response.status_code == 429 and not isinstance(error, ThrottledError):
                    error = ThrottledError(error.message, status=429, retry_after=error.retry_after)
                raise error
            self.sleep(http.retry_delay(attempt, error.retry_after))
