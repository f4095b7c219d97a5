"""Password resets: "Reset password (must change)" and "Reset password".

A new password is generated per user (users.actions.passwords_gen: random from an unambiguous alphabet, or
a passphrase), set with ``PATCH passwordProfile`` for cloud users and with the password method's
``resetPassword`` for users synced from on-premises AD (password writeback; Graph answers 202 Accepted
and the on-premises result arrives later, so it is reported as "accepted, not yet confirmed"). The password
is shown once in the results (``Outcome.secret``): never stored, logged or audited — the form data holds
only the choice of style and length.
"""

from __future__ import annotations

from django import forms

from graph.services import account as service

from .passwords_gen import DEFAULT_LENGTH, passphrase, random_password
from .registry import Action, Group, Outcome, Status, register
from .wording import synced, where, who


class PasswordForm(forms.Form):
    def __init__(self, *args, tenant=None, targets=None, **kwargs):
        super().__init__(*args, **kwargs)

    style = forms.ChoiceField(
        label="New password",
        choices=[
            ("random", "Random characters (no look-alike characters)"),
            ("passphrase", "Passphrase: words, a capital and a number — easier to read out"),
        ],  # fmt: skip
        initial="random",
        widget=forms.RadioSelect,
    )
    length = forms.IntegerField(
        label="Length (random characters)", min_value=12, max_value=64, initial=DEFAULT_LENGTH,
        help_text="12 to 64 characters. Passphrases are at least this long too.",
    )  # fmt: skip

    def new_password(self) -> str:
        return make_password(self.cleaned_data)


def make_password(data: dict) -> str:
    length = int(data.get("length") or DEFAULT_LENGTH)
    if data.get("style") == "passphrase":
        return passphrase(words=5, min_length=length)
    return random_password(length)


def _warnings(force_change: bool):
    def warnings(targets) -> list[str]:
        hybrid = synced(targets)
        if not hybrid:
            return []
        n = "This user is" if len(targets) == 1 else f"{len(hybrid)} of these users are"
        text = (
            f"{n} synced from on-premises AD: the password is set through password writeback. Entra accepts it "
            "at once, but whether AD took it is only known later (writeback must be enabled and AD's own "
            "password policy met)."
        )
        if force_change:
            text += " Writeback cannot set “must change at next sign-in”: set it in AD if it is needed."
        return [text]

    return warnings


def write_back(
    ctx, user_id: str, password: str, *, accepted: str, done: str, secret: str | None = None
) -> Outcome:
    """A synced user's new password goes through password writeback: Graph's 202 means accepted but not yet
    applied by on-premises AD (the operation to follow is kept), anything else done. ``secret`` is what the
    technician is shown once (a generated password), None for one they typed themselves."""
    result = service.reset_password_writeback(ctx.graph, user_id, password)
    request_ids = [result.request_id] if result.request_id else []
    if result.status == 202:
        details = {"operation": result.operation_url} if result.operation_url else {}
        return Outcome(Status.ACCEPTED, accepted, request_ids=request_ids, secret=secret, details=details)
    return Outcome(Status.SUCCESS, done, request_ids=request_ids, secret=secret)


def _run(force_change: bool):
    def run(ctx, target, data) -> Outcome:
        password = make_password(data)
        user_id = str(target.user.user_id)
        if target.user.on_premises_sync_enabled:
            return write_back(
                ctx, user_id, password, secret=password,
                accepted="Accepted, not yet confirmed: Entra is writing the new password back to on-premises AD. "
                "It works once AD has applied it (if AD's password policy refuses it, the old one stays).",
                done="Password reset (written back to on-premises AD).",
            )  # fmt: skip
        service.reset_password_cloud(ctx.graph, user_id, password, force_change=force_change)
        message = "Password reset."
        message += " They must choose a new one at the next sign-in." if force_change else ""
        return Outcome(Status.SUCCESS, message, secret=password)

    return run


def _confirm(force_change: bool):
    def confirm(targets, tenant) -> str:
        text = (
            f"Set a new password for {who(targets)} in {where(targets, tenant)}? The current password stops "
            "working at once; the new one is shown to you once, here, and is not stored."
        )
        if force_change:
            text += " They must change it at their next sign-in."
        return text

    return confirm


def _applies(user) -> str | None:
    if user.user_type == "Guest":
        return "Guests sign in with their own organisation's account; there is no password to reset here."
    return None


for key, label, force, icon in (
    ("reset-password-must-change", "Reset password (must change)", True, "key"),
    ("reset-password", "Reset password", False, "key-fill"),
):
    register(
        Action(
            key=key, label=label, group=Group.PASSWORD, icon=icon, permission="users.actions.helpdesk",
            confirm=_confirm(force), applies=_applies, form_class=PasswordForm, secret_output=True,
            warnings=_warnings(force), run=_run(force),
        )
    )  # fmt: skip
