"""The form of "Set forwarding": an internal recipient (a mail-enabled user or a mail contact of the tenant,
picked from a searchable list) or an outside address, and whether the mailbox keeps a copy.

The recipient list is a ``<datalist>`` filled from the directory cache (users with an email address) and the
tenant's mail contacts (read live from Exchange, as the group picker reads groups), so the browser filters it
as the technician types, without JavaScript or another request; a tenant with more than
``RECIPIENT_OPTIONS_MAX`` users lists the first ones by name and any other is typed in full. The typed text is
resolved here (address, UPN or "Name <address>"), never trusted as is.
"""

from __future__ import annotations

from django import forms
from django.utils.html import format_html, format_html_join

from graph.errors import GraphError

from .mail_forms import ActionForm

RECIPIENT_OPTIONS_MAX = 1000
DESTINATIONS = (
    ("internal", "Someone in the organisation"),
    ("external", "An address outside the organisation"),
)


class RecipientInput(forms.TextInput):
    """A text input with its own ``<datalist>`` of suggestions (value: address, label: name)."""

    def __init__(self, *args, options=(), list_id="forwarding-recipients", **kwargs):
        super().__init__(*args, **kwargs)
        self.options = list(options)
        self.list_id = list_id

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {}), "list": self.list_id, "autocomplete": "off"}
        options = format_html_join("", '<option value="{}">{}</option>', self.options)
        datalist = format_html('<datalist id="{}">{}</datalist>', self.list_id, options)
        return format_html("{}{}", super().render(name, value, attrs, renderer), datalist)


def recipient_rows(tenant, limit: int = RECIPIENT_OPTIONS_MAX):
    """Cached users of ``tenant`` that can receive mail, by name."""
    from users.models import DirectoryUser

    return list(
        DirectoryUser.objects.filter(tenant=tenant)
        .exclude(mail="")
        .order_by("display_name", "user_principal_name")
        .only("user_id", "display_name", "mail", "user_principal_name", "user_type")[:limit]
    )


def find_recipient(tenant, text: str):
    """The cached user of ``tenant`` named by ``text`` (address, UPN, object id or "Name <address>")."""
    from users.models import DirectoryUser
    from users.provisioning.form_fields import find_user

    text = (text or "").strip()
    if not text or len(text) > 330 or not text.isprintable():
        return None
    found = find_user(tenant, text)
    if found is None and "@" in text:
        found = DirectoryUser.objects.filter(tenant=tenant, proxy_search__icontains=text.lower()).first()
        if found is not None and text.lower() not in [
            str(a).split(":", 1)[-1].lower() for a in found.proxy_addresses or []
        ]:
            found = None  # the substring search matched a longer address
    return found


class SetForwardingForm(ActionForm):
    destination = forms.ChoiceField(
        label="Forward to", choices=DESTINATIONS, initial="internal", widget=forms.RadioSelect
    )
    internal_recipient = forms.CharField(
        label="Person in the organisation", required=False, max_length=330,
        help_text="Start typing a name or address and pick a user or mail contact from the list.",
    )  # fmt: skip
    external_address = forms.EmailField(
        label="Outside address", required=False, max_length=320,
        help_text="Any email address, e.g. a personal mailbox or a partner's.",
    )  # fmt: skip
    keep_copy = forms.BooleanField(
        label="Keep a copy in the mailbox", required=False, initial=True,
        help_text="Unticked, mail is only delivered to the forwarding address.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        options = []
        self.contacts: list[dict] = []
        if self.tenant is not None:
            options = [(row.mail, row.display_name or row.user_principal_name)
                       for row in recipient_rows(self.tenant)]  # fmt: skip
            self._load_contacts()
            options += [(c["address"], f"{c['name']} (mail contact)") for c in self.contacts]
        self.fields["internal_recipient"].widget = RecipientInput(options=options)

    def _load_contacts(self) -> None:
        from graph.exchange import ExchangeClient
        from graph.services.mailbox_admin import list_mail_contacts

        try:
            self.contacts = list_mail_contacts(ExchangeClient.for_tenant(self.tenant))
        except GraphError as error:
            field = self.fields["internal_recipient"]
            field.help_text += (
                f" The tenant's mail contacts could not be read ({error.message}); users are listed."
            )

    def find_contact(self, text: str) -> dict | None:
        if text.endswith(">") and "<" in text:
            text = text.rsplit("<", 1)[1][:-1].strip()
        lowered = text.lower()
        return next((c for c in self.contacts if lowered in (c["address"].lower(), c["name"].lower())), None)

    def clean(self):
        data = super().clean()
        destination = data.get("destination")
        if destination == "internal":
            self._clean_internal(data)
        elif destination == "external" and "external_address" not in self.errors:
            address = (data.get("external_address") or "").strip()
            if not address:
                self.add_error("external_address", "Enter the address to forward to.")
            data["external_address"] = address
            data["internal_recipient"] = ""
        return data

    def _clean_internal(self, data: dict) -> None:
        text = (data.get("internal_recipient") or "").strip()
        data["external_address"] = ""
        if not text:
            self.add_error("internal_recipient", "Choose the person to forward to.")
            return
        if self.tenant is None:
            self.add_error("internal_recipient", "Select users of one tenant to forward to someone in it.")
            return
        recipient = find_recipient(self.tenant, text)
        contact = self.find_contact(text) if recipient is None else None
        if contact is not None:
            data["internal_recipient"] = contact["address"]
            data["recipient_name"] = contact["name"]
            data["recipient_id"] = ""
            return
        if recipient is None or not recipient.mail:
            self.add_error(
                "internal_recipient",
                f"“{text}” is not a user with a mailbox or a mail contact in {self.tenant.display_name}. "
                "Pick one from the list, or forward to an address outside the organisation.",
            )
            return
        if len(self.targets) == 1 and str(self.targets[0].user_id) == str(recipient.user_id):
            self.add_error("internal_recipient", "A mailbox cannot forward to itself.")
            return
        # JSON-safe for a Job: the recipient's address and name, not the model.
        data["internal_recipient"] = recipient.mail
        data["recipient_name"] = recipient.display_name or recipient.mail
        data["recipient_id"] = str(recipient.user_id)
