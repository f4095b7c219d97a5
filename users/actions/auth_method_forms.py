"""Form of Remove sign-in method: one of the user's registered methods (never the password), read live from
Graph when the modal opens so the technician picks from what the user really has.

The choice value is ``<@odata.type suffix>:<method id>``; each label names the method type and the detail
that tells it apart (device name, key model, e-mail, phone number masked to its last digits).
"""

from __future__ import annotations

from django import forms

from graph.client import GraphClient
from graph.errors import GraphError
from graph.services import mfa

from .security_forms import SecurityActionForm


def mask_phone(number: str) -> str:
    """``+1 555 0100 123`` → ``+1 ••• •••• 123``-like: the country code and the last three digits stay."""
    digits = [i for i, ch in enumerate(number) if ch.isdigit()]
    keep = set(digits[-3:])
    if number.startswith("+"):
        country_end = number.find(" ")
        keep |= set(range(0, country_end if country_end > 0 else 1))
    return "".join(ch if (i in keep or not ch.isdigit()) else "•" for i, ch in enumerate(number))


def method_title(method: dict) -> str:
    """What the confirmation and the result call this method: type, then its distinguishing details."""
    detail = method.get("detail") or ""
    if method["type"] == "phoneAuthenticationMethod" and detail:
        number, _, rest = detail.partition(" · ")
        detail = mask_phone(number) + (f" · {rest}" if rest else "")
    parts = [p for p in (method.get("display_name"), detail) if p]
    return method["label"] + (f" ({' · '.join(parts)})" if parts else "")


def choice_value(method: dict) -> str:
    return f"{method['type']}:{method['id']}"


def parse_choice(value: str) -> tuple[str, str]:
    """(method type, method id); ValueError for anything that is not a removable method reference."""
    method_type, _, method_id = str(value or "").partition(":")
    if method_type not in mfa.METHOD_COLLECTIONS or not method_id or "/" in method_id:
        raise ValueError(f"{value!r} is not a removable sign-in method")
    return method_type, method_id


def read_methods(tenant, targets) -> list[dict] | None:
    """The single target's removable methods, or None when Graph cannot be read now."""
    if tenant is None or len(targets) != 1:
        return None
    try:
        return mfa.removable_methods(GraphClient.for_tenant(tenant), str(targets[0].user_id))
    except GraphError:
        return None


class RemoveAuthMethodForm(SecurityActionForm):
    method = forms.ChoiceField(label="Sign-in method to remove", widget=forms.RadioSelect)

    def __init__(self, *args, methods: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.methods = methods if methods is not None else read_methods(self.tenant, self.targets)
        field = self.fields["method"]
        if self.methods is None:
            # Graph unreadable (or no single user): accept a well-formed reference; the handler re-reads.
            field.choices = []
            field.help_text = "The user's methods could not be read from Microsoft just now."
            return
        field.choices = [(choice_value(m), method_title(m)) for m in self.methods]
        if not self.methods:
            field.help_text = "The user has no sign-in method besides the password (which cannot be removed)."

    def full_clean(self):
        if self.is_bound:
            # A well-formed reference not (or no longer) in the live list is accepted: the runner checks the
            # privileged-target guard first, and the handler re-reads the methods (a gone one is a skip).
            value = self.data.get(self.add_prefix("method"), "")
            try:
                parse_choice(value)
            except ValueError:
                pass
            else:
                if value not in dict(self.fields["method"].choices):
                    self.fields["method"].choices = [*self.fields["method"].choices, (value, value)]
        super().full_clean()

    def clean_method(self) -> str:
        value = self.cleaned_data["method"]
        try:
            parse_choice(value)
        except ValueError as error:
            raise forms.ValidationError(f"Choose one of the user's methods ({error}).") from None
        return value
