"""Forms of the Security actions: Temporary Access Pass (lifetime within the tenant's policy, one-time use,
optional start) and per-user MFA state.

The modal view builds a form as ``form_class(data, tenant=..., targets=...)``; both keywords are optional
so a form also works on its own. ``cleaned_data`` holds JSON-safe values only (int, bool, ISO 8601 text),
so an audit entry or a Job can carry it unchanged. The TAP form reads the tenant's policy once (when it is
given a tenant) to show and enforce the bounds; the handler checks the live policy again before creating.
"""

from __future__ import annotations

from datetime import UTC

from django import forms
from django.utils import timezone

from graph.client import GraphClient
from graph.errors import GraphError
from graph.services.mfa import TAP_LIFETIME_LIMITS, TapPolicy, get_tap_policy

FORM_KWARGS = frozenset(
    {"files", "auto_id", "prefix", "initial", "error_class", "label_suffix", "empty_permitted", "field_order",
     "use_required_attribute", "renderer"}
)  # fmt: skip
MFA_STATE_CHOICES = (
    ("enforced", "Enforced — MFA required at every sign-in"),
    ("enabled", "Enabled — the user is asked to register, then it becomes enforced"),
    ("disabled", "Disabled — per-user MFA off (Conditional Access may still require MFA)"),
)


class SecurityActionForm(forms.Form):
    """Takes the modal's context keywords and ignores ones it does not know."""

    def __init__(self, *args, tenant=None, targets=None, **kwargs):
        super().__init__(*args, **{key: value for key, value in kwargs.items() if key in FORM_KWARGS})
        self.tenant = tenant
        self.targets = list(targets or [])


def tap_policy_disabled_message(tenant_name: str) -> str:
    return (
        f"Temporary Access Pass is turned off in {tenant_name}'s authentication methods policy, so no pass "
        "can be created. An administrator can enable it in Entra ID → Protection → Authentication methods → "
        "Temporary Access Pass."
    )


def read_tap_policy(tenant) -> TapPolicy | None:
    """The tenant's live policy, or None when it cannot be read (the handler reads it again anyway)."""
    try:
        return get_tap_policy(GraphClient.for_tenant(tenant))
    except GraphError:
        return None


class TemporaryAccessPassForm(SecurityActionForm):
    lifetime_minutes = forms.IntegerField(
        label="Lifetime (minutes)",
        min_value=TAP_LIFETIME_LIMITS[0],
        max_value=TAP_LIFETIME_LIMITS[1],
        initial=60,
    )
    one_time = forms.BooleanField(label="One-time use", required=False, initial=True)
    start = forms.DateTimeField(
        label="Start (optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Leave empty to make the pass usable at once. Times are UTC.",
    )

    def __init__(self, *args, policy: TapPolicy | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy or (read_tap_policy(self.tenant) if self.tenant is not None else None)
        if self.policy is None:
            return
        lifetime = self.fields["lifetime_minutes"]
        lifetime.min_value, lifetime.max_value = self.policy.minimum_lifetime, self.policy.maximum_lifetime
        lifetime.initial = min(max(self.policy.default_lifetime, lifetime.min_value), lifetime.max_value)
        lifetime.widget.attrs.update(min=lifetime.min_value, max=lifetime.max_value)
        lifetime.help_text = f"The tenant's policy allows {self.policy.minimum_lifetime} to {self.policy.maximum_lifetime} minutes."
        if self.policy.usable_once:
            self.fields["one_time"].disabled = True
            self.fields["one_time"].initial = True
            self.fields["one_time"].help_text = "The tenant's policy only allows one-time passes."

    def clean_lifetime_minutes(self) -> int:
        value = self.cleaned_data["lifetime_minutes"]
        if self.policy is not None and not (
            self.policy.minimum_lifetime <= value <= self.policy.maximum_lifetime
        ):
            raise forms.ValidationError(
                f"Choose between {self.policy.minimum_lifetime} and {self.policy.maximum_lifetime} minutes "
                "(the tenant's Temporary Access Pass policy)."
            )
        return value

    def clean_one_time(self) -> bool:
        return (
            True
            if self.policy is not None and self.policy.usable_once
            else bool(self.cleaned_data["one_time"])
        )

    def clean_start(self) -> str:
        value = self.cleaned_data.get("start")
        if value is None:
            return ""
        if timezone.is_naive(value):
            value = value.replace(tzinfo=UTC)
        if value <= timezone.now():
            raise forms.ValidationError("The start must be in the future; leave it empty to start now.")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def clean(self):
        data = super().clean()
        if self.policy is not None and not self.policy.enabled:
            name = getattr(self.tenant, "display_name", "the tenant")
            raise forms.ValidationError(tap_policy_disabled_message(name))
        return data


class PerUserMfaForm(SecurityActionForm):
    state = forms.ChoiceField(label="Per-user MFA", choices=MFA_STATE_CHOICES, initial="enforced",
                              widget=forms.RadioSelect)  # fmt: skip
