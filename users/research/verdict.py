"""The summary at the top of the report: what looks malicious, what looks normal, what could not be checked.

A section "looks malicious" when a rule put a high or medium flag on it, "looks normal" when it was read and
nothing was flagged, and "could not check" when its source could not be read (with the reason). Nothing that
could not be read is ever called normal. The overall verdict is:

* ``malicious``  – at least one flag;
* ``incomplete`` – no flag, but some source could not be read, so the all-clear cannot be given;
* ``normal``     – every source read, nothing flagged.
"""

from __future__ import annotations

from .gather import OK, UNAVAILABLE
from .rules import FLAGGING, NOTE, Finding
from .sources import BY_KEY, SECTION_KEYS

HEADLINES = {
    "malicious": "Signs of compromise found",
    "incomplete": "Nothing suspicious in what could be read, but not everything could be checked",
    "normal": "Nothing suspicious found",
}
# What a context source's absence changes in the judgement.
CONTEXT_EFFECT = {
    "profile": "the account's current state and its last password change are not shown",
    "organization": "outside addresses are judged against the tenant's domains known to this portal",
    "sign_in_baseline": "new countries and unfamiliar addresses are judged without the sign-ins before the window",
}


def build(sections: dict, findings: list[Finding]) -> dict:
    flagged: dict[str, list[dict]] = {}
    notes: list[dict] = []
    for finding in findings:
        if finding.severity in FLAGGING:
            flagged.setdefault(finding.section, []).append(finding.as_dict())
        elif finding.severity == NOTE:
            notes.append(finding.as_dict())
    malicious, normal, unavailable = [], [], []
    for key in SECTION_KEYS:
        section = sections.get(key) or {}
        title = BY_KEY[key].title
        if section.get("status") == OK:
            if key in flagged:
                malicious.append({"key": key, "title": title, "findings": flagged[key]})
            else:
                normal.append({"key": key, "title": title, "summary": summary(key, section)})
        elif section.get("status") == UNAVAILABLE or not section:
            unavailable.append({"key": key, "title": title,
                                "reason": section.get("reason") or "It was not read."})  # fmt: skip
    context = []
    for key, effect in CONTEXT_EFFECT.items():
        section = sections.get(key) or {}
        if key == "sign_in_baseline" and (sections.get("sign_ins") or {}).get("status") != OK:
            continue  # the sign-ins themselves could not be read: already said above
        if section.get("status") == UNAVAILABLE:
            context.append(f"{BY_KEY[key].title} could not be read ({section.get('reason')}): {effect}.")
    methods = sections.get("auth_methods") or {}
    if methods.get("status") == OK and (methods.get("data") or {}).get("events_unavailable"):
        context.append(
            f"The history of sign-in methods and passwords could not be read "
            f"({methods['data']['events_unavailable']}): only the methods registered now were checked."
        )
    overall = "malicious" if malicious else "incomplete" if unavailable else "normal"
    return {
        "overall": overall,
        "headline": HEADLINES[overall],
        "malicious": malicious,
        "normal": normal,
        "unavailable": unavailable,
        "notes": notes,
        "context": context,
        "flag_count": sum(len(s["findings"]) for s in malicious),
        "state": current_state(sections),
    }


def summary(key: str, section: dict) -> str:
    """One line saying what was looked at, for a section with nothing flagged."""
    data = section.get("data")
    count = section.get("count") or 0
    if key == "forwarding":
        return "No forwarding set on the mailbox."
    if key == "risk":
        level = (data or {}).get("risk_level") or "none"
        return f"Risk level {level}."
    if key == "inbox_rules" and count:
        noted = sum(1 for r in data or [] if r.get("flags"))
        text = f"{count} inbox rule{'s' if count != 1 else ''} checked, none active and suspicious."
        return text + (f" {noted} disabled rule(s) keep their reasons as notes." if noted else "")
    if key == "new_apps":
        return (f"{count} app(s) added to the tenant in the window, none by or for this user." if count
                else "No app added to the tenant in the window.")  # fmt: skip
    if key == "auth_methods":
        methods = len((data or {}).get("methods") or [])
        events = len((data or {}).get("events") or [])
        return (
            f"{methods} method(s) registered, none in the window; {events} related event(s), none suspicious."
        )
    nouns = {"sign_ins": "sign-in", "inbox_rules": "inbox rule", "mailbox_audit": "mailbox change",
             "directory_audits": "directory event", "oauth_grants": "app consent", "app_roles": "app assignment",
             "new_apps": "new app", "sent_mail": "message recipient"}  # fmt: skip
    noun = nouns.get(key, "item")
    if not count:
        return (
            f"No {noun}s in the window."
            if key not in ("inbox_rules", "oauth_grants", "app_roles")
            else f"No {noun}s."
        )
    return f"{count} {noun}{'s' if count != 1 else ''} checked, none suspicious."


def current_state(sections: dict) -> dict:
    """The account as the last gathering saw it (what remediation changes)."""

    def data(key):
        section = sections.get(key) or {}
        return section.get("data") if section.get("status") == OK else None

    profile = data("profile")
    forwarding = data("forwarding")
    rules = data("inbox_rules")
    methods = data("auth_methods")
    grants = data("oauth_grants")
    return {
        "account_enabled": None if profile is None else profile.get("account_enabled"),
        "forwarding": None if forwarding is None else (forwarding.get("forwarding_smtp") or forwarding.get("forwarding_address") or ""),
        "active_flagged_rules": None if rules is None else sum(
            1 for r in rules if r.get("enabled") and any(f["severity"] in FLAGGING for f in r.get("flags") or [])
        ),
        "methods": None if methods is None else len([m for m in methods.get("methods") or []
                                                     if m.get("type") != "passwordAuthenticationMethod"]),
        "flagged_grants": None if grants is None else sum(
            1 for g in grants if any(f["severity"] in FLAGGING for f in g.get("flags") or [])
        ),
    }  # fmt: skip
