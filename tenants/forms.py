"""Forms for tenants and partner connections.

Secrets (client secret, certificate) are write-only: the widgets never render a value, a blank field on
edit keeps what is stored, and a "clear" box removes it. The page shows only whether one is set.
"""

from __future__ import annotations

from django import forms
from django.db import models

from .models import PartnerConnection


class BootstrapFormMixin:
    """Bootstrap classes and aria-invalid on every widget, so templates render fields generically."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
                widget.attrs["aria-invalid"] = "true"


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never echoes its value back, not even after a validation error."""

    def format_value(self, value):
        return None


class AddTenantForm(BootstrapFormMixin, forms.Form):
    connection = forms.ModelChoiceField(
        queryset=PartnerConnection.objects.all(), empty_label=None, label="Partner connection"
    )
    tenant = forms.CharField(
        label="Tenant id or domain",
        max_length=255,
        help_text="The tenant's GUID or any of its verified domains, e.g. contoso.onmicrosoft.com.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autofocus": True}),
    )


def _formfield_https_default(model_field, **kwargs):
    # An endpoint typed without a scheme means https (Django 6's default; explicit to silence the warning).
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)


class PartnerConnectionForm(BootstrapFormMixin, forms.ModelForm):
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_client_secret = forms.BooleanField(label="Remove the stored client secret", required=False)
    certificate_pem = forms.CharField(
        label="Certificate (PEM)",
        required=False,
        help_text="Private key and certificate, PEM encoded.",
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
    )
    clear_certificate = forms.BooleanField(label="Remove the stored certificate", required=False)

    ADVANCED_FIELDS = ("login_url", "graph_url", "exchange_url")
    SECRET_FIELDS = ("client_secret", "clear_client_secret", "certificate_pem", "clear_certificate")

    class Meta:
        model = PartnerConnection
        formfield_callback = _formfield_https_default
        fields = [
            "name",
            "partner_tenant_id",
            "client_id",
            "certificate_thumbprint",
            "default_auth_mode",
            "login_url",
            "graph_url",
            "exchange_url",
        ]
        labels = {
            "partner_tenant_id": "Partner tenant id",
            "client_id": "Application (client) id",
            "login_url": "Login endpoint",
            "graph_url": "Graph endpoint",
            "exchange_url": "Exchange endpoint",
        }
        help_texts = {"certificate_thumbprint": "SHA-1 thumbprint (hex) of the certificate above."}

    def basic_fields(self):
        skip = set(self.ADVANCED_FIELDS) | set(self.SECRET_FIELDS)
        return [self[name] for name in self.fields if name not in skip]

    def advanced_fields(self):
        return [self[name] for name in self.ADVANCED_FIELDS]

    def clean_certificate_pem(self):
        pem = self.cleaned_data.get("certificate_pem", "").strip()
        if pem and "-----BEGIN" not in pem:
            raise forms.ValidationError("This does not look like PEM (no -----BEGIN line).")
        return pem

    def clean_certificate_thumbprint(self):
        thumbprint = self.cleaned_data.get("certificate_thumbprint", "").replace(":", "").replace(" ", "")
        if thumbprint and not all(c in "0123456789abcdefABCDEF" for c in thumbprint):
            raise forms.ValidationError("A thumbprint is hexadecimal, e.g. 3A1F…")
        return thumbprint.upper()

    def clean(self):
        cleaned = super().clean()
        for value_field, clear_field in (
            ("client_secret", "clear_client_secret"),
            ("certificate_pem", "clear_certificate"),
        ):
            if cleaned.get(value_field) and cleaned.get(clear_field):
                self.add_error(clear_field, "Either enter a new value or remove the stored one, not both.")
        secret_after = self._value_after_save("client_secret", "clear_client_secret")
        cert_after = self._value_after_save("certificate_pem", "clear_certificate")
        if not secret_after and not cert_after:
            raise forms.ValidationError("The connection needs a client secret or a certificate.")
        if cert_after and not cleaned.get("certificate_thumbprint"):
            self.add_error("certificate_thumbprint", "Enter the thumbprint of the certificate.")
        return cleaned

    def _value_after_save(self, value_field: str, clear_field: str) -> str:
        if self.cleaned_data.get(value_field):
            return self.cleaned_data[value_field]
        if self.cleaned_data.get(clear_field):
            return ""
        return getattr(self.instance, value_field, "") if self.instance.pk else ""

    def save(self, commit=True):
        connection = super().save(commit=False)
        connection.client_secret = self._value_after_save("client_secret", "clear_client_secret")
        connection.certificate_pem = self._value_after_save("certificate_pem", "clear_certificate")
        if commit:
            connection.save()
        return connection
