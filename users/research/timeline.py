"""Derived views of a report: every dated event merged into one timeline, and the sign-in countries.

Both are computed once when a gathering finishes and stored with the report (the page and its CSV read
them as they are). The timeline keeps every flagged event and the newest others up to ``TIMELINE_MAX``; it
says how many it left out.
"""

from __future__ import annotations

from .gather import OK
from .rules import FLAGGING, parse_when
from .sources import BY_KEY

TIMELINE_MAX = 1500


def _flagged(row: dict) -> bool:
    return any(f.get("severity") in FLAGGING for f in row.get("flags") or [])


def _flag_text(row: dict) -> str:
    return "; ".join(f["text"] for f in row.get("flags") or [] if f.get("severity") in FLAGGING)


def _events(sources: dict):
    def rows(key):
        section = sources.get(key) or {}
        return section.get("data") if section.get("status") == OK else None

    for row in rows("sign_ins") or []:
        where = ", ".join(x for x in (row.get("city"), row.get("country")) if x) or "unknown place"
        state = (
            "Signed in"
            if row.get("ok")
            else f"Failed sign-in ({row.get('failure') or row.get('error_code')})"
        )
        yield (
            row.get("when"),
            "sign_ins",
            f"{state} to {row.get('app') or 'an app'} from {where}, {row.get('ip') or '?'}",
            row,
        )
    for row in rows("mailbox_audit") or []:
        yield (
            row.get("when"),
            "mailbox_audit",
            f"{row.get('operation')} by {row.get('actor') or '?'}"
            + (
                f" ({row['parameters'].get('Name')})"
                if isinstance(row.get("parameters"), dict) and row["parameters"].get("Name")
                else ""
            ),
            row,
        )
    for row in rows("directory_audits") or []:
        targets = ", ".join(t.get("name") or t.get("id") or "" for t in row.get("targets") or [])
        yield (
            row.get("when"),
            "directory_audits",
            f"{row.get('activity')} by {row.get('actor') or '?'}" + (f" → {targets}" if targets else ""),
            row,
        )
    methods = rows("auth_methods") or {}
    for row in methods.get("methods") or []:
        if row.get("created"):
            yield (
                row.get("created"),
                "auth_methods",
                f"Method registered: {row.get('label') or row.get('type')}",
                row,
            )
    for row in methods.get("events") or []:
        yield row.get("when"), "auth_methods", f"{row.get('activity')} by {row.get('actor') or '?'}", row
    for row in rows("oauth_grants") or []:
        if row.get("sp_created"):
            yield (
                row.get("sp_created"),
                "oauth_grants",
                f"App {row.get('app_name')} added (consented by the user)",
                row,
            )
    for row in rows("app_roles") or []:
        if row.get("created"):
            yield row.get("created"), "app_roles", f"Given access to {row.get('app_name')}", row
    for row in rows("new_apps") or []:
        if row.get("created"):
            yield row.get("created"), "new_apps", f"App {row.get('name')} added to the tenant", row
    for row in rows("sent_mail") or []:
        yield (
            row.get("when"),
            "sent_mail",
            f"Sent “{row.get('subject') or '(no subject)'}” to {row.get('recipient')}",
            row,
        )


def build_timeline(sources: dict) -> tuple[list[dict], int]:
    """([{when, section, text, flagged, flags}], how many were left out), newest first."""
    items = []
    for when, section, text, row in _events(sources):
        moment = parse_when(when)
        if moment is None:
            continue
        items.append({"when": moment.isoformat().replace("+00:00", "Z"), "section": section,
                      "section_title": BY_KEY[section].title, "text": text,
                      "flagged": _flagged(row), "flags": _flag_text(row), "_sort": moment})  # fmt: skip
    items.sort(key=lambda item: item["_sort"], reverse=True)
    kept, left_out, others = [], 0, 0
    flagged_total = sum(1 for item in items if item["flagged"])
    room = max(0, TIMELINE_MAX - flagged_total)
    for item in items:
        if item["flagged"] or others < room:
            others += 0 if item["flagged"] else 1
            item.pop("_sort")
            kept.append(item)
        else:
            left_out += 1
    return kept, left_out


def build_countries(sources: dict, usual: set[str]) -> list[dict]:
    """One row per country the user signed in from (or tried to): counts, first and last, cities, addresses."""
    section = sources.get("sign_ins") or {}
    if section.get("status") != OK:
        return []
    by_country: dict[str, dict] = {}
    for row in section.get("data") or []:
        country = row.get("country") or "Unknown"
        entry = by_country.setdefault(country, {"country": country, "total": 0, "ok": 0, "failed": 0,
                                                "first": "", "last": "", "cities": set(), "ips": set(),
                                                "flagged": False, "usual": country in usual})  # fmt: skip
        entry["total"] += 1
        entry["ok" if row.get("ok") else "failed"] += 1
        when = row.get("when") or ""
        if when and (not entry["first"] or when < entry["first"]):
            entry["first"] = when
        if when and when > entry["last"]:
            entry["last"] = when
        if row.get("city"):
            entry["cities"].add(row["city"])
        if row.get("ip"):
            entry["ips"].add(row["ip"])
        entry["flagged"] = entry["flagged"] or _flagged(row)
    out = []
    for entry in by_country.values():
        entry["cities"] = ", ".join(sorted(entry["cities"]))
        entry["ips"] = ", ".join(sorted(entry["ips"])[:20])
        out.append(entry)
    return sorted(out, key=lambda e: (not e["flagged"], -e["total"], e["country"]))
