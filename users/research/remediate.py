"""Remediation of a compromised account: the lock-down steps, run in order as one Job.

Steps that exist as actions are run *through the actions registry and runner* (``run_action``), so each keeps
its own permission, ``applies`` check, privileged-target guard, write-through to the directory cache and audit
entry: block sign-in, reset the password (must change), revoke sessions, remove MFA methods, remove mailbox
forwarding. Two steps have no action of their own and are defined here with the same discipline (permission
check, privileged-target guard, one audit entry, truthful outcome): disabling inbox rules (the suspicious
ones the report flagged, or all) and revoking the suspicious app consents.

Order matters: sign-in is blocked first (no new sign-ins while the rest runs), then the password, sessions
and methods an attacker could reuse; then the mailbox and app persistence.

The password reset runs in the background, so its one-time password is shown to no one and never stored: the
account is locked anyway, and whoever hands it back to the user resets it again (shown once, as usual).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from graph.errors import GraphError, NotFoundError
from graph.services import compromise
from tenants.access import can
from users import audit

from ..actions import guard, registry
from ..actions.registry import ActionContext, Outcome, Status, Target
from .rules import FLAGGING
from .sources import inbox_rule_rows

logger = logging.getLogger(__name__)

EDIT = "users.edit"
RULES_SUSPICIOUS = "suspicious"
RULES_ALL = "all"
PASSWORD_NOTE = (
    " The new password was not shown to anyone and is not kept: reset it again when the account is handed "
    "back to the user."
)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    explain: str
    action_key: str = ""  # a registry action this step runs
    data: dict = field(default_factory=dict)  # that action's inputs
    run: Callable[[ActionContext, Target, dict], Outcome] | None = None  # a step of its own
    permission: str = ""  # a step of its own: who may run it
    audit_action: str = ""  # a step of its own: its audit entry's action

    @property
    def action(self):
        return registry.get(self.action_key) if self.action_key else None

    @property
    def required_permission(self) -> str:
        return self.action.permission if self.action_key else self.permission


# --- steps of their own --------------------------------------------------------------------------------------


def _failure(error: Exception, prefix: str = "") -> Outcome:
    if isinstance(error, compromise.SourceUnavailable):
        return Outcome(Status.FAILED, f"{prefix}could not read them: {error.reason}.")
    request_ids = [error.request_id] if isinstance(error, GraphError) and error.request_id else []
    message = error.message if isinstance(error, GraphError) else str(error)
    return Outcome(Status.FAILED, f"{prefix}{message}", request_ids=request_ids)


def disable_rules(ctx: ActionContext, target: Target, params: dict) -> Outcome:
    """Disable the chosen inbox rules (``rule_ids``: identities the report flagged) or, with
    ``rules_mode="all"``, every enabled rule except Exchange's own. Rules are read again first: one already
    disabled or gone is reported as such, never as "disabled by us"."""
    upn = target.user.user_principal_name
    try:
        rules = inbox_rule_rows(compromise.inbox_rules(ctx.exchange, upn))
    except (GraphError, compromise.SourceUnavailable) as error:
        return _failure(error, "The inbox rules were not changed: ")
    mode = params.get("rules_mode") or RULES_SUSPICIOUS
    wanted = set(params.get("rule_ids") or [])
    chosen = [r for r in rules if not r["system"] and (mode == RULES_ALL or r["identity"] in wanted)]
    already = [r["name"] for r in chosen if not r["enabled"]]
    chosen = [r for r in chosen if r["enabled"]]
    missing = sorted(wanted - {r["identity"] for r in rules}) if mode != RULES_ALL else []
    details: dict = {
        "mode": mode,
        "disabled": [],
        "failed": [],
        "already_disabled": already,
        "gone": len(missing),
    }
    if not chosen:
        what = (
            "No enabled inbox rule"
            if mode == RULES_ALL
            else "None of the suspicious rules is enabled any more"
        )
        return Outcome(Status.SKIPPED, f"{what}; nothing to disable.", details=details)
    request_ids: list[str] = []
    for rule in chosen:
        try:
            compromise.disable_inbox_rule(ctx.exchange, upn, rule["identity"])
            details["disabled"].append(rule["name"])
        except NotFoundError:  # deleted between the read and the write: nothing left to disable
            details["gone"] += 1
        except GraphError as error:
            details["failed"].append(f"{rule['name']}: {error.message}")
            if error.request_id:
                request_ids.append(error.request_id)
    message = f"Disabled {len(details['disabled'])} rule(s): {', '.join(details['disabled']) or 'none'}."
    if already:
        message += f" Already disabled: {', '.join(already)}."
    if details["gone"]:
        message += f" {details['gone']} rule(s) from the report no longer exist."
    if details["failed"]:
        message += f" Could not disable: {'; '.join(details['failed'])}."
        return Outcome(Status.FAILED, message, request_ids=request_ids, details=details)
    return Outcome(Status.SUCCESS, message, request_ids=request_ids, details=details)


def revoke_grants(ctx: ActionContext, target: Target, params: dict) -> Outcome:
    """Delete the delegated permission grants the report flagged (``grants``: [{id, app}])."""
    grants = params.get("grants") or []
    if not grants:
        return Outcome(Status.SKIPPED, "The report flagged no app consent; nothing to revoke.")
    revoked, gone, failed, request_ids = [], [], [], []
    for grant in grants:
        name = grant.get("app") or grant.get("id")
        try:
            (
                revoked if compromise.revoke_oauth_grant(ctx.graph, str(grant.get("id") or "")) else gone
            ).append(name)
        except (GraphError, ValueError) as error:
            failed.append(f"{name}: {getattr(error, 'message', str(error))}")
            if isinstance(error, GraphError) and error.request_id:
                request_ids.append(error.request_id)
    details = {"revoked": revoked, "already_gone": gone, "failed": failed}
    message = f"Revoked the consent of {', '.join(revoked)}." if revoked else "No consent revoked."
    if gone:
        message += f" Already gone: {', '.join(gone)}."
    if failed:
        return Outcome(
            Status.FAILED, message + f" Could not revoke: {'; '.join(failed)}.", request_ids, details
        )
    status = Status.SUCCESS if revoked else Status.SKIPPED
    return Outcome(status, message + " The apps can no longer act as the user.", request_ids, details)


# --- the steps ---------------------------------------------------------------------------------------------------

STEPS: tuple[Step, ...] = (
    Step("block-sign-in", "Block sign-in", "Refuses every new sign-in at once.", action_key="block-sign-in"),
    Step("reset-password", "Reset the password (must change at next sign-in)",
         "A random password nobody sees; the attacker's copy stops working.",
         action_key="reset-password-must-change", data={"style": "random", "length": 24}),
    Step("revoke-sessions", "Revoke all sessions", "Signs the account out of every app and device.",
         action_key="revoke-sessions"),
    Step("remove-mfa", "Remove MFA methods", "Removes every sign-in method except the password, including any "
         "the attacker registered; the user registers again.", action_key="reset-mfa"),
    Step("disable-rules", "Disable inbox rules", "Turns the rules off (they are kept, so they can be looked at).",
         run=disable_rules, permission=EDIT, audit_action="research-disable-inbox-rules"),
    Step("remove-forwarding", "Remove mailbox forwarding", "Clears forwarding set on the mailbox.",
         action_key="disable-forwarding"),
    Step("revoke-grants", "Revoke suspicious app consents", "Deletes the delegated permissions the report "
         "flagged.", run=revoke_grants, permission=EDIT, audit_action="research-revoke-app-consents"),
)  # fmt: skip
BY_KEY = {step.key: step for step in STEPS}


def _flagged(row: dict) -> bool:
    return any(f.get("severity") in FLAGGING for f in row.get("flags") or [])


def suspicious_rules(report) -> list[dict]:
    section = ((report.sections or {}).get("sources") or {}).get("inbox_rules") or {}
    rows = section.get("data") if section.get("status") == "ok" else None
    return [
        {"identity": r["identity"], "name": r["name"]} for r in rows or [] if r.get("enabled") and _flagged(r)
    ]


def suspicious_grants(report) -> list[dict]:
    section = ((report.sections or {}).get("sources") or {}).get("oauth_grants") or {}
    rows = section.get("data") if section.get("status") == "ok" else None
    return [{"id": g["id"], "app": g.get("app_name") or g.get("app_id")} for g in rows or [] if _flagged(g)]


def run_step(step: Step, ctx: ActionContext, target: Target, params: dict, *, technician, job_id,
             source_ip) -> Outcome:  # fmt: skip
    """One step's outcome; audited exactly once (by the runner for actions, here otherwise). Never raises."""
    from ..actions.runner import run_action

    if step.action_key:
        [result] = run_action(step.action, [target], dict(step.data), technician=technician, source_ip=source_ip,
                              job_id=job_id, contexts={target.tenant.pk: ctx}, priority="high")  # fmt: skip
        outcome = result.outcome
        if outcome.secret is not None:
            outcome.secret = None  # nobody is there to see it; it is dropped here, never stored
            outcome.message += PASSWORD_NOTE
        return outcome
    if not can(technician, step.permission, target.tenant):
        outcome = Outcome(
            Status.SKIPPED, f"Your role may not “{step.label.lower()}” in {target.tenant.display_name}."
        )
    elif refused := guard.check_targets(ctx, [target]):  # a privileged target: only an Admin may
        outcome = Outcome(Status.SKIPPED, refused[str(target.user.user_id)])
    else:
        try:
            outcome = step.run(ctx, target, params)
        except Exception:  # a bug must not stop the other steps
            logger.exception("remediation step %s failed", step.key)
            outcome = Outcome(Status.FAILED, "An unexpected error stopped this step; it was logged.")
    audit.record(technician, tenant=target.tenant, target=target.user, action=step.audit_action,
                 parameters=audit.strip_secrets(params), result=outcome.status, message=outcome.message,
                 request_ids=outcome.request_ids, job_id=job_id, source_ip=source_ip)  # fmt: skip
    return outcome
