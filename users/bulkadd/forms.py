"""Forms of the bulk import pages: the upload, the file-wide defaults and a row's fix in place.

The row form is built from the column list (users.bulkadd.columns), so every column the template has can be
fixed in place; its values are only text — the validator decides what they mean, as for the file.
"""

from __future__ import annotations

from django import forms

from tenants.forms import BootstrapFormMixin
from users.provisioning import form_fields as ff
from users.provisioning import rules

from .columns import MAX_CELL, columns_for
from .parse import file_limits, max_bytes, max_rows

KINDS = (("users", "New users"), ("guests", "Guest invitations"))


class UploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label="File",
        help_text="CSV or Excel (.xlsx)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(
                f"The file is {upload.size / 1048576:.1f} MB; the limit is {max_bytes() / 1048576:.0f} MB."
            )
        return upload


def limits_text() -> str:
    limits = file_limits()
    return (
        f"Up to {max_rows():,} rows and {max_bytes() / 1048576:.0f} MB per file. CSV in UTF-8 (with or without "
        "BOM) or UTF-16, separated by ; or , — or an Excel workbook (.xlsx, first worksheet read; at most "
        f"{limits.sheets} sheets, {limits.cells:,} cells, {limits.shared_strings:,} different texts and "
        f"{limits.part_bytes // 1048576} MB unpacked per part). Cells are cut at {MAX_CELL:,} characters. "
        f"Reading a file may take at most {limits.seconds:g} seconds and {limits.memory_mb} MB of memory."
    )


class UserDefaultsForm(BootstrapFormMixin, forms.Form):
    """What rows that leave these cells blank get."""

    licences = forms.MultipleChoiceField(
        label="Licences", required=False, widget=forms.CheckboxSelectMultiple
    )
    usage_location = forms.ChoiceField(label="Usage location", required=False)
    groups = forms.MultipleChoiceField(label="Groups", required=False, widget=forms.CheckboxSelectMultiple)
    must_change = forms.BooleanField(label="Must change password at next sign-in", required=False)

    def __init__(self, *args, licence_options=(), country="", groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licences"].choices = [(o.sku_id, o.label) for o in licence_options]
        blank = f"Tenant default — {ff.country_name(country)} ({country})" if country else "Tenant default"
        self.fields["usage_location"].choices = [("", blank), *rules.countries()]
        self.fields["groups"].choices = [(g["id"], f"{g['name']} — {g['kind']}") for g in groups]
        for name in ("licences", "groups"):  # each box a check input, not a full-width form control
            self.fields[name].widget.attrs["class"] = "form-check-input"


class GuestDefaultsForm(BootstrapFormMixin, forms.Form):
    send_invitation = forms.BooleanField(
        label="Send the invitation e-mail", required=False,
        help_text="Off: no e-mail goes out; each guest's redemption link is in the one-time download instead.",
    )  # fmt: skip
    redirect_url = forms.URLField(label="Redirect URL", required=False, assume_scheme="https",
                                  help_text="Blank: https://myapps.microsoft.com")  # fmt: skip
    message = forms.CharField(label="Invitation message", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def clean_redirect_url(self):
        url = (self.cleaned_data.get("redirect_url") or "").strip()
        if url and not url.lower().startswith("https://"):
            raise forms.ValidationError("Use an https:// address.")
        return url


class RowForm(BootstrapFormMixin, forms.Form):
    """One text field per column (the password write-only, with "generate one instead")."""

    def __init__(self, *args, kind: str, row=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for column in columns_for(kind):
            if column.kind == "password":
                self.fields["password"] = forms.CharField(
                    label="New password", required=False, strip=False, max_length=256,
                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
                    help_text="Blank: keep the password the row has (or generate one).",
                )  # fmt: skip
                self.fields["clear_password"] = forms.BooleanField(
                    label="Generate a password instead", required=False
                )
                continue
            widget = forms.Textarea(attrs={"rows": 2}) if column.kind == "longtext" else forms.TextInput()
            widget.attrs.update({"spellcheck": "false", "autocomplete": "off"})
            self.fields[column.key] = forms.CharField(
                label=column.label, required=False, max_length=MAX_CELL, widget=widget, help_text=column.help
            )
            if row is not None:
                self.fields[column.key].initial = row.data.get(column.key, "")
        ff.style(self)  # the fields came after BootstrapFormMixin's pass
        for field in self.fields.values():  # a dense grid inside a table row
            if "form-control" in field.widget.attrs.get("class", ""):
                field.widget.attrs["class"] += " form-control-sm"
