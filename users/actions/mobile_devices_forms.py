"""Form of Remove mobile devices: all of the users' devices (a selection), or one device of one user, picked
from its live ``Get-MobileDevice`` list (View user's Remove button pre-chooses it)."""

from __future__ import annotations

from django import forms

from graph.errors import GraphError
from graph.exchange import ExchangeClient
from graph.services import mobile_devices

from .security_forms import SecurityActionForm

ALL = ""


def read_devices(tenant, targets) -> list[dict] | None:
    if tenant is None or len(targets) != 1 or not targets[0].user_principal_name:
        return None
    try:
        return mobile_devices.list_mobile_devices(
            ExchangeClient.for_tenant(tenant), targets[0].user_principal_name
        )
    except GraphError:
        return None


class RemoveMobileDevicesForm(SecurityActionForm):
    device = forms.ChoiceField(label="Devices to remove", widget=forms.RadioSelect, required=False)

    def __init__(self, *args, devices: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.devices = devices if devices is not None else read_devices(self.tenant, self.targets)
        field = self.fields["device"]
        choices = [
            (ALL, "All mobile devices of the user" if len(self.targets) == 1 else "All their mobile devices")
        ]
        if self.devices is not None:
            choices += [(d["identity"], mobile_devices.device_title(d)) for d in self.devices]
            if not self.devices:
                field.help_text = "No mobile device syncs with this mailbox."
        elif self.is_bound and len(self.targets) == 1:
            value = self.data.get(self.add_prefix("device"), "")
            if value:  # Exchange unreadable just now: the handler checks the device again
                choices.append((value, value))
        field.choices = choices
        field.initial = ALL
