"""The unified audit log: Search-UnifiedAuditLog, Get-AdminAuditLogConfig and Set-AdminAuditLogConfig.

Behaviour from Microsoft's cmdlet reference (Search-UnifiedAuditLog, Turn auditing on or off):

* ``StartDate``/``EndDate`` are required; values without a zone are UTC. Records are kept 180 days.
* Without ``SessionCommand`` one call returns at most ``ResultSize`` records (default 100, maximum 5000),
  newest first.
* ``SessionCommand ReturnLargeSet`` with a ``SessionId``: each call with the same SessionId returns the next
  block of ``ResultSize`` records, unsorted (here: oldest first, a stable order), up to 50,000 in all;
  ``ReturnNextPreviewPage`` returns date-sorted blocks up to 5,000 in all. A call past the end returns nothing.
* Every record carries ``ResultIndex`` (its 1-based position in the whole result) and ``ResultCount`` (the
  number of hits of the whole search), so callers know whether more blocks follow.
* When the tenant's ``UnifiedAuditLogIngestionEnabled`` is false "no results will be returned" — the cmdlet
  succeeds with nothing. Callers must read ``Get-AdminAuditLogConfig`` to tell "off" from "nothing happened".
  The switch lives in ``SandboxTenant.settings["unifiedAuditLogIngestionEnabled"]`` (default on, as for
  tenants created since 2023); ``Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled`` changes it at once
  (Microsoft says it can take up to 60 minutes).

Over InvokeCommand a block larger than the HTTP page arrives as several pages (``@odata.nextLink``); those
continuation requests re-send the same body, so the session advances only on a request without $skiptoken.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from ..models import SandboxTenant, SandboxUnifiedAuditRecord
from . import errors
from .cmdlets import as_list, cmdlet, require
from .errors import CmdletError
from .mailbox_writes import as_bool, as_switch

SETTING = "unifiedAuditLogIngestionEnabled"
RETENTION = timedelta(days=180)
DEFAULT_RESULT_SIZE = 100
MAX_RESULT_SIZE = 5000
LARGE_SET_LIMIT = 50_000
PREVIEW_LIMIT = 5000
SESSION_SECONDS = 3600
SESSION_COMMANDS = ("ReturnLargeSet", "ReturnNextPreviewPage")
# The AuditLogRecordType values (Management Activity API schema) the sandbox records, name -> number.
RECORD_TYPES = {
    "ExchangeAdmin": 1, "ExchangeItem": 2, "ExchangeItemGroup": 3, "SharePoint": 4,
    "SharePointFileOperation": 6, "AzureActiveDirectory": 8, "AzureActiveDirectoryAccountLogon": 9,
    "ExchangeAggregatedOperation": 19, "AzureActiveDirectoryStsLogon": 15, "MicrosoftTeams": 25,
}  # fmt: skip
_PARAMETERS = (
    "StartDate", "EndDate", "UserIds", "Operations", "RecordType", "ObjectIds", "IPAddresses", "FreeText",
    "ResultSize", "SessionId", "SessionCommand", "Formatted", "HighCompleteness",
)  # fmt: skip


def ingestion_enabled(tenant: SandboxTenant) -> bool:
    return bool((tenant.settings or {}).get(SETTING, True))


def parse_exchange_date(name: str, value) -> datetime:
    """An ExDateTime / DateTime parameter: ISO 8601 or US short date, UTC when no zone is given."""
    text = str(value or "").strip()
    moment = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        for pattern in ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M"):
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            f"Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{value}\" "
            'to type "System.DateTime".',
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def result_size(value, default: int = DEFAULT_RESULT_SIZE, maximum: int = MAX_RESULT_SIZE) -> int:
    """A cmdlet's ResultSize, validated the way PowerShell's ValidateRange does (shared by message trace)."""
    if value is None:
        return default
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if isinstance(value, bool) or not 1 <= size <= maximum:
        raise CmdletError(
            400,
            errors.INVALID_ARGUMENT,
            f"Cannot validate argument on parameter 'ResultSize'. The {value} argument is not in the valid "
            f"range 1 to {maximum}.",
        )
    return size


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def _matching(tenant, params: dict, start: datetime, end: datetime):
    rows = SandboxUnifiedAuditRecord.objects.filter(
        tenant=tenant, creation_date__gte=max(start, timezone.now() - RETENTION), creation_date__lt=end
    )
    users = [u.lower() for u in as_list(params.get("UserIds"))]
    if users:
        rows = rows.filter(user_id__in=users)
    operations = as_list(params.get("Operations"))
    if operations:
        wanted = {op.lower() for op in operations}
        rows = rows.filter(operation__in=[op for op in _known_operations(tenant) if op.lower() in wanted])
    record_type = params.get("RecordType")
    if record_type not in (None, ""):
        names = {name.lower(): name for name in RECORD_TYPES}
        if str(record_type).lower() not in names:
            raise CmdletError(
                400,
                errors.PARAMETER_BINDING,
                f"Cannot bind parameter 'RecordType'. Cannot convert value \"{record_type}\" to type "
                '"Microsoft.Exchange.Management.SystemConfigurationTasks.AuditRecordType".',
            )
        rows = rows.filter(record_type=names[str(record_type).lower()])
    objects = [o.lower() for o in as_list(params.get("ObjectIds"))]
    found = list(rows.order_by("creation_date", "id"))
    if objects:
        found = [r for r in found if r.object_id.lower() in objects]
    addresses = set(as_list(params.get("IPAddresses")))
    if addresses:
        found = [r for r in found if str(r.audit_data.get("ClientIP", "")).split(":")[0] in addresses]
    text = str(params.get("FreeText") or "").lower()
    if text:
        found = [r for r in found if text in json.dumps(r.audit_data).lower()]
    return found


def _known_operations(tenant) -> list[str]:
    return list(
        SandboxUnifiedAuditRecord.objects.filter(tenant=tenant).values_list("operation", flat=True).distinct()
    )


def record_object(row: SandboxUnifiedAuditRecord, index: int, count: int) -> dict:
    data = {"CreationTime": row.creation_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "Id": str(row.id),
            "Operation": row.operation, "RecordType": RECORD_TYPES.get(row.record_type, 0),
            "UserId": row.user_id, "ObjectId": row.object_id, **row.audit_data}  # fmt: skip
    return {
        "RecordType": row.record_type,
        "CreationDate": iso(row.creation_date),
        "UserIds": row.user_id,
        "Operations": row.operation,
        # Exchange returns AuditData as a JSON string, not an object.
        "AuditData": json.dumps(data, separators=(",", ":")),
        "ResultIndex": index,
        "ResultCount": count,
        "Identity": str(row.id),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


def _session_block(request, tenant, params: dict, total: int, size: int, command: str) -> tuple[int, int]:
    """(first index, stop) of the block this call returns, advancing the session once per call."""
    limit = LARGE_SET_LIMIT if command == "ReturnLargeSet" else PREVIEW_LIMIT
    shape = {k: v for k, v in params.items() if k not in ("SessionId",)}
    fingerprint = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()
    key = f"sandbox:ual-session:{tenant.pk}:{hashlib.sha256(str(params['SessionId']).encode()).hexdigest()}"
    state = cache.get(key)
    if not state or state.get("f") != fingerprint:
        state = {"f": fingerprint, "next": 0, "current": 0}
    continuation = request is not None and request.GET.get("$skiptoken", "0") not in ("", "0")
    if not continuation:
        state["current"] = state["next"]
        state["next"] = min(state["current"] + size, limit)
        cache.set(key, state, SESSION_SECONDS)
    start = min(state["current"], total, limit)
    return start, min(start + size, total, limit)


@cmdlet("Search-UnifiedAuditLog", parameters=_PARAMETERS, output_type="Exchange.UnifiedAuditLogRecord")
def search_unified_audit_log(tenant, params: dict, request) -> list[dict]:
    require(params, "StartDate", "EndDate")
    start = parse_exchange_date("StartDate", params["StartDate"])
    end = parse_exchange_date("EndDate", params["EndDate"])
    size = result_size(params.get("ResultSize"))
    command = params.get("SessionCommand")
    if command not in (None, "") and command not in SESSION_COMMANDS:
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            f"Cannot bind parameter 'SessionCommand'. Cannot convert value \"{command}\" to type "
            f'"UnifiedAuditSessionCommand". Valid values: {", ".join(SESSION_COMMANDS)}.',
        )
    if "Formatted" in params:
        as_switch(params, "Formatted")  # binding check only: the output is already readable
    if not ingestion_enabled(tenant) or end <= start:
        return []  # documented: with auditing off (or an empty range) the search returns no results
    found = _matching(tenant, params, start, end)
    if command == "ReturnNextPreviewPage" or not command:
        found.reverse()  # date-sorted, newest first
    total = len(found)
    if command and params.get("SessionId") not in (None, ""):
        first, stop = _session_block(request, tenant, params, total, size, command)
    else:
        first, stop = 0, min(size, total)
    return [record_object(row, index + 1, total) for index, row in enumerate(found[first:stop], start=first)]


@cmdlet("Get-AdminAuditLogConfig", parameters=("Identity",), output_type="Exchange.AdminAuditLogConfig")
def get_admin_audit_log_config(tenant, params: dict, request) -> list[dict]:
    return [
        {
            "Identity": "Admin Audit Log Settings",
            "Name": "Admin Audit Log Settings",
            "AdminAuditLogEnabled": True,
            "AdminAuditLogAgeLimit": "90.00:00:00",
            "AdminAuditLogCmdlets": ["*"],
            "UnifiedAuditLogIngestionEnabled": ingestion_enabled(tenant),
            "UnifiedAuditLogFirstOptInDate": iso(tenant.created_datetime),
            "IsValid": True,
        }
    ]


@cmdlet("Set-AdminAuditLogConfig", parameters=("Identity", "UnifiedAuditLogIngestionEnabled", "Force"))
def set_admin_audit_log_config(tenant, params: dict, request) -> list[dict]:
    if "UnifiedAuditLogIngestionEnabled" in params:
        enabled = as_bool(params, "UnifiedAuditLogIngestionEnabled")
        fresh = SandboxTenant.objects.get(pk=tenant.pk)
        fresh.settings = {**(fresh.settings or {}), SETTING: enabled}
        fresh.save(update_fields=["settings"])
        tenant.settings = fresh.settings
    return []
