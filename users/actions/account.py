"""Account actions: delete, block / unblock sign-in, revoke all sessions, clear the immutable id.

All are single Graph writes, so they are ``plan=`` actions: a selection goes out in $batch calls of 20.
"""

from __future__ import annotations

from graph.services import account as service

from .registry import Action, Group, Outcome, Status, register
from .runner import result_outcome
from .wording import synced, where, who

HYBRID_OVERWRITE = (
    "{n} synced from on-premises Active Directory: the next directory sync (usually within 30 minutes) "
    "sets sign-in back to what AD says. Disable the account in AD as well to make it stick."
)


def _licences(user) -> str:
    return user.license_names or "no licences"


# --- delete ----------------------------------------------------------------------------------------------


def _delete_confirm(targets, tenant) -> str:
    if len(targets) == 1:
        user = targets[0].user
        return (
            f"Delete {who(targets)} from {where(targets, tenant)}? The account ({user.user_principal_name}, "
            f"{_licences(user)}) stops signing in at once and its licences are freed. It stays in Deleted users "
            "and can be restored, with its mailbox and OneDrive, for 30 days."
        )
    return (
        f"Delete {who(targets)} from {where(targets, tenant)}? They stop signing in at once and their licences "
        "are freed. Each stays in Deleted users and can be restored for 30 days."
    )


def _delete_plan(ctx, target, data):
    return [service.delete_user_request(str(target.user.user_id))]


def _delete_interpret(ctx, target, data, results) -> Outcome:
    return result_outcome(
        results.get("delete"), "Deleted. Restorable from Deleted users for 30 days.", removed=True
    )


register(
    Action(
        key="delete-user", label="Delete user", group=Group.ACCOUNT, icon="trash3", permission="users.edit",
        confirm=_delete_confirm, plan=_delete_plan, interpret=_delete_interpret, danger=True,
    )
)  # fmt: skip


# --- block / unblock -----------------------------------------------------------------------------------------


def _hybrid_warning(targets) -> list[str]:
    hybrid = synced(targets)
    if not hybrid:
        return []
    n = "This user is" if len(targets) == 1 else f"{len(hybrid)} of these users are"
    return [HYBRID_OVERWRITE.format(n=n)]


def _enabled_plan(enabled: bool):
    def plan(ctx, target, data):
        return [service.set_account_enabled_request(str(target.user.user_id), enabled)]

    return plan


def _enabled_interpret(enabled: bool):
    def interpret(ctx, target, data, results) -> Outcome:
        message = "Sign-in unblocked." if enabled else "Sign-in blocked."
        if target.user.on_premises_sync_enabled:
            message += " Synced user: on-premises AD may set it back at the next sync."
        return result_outcome(results.get("accountEnabled"), message, user_record={"accountEnabled": enabled})

    return interpret


register(
    Action(
        key="block-sign-in", label="Block sign-in", group=Group.ACCOUNT, icon="slash-circle",
        permission="users.actions.helpdesk", danger=True,
        confirm=lambda targets, tenant: (
            f"Block sign-in for {who(targets)} in {where(targets, tenant)}? New sign-ins are refused at once; "
            "sessions already open keep working until their tokens expire (revoke sessions to end them now)."
        ),
        applies=lambda user: None if user.account_enabled else "Sign-in is already blocked.",
        warnings=_hybrid_warning, plan=_enabled_plan(False), interpret=_enabled_interpret(False),
    )
)  # fmt: skip

register(
    Action(
        key="unblock-sign-in", label="Unblock sign-in", group=Group.ACCOUNT, icon="check-circle",
        permission="users.actions.helpdesk",
        confirm=lambda targets, tenant: (
            f"Allow {who(targets)} in {where(targets, tenant)} to sign in again?"
        ),
        applies=lambda user: "Sign-in is not blocked." if user.account_enabled else None,
        warnings=_hybrid_warning, plan=_enabled_plan(True), interpret=_enabled_interpret(True),
    )
)  # fmt: skip


# --- revoke sessions -----------------------------------------------------------------------------------------


def _revoke_plan(ctx, target, data):
    return [service.revoke_sessions_request(str(target.user.user_id))]


def _revoke_interpret(ctx, target, data, results) -> Outcome:
    result = results.get("revoke")
    outcome = result_outcome(
        result, "All sessions revoked: every app must sign in again (it can take a few minutes everywhere)."
    )
    if outcome.ok and isinstance(result.body, dict) and result.body.get("value") is False:
        return Outcome(
            Status.FAILED, "Graph answered that the sessions were not revoked.", outcome.request_ids
        )
    return outcome


register(
    Action(
        key="revoke-sessions", label="Revoke all sessions", group=Group.SECURITY, icon="door-closed",
        permission="users.actions.helpdesk",
        confirm=lambda targets, tenant: (
            f"Sign {who(targets)} out of every app and device in {where(targets, tenant)}? Refresh tokens and "
            "session cookies stop working; they must sign in again (and pass MFA) everywhere."
        ),
        plan=_revoke_plan, interpret=_revoke_interpret,
    )
)  # fmt: skip


# --- clear immutable id ----------------------------------------------------------------------------------------


def _immutable_applies(user) -> str | None:
    if not user.on_premises_immutable_id:
        return "This user has no immutable ID."
    if user.on_premises_sync_enabled:
        return (
            "Still synced from on-premises AD: Entra refuses the change while sync is on, and Entra Connect "
            "would match the account again. Take the user out of sync scope first; once it shows as a cloud "
            "user, clear the ID."
        )
    return None


def _immutable_plan(ctx, target, data):
    return [service.clear_immutable_id_request(str(target.user.user_id))]


def _immutable_interpret(ctx, target, data, results) -> Outcome:
    return result_outcome(
        results.get("immutableId"),
        "Immutable ID cleared: the account can now be matched to a different on-premises user (or stay cloud-only).",
        user_record={"onPremisesImmutableId": None},
    )


register(
    Action(
        key="clear-immutable-id", label="Clear immutable ID", group=Group.ACCOUNT, icon="link-45deg",
        permission="users.edit",
        confirm=lambda targets, tenant: (
            f"Clear the on-premises immutable ID of {who(targets)} in {where(targets, tenant)}? The cloud account "
            "stops being tied to its former AD account, so Entra Connect can soft-match it to another one or "
            "it stays cloud-only."
        ),
        applies=_immutable_applies, plan=_immutable_plan, interpret=_immutable_interpret,
    )
)  # fmt: skip
