"""Mailbox rules: inbox rules that hide or exfiltrate mail, their changes in the audit log, mailbox forwarding
and mailbox permission changes.

What attackers set up after a phish (and what these flag): a rule forwarding or redirecting mail (outside the
tenant: high), a rule deleting or marking messages read, a rule moving them to a folder nobody looks at (RSS
Feeds, Conversation History, Archive, Notes, a folder called "." ...), a hidden rule, a rule with a meaningless
name; mailbox forwarding to an outside address; new FullAccess / folder / delegate permissions. A rule that
is already disabled keeps its reasons as a note (it does nothing now), which is what remediation leaves.

Row shapes (``users.research.sources``): inbox rule ``{identity, name, enabled, hidden, priority, forward_to,
redirect_to, forward_as_attachment_to, delete, mark_as_read, move_to, copy_to, conditions, stop_processing,
description}``; audit event ``{id, when, operation, actor, client_ip, object, parameters, result}``;
forwarding ``{forwarding_smtp, forwarding_address, deliver_and_forward}``.
"""

from __future__ import annotations

import re

from .rules import HIGH, MEDIUM, NOTE, SEVERITY_ORDER, Finding, RuleContext, flag, in_window, is_external

SYSTEM_RULES = ("junk e-mail rule", "junk email rule")
SYSTEM_PREFIXES = ("microsoft.exchange.oof.",)
# Folders attackers hide mail in. Archive is also used legitimately, so it is only medium on its own.
HIDING_FOLDERS = frozenset({
    "rss feeds", "rss subscriptions", "conversation history", "notes", "sync issues", "conflicts",
    "local failures", "server failures", "deleted items", "junk email", "junk e-mail", "outbox",
    "recoverable items", "journal", "yammer root",
})  # fmt: skip
ARCHIVE_FOLDERS = frozenset({"archive", "archives"})
# Words in a rule's conditions that target what a BEC actor wants to hide from the victim.
BEC_WORDS = re.compile(
    r"\b(invoice|payment|wire|bank|transfer|remittance|iban|swift|ach|paid|hack(ed)?|phish\w*|"
    r"compromis\w*|suspicious|password|security|helpdesk|it support|spam)\b",
    re.IGNORECASE,
)
FORWARD_KEYS = (("forward_to", "forwards"), ("redirect_to", "redirects"),
                ("forward_as_attachment_to", "forwards as attachment"))  # fmt: skip
RULE_CHANGE_OPS = frozenset({"new-inboxrule", "set-inboxrule", "enable-inboxrule", "updateinboxrules"})
RULE_REMOVE_OPS = frozenset({"remove-inboxrule", "disable-inboxrule"})
PERMISSION_OPS = frozenset({
    "add-mailboxpermission", "add-recipientpermission", "add-mailboxfolderpermission",
    "set-mailboxfolderpermission", "addfolderpermissions", "modifyfolderpermissions", "updatecalendardelegation",
})  # fmt: skip
PERMISSION_REMOVE_OPS = frozenset({
    "remove-mailboxpermission", "remove-recipientpermission", "remove-mailboxfolderpermission",
    "removefolderpermissions",
})  # fmt: skip


def folder_name(path: str) -> str:
    """The last part of Exchange's folder path ("user@x:\\Inbox\\RSS Feeds" -> "RSS Feeds")."""
    text = str(path or "").strip()
    if ":\\" in text:
        text = text.split(":\\", 1)[1]
    return text.replace("/", "\\").rstrip("\\").split("\\")[-1].strip()


def is_meaningless(name: str) -> bool:
    """A name that says nothing: empty, punctuation only, or one or two characters ("." "..", "a", "xx")."""
    text = str(name or "").strip()
    return len(text) <= 2 or not any(ch.isalnum() for ch in text)


def _as_list(value) -> list[str]:
    if value in (None, "", False):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "$true")
    return bool(value)


def rule_reasons(rule: dict, ctx: RuleContext) -> list[tuple[str, str, str]]:
    """[(code, severity, text)] for one rule's actions and shape; empty when nothing is suspicious."""
    reasons: list[tuple[str, str, str]] = []
    for key, verb in FORWARD_KEYS:
        targets = _as_list(rule.get(key))
        outside = [t for t in targets if is_external(t, ctx)]
        if outside:
            reasons.append(
                ("forwards_external", HIGH, f"{verb} outside the organisation to {', '.join(outside)}")
            )
        inside = [t for t in targets if t not in outside]
        if inside:
            reasons.append(("forwards_internal", MEDIUM, f"{verb} to {', '.join(inside)}"))
    conditions = str(rule.get("conditions") or "") + " " + str(rule.get("description") or "")
    targeted = bool(BEC_WORDS.search(conditions))
    hides = False
    if _truthy(rule.get("delete")):
        hides = True
        reasons.append(("deletes", HIGH if targeted else MEDIUM, "deletes the messages"))
    folder = folder_name(rule.get("move_to") or "")
    if folder:
        lowered = folder.lower()
        if lowered in HIDING_FOLDERS or is_meaningless(folder):
            hides = True
            reasons.append(("moves_hidden", HIGH, f"moves the messages to “{folder}”"))
        elif lowered in ARCHIVE_FOLDERS:
            hides = True
            reasons.append(
                ("moves_archive", HIGH if targeted else MEDIUM, f"moves the messages to “{folder}”")
            )
    if _truthy(rule.get("mark_as_read")):
        severity = HIGH if (targeted or hides) else MEDIUM
        reasons.append(("marks_read", severity, "marks the messages as read"))
    if hides and targeted:
        reasons.append(
            ("targets_bec_words", HIGH, "aimed at messages about payments, security or the account")
        )
    return reasons


def _is_system(rule: dict) -> bool:
    name = str(rule.get("name") or "").strip().lower()
    return bool(rule.get("system")) or name in SYSTEM_RULES or name.startswith(SYSTEM_PREFIXES)


def _worst(reasons) -> str:
    return min((severity for _, severity, _ in reasons), key=lambda s: SEVERITY_ORDER[s], default=NOTE)


def check_inbox_rules(rules: list[dict], ctx: RuleContext) -> list[Finding]:
    findings = []
    for rule in rules:
        if _is_system(rule):
            continue
        reasons = rule_reasons(rule, ctx)
        name = str(rule.get("name") or "")
        if rule.get("hidden"):
            reasons.append(("hidden", HIGH, "is hidden from Outlook"))
        if is_meaningless(name) and reasons:
            reasons.append(("odd_name", MEDIUM, f"has a meaningless name “{name}”"))
        if not reasons:
            continue
        enabled = rule.get("enabled") is not False
        for code, severity, text in reasons:
            flag(rule, code, severity if enabled else NOTE, text + ("" if enabled else " (rule disabled)"))
        severity = _worst(reasons) if enabled else NOTE
        state = "" if enabled else " (disabled now)"
        findings.append(Finding("inbox_rules", reasons[0][0], severity, f"Inbox rule “{name}”{state}",
                                "The rule " + "; ".join(text for _, _, text in reasons) + "."))  # fmt: skip
    return findings


def _params(event: dict) -> dict:
    params = event.get("parameters") or {}
    return {str(k).lower(): v for k, v in params.items()} if isinstance(params, dict) else {}


def _rule_from_params(params: dict) -> dict:
    return {
        "forward_to": params.get("forwardto"), "redirect_to": params.get("redirectto"),
        "forward_as_attachment_to": params.get("forwardasattachmentto"),
        "delete": _truthy(params.get("deletemessage")) or _truthy(params.get("softdeletemessage")),
        "mark_as_read": params.get("markasread"), "move_to": params.get("movetofolder"),
        "conditions": " ".join(str(params.get(k) or "") for k in (
            "subjectcontainswords", "bodycontainswords", "subjectorbodycontainswords", "fromaddresscontainswords",
        )),
    }  # fmt: skip


def check_mailbox_audit(events: list[dict], ctx: RuleContext) -> list[Finding]:
    """Inbox rule changes (their parameters judged like a rule), forwarding set with Set-Mailbox, and mailbox
    permission changes, in the window."""
    findings = []
    for event in events:
        if not in_window(event.get("when"), ctx):
            continue
        operation = str(event.get("operation") or "")
        op, params = operation.lower(), _params(event)
        who = event.get("actor") or "someone"
        ip = f" from {event['client_ip']}" if event.get("client_ip") else ""
        name = params.get("name") or params.get("identity") or event.get("object") or ""
        when = event.get("when") or ""
        if op in RULE_CHANGE_OPS:
            reasons = rule_reasons(_rule_from_params(params), ctx)
            if reasons:
                severity = _worst(reasons)
                for code, sev, text in reasons:
                    flag(event, code, sev, text)
                findings.append(Finding("mailbox_audit", "rule_change", severity, f"{operation}: “{name}”",
                                        f"{who}{ip} made a rule that " + "; ".join(t for _, _, t in reasons) + ".",
                                        when))  # fmt: skip
            else:
                flag(event, "rule_change", NOTE, "Inbox rule changed")
        elif op in RULE_REMOVE_OPS or op in PERMISSION_REMOVE_OPS:
            flag(event, "removal", NOTE, f"{operation}")
        elif op == "set-mailbox" and (params.get("forwardingsmtpaddress") or params.get("forwardingaddress")):
            target = str(params.get("forwardingsmtpaddress") or params.get("forwardingaddress"))
            severity = HIGH if is_external(target, ctx) else MEDIUM
            flag(event, "forwarding_set", severity, f"Forwarding set to {target}")
            findings.append(Finding("mailbox_audit", "forwarding_set", severity, "Mailbox forwarding was set",
                                    f"{who}{ip} set forwarding to {target}.", when))  # fmt: skip
        elif op in PERMISSION_OPS or (op == "set-mailbox" and params.get("grantsendonbehalfto")):
            grantee = (params.get("user") or params.get("trustee") or params.get("grantsendonbehalfto")
                       or params.get("delegate") or "someone")  # fmt: skip
            rights = (
                params.get("accessrights") or params.get("memberrights") or params.get("permissions") or ""
            )
            text = f"{operation}: {grantee}" + (f" ({rights})" if rights else "")
            flag(event, "permission_granted", MEDIUM, text)
            findings.append(Finding("mailbox_audit", "permission_granted", MEDIUM, "Mailbox permission granted",
                                    f"{who}{ip}: {text}.", when))  # fmt: skip
    return findings


def check_forwarding(forwarding: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    smtp = str(forwarding.get("forwarding_smtp") or "").strip()
    address = str(forwarding.get("forwarding_address") or "").strip()
    keep = (
        " (a copy stays in the mailbox)"
        if forwarding.get("deliver_and_forward")
        else " (nothing stays in the mailbox)"
    )
    if smtp:
        target = smtp[5:] if smtp.lower().startswith("smtp:") else smtp
        outside = is_external(target, ctx)
        severity = HIGH if outside else MEDIUM
        text = f"Forwards all mail to {target}" + (" outside the organisation" if outside else "") + keep
        flag(forwarding, "forwarding_external" if outside else "forwarding", severity, text)
        findings.append(Finding("forwarding", "forwarding_external" if outside else "forwarding", severity,
                                "Mailbox forwarding is on", text + "."))  # fmt: skip
    if address:
        outside = is_external(address, ctx)
        severity = HIGH if outside else MEDIUM
        text = f"Forwards all mail to the recipient {address}{keep}"
        flag(forwarding, "forwarding_recipient", severity, text)
        findings.append(Finding("forwarding", "forwarding_recipient", severity, "Mailbox forwarding is on",
                                text + "."))  # fmt: skip
    return findings
