"""Get-MessageTraceV2: one row per message and recipient, as Microsoft's cmdlet reference describes it.

* Data for the last 90 days; without dates the last 48 hours; at most 10 days per query (a wider range, or
  a start older than 90 days, fails).
* ``ResultSize`` 1..5000, default 1000. There is no paging: to read on, the caller repeats the query with
  ``EndDate`` = the last row's ``Received`` and ``StartingRecipientAddress`` = its ``RecipientAddress``.
* Filters: ``SenderAddress``, ``RecipientAddress``, ``Status`` (multi-valued), ``MessageId``,
  ``MessageTraceId``, ``Subject`` + ``SubjectFilterType`` (Contains/StartsWith/EndsWith), ``FromIP``, ``ToIP``.

Rows come newest first; rows with the same ``Received`` are ordered by recipient address, and a continued
query skips the rows at ``EndDate`` up to and including ``StartingRecipientAddress``. That tie order is the
sandbox's assumption (Microsoft only says the pair avoids duplicates). The error texts for a too-wide range
are the sandbox's own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..models import SandboxDomain, SandboxMessageTrace
from . import errors
from .audit_search import parse_exchange_date, result_size
from .cmdlets import as_list, cmdlet
from .errors import CmdletError

HISTORY = timedelta(days=90)
MAX_RANGE = timedelta(days=10)
DEFAULT_RANGE = timedelta(hours=48)
DEFAULT_RESULT_SIZE = 1000
MAX_RESULT_SIZE = 5000
STATUSES = (
    "Delivered",
    "Expanded",
    "Failed",
    "FilteredAsSpam",
    "GettingStatus",
    "None",
    "Pending",
    "Quarantined",
)
SUBJECT_FILTERS = ("Contains", "StartsWith", "EndsWith")
_PARAMETERS = (
    "StartDate", "EndDate", "SenderAddress", "RecipientAddress", "Status", "MessageId", "MessageTraceId",
    "Subject", "SubjectFilterType", "FromIP", "ToIP", "ResultSize", "StartingRecipientAddress",
)  # fmt: skip


def _range(params: dict) -> tuple[datetime, datetime]:
    now = timezone.now()
    end = parse_exchange_date("EndDate", params["EndDate"]) if params.get("EndDate") else now
    start = (
        parse_exchange_date("StartDate", params["StartDate"])
        if params.get("StartDate")
        else end - DEFAULT_RANGE
    )
    if end <= start:
        raise CmdletError(400, errors.INVALID_ARGUMENT, "The EndDate must be later than the StartDate.")
    if start < now - HISTORY:
        raise CmdletError(
            400, errors.INVALID_ARGUMENT, "Message trace data is only available for the last 90 days."
        )
    if end - start > MAX_RANGE:
        raise CmdletError(
            400,
            errors.INVALID_ARGUMENT,
            "You can only query 10 days worth of data per query. Use a smaller StartDate and EndDate interval.",
        )
    return start, end


def _received(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def trace_object(row: SandboxMessageTrace, organization: str) -> dict:
    return {
        "Organization": organization,
        "MessageId": row.message_id,
        "Received": _received(row.received),
        "SenderAddress": row.sender_address,
        "RecipientAddress": row.recipient_address,
        "Subject": row.subject,
        "Status": row.status,
        "ToIP": row.to_ip or None,
        "FromIP": row.from_ip or None,
        "Size": row.size,
        "MessageTraceId": str(row.message_trace_id),
    }


def _filtered(tenant, params: dict):
    rows = SandboxMessageTrace.objects.filter(tenant=tenant)
    senders = [a.lower() for a in as_list(params.get("SenderAddress"))]
    if senders:
        rows = rows.filter(sender_address__in=senders)
    recipients = [a.lower() for a in as_list(params.get("RecipientAddress"))]
    if recipients:
        rows = rows.filter(recipient_address__in=recipients)
    statuses = as_list(params.get("Status"))
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise CmdletError(
            400,
            errors.INVALID_ARGUMENT,
            f"The Status value '{unknown[0]}' is not valid. Valid values: {', '.join(STATUSES)}.",
        )
    if statuses:
        rows = rows.filter(status__in=statuses)
    message_ids = as_list(params.get("MessageId"))
    if message_ids:
        rows = rows.filter(message_id__in=message_ids)
    if params.get("MessageTraceId") not in (None, ""):
        try:
            rows = rows.filter(message_trace_id=uuid.UUID(str(params["MessageTraceId"])))
        except ValueError:
            raise CmdletError(
                400,
                errors.PARAMETER_BINDING,
                f"Cannot bind parameter 'MessageTraceId'. Cannot convert value \"{params['MessageTraceId']}\" "
                'to type "System.Guid".',
            ) from None
    subject = params.get("Subject")
    if subject not in (None, ""):
        kind = params.get("SubjectFilterType") or "Contains"
        if kind not in SUBJECT_FILTERS:
            raise CmdletError(
                400,
                errors.INVALID_ARGUMENT,
                f"SubjectFilterType must be one of {', '.join(SUBJECT_FILTERS)}.",
            )
        lookup = {"Contains": "icontains", "StartsWith": "istartswith", "EndsWith": "iendswith"}[kind]
        rows = rows.filter(**{f"subject__{lookup}": str(subject)})
    for name, column in (("FromIP", "from_ip"), ("ToIP", "to_ip")):
        if params.get(name) not in (None, ""):
            rows = rows.filter(**{column: str(params[name])})
    return rows


@cmdlet("Get-MessageTraceV2", parameters=_PARAMETERS, output_type="Exchange.MessageTraceV2")
def get_message_trace_v2(tenant, params: dict, request) -> list[dict]:
    start, end = _range(params)
    size = result_size(params.get("ResultSize"), DEFAULT_RESULT_SIZE, MAX_RESULT_SIZE)
    rows = _filtered(tenant, params).filter(received__gte=start)
    after = str(params.get("StartingRecipientAddress") or "").lower()
    if after:
        rows = rows.filter(Q(received__lt=end) | Q(received=end, recipient_address__gt=after))
    else:
        rows = rows.filter(received__lte=end)
    organization = (
        SandboxDomain.objects.filter(tenant=tenant, is_initial=True).values_list("name", flat=True).first()
        or ""
    )
    page = rows.order_by("-received", "recipient_address", "id")[:size]
    return [trace_object(row, organization) for row in page]
