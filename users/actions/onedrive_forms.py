"""Form of Add OneDrive shortcut: the pasted SharePoint URL and an optional shortcut name.

The modal view builds it as ``form_class(data)`` (maybe with ``tenant=`` / ``targets=``, which are optional
here); a background Job re-validates the same raw data, so ``clean`` makes no Graph call. It checks the
shape (https, ``*.sharepoint.com``, not a page) and, when it knows the tenant's SharePoint name, that the
host is this tenant's. The handler repeats the tenant check against the live SharePoint name and resolves
the URL once per run (users.actions.onedrive).
"""

from __future__ import annotations

from django import forms

from graph.services.drive_shortcuts import ShortcutError, check_url, clean_name
from graph.services.sharepoint import sharepoint_name_from_host

_FORM_KWARGS = frozenset(
    {"files", "auto_id", "prefix", "initial", "error_class", "label_suffix", "empty_permitted", "field_order",
     "use_required_attribute", "renderer"}
)  # fmt: skip


class OneDriveShortcutForm(forms.Form):
    url = forms.CharField(
        label="SharePoint site, library or folder address",
        max_length=2000,
        help_text="Paste the address from the browser, e.g. "
        "https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/Budgets",
        widget=forms.URLInput(
            attrs={"placeholder": "https://….sharepoint.com/sites/…", "autocomplete": "off"}
        ),
    )
    name = forms.CharField(
        label="Shortcut name (optional)",
        max_length=250,
        required=False,
        help_text="Defaults to the folder or library name. A clash with an existing item is renamed (“Budgets 1”).",
    )

    def __init__(self, *args, tenant=None, targets=None, **kwargs):
        super().__init__(*args, **{key: value for key, value in kwargs.items() if key in _FORM_KWARGS})
        self.tenant = tenant
        self.targets = list(targets or [])

    def _tenant_sharepoint_name(self) -> str | None:
        host = getattr(self.tenant, "sharepoint_admin_host", "") or ""
        return sharepoint_name_from_host(host) if host else None

    def clean_url(self) -> str:
        try:
            return check_url(self.cleaned_data["url"], sharepoint_name=self._tenant_sharepoint_name())
        except ShortcutError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_name(self) -> str:
        raw = self.cleaned_data.get("name") or ""
        name = clean_name(raw)
        if raw.strip() and not name:
            raise forms.ValidationError("That name has only characters OneDrive does not allow.")
        return name
