"""Security actions: Create Temporary Access Pass, Re-require MFA registration, Set per-user MFA and Send
MFA push. All four change how a user proves who they are (on privileged targets only an Admin may, as for
every action).

Secrets: the pass exists only in ``Outcome.secret`` (shown once by the modal, never audited, logged or
stored). Nothing here logs a pass, a client secret or a token.
"""

from __future__ import annotations

import logging
from datetime import datetime

from graph import http
from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError
from graph.services import mfa, mfa_push
from graph.services.auth_methods import get_per_user_mfa_state
from users.models import DirectoryUser

from .registry import Action, ActionContext, Group, Outcome, Status, Target, register
from .security_forms import (
    PerUserMfaForm,
    TemporaryAccessPassForm,
    read_tap_policy,
    tap_policy_disabled_message,
)
from .wording import in_tenant, who

logger = logging.getLogger(__name__)
HELPDESK = "users.actions.helpdesk"


def _request_ids(*errors: GraphError | None) -> list[str]:
    return [e.request_id for e in errors if e is not None and e.request_id]


# --- Create Temporary Access Pass -------------------------------------------------------------------------


def _tap_confirm(targets: list[Target], tenant) -> str:
    return (
        f"Create a Temporary Access Pass for {who(targets)} {in_tenant(targets, tenant)}. Anyone holding the pass "
        "can sign in as the user and register new sign-in methods until it expires; a pass the user already "
        "has is replaced. The pass is shown once, here, and is not kept anywhere."
    )


def _tap_warnings(targets: list[Target]) -> list[str]:
    warnings: list[str] = []
    for tenant in {t.tenant.pk: t.tenant for t in targets}.values():
        policy = read_tap_policy(tenant)
        if policy is None:
            warnings.append(f"The Temporary Access Pass policy of {tenant.display_name} could not be read.")
        elif not policy.enabled:
            warnings.append(tap_policy_disabled_message(tenant.display_name))
    return warnings


def _run_tap(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    policy = mfa.get_tap_policy(ctx.graph)
    if not policy.enabled:
        return Outcome(Status.SKIPPED, tap_policy_disabled_message(ctx.tenant.display_name))
    lifetime = int(data.get("lifetime_minutes") or policy.default_lifetime)
    if not policy.minimum_lifetime <= lifetime <= policy.maximum_lifetime:
        return Outcome(
            Status.FAILED,
            f"A lifetime of {lifetime} minutes is outside the tenant's policy "
            f"({policy.minimum_lifetime}-{policy.maximum_lifetime} minutes).",
        )
    usable_once = True if policy.usable_once else bool(data.get("one_time"))
    start = datetime.fromisoformat(data["start"].replace("Z", "+00:00")) if data.get("start") else None
    try:
        created = mfa.create_temporary_access_pass(
            ctx.graph,
            str(target.user.user_id),
            lifetime_minutes=lifetime,
            usable_once=usable_once,
            start=start,
        )
    except GraphError as error:
        if error.code != http.OUTCOME_UNKNOWN:
            raise
        # The pass may exist, but its secret is lost with the answer: say what to check, never "not created".
        return Outcome(
            Status.FAILED,
            "Outcome unknown: the connection to Graph was lost after the request was sent, so a Temporary "
            "Access Pass may have been created, but it cannot be shown. Check the user's authentication "
            "methods: if a pass is listed, create a new one (it replaces that one) to get a pass you can hand "
            "over.",
        )
    use = "one-time use" if created.usable_once else "usable several times"
    when = f"from {created.start}" if start is not None and created.start else "from now"
    return Outcome(
        Status.SUCCESS,
        f"Temporary Access Pass created: valid {when} for {created.lifetime_minutes} minutes, {use}. "
        "Copy it now; it will not be shown again.",
        details={
            "lifetime_minutes": created.lifetime_minutes,
            "usable_once": created.usable_once,
            "start": created.start or "",
            "method_id": created.method_id,
        },  # fmt: skip
        secret=created.secret,
    )


CREATE_TAP = register(
    Action(
        key="create-tap",
        label="Create Temporary Access Pass",
        group=Group.SECURITY,
        icon="key",
        permission=HELPDESK,
        confirm=_tap_confirm,
        form_class=TemporaryAccessPassForm,
        bulk=True,
        secret_output=True,
        run=_run_tap,
        warnings=_tap_warnings,
    )
)


# --- Re-require MFA registration ----------------------------------------------------------------------------


def _reset_confirm(targets: list[Target], tenant) -> str:
    return (
        f"Remove every registered sign-in method except the password from {who(targets)} "
        f"{in_tenant(targets, tenant)}: Authenticator app, phone numbers, security keys, Windows Hello, OATH "
        "tokens, e-mail and Temporary Access Passes. At the next sign-in they must register MFA again."
    )


def _delete_requests(user_id: str, methods: list[dict]) -> list[BatchRequest]:
    """One DELETE per method; a mobile number waits for the user's other phone numbers (Graph refuses to
    delete it while an alternateMobile exists)."""
    requests_: list[BatchRequest] = []
    other_phones = [f"m{i}" for i, m in enumerate(methods)
                    if m["type"] == "phoneAuthenticationMethod" and m.get("phone_type") != "mobile"]  # fmt: skip
    for index, method in enumerate(methods):
        request = mfa.delete_method_request(f"m{index}", user_id, method["type"], method["id"])
        if (
            method["type"] == "phoneAuthenticationMethod"
            and method.get("phone_type") == "mobile"
            and other_phones
        ):
            request.depends_on = list(other_phones)
        requests_.append(request)
    return requests_


def _run_reset_mfa(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    user_id = str(target.user.user_id)
    methods = mfa.removable_methods(ctx.graph, user_id)
    if not methods:
        return Outcome(
            Status.SKIPPED, "The user has no sign-in methods besides the password; nothing to remove."
        )
    results = ctx.graph.batch(_delete_requests(user_id, methods))
    rows, removed, failed, request_ids = [], [], [], []
    for index, method in enumerate(methods):
        result = results.get(f"m{index}")
        ok = result is not None and (result.ok or result.status == 404)  # already gone counts as removed
        reason = "" if ok else (result.error.message if result and result.error else "no answer from Graph")
        label = method["label"] + (f" ({method['detail']})" if method.get("detail") else "")
        rows.append({"type": method["type"], "label": label, "id": method["id"],
                     "result": "deleted" if ok else "failed", "reason": reason})  # fmt: skip
        (removed if ok else failed).append(label if ok else f"{label}: {reason}")
        request_id = (result.headers or {}).get("request-id") if result is not None else None
        if request_id:
            request_ids.append(str(request_id))
    details = {"methods": rows}
    if not failed:
        return Outcome(Status.SUCCESS, f"Removed {len(removed)} method(s): {', '.join(removed)}. The user must "
                       "register MFA at the next sign-in.", request_ids=request_ids, details=details)  # fmt: skip
    done = f"Removed {', '.join(removed)}. " if removed else ""
    return Outcome(Status.FAILED, f"{done}Could not remove {'; '.join(failed)}. The user still has these "
                   "methods.", request_ids=request_ids, details=details)  # fmt: skip


RESET_MFA = register(
    Action(
        key="reset-mfa",
        label="Re-require MFA registration",
        group=Group.SECURITY,
        icon="shield-x",
        permission=HELPDESK,
        confirm=_reset_confirm,
        bulk=True,
        danger=True,
        run=_run_reset_mfa,
    )
)


# --- Set per-user MFA (beta) ----------------------------------------------------------------------------------


def _mfa_confirm(targets: list[Target], tenant) -> str:
    return (
        f"Set per-user (legacy) MFA for {who(targets)} {in_tenant(targets, tenant)} to the state chosen below. "
        "Enforced requires MFA at every sign-in; Disabled leaves MFA to Conditional Access or security "
        "defaults."
    )


def _beta(ctx: ActionContext) -> GraphClient:
    return ctx.graph_beta or GraphClient.for_tenant(ctx.tenant, version="beta")


def _run_per_user_mfa(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    state = str(data.get("state") or "")
    if state not in {"enforced", "enabled", "disabled"}:
        return Outcome(Status.FAILED, f"Unknown per-user MFA state {state!r}.")
    client, user_id = _beta(ctx), str(target.user.user_id)
    mfa.set_per_user_mfa_state(client, user_id, state)
    # Read back: Microsoft turns "enabled" into "enforced" for a user who already registered MFA methods.
    effective = get_per_user_mfa_state(client, user_id)
    # The cache column is not part of a user record, so it is written here rather than by the runner.
    DirectoryUser.objects.filter(tenant=ctx.tenant, user_id=target.user.user_id).update(
        per_user_mfa_state=effective
    )
    message = f"Per-user MFA is now {effective}."
    if effective != state:
        message = f"Per-user MFA set to {state}; Microsoft reports it as {effective} (the user already has MFA methods)."
    return Outcome(Status.SUCCESS, message, details={"per_user_mfa_state": effective, "requested": state})


SET_PER_USER_MFA = register(
    Action(
        key="set-per-user-mfa",
        label="Set per-user MFA",
        group=Group.SECURITY,
        icon="shield-lock",
        permission=HELPDESK,
        confirm=_mfa_confirm,
        form_class=PerUserMfaForm,
        bulk=True,
        run=_run_per_user_mfa,
    )
)


# --- Send MFA push (legacy MFA connector) -------------------------------------------------------------------


def _push_confirm(targets: list[Target], tenant) -> str:
    return (
        f"Send an MFA sign-in request to {who(targets)} {in_tenant(targets, tenant)} through Microsoft's MFA "
        'connector. A temporary credential is added to the tenant\'s "Azure Multi-Factor Auth Client" app for '
        "the duration of the request and removed straight after. This waits for the user's answer (up to two "
        "minutes)."
    )


PUSH_MESSAGES = {
    mfa_push.APPROVED: (Status.SUCCESS, "{name} approved the MFA request."),
    mfa_push.DENIED: (Status.FAILED, "{name} denied the MFA request."),
    mfa_push.TIMED_OUT: (
        Status.FAILED,
        "{name} did not answer the MFA request in time (or has no push-capable method registered).",
    ),  # fmt: skip
    mfa_push.FAILED: (Status.FAILED, "The MFA connector did not confirm the request for {name}."),
}


def _run_push(ctx: ActionContext, target: Target, data: dict) -> Outcome:
    user = target.user
    result = mfa_push.send_mfa_push(ctx.graph, user.user_principal_name)
    status, template = PUSH_MESSAGES[result.outcome]
    message = template.format(name=user.display_name or user.user_principal_name)
    if result.outcome == mfa_push.FAILED and result.message:
        message += f" The connector said: {result.value}: {result.message}"
    details = {"result": result.outcome, "connector_result": result.value}
    if result.cleanup_error:
        details["cleanup"] = result.cleanup_error
        message += f" Note: {result.cleanup_error}."
    return Outcome(status, message, details=details)


SEND_MFA_PUSH = register(
    Action(
        key="send-mfa-push",
        label="Send MFA push",
        group=Group.SECURITY,
        icon="phone-vibrate",
        permission=HELPDESK,
        confirm=_push_confirm,
        bulk=False,
        run=_run_push,
    )
)
