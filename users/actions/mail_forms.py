"""Forms of the Mail and Groups actions: out of office (separate internal/external messages, audience,
optional schedule) and the group picker.

The modal view builds an action's form as ``form_class(data, tenant=..., targets=...)``; both keywords are
optional here so a form also works on its own (tests, a plain POST). ``cleaned_data`` holds only JSON-safe
values (text, ISO 8601 times, plain dicts) so a background Job can carry it unchanged.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone

from graph.errors import GraphError

FORM_KWARGS = frozenset(
    {"files", "auto_id", "prefix", "initial", "error_class", "label_suffix", "empty_permitted", "field_order",
     "use_required_attribute", "renderer"}
)  # fmt: skip
MESSAGE_MAX_CHARS = 8000
AUDIENCE_CHOICES = (
    ("None", "No one outside the organisation"),
    ("Known", "Only senders in their contacts"),
    ("All", "Everyone outside the organisation"),
)


class ActionForm(forms.Form):
    """Takes the modal's context keywords and ignores ones it does not know (the view may pass more)."""

    def __init__(self, *args, tenant=None, targets=None, **kwargs):
        super().__init__(*args, **{key: value for key, value in kwargs.items() if key in FORM_KWARGS})
        self.tenant = tenant
        self.targets = list(targets or [])


class OutOfOfficeForm(ActionForm):
    internal_message = forms.CharField(
        label="Reply to people in the organisation",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MESSAGE_MAX_CHARS,
        help_text="Plain text; line breaks are kept.",
    )
    external_audience = forms.ChoiceField(
        label="Reply outside the organisation to", choices=AUDIENCE_CHOICES, initial="None"
    )
    external_message = forms.CharField(
        label="Reply to people outside the organisation",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MESSAGE_MAX_CHARS,
        required=False,
        help_text="Needed when replying outside the organisation. Plain text.",
    )
    start = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    end = forms.DateTimeField(
        label="Until", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        self.fields["start"].help_text = f"Optional schedule, {zone} time. Leave both empty to start now."
        self.fields["end"].help_text = f"{zone} time."

    def clean(self):
        data = super().clean()
        audience = data.get("external_audience")
        if audience in ("Known", "All") and not (data.get("external_message") or "").strip():
            self.add_error(
                "external_message",
                "Write the reply for people outside the organisation, or reply to no one outside.",
            )
        if audience == "None":
            data["external_message"] = ""
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None) and not self.errors.get("start") and not self.errors.get("end"):
            self.add_error("end" if start else "start", "Give both a start and an end, or neither.")
        elif start and end:
            if end <= start:
                self.add_error("end", "The end must be after the start.")
            elif end <= timezone.now():
                self.add_error("end", "The end is in the past.")
        if not self.errors:
            # JSON-safe for a Job: ISO 8601 with offset.
            data["start"] = start.isoformat() if start else None
            data["end"] = end.isoformat() if end else None
        return data


def parse_time(value) -> datetime | None:
    """A form time as an aware datetime: accepts the datetime itself or its ISO text (from a Job)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    parsed = datetime.fromisoformat(str(value))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class GroupSelect(forms.Select):
    """A select whose options carry ``disabled`` for groups that cannot take members from here."""

    def __init__(self, *args, disabled_values=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled_values = set(disabled_values)

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class AddToGroupForm(ActionForm):
    group = forms.ChoiceField(label="Group", choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices_by_id: dict[str, dict] = {}
        self.load_error = ""
        self.truncated = False
        if self.tenant is not None:
            self._load_groups()
        disabled = [gid for gid, choice in self.choices_by_id.items() if choice["why_not"]]
        field = self.fields["group"]
        field.widget = GroupSelect(disabled_values=disabled)
        field.choices = [("", "Choose a group…")] + [
            (gid, _label(choice)) for gid, choice in self.choices_by_id.items()
        ]
        if self.truncated:
            field.help_text = "Only the first 999 groups by name are listed."

    def _load_groups(self) -> None:
        from graph.client import GraphClient
        from graph.services.groups import list_groups

        try:
            choices, self.truncated = list_groups(GraphClient.for_tenant(self.tenant))
        except GraphError as error:
            self.load_error = f"The tenant's groups could not be read: {error.message}"
            return
        self.choices_by_id = {choice.id: choice.as_data() for choice in choices}

    def clean_group(self):
        group_id = self.cleaned_data["group"]
        choice = self.choices_by_id.get(group_id)
        if choice is None:
            raise forms.ValidationError("Choose one of the tenant's groups.")
        if choice["why_not"]:
            raise forms.ValidationError(
                f"{choice['name']} cannot take members from here: {choice['why_not']}."
            )
        return group_id

    def clean(self):
        data = super().clean()
        if self.tenant is None:
            raise forms.ValidationError("Select users of one tenant to add them to a group.")
        if self.load_error:
            raise forms.ValidationError(self.load_error)
        if "group" in data:
            data["group_choice"] = self.choices_by_id[data["group"]]
        return data


def _label(choice: dict) -> str:
    label = f"{choice['name']} — {choice['kind']}"
    return f"{label} (not here: {choice['why_not']})" if choice["why_not"] else label
