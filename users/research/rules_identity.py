"""Identity rules: sign-in methods, passwords and passes; app consents, app roles and new apps; directory
audit events; risk; and the mail the user sent.

Row shapes (``users.research.sources``): auth methods ``{methods: [{id, type, label, detail, created}],
events: [{id, when, activity, actor, result, detail}]}``; OAuth grant ``{id, client_id, app_id, app_name,
publisher, verified, sp_created, consent_type, scopes, resource}``; app role ``{id, app_name, app_id, role,
created, verified}``; new app ``{id, app_id, name, publisher, verified, created}``; directory audit ``{id,
when, activity, category, actor, actor_id, targets: [{id, name, type}], result, role}``; risk ``{risk_level,
risk_state, risk_detail, updated}``; sent message ``{when, recipient, subject, status, from_ip, message_id}``.
"""

from __future__ import annotations

from collections import defaultdict

from .rules import HIGH, MEDIUM, NOTE, Finding, RuleContext, flag, in_window, is_external, parse_when

TAP_TYPE = "temporaryaccesspassauthenticationmethod"
PASSWORD_TYPE = "passwordauthenticationmethod"
PASSWORD_ACTIVITIES = ("change password", "reset password", "change user password", "reset user password",
                       "set force change user password")  # fmt: skip
METHOD_ACTIVITIES = ("registered security info", "changed default security info", "registered all required",
                     "update user authentication method", "admin registered", "user registered")  # fmt: skip
# Delegated scopes that read or send mail and files, or change the directory: what phishing apps ask for.
RISKY_SCOPES = frozenset(s.lower() for s in (
    "Mail.Read", "Mail.ReadWrite", "Mail.Send", "Mail.Read.Shared", "Mail.ReadWrite.Shared", "Mail.Send.Shared",
    "MailboxSettings.ReadWrite", "Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All",
    "Contacts.Read", "Contacts.ReadWrite", "User.ReadWrite.All", "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All", "EWS.AccessAsUser.All", "full_access_as_user", "IMAP.AccessAsUser.All",
    "POP.AccessAsUser.All", "SMTP.Send", "Notes.Read.All", "Chat.Read", "ChannelMessage.Read.All",
    "Application.ReadWrite.All", "RoleManagement.ReadWrite.Directory",
))  # fmt: skip
# Sent-mail thresholds (per window): many distinct outside recipients, one subject to many, a burst per hour.
EXTERNAL_RECIPIENTS_FLAG = 25
CAMPAIGN_RECIPIENTS = 10
BURST_PER_HOUR = 30
RISK_HIGH_LEVELS = frozenset({"medium", "high"})
RISK_CLEARED_STATES = frozenset({"remediated", "dismissed", "none", ""})


# --- sign-in methods, passwords, passes --------------------------------------------------------------------


def check_auth_methods(data: dict, ctx: RuleContext, *, profile: dict | None = None) -> list[Finding]:
    findings = []
    for method in data.get("methods") or []:
        kind = str(method.get("type") or "").lower()
        if kind == PASSWORD_TYPE or not in_window(method.get("created"), ctx):
            continue
        label = method.get("label") or method.get("type") or "method"
        detail = f" ({method['detail']})" if method.get("detail") else ""
        if kind == TAP_TYPE:
            flag(method, "tap_created", HIGH, "Temporary Access Pass created in the window")
            findings.append(Finding("auth_methods", "tap_created", HIGH, "A Temporary Access Pass was created",
                                    f"{label}{detail}: anyone holding it can sign in and register methods.",
                                    method.get("created") or ""))  # fmt: skip
        else:
            flag(method, "new_method", HIGH, "Registered in the window")
            findings.append(Finding("auth_methods", "new_method", HIGH, f"New sign-in method: {label}",
                                    f"{label}{detail} was registered during the window.",
                                    method.get("created") or ""))  # fmt: skip
    password_seen = False
    for event in data.get("events") or []:
        if (
            not in_window(event.get("when"), ctx)
            or str(event.get("result") or "success").lower() != "success"
        ):
            continue
        activity = str(event.get("activity") or "")
        lowered = activity.lower()
        actor = event.get("actor") or "someone"
        if "temporary access pass" in lowered:
            code, severity, title = "tap_created", HIGH, "Temporary Access Pass activity"
        elif any(word in lowered for word in PASSWORD_ACTIVITIES):
            code, severity, title = "password_change", MEDIUM, "Password changed or reset"
            password_seen = True
        elif any(word in lowered for word in METHOD_ACTIVITIES):
            code, severity, title = "method_registered", MEDIUM, "Security info registered or changed"
        else:
            continue
        flag(event, code, severity, activity)
        findings.append(Finding("auth_methods", code, severity, title, f"{activity} by {actor}.",
                                event.get("when") or ""))  # fmt: skip
    changed = data.get("last_pwd_change") or (
        (profile or {}).get("last_pwd_change") if isinstance(profile, dict) else None
    )
    if not password_seen and changed and in_window(changed, ctx):
        findings.append(Finding("auth_methods", "password_change", MEDIUM, "Password changed in the window",
                                "The account's password was last changed during the window.", changed))  # fmt: skip
    return findings


# --- apps ------------------------------------------------------------------------------------------------


def risky_scopes(scopes) -> list[str]:
    items = scopes.split() if isinstance(scopes, str) else list(scopes or [])
    return [s for s in items if str(s).lower() in RISKY_SCOPES]


def check_oauth_grants(grants: list[dict], ctx: RuleContext) -> list[Finding]:
    """A consent is high when the app can read or send mail / files as the user and its publisher is not
    verified or it arrived in the tenant during the window; medium when it is only new (or consented to
    during the window); a broad consent to an old app of a verified publisher is a note."""
    findings = []
    for grant in grants:
        risky = risky_scopes(grant.get("scopes"))
        new = in_window(grant.get("sp_created"), ctx)
        consented_now = in_window(grant.get("consented"), ctx)
        unverified = not grant.get("verified")
        app = grant.get("app_name") or grant.get("app_id") or "an app"
        why = []
        if unverified:
            why.append(f"publisher not verified ({grant.get('publisher') or 'unknown publisher'})")
        if new:
            why.append("added to the tenant during the window")
        elif consented_now:
            why.append("consented to during the window")
        when = grant.get("consented") or grant.get("sp_created") or ""
        can = f"Can {', '.join(risky)} as the user" if risky else "Delegated access"
        if risky and (unverified or new):
            code, severity = "risky_consent", HIGH
        elif new or consented_now:
            code, severity = "new_app_consent", MEDIUM
        else:
            if risky:
                flag(grant, "broad_consent", NOTE, f"{can} (verified publisher {grant.get('publisher')})")
            continue
        text = f"{can}; " + "; ".join(why)
        flag(grant, code, severity, text)
        findings.append(Finding("oauth_grants", code, severity, f"Consent to {app}", text + ".", when))
    return findings


def check_app_roles(roles: list[dict], ctx: RuleContext) -> list[Finding]:
    findings = []
    for role in roles:
        if not in_window(role.get("created"), ctx):
            continue
        app = role.get("app_name") or "an app"
        if role.get("verified"):
            flag(role, "new_app_role", NOTE, "Assigned during the window")
            continue
        flag(role, "new_app_role", MEDIUM, "Assigned during the window; publisher not verified")
        findings.append(Finding("app_roles", "new_app_role", MEDIUM, f"Access to {app} granted",
                                "The user was given access to an app of an unverified publisher during the window.",
                                role.get("created") or ""))  # fmt: skip
    return findings


def check_new_apps(apps: list[dict], ctx: RuleContext, consented: set[str]) -> list[Finding]:
    """New service principals are tenant-wide context; only those this user consented to are flags (so a
    clean user in an attacked tenant is not flagged for someone else's app)."""
    findings = []
    me = {str(ctx.upn).lower()} - {""}
    for app in apps:
        name = app.get("name") or app.get("app_id") or "an app"
        if str(app.get("created_by") or "").lower() in me:
            flag(app, "added_by_user", HIGH, "This user added it to the tenant")
            findings.append(Finding("new_apps", "added_by_user", HIGH, f"The user added the app {name}",
                                    f"{name} ({app.get('publisher') or 'unknown publisher'}) was added to the tenant "
                                    "by this user during the window.", app.get("created") or ""))  # fmt: skip
        elif str(app.get("app_id") or "").lower() in consented:
            flag(app, "consented_new_app", HIGH, "This user consented to it")
            findings.append(Finding("new_apps", "consented_new_app", HIGH, f"New app {name}, consented by the user",
                                    f"{name} ({app.get('publisher') or 'unknown publisher'}) appeared in the tenant "
                                    "during the window and the user granted it access.", app.get("created") or ""))  # fmt: skip
        else:
            flag(app, "new_app", NOTE, "Added to the tenant during the window (not by this user's consent)")
    return findings


# --- directory audits ---------------------------------------------------------------------------------------

_ACTOR_HIGH = ("add user", "set domain authentication", "set federation settings on domain", "verify domain",
               "add unverified domain", "certificates and secrets", "add service principal credentials",
               "conditional access policy")  # fmt: skip
_ACTOR_MEDIUM = ("add service principal", "add application", "add owner to application",
                 "add owner to service principal", "consent to application", "add delegated permission grant",
                 "add app role assignment", "invite external user", "reset user password", "change user password",
                 "delete user", "disable account", "update user", "add member to group")  # fmt: skip


def check_directory_audits(audits: list[dict], ctx: RuleContext) -> list[Finding]:
    findings = []
    me = {str(ctx.user_id).lower(), str(ctx.upn).lower()} - {""}
    for audit in audits:
        if not in_window(audit.get("when"), ctx):
            continue
        if str(audit.get("result") or "success").lower() != "success":
            flag(audit, "failed", NOTE, "Failed")
            continue
        activity = str(audit.get("activity") or "")
        lowered = activity.lower()
        by_user = (audit.get("role") in ("actor", "both") or str(audit.get("actor_id") or "").lower() in me
                   or str(audit.get("actor") or "").lower() in me)  # fmt: skip
        targets = audit.get("targets") or []
        others = [t for t in targets if str(t.get("id") or "").lower() not in me
                  and str(t.get("name") or "").lower() not in me]  # fmt: skip
        other_names = ", ".join(str(t.get("name") or t.get("id") or "?") for t in others) or "—"
        when = audit.get("when") or ""
        if "to role" in lowered and "remove" not in lowered:
            if by_user:
                code, severity, text = "granted_role", HIGH, f"The user gave a role to {other_names}"
            else:
                code, severity, text = (
                    "role_granted",
                    HIGH,
                    f"The user was given a role by {audit.get('actor') or 'someone'}",
                )
        elif by_user and any(word in lowered for word in _ACTOR_HIGH):
            code, severity, text = "actor_high", HIGH, f"The user did: {activity} ({other_names})"
        elif by_user and others and any(word in lowered for word in _ACTOR_MEDIUM):
            code, severity, text = "actor_change", MEDIUM, f"The user did: {activity} ({other_names})"
        else:
            continue
        flag(audit, code, severity, text)
        findings.append(Finding("directory_audits", code, severity, activity, text + ".", when))
    return findings


# --- risk ----------------------------------------------------------------------------------------------------


def check_risk(risk: dict, ctx: RuleContext, sign_ins: list[dict]) -> list[Finding]:
    level = str(risk.get("risk_level") or "none").lower()
    state = str(risk.get("risk_state") or "none").lower()
    if state in RISK_CLEARED_STATES or level in ("none", "hidden", ""):
        if state in ("remediated", "dismissed"):
            flag(risk, "risk_cleared", NOTE, f"Risk {state}")
        return []
    severity = HIGH if level in RISK_HIGH_LEVELS or state == "confirmedcompromised" else MEDIUM
    text = f"Identity Protection rates the user {level} risk ({risk.get('risk_state')}"
    text += f", {risk['risk_detail']})" if risk.get("risk_detail") not in (None, "", "none") else ")"
    flag(risk, "user_at_risk", severity, text)
    return [Finding("risk", "user_at_risk", severity, "User at risk", text + ".", risk.get("updated") or "")]


# --- sent mail -----------------------------------------------------------------------------------------------


def check_sent_mail(messages: list[dict], ctx: RuleContext) -> list[Finding]:
    findings = []
    sent = [m for m in messages if in_window(m.get("when"), ctx)]
    outside = [m for m in sent if is_external(m.get("recipient") or "", ctx)]
    recipients = {str(m.get("recipient") or "").lower() for m in outside}
    if len(recipients) >= EXTERNAL_RECIPIENTS_FLAG:
        for message in outside:
            flag(message, "many_external", HIGH, "One of many outside recipients")
        findings.append(Finding("sent_mail", "many_external", HIGH, "Mail sent to many outside recipients",
                                f"{len(recipients)} distinct recipients outside the organisation in the window.",
                                outside[0].get("when") or "", len(recipients)))  # fmt: skip
    by_subject: dict[str, set[str]] = defaultdict(set)
    for message in outside:
        by_subject[str(message.get("subject") or "").strip().lower()].add(
            str(message.get("recipient")).lower()
        )
    for subject, people in by_subject.items():
        if len(people) < CAMPAIGN_RECIPIENTS:
            continue
        hits = [m for m in outside if str(m.get("subject") or "").strip().lower() == subject]
        shown = hits[0].get("subject") or "(no subject)"
        for message in hits:
            flag(message, "campaign", HIGH, f"Same subject to {len(people)} outside recipients")
        findings.append(Finding("sent_mail", "campaign", HIGH, f"Possible phishing campaign: “{shown}”",
                                f"The same subject went to {len(people)} recipients outside the organisation.",
                                hits[0].get("when") or "", len(people)))  # fmt: skip
    findings += _bursts(sent)
    return findings


def _bursts(sent: list[dict]) -> list[Finding]:
    """The largest group of messages within 60 minutes, when it reaches BURST_PER_HOUR."""
    stamped = sorted(
        ((parse_when(m.get("when")), m) for m in sent if parse_when(m.get("when"))), key=lambda x: x[0]
    )
    best: tuple[int, int] = (0, 0)
    start = 0
    for end in range(len(stamped)):
        while (stamped[end][0] - stamped[start][0]).total_seconds() > 3600:
            start += 1
        if end - start + 1 > best[1] - best[0]:
            best = (start, end + 1)
    count = best[1] - best[0]
    if count < BURST_PER_HOUR:
        return []
    for _, message in stamped[best[0] : best[1]]:
        flag(message, "burst", MEDIUM, "Part of a burst of sending")
    first = stamped[best[0]][1]
    return [Finding("sent_mail", "burst", MEDIUM, "Burst of sending",
                    f"{count} messages within one hour.", first.get("when") or "", count)]  # fmt: skip
