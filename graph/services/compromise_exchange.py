"""The Exchange Online sources of compromise research (re-exported by graph.services.compromise).

* Inbox rules: ``Get-InboxRule -IncludeHidden`` and once without it, so rules hidden from Outlook are marked.
* Mailbox forwarding: ``Get-Mailbox``.
* Mailbox and inbox-rule changes: the unified audit log (``Search-UnifiedAuditLog``), read to the end with a
  ReturnLargeSet session; a search with more than the 50,000 records one session can return is split in time.
  Microsoft documents that with ingestion off the search "returns no results", so ``Get-AdminAuditLogConfig``
  is read first and an off switch is reported as AUDIT_OFF, never as "nothing found".
* Sent mail: ``Get-MessageTraceV2`` in windows of at most 10 days (the cmdlet's limit), each read to the end
  with ``StartingRecipientAddress`` + ``EndDate`` as the cmdlet reference prescribes.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from graph.errors import NotFoundError
from graph.exchange import ExchangeClient
from graph.services.compromise_errors import AUDIT_OFF, NO_MAILBOX, SourceUnavailable, graph_iso, source

logger = logging.getLogger(__name__)

SYSTEM_RULE_NAMES = ("Junk E-mail Rule",)
OOF_RULE_PREFIX = "Microsoft.Exchange.OOF."
INBOX_RULE_OPERATIONS = (
    "New-InboxRule", "Set-InboxRule", "Remove-InboxRule", "Enable-InboxRule", "Disable-InboxRule", "UpdateInboxRules",
)  # fmt: skip
MAILBOX_OPERATIONS = (
    "Set-Mailbox", "Add-MailboxPermission", "Remove-MailboxPermission", "Add-RecipientPermission",
    "Remove-RecipientPermission", "AddFolderPermissions", "ModifyFolderPermissions", "UpdateCalendarDelegation",
)  # fmt: skip
AUDIT_PAGE = 5000
LARGE_SET_LIMIT = 50_000
TRACE_PAGE = 5000
TRACE_WINDOW = timedelta(days=10)
TRACE_HISTORY = timedelta(days=90) - timedelta(minutes=5)
_SMTP = re.compile(r"\[SMTP:([^\]]+)\]", re.IGNORECASE)


@contextmanager
def mailbox_source() -> Iterator[None]:
    """source(), plus "the mailbox does not exist" as NO_MAILBOX."""
    try:
        with source():
            yield
    except NotFoundError as error:
        raise SourceUnavailable(NO_MAILBOX, error.message, error) from error


def rule_addresses(values) -> list[str]:
    """Addresses out of Exchange's recipient texts (``"Name" [SMTP:a@b.com]``)."""
    if isinstance(values, str):
        values = [values]
    found = []
    for value in values or []:
        match = _SMTP.search(str(value))
        text = match.group(1) if match else str(value).strip().strip('"')
        if text:
            found.append(text.lower())
    return found


def parse_rule(rule: dict, hidden: bool) -> dict:
    name = str(rule.get("Name") or "")
    return {
        "identity": str(rule.get("Identity") or rule.get("RuleIdentity") or ""),
        "name": name,
        "enabled": bool(rule.get("Enabled")),
        "priority": rule.get("Priority"),
        "description": str(rule.get("Description") or ""),
        "hidden": hidden,
        "system": name in SYSTEM_RULE_NAMES or name.startswith(OOF_RULE_PREFIX),
        "forward_to": rule_addresses(rule.get("ForwardTo")),
        "redirect_to": rule_addresses(rule.get("RedirectTo")),
        "forward_as_attachment_to": rule_addresses(rule.get("ForwardAsAttachmentTo")),
        "move_to_folder": rule.get("MoveToFolder") or "",
        "copy_to_folder": rule.get("CopyToFolder") or "",
        "delete_message": bool(rule.get("DeleteMessage")),
        "soft_delete_message": bool(rule.get("SoftDeleteMessage")),
        "mark_as_read": bool(rule.get("MarkAsRead")),
        "stop_processing": bool(rule.get("StopProcessingRules")),
        "conditions": {
            key: rule.get(key)
            for key in (
                "From",
                "SentTo",
                "SubjectContainsWords",
                "BodyContainsWords",
                "SubjectOrBodyContainsWords",
                "FromAddressContainsWords",
            )
            if rule.get(key)
        },  # fmt: skip
    }


def inbox_rules(exchange: ExchangeClient, upn: str) -> list[dict]:
    """Every inbox rule, hidden ones included and marked.

    Row keys: identity, name, enabled, priority, description, hidden, system (junk-mail / automatic-reply
    rules Exchange keeps itself), forward_to, redirect_to, forward_as_attachment_to (address lists),
    move_to_folder, copy_to_folder, delete_message, soft_delete_message, mark_as_read, stop_processing,
    conditions {Exchange name: value}."""
    with mailbox_source():
        everything = exchange.invoke(
            "Get-InboxRule", {"Mailbox": upn, "IncludeHidden": True}, anchor_mailbox=upn
        )
        visible = exchange.invoke("Get-InboxRule", {"Mailbox": upn}, anchor_mailbox=upn)
    shown = {str(r.get("Identity") or r.get("RuleIdentity")) for r in visible}
    return [parse_rule(r, str(r.get("Identity") or r.get("RuleIdentity")) not in shown) for r in everything]


def disable_inbox_rule(exchange: ExchangeClient, upn: str, identity: str) -> None:
    """``Disable-InboxRule`` for one rule of inbox_rules() (its ``identity``, ``alias\\RuleIdentity``);
    hidden rules can be disabled the same way. Errors propagate (NotFoundError when the rule is gone)."""
    params = {"Identity": identity}
    if "\\" not in identity:
        params["Mailbox"] = upn
    exchange.invoke("Disable-InboxRule", params, anchor_mailbox=upn)


def mailbox_forwarding(exchange: ExchangeClient, upn: str) -> dict:
    """``{"forwarding_smtp_address", "forwarding_address", "deliver_to_mailbox_and_forward", "target"}``;
    ``target`` is where mail goes ("" when not forwarded; ForwardingAddress wins, as in Exchange)."""
    select = ["UserPrincipalName", "ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward"]
    with mailbox_source():
        found = exchange.invoke("Get-Mailbox", {"Identity": upn}, anchor_mailbox=upn, select=select)
    if not found:
        raise SourceUnavailable(NO_MAILBOX, f"no mailbox for {upn}")
    box = found[0]
    smtp = str(box.get("ForwardingSmtpAddress") or "")
    smtp = smtp[5:] if smtp.lower().startswith("smtp:") else smtp
    internal = str(box.get("ForwardingAddress") or "")
    return {
        "forwarding_smtp_address": smtp.lower(),
        "forwarding_address": internal,
        "deliver_to_mailbox_and_forward": bool(box.get("DeliverToMailboxAndForward")),
        "target": internal or smtp.lower(),
    }


def unified_audit_enabled(exchange: ExchangeClient) -> bool:
    with source():
        found = exchange.invoke("Get-AdminAuditLogConfig", {})
    return bool(found and found[0].get("UnifiedAuditLogIngestionEnabled"))


def _search(exchange: ExchangeClient, start: datetime, end: datetime, filters: dict) -> list[dict]:
    """Every record of one search: session blocks until ResultIndex reaches ResultCount."""
    session = f"cippusers-{uuid.uuid4()}"
    records: list[dict] = []
    highest = 0
    for _block in range(LARGE_SET_LIMIT // AUDIT_PAGE + 2):
        params = {"StartDate": graph_iso(start), "EndDate": graph_iso(end), "SessionId": session,
                  "SessionCommand": "ReturnLargeSet", "ResultSize": AUDIT_PAGE, **filters}  # fmt: skip
        block = exchange.invoke("Search-UnifiedAuditLog", params)
        if not block:
            break
        count = int(block[0].get("ResultCount") or 0)
        if count > LARGE_SET_LIMIT and end - start > timedelta(minutes=2):
            # One session stops at 50,000: read the two halves of the window separately instead.
            middle = start + (end - start) / 2
            return _search(exchange, start, middle, filters) + _search(exchange, middle, end, filters)
        records.extend(block)
        index = max(int(r.get("ResultIndex") or 0) for r in block)
        if index >= count or index <= highest:
            break
        highest = index
    return records


def _parameters(data: dict) -> dict:
    found = {}
    for key in ("Parameters", "OperationProperties"):
        for item in data.get(key) or []:
            if isinstance(item, dict) and item.get("Name"):
                found[str(item["Name"])] = item.get("Value")
    return found


def _kind(operation: str, parameters: dict) -> str:
    if operation in INBOX_RULE_OPERATIONS:
        return "inbox_rule"
    if operation == "Set-Mailbox" and any(k.startswith(("Forwarding", "DeliverTo")) for k in parameters):
        return "forwarding"
    if "Permission" in operation or "Delegation" in operation:
        return "permission"
    return "mailbox"


def parse_audit_record(record: dict) -> dict:
    try:
        data = json.loads(record.get("AuditData") or "{}")
    except (TypeError, ValueError):
        data = {}
    parameters = _parameters(data)
    operation = str(record.get("Operations") or data.get("Operation") or "")
    object_id = str(data.get("ObjectId") or "")
    rule_name = parameters.get("Name") or parameters.get("RuleName") or ""
    if not rule_name and operation in INBOX_RULE_OPERATIONS and "\\" in object_id:
        rule_name = object_id.rsplit("\\", 1)[-1]
    return {
        "id": str(data.get("Id") or record.get("Identity") or ""),
        "when": record.get("CreationDate") or data.get("CreationTime"),
        "operation": operation,
        "record_type": str(record.get("RecordType") or ""),
        "actor": str(data.get("UserId") or record.get("UserIds") or "").lower(),
        "client_ip": str(data.get("ClientIP") or data.get("ClientIPAddress") or ""),
        "result_status": str(data.get("ResultStatus") or ""),
        "object_id": object_id,
        "mailbox_owner": str(data.get("MailboxOwnerUPN") or "").lower(),
        "rule_name": str(rule_name),
        "parameters": parameters,
        "kind": _kind(operation, parameters),
    }


def _about_mailbox(event: dict, names: set[str]) -> bool:
    params = event["parameters"]
    for value in (event["mailbox_owner"], event["object_id"], params.get("Identity"), params.get("Mailbox")):
        text = str(value or "").lower()
        if not text:
            continue
        head = text.split("\\", 1)[0]
        if text in names or head in names or any(text.endswith("/" + n) for n in names):
            return True
    return False


def mailbox_audit_events(
    exchange: ExchangeClient, upn: str, since: datetime, until: datetime | None = None
) -> list[dict]:
    """Inbox-rule, forwarding and mailbox-permission changes made by the user, or by anyone to the user's
    mailbox, newest first (raises SourceUnavailable AUDIT_OFF when the tenant's unified audit log is off).

    Row keys: id, when, operation, record_type, actor (UPN), client_ip, result_status, object_id,
    mailbox_owner, rule_name, parameters {name: value}, kind ("inbox_rule", "forwarding", "permission",
    "mailbox")."""
    until = until or datetime.now(UTC)
    if not unified_audit_enabled(exchange):
        raise SourceUnavailable(AUDIT_OFF, "UnifiedAuditLogIngestionEnabled is False")
    operations = list(INBOX_RULE_OPERATIONS + MAILBOX_OPERATIONS)
    names = {upn.lower(), upn.lower().split("@", 1)[0]}
    events: dict[str, dict] = {}
    with source():
        for record in _search(exchange, since, until, {"UserIds": [upn], "Operations": operations}):
            event = parse_audit_record(record)
            events[event["id"]] = event
        # Changes others (an administrator, another compromised account) made to this mailbox.
        for record in _search(exchange, since, until, {"Operations": operations}):
            event = parse_audit_record(record)
            if event["id"] not in events and _about_mailbox(event, names):
                events[event["id"]] = event
    return sorted(events.values(), key=lambda e: e["when"] or "", reverse=True)


def _trace_row(item: dict) -> dict:
    return {
        "when": item.get("Received"),
        "sender": str(item.get("SenderAddress") or "").lower(),
        "recipient": str(item.get("RecipientAddress") or "").lower(),
        "subject": item.get("Subject") or "",
        "status": item.get("Status") or "",
        "message_trace_id": str(item.get("MessageTraceId") or ""),
        "message_id": item.get("MessageId") or "",
        "from_ip": item.get("FromIP") or "",
        "to_ip": item.get("ToIP") or "",
        "size": item.get("Size"),
    }


def sent_messages(
    exchange: ExchangeClient, upn: str, since: datetime, until: datetime | None = None
) -> list[dict]:
    """One row per message and recipient the user sent in the window (message trace keeps 90 days), newest
    first. Row keys: when, sender, recipient, subject, status, message_trace_id, message_id, from_ip, to_ip,
    size."""
    now = datetime.now(UTC)
    until = min(until or now, now)
    start = max(since, now - TRACE_HISTORY)
    rows: dict[tuple[str, str], dict] = {}
    with source():
        while start < until:
            stop = min(start + TRACE_WINDOW, until)
            params = {"SenderAddress": upn, "StartDate": graph_iso(start), "EndDate": graph_iso(stop),
                      "ResultSize": TRACE_PAGE}  # fmt: skip
            while True:
                page = exchange.invoke("Get-MessageTraceV2", params)
                for item in page:
                    row = _trace_row(item)
                    rows.setdefault((row["message_trace_id"], row["recipient"]), row)
                if len(page) < TRACE_PAGE:
                    break
                last = page[-1]
                params = {**params, "EndDate": last.get("Received"),
                          "StartingRecipientAddress": last.get("RecipientAddress")}  # fmt: skip
            start = stop
    return sorted(rows.values(), key=lambda r: r["when"] or "", reverse=True)


def external_recipients(messages: list[dict], tenant_domains) -> list[str]:
    """The distinct recipients whose domain is not one of the tenant's domains."""
    own = {str(d).lower() for d in tenant_domains}
    return sorted({m["recipient"] for m in messages if m["recipient"].rsplit("@", 1)[-1] not in own})
