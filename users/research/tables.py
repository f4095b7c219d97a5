"""The report's tables: one column list per section, shared by the page and its CSV export.

A ``Column`` reads one value from a row; ``cells(row)`` gives what the page shows (display text, the value
the table sorts on, a CSS hint) and ``csv_row(row)`` what the CSV holds. Tables list flagged rows first, then
newest first, so the page can show the first ``SHOWN_MAX`` rows without hiding anything that matters (the CSV
always has every row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .gather import OK
from .rules import FLAGGING, parse_when

SHOWN_MAX = 500


def when_text(value) -> str:
    moment = parse_when(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def flags_text(row: dict) -> str:
    return "; ".join(f["text"] for f in row.get("flags") or [])


def is_flagged(row: dict) -> bool:
    return any(f.get("severity") in FLAGGING for f in row.get("flags") or [])


def yes_no(value) -> str:
    return "" if value is None else ("yes" if value else "no")


def join(values) -> str:
    return ", ".join(str(v) for v in values or [] if v not in (None, ""))


@dataclass(frozen=True)
class Column:
    label: str
    read: Callable[[dict], object]
    kind: str = "text"  # "when" (sorts by the ISO time), "number", "flags", "text"

    def value(self, row: dict) -> str:
        if self.kind == "when":
            return when_text(self.read(row))
        value = self.read(row)
        return "" if value is None else str(value)

    def sort_key(self, row: dict) -> str:
        if self.kind == "when":
            moment = parse_when(self.read(row))
            return moment.isoformat() if moment else ""
        return self.value(row)


def _actions(rule: dict) -> str:
    parts = []
    for key, verb in (("forward_to", "forward to"), ("redirect_to", "redirect to"),
                      ("forward_as_attachment_to", "forward as attachment to")):  # fmt: skip
        if rule.get(key):
            parts.append(f"{verb} {join(rule[key])}")
    if rule.get("delete"):
        parts.append("delete")
    if rule.get("move_to"):
        parts.append(f"move to {rule['move_to']}")
    if rule.get("copy_to"):
        parts.append(f"copy to {rule['copy_to']}")
    if rule.get("mark_as_read"):
        parts.append("mark as read")
    if rule.get("stop_processing"):
        parts.append("stop processing rules")
    return "; ".join(parts)


def _params(event: dict) -> str:
    params = event.get("parameters") or {}
    return "; ".join(f"{k}={v}" for k, v in params.items() if v not in (None, ""))


FLAGS = Column("Flags", flags_text, "flags")
COLUMNS: dict[str, list[Column]] = {
    "sign_ins": [
        Column("When", lambda r: r.get("when"), "when"),
        Column(
            "Result",
            lambda r: "Success" if r.get("ok") else f"Failed: {r.get('failure') or r.get('error_code')}",
        ),
        Column("App", lambda r: r.get("app")),
        Column("Client", lambda r: r.get("client")),
        Column("IP address", lambda r: r.get("ip")),
        Column("Country", lambda r: r.get("country")),
        Column("City", lambda r: r.get("city")),
        Column("Device", lambda r: join([r.get("device"), r.get("os"), r.get("browser")])),
        Column("Managed", lambda r: yes_no(r.get("managed") or r.get("compliant"))),
        Column("Conditional Access", lambda r: r.get("ca")),
        Column("Risk", lambda r: r.get("risk")),
        FLAGS,
    ],
    "inbox_rules": [
        Column("Name", lambda r: r.get("name")),
        Column("Enabled", lambda r: yes_no(r.get("enabled"))),
        Column("Hidden", lambda r: yes_no(r.get("hidden"))),
        Column("Does", _actions),
        Column("When", lambda r: r.get("conditions")),
        FLAGS,
    ],
    "mailbox_audit": [
        Column("When", lambda r: r.get("when"), "when"),
        Column("Operation", lambda r: r.get("operation")),
        Column("By", lambda r: r.get("actor")),
        Column("From IP", lambda r: r.get("client_ip")),
        Column("On", lambda r: r.get("rule_name") or r.get("object")),
        Column("Parameters", _params),
        FLAGS,
    ],
    "forwarding": [
        Column("Forwards to (address)", lambda r: r.get("forwarding_smtp")),
        Column("Forwards to (recipient)", lambda r: r.get("forwarding_address")),
        Column(
            "Keeps a copy",
            lambda r: (
                yes_no(r.get("deliver_and_forward"))
                if (r.get("forwarding_smtp") or r.get("forwarding_address"))
                else ""
            ),
        ),  # fmt: skip
        FLAGS,
    ],
    "directory_audits": [
        Column("When", lambda r: r.get("when"), "when"),
        Column("Activity", lambda r: r.get("activity")),
        Column("By", lambda r: r.get("actor")),
        Column("Targets", lambda r: join(t.get("name") or t.get("id") for t in r.get("targets") or [])),
        Column("Result", lambda r: r.get("result")),
        Column("User was", lambda r: r.get("role")),
        FLAGS,
    ],
    "auth_methods": [
        Column("Method", lambda r: r.get("label") or r.get("type")),
        Column("Detail", lambda r: r.get("detail")),
        Column("Registered", lambda r: r.get("created"), "when"),
        FLAGS,
    ],
    "auth_events": [
        Column("When", lambda r: r.get("when"), "when"),
        Column("Activity", lambda r: r.get("activity")),
        Column("By", lambda r: r.get("actor")),
        Column("Result", lambda r: r.get("result")),
        FLAGS,
    ],
    "oauth_grants": [
        Column("App", lambda r: r.get("app_name")),
        Column("Publisher", lambda r: r.get("publisher")),
        Column("Verified", lambda r: yes_no(r.get("verified"))),
        Column("Permissions", lambda r: " ".join(r.get("scopes") or [])),
        Column("Added to tenant", lambda r: r.get("sp_created"), "when"),
        Column("Consented", lambda r: r.get("consented"), "when"),
        FLAGS,
    ],
    "app_roles": [
        Column("App", lambda r: r.get("app_name")),
        Column("Role", lambda r: r.get("role")),
        Column("Publisher", lambda r: r.get("publisher")),
        Column("Verified", lambda r: yes_no(r.get("verified"))),
        Column("Assigned", lambda r: r.get("created"), "when"),
        FLAGS,
    ],
    "new_apps": [
        Column("App", lambda r: r.get("name")),
        Column("Publisher", lambda r: r.get("publisher")),
        Column("Verified", lambda r: yes_no(r.get("verified"))),
        Column("Added", lambda r: r.get("created"), "when"),
        Column("Added by", lambda r: r.get("created_by")),
        FLAGS,
    ],
    "sent_mail": [
        Column("When", lambda r: r.get("when"), "when"),
        Column("Recipient", lambda r: r.get("recipient")),
        Column("Subject", lambda r: r.get("subject")),
        Column("Status", lambda r: r.get("status")),
        Column("From IP", lambda r: r.get("from_ip")),
        FLAGS,
    ],
    "risk": [
        Column("Risk level", lambda r: r.get("risk_level")),
        Column("Risk state", lambda r: r.get("risk_state")),
        Column("Detail", lambda r: r.get("risk_detail")),
        Column("Updated", lambda r: r.get("updated"), "when"),
        FLAGS,
    ],
    "timeline": [
        Column("When", lambda r: r.get("when"), "when"),
        Column("Section", lambda r: r.get("section_title") or r.get("section")),
        Column("Event", lambda r: r.get("text")),
        Column("Flags", lambda r: r.get("flags") or "", "flags"),
    ],
    "countries": [
        Column("Country", lambda r: r.get("country")),
        Column("Sign-ins", lambda r: r.get("total"), "number"),
        Column("Successful", lambda r: r.get("ok"), "number"),
        Column("Failed", lambda r: r.get("failed"), "number"),
        Column("First", lambda r: r.get("first"), "when"),
        Column("Last", lambda r: r.get("last"), "when"),
        Column("Cities", lambda r: r.get("cities")),
        Column("IP addresses", lambda r: r.get("ips")),
        Column("Usual", lambda r: yes_no(r.get("usual"))),
        Column("Flagged", lambda r: yes_no(r.get("flagged"))),
    ],
}


def section_rows(sections: dict, key: str) -> list[dict] | None:
    """The rows of a table (``None`` when its source could not be read)."""
    if key == "timeline":
        return list(sections.get("timeline") or [])
    if key == "countries":
        return list(sections.get("countries") or [])
    source = "auth_methods" if key == "auth_events" else key
    outcome = (sections.get("sources") or {}).get(source) or {}
    if outcome.get("status") != OK:
        return None
    data = outcome.get("data")
    if key == "auth_methods":
        return list((data or {}).get("methods") or [])
    if key == "auth_events":
        return list((data or {}).get("events") or [])
    if isinstance(data, dict):
        return [data]
    return list(data or [])


def ordered(rows: list[dict], key: str) -> list[dict]:
    """Flagged first, then newest first (tables with a time), keeping the source's order otherwise."""
    when = next((c for c in COLUMNS[key] if c.kind == "when"), None)
    if key in ("timeline", "countries"):
        return rows
    by_time = sorted(rows, key=lambda r: when.sort_key(r), reverse=True) if when else rows
    return sorted(by_time, key=lambda r: not is_flagged(r))


def table(sections: dict, key: str, *, limit: int = SHOWN_MAX) -> dict | None:
    """``{columns, rows: [{flagged, severity, cells: [{text, sort, kind}]}], total, shown}`` or None."""
    rows = section_rows(sections, key)
    if rows is None:
        return None
    rows = ordered(rows, key)
    columns = COLUMNS[key]
    shown = []
    for row in rows[:limit]:
        if key in ("timeline", "countries"):  # derived rows carry a plain "flagged"
            flagged = bool(row.get("flagged"))
            severity = "high" if flagged else ""
        else:
            flagged = is_flagged(row)
            high = any(f.get("severity") == "high" for f in row.get("flags") or [])
            severity = "high" if high else "medium" if flagged else ""
        shown.append({
            "flagged": bool(flagged), "severity": severity,
            "cells": [{"text": c.value(row), "sort": c.sort_key(row), "kind": c.kind} for c in columns],
        })  # fmt: skip
    return {"columns": columns, "rows": shown, "total": len(rows), "shown": len(shown)}


def csv_rows(sections: dict, key: str):
    """Header then every row (``None`` when the section could not be read)."""
    rows = section_rows(sections, key)
    if rows is None:
        return None
    columns = COLUMNS[key]
    return [[c.label for c in columns], *[[c.value(row) for c in columns] for row in ordered(rows, key)]]
