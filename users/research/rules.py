"""The indicator rules: which rows of a report look like a compromise, and why.

Rules are pure functions over the report's rows (the shapes ``users.research.sources`` produces), so they are
unit-tested on crafted data. Each rule marks the rows it flags (``row["flags"]``: ``[{code, severity, text}]``)
and returns ``Finding``s for the verdict. Severities:

* ``high``   – a classic sign of a takeover (sign-in from a new country, a rule forwarding mail outside);
* ``medium`` – worth a look on its own (legacy authentication, a password change in the window);
* ``note``   – context that is *not* a flag (a blocked password spray, a rule that is already disabled).

Only ``high`` and ``medium`` make a section "looks malicious"; notes are shown but never count, so a clean user
gets no flag. The sign-in rules live in ``rules_signins``, the mailbox ones in ``rules_mail``, the identity
ones (methods, passwords, apps, directory, risk, sent mail) in ``rules_identity``; this module holds what they
share and ``apply_rules`` which runs every rule over a report's sections.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

HIGH = "high"
MEDIUM = "medium"
NOTE = "note"
FLAGGING = (HIGH, MEDIUM)
SEVERITY_ORDER = {HIGH: 0, MEDIUM: 1, NOTE: 2}


@dataclass
class Finding:
    section: str
    code: str
    severity: str
    title: str
    detail: str = ""
    when: str = ""  # ISO 8601 of the event, when there is one
    count: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RuleContext:
    """What the rules compare against. ``since`` / ``until``: the window; ``usual_countries``: where the user
    normally signs in (usage location, the tenant's country, the countries of the sign-ins before the window);
    ``internal_domains``: the tenant's verified domains (lower case)."""

    since: datetime
    until: datetime
    usage_location: str = ""
    tenant_country: str = ""
    internal_domains: set[str] = field(default_factory=set)
    baseline_sign_ins: list[dict] | None = None  # successful sign-ins before the window; None: not read
    upn: str = ""
    user_id: str = ""


# --- helpers shared by the rule modules ------------------------------------------------------------------


def parse_when(value) -> datetime | None:
    """An aware datetime from ISO 8601 text (``Z`` or offset; Exchange's ``/Date(ms)/`` too), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("/Date(") and text.endswith(")/"):
        try:
            return datetime.fromtimestamp(int(text[6:-2].split("+")[0].split("-")[0]) / 1000, tz=UTC)
        except ValueError:
            return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Graph sends up to 7 fractional digits; Python takes 6.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def in_window(value, ctx: RuleContext) -> bool:
    moment = parse_when(value)
    return moment is not None and ctx.since <= moment <= ctx.until


def flag(row: dict, code: str, severity: str, text: str) -> None:
    """Mark ``row`` (shown in the section's table and its CSV)."""
    flags = row.setdefault("flags", [])
    if not any(f["code"] == code and f["text"] == text for f in flags):
        flags.append({"code": code, "severity": severity, "text": text})


def domain_of(address: str) -> str:
    """The domain of an SMTP address (also of Exchange's ``smtp:`` / ``"Name" [SMTP:x@y]`` forms)."""
    text = str(address or "").strip().strip('"').lower()
    if "[smtp:" in text:
        text = text.split("[smtp:", 1)[1].rstrip("]")
    if text.startswith("smtp:"):
        text = text[5:]
    return text.rsplit("@", 1)[1].strip(" >]") if "@" in text else ""


def is_external(address: str, ctx: RuleContext) -> bool:
    """An address outside the tenant's domains. A bare name without ``@`` is a recipient inside Exchange."""
    domain = domain_of(address)
    if not domain:
        return False
    return not any(domain == d or domain.endswith("." + d) for d in ctx.internal_domains)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.section, f.when or ""))


# --- running every rule ----------------------------------------------------------------------------------


def apply_rules(sections: dict, ctx: RuleContext) -> list[Finding]:
    """Run every rule over the sections that were read (``sections[key]["status"] == "ok"``), flagging their
    rows in place. Returns every finding, most severe first. A section that could not be read is never judged:
    the verdict reports it as "could not check"."""
    from . import rules_identity, rules_mail, rules_signins

    def rows(key: str):
        section = sections.get(key) or {}
        return section.get("data") if section.get("status") == "ok" else None

    findings: list[Finding] = []
    sign_ins = rows("sign_ins")
    if sign_ins is not None:
        findings += rules_signins.check_sign_ins(sign_ins, ctx)
    if (inbox := rows("inbox_rules")) is not None:
        findings += rules_mail.check_inbox_rules(inbox, ctx)
    if (events := rows("mailbox_audit")) is not None:
        findings += rules_mail.check_mailbox_audit(events, ctx)
    if (forwarding := rows("forwarding")) is not None:
        findings += rules_mail.check_forwarding(forwarding, ctx)
    if (methods := rows("auth_methods")) is not None:
        findings += rules_identity.check_auth_methods(methods, ctx, profile=rows("profile"))
    consented_apps: set[str] = set()
    if (grants := rows("oauth_grants")) is not None:
        findings += rules_identity.check_oauth_grants(grants, ctx)
        consented_apps |= {str(g.get("app_id") or "").lower() for g in grants}
    if (roles := rows("app_roles")) is not None:
        findings += rules_identity.check_app_roles(roles, ctx)
    if (apps := rows("new_apps")) is not None:
        findings += rules_identity.check_new_apps(apps, ctx, consented_apps)
    if (sent := rows("sent_mail")) is not None:
        findings += rules_identity.check_sent_mail(sent, ctx)
    if (audits := rows("directory_audits")) is not None:
        findings += rules_identity.check_directory_audits(audits, ctx)
    if (risk := rows("risk")) is not None:
        findings += rules_identity.check_risk(risk, ctx, sign_ins or [])
    return sort_findings(findings)
