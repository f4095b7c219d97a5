"""Password options besides the generated resets (users.actions.password):

* "Set a chosen password": the technician types the password (e.g. to read it out on the phone). It is
  checked against Entra's rules before anything is sent (users.actions.password_rules), the error shown next
  to the field; after the run it is shown nowhere: the field never renders its value back, the Outcome
  carries no secret, and the audit, the Job and the logs never see it (the form hands it on under a
  "_" key, which the runner leaves out of the audit; the Job's copy of the raw form is redacted by
  users.audit's secret-key rule). One user at a time, so it always runs in the request, never in a queue.
* "Require password change at next sign-in" (selection): ``PATCH passwordProfile`` with only
  ``forceChangePasswordNextSignIn: true``; every passwordProfile property is optional on update, so the
  password itself is left as it is.
* "Password never expires" on / off (selection): ``passwordPolicies`` gains or loses
  ``DisablePasswordExpiration``; other values (``DisableStrongPassword``) are read first and kept. An empty
  set is written as "None", the documented way to clear it.
"""

from __future__ import annotations

from django import forms

from graph.services import account as service

from .mail_forms import ActionForm
from .password import write_back
from .password_rules import password_problems
from .registry import Action, Group, Outcome, Status, register
from .runner import result_outcome
from .wording import in_tenant, synced, who

NEVER_EXPIRES = "DisablePasswordExpiration"


def _no_guests(user) -> str | None:
    if (user.user_type or "").lower() == "guest":
        return "Guests sign in with their own organisation's account; their password is not managed here."
    return None


# --- set a chosen password ---------------------------------------------------------------------------------


class ChosenPasswordForm(ActionForm):
    new_password = forms.CharField(
        label="New password", strip=False, max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "spellcheck": "false"}),
        help_text="8 to 256 characters with three of: lower case, upper case, digits, symbols; not containing "
                  "the user's name. It is not stored or shown again.",
    )  # fmt: skip
    must_change = forms.BooleanField(
        label="Require a change at the next sign-in", required=False, initial=True,
        help_text="Not possible for users synced from on-premises AD (set it in AD).",
    )  # fmt: skip

    def clean_new_password(self):
        password = self.cleaned_data["new_password"]
        users = self.targets[:1]
        problems = password_problems(password, users[0] if users else None)
        if problems:
            raise forms.ValidationError(problems)
        return password

    def clean(self):
        data = super().clean()
        # Keys starting with "_" never reach the audit entry or the Job (users.actions.runner / jobs): the
        # password travels to the handler only.
        if "new_password" in data:
            data["_new_password"] = data.pop("new_password")
        return data


def _chosen_run(ctx, target, data) -> Outcome:
    password = str(data.get("_new_password") or "")
    problems = password_problems(password, target.user)
    if problems:  # the form checked it; a hand-made call must not reach Graph with a weak one either
        return Outcome(Status.FAILED, " ".join(problems))
    user_id = str(target.user.user_id)
    if target.user.on_premises_sync_enabled:
        return write_back(
            ctx, user_id, password,
            accepted="Accepted, not yet confirmed: Entra is writing the password back to on-premises AD; it works "
            "once AD has applied it (if AD's password policy refuses it, the old one stays).",
            done="Password set (written back to on-premises AD).",
        )  # fmt: skip
    must_change = bool(data.get("must_change"))
    service.reset_password_cloud(ctx.graph, user_id, password, force_change=must_change)
    message = "Password set to the one you typed."
    message += " They must change it at the next sign-in." if must_change else ""
    return Outcome(Status.SUCCESS, message)


def _chosen_warnings(targets) -> list[str]:
    if not synced(targets):
        return []
    return [
        "This user is synced from on-premises AD: the password goes through password writeback, so AD's own "
        "password policy decides in the end, and “change at next sign-in” cannot be set from here."
    ]


register(Action(
    key="set-chosen-password", label="Set a chosen password", group=Group.PASSWORD, icon="input-cursor-text",
    permission="users.actions.helpdesk", form_class=ChosenPasswordForm, bulk=False,
    confirm=lambda targets, tenant: (
        f"Set the password you type below for {who(targets)} {in_tenant(targets, tenant)}. The current "
        "password stops working at once. The one you type is not stored or shown again."
    ),
    applies=_no_guests, warnings=_chosen_warnings, run=_chosen_run,
))  # fmt: skip


# --- require a password change ----------------------------------------------------------------------------


def _must_change_applies(user) -> str | None:
    if why := _no_guests(user):
        return why
    if user.on_premises_sync_enabled:
        return (
            "Synced from on-premises AD: the password lives there. Tick “User must change password at next "
            "logon” in AD instead (Entra Connect carries it over when ForcePasswordChangeOnLogOn is on)."
        )
    return None


def _must_change_plan(ctx, target, data):
    return [service.force_change_request(str(target.user.user_id))]


def _must_change_interpret(ctx, target, data, results) -> Outcome:
    return result_outcome(
        results.get("forceChange"),
        "They must choose a new password at the next sign-in; the current one keeps working until then.",
    )


register(Action(
    key="require-password-change", label="Require password change", group=Group.PASSWORD,
    icon="arrow-repeat", permission="users.actions.helpdesk",
    confirm=lambda targets, tenant: (
        f"Make {who(targets)} {in_tenant(targets, tenant)} choose a new password at the next sign-in. The "
        "current password is not changed and keeps working until then."
    ),
    applies=_must_change_applies, plan=_must_change_plan, interpret=_must_change_interpret,
))  # fmt: skip


# --- password never expires ---------------------------------------------------------------------------------


def policies_with(current: str, *, never_expires: bool) -> str:
    """``current`` passwordPolicies with DisablePasswordExpiration added or removed, others kept in order;
    "None" when nothing is left."""
    parts = [p.strip() for p in (current or "").split(",") if p.strip() and p.strip() != "None"]
    parts = [p for p in parts if p != NEVER_EXPIRES]
    if never_expires:
        parts.insert(0, NEVER_EXPIRES)
    return ", ".join(parts) or "None"


def _expiry_run(never_expires: bool):
    def run(ctx, target, data) -> Outcome:
        user_id = str(target.user.user_id)
        current = service.get_password_policies(ctx.graph, user_id)
        has_it = NEVER_EXPIRES in [p.strip() for p in current.split(",")]
        if has_it == never_expires:
            already = "never expires" if never_expires else "expires by the tenant's policy"
            return Outcome(Status.SKIPPED, f"The password already {already}.")
        wanted = policies_with(current, never_expires=never_expires)
        service.set_password_policies(ctx.graph, user_id, wanted)
        message = (
            "The password no longer expires."
            if never_expires
            else "The password expires again by the tenant's password expiration policy."
        )
        kept = [p for p in wanted.split(", ") if p not in (NEVER_EXPIRES, "None")]
        if kept:
            message += f" Kept: {', '.join(kept)}."
        return Outcome(Status.SUCCESS, message, details={"before": current or "None", "after": wanted},
                       user_record={"passwordPolicies": wanted})  # fmt: skip

    return run


def _expiry_warnings(never_expires: bool):
    def warnings(targets) -> list[str]:
        hybrid = synced(targets)
        if not hybrid:
            return []
        n = "This user is" if len(targets) == 1 else f"{len(hybrid)} of these users are"
        return [
            f"{n} synced from on-premises AD: when AD passwords are synced, AD's own expiry applies; the cloud "
            "setting matters only where the cloud password policy is enforced for synced users."
        ]

    return warnings


register(Action(
    key="password-never-expires", label="Password never expires", group=Group.PASSWORD, icon="infinity",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Let the password of {who(targets)} {in_tenant(targets, tenant)} never expire, whatever the tenant's "
        "expiration policy. Other password policy settings of the user are kept."
    ),
    applies=_no_guests, warnings=_expiry_warnings(True), run=_expiry_run(True),
))  # fmt: skip

register(Action(
    key="password-expires", label="Password expires again", group=Group.PASSWORD, icon="hourglass-split",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Make the password of {who(targets)} {in_tenant(targets, tenant)} expire again by the tenant's "
        "expiration policy. Other password policy settings of the user are kept."
    ),
    applies=_no_guests, warnings=_expiry_warnings(False), run=_expiry_run(False),
))  # fmt: skip
