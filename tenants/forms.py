"""Forms for tenants and partner connections.

Secrets (client secret, certificate) are write-only: the widgets never render a value, a blank field on
edit keeps what is stored, and a "clear" box removes it. The page shows only whether one is set.

Credentials never follow a changed endpoint: when an edit changes the sign-in, Graph, Exchange or
SharePoint endpoint, the stored client secret, certificate and the partner admin's refresh token are
dropped (a secret or certificate typed in the same form is kept: it was entered for the new endpoint),
so they must be entered and consented again. Which hosts an endpoint may name is tenants/endpoints.py's.
"""

from __future__ import annotations

from django import forms
from django.db import models

from . import endpoints
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

    ADVANCED_FIELDS = endpoints.ENDPOINT_FIELDS
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
            "sharepoint_url_template",
        ]
        labels = {
            "partner_tenant_id": "Partner tenant id",
            "client_id": "Application (client) id",
            "login_url": "Login endpoint",
            "graph_url": "Graph endpoint",
            "exchange_url": "Exchange endpoint",
            "sharepoint_url_template": "SharePoint admin endpoint",
        }
        help_texts = {
            "certificate_thumbprint": "SHA-1 thumbprint (hex) of the certificate above.",
            "sharepoint_url_template": "{name} stands for the tenant's SharePoint name.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What is stored now: construct_instance overwrites the instance before save().
        self.stored_endpoints = {name: getattr(self.instance, name) for name in endpoints.ENDPOINT_FIELDS}
        self.endpoints_changed: list[str] = []

    def _clean_endpoint(self, name: str) -> str:
        value = (self.cleaned_data.get(name) or "").strip()
        problem = endpoints.host_problem(name, value) if value else None
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_login_url(self):
        return self._clean_endpoint("login_url")

    def clean_graph_url(self):
        return self._clean_endpoint("graph_url")

    def clean_exchange_url(self):
        return self._clean_endpoint("exchange_url")

    def clean_sharepoint_url_template(self):
        value = (self.cleaned_data.get("sharepoint_url_template") or "").strip()
        problem = endpoints.template_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

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
        if self.instance.pk:
            self.endpoints_changed = [
                name for name in endpoints.ENDPOINT_FIELDS
                if name in cleaned and _same(cleaned[name]) != _same(self.stored_endpoints[name])
            ]  # fmt: skip
        for value_field, clear_field in (
            ("client_secret", "clear_client_secret"),
            ("certificate_pem", "clear_certificate"),
        ):
            if cleaned.get(value_field) and cleaned.get(clear_field):
                self.add_error(clear_field, "Either enter a new value or remove the stored one, not both.")
        secret_after = self._value_after_save("client_secret", "clear_client_secret")
        cert_after = self._value_after_save("certificate_pem", "clear_certificate")
        if not secret_after and not cert_after and not self.endpoints_changed:
            # After an endpoint change the stored ones are gone on purpose: saving without is allowed.
            raise forms.ValidationError("The connection needs a client secret or a certificate.")
        if cert_after and not cleaned.get("certificate_thumbprint"):
            self.add_error("certificate_thumbprint", "Enter the thumbprint of the certificate.")
        return cleaned

    def _value_after_save(self, value_field: str, clear_field: str) -> str:
        if self.cleaned_data.get(value_field):
            return self.cleaned_data[value_field]
        if self.cleaned_data.get(clear_field) or self.endpoints_changed:
            return ""
        return getattr(self.instance, value_field, "") if self.instance.pk else ""

    @property
    def credentials_dropped(self) -> bool:
        """Did an endpoint change cost the stored credentials (the page tells the technician)?"""
        return bool(self.endpoints_changed)

    def changed_fields(self) -> list[str]:
        """Names of the fields this save changes, for the audit log: never a value."""
        names = [name for name in self._meta.fields if name in self.changed_data]
        names = [n for n in names if n not in endpoints.ENDPOINT_FIELDS] + self.endpoints_changed
        for value_field, clear_field in (
            ("client_secret", "clear_client_secret"),
            ("certificate_pem", "clear_certificate"),
        ):
            if self.cleaned_data.get(value_field) or self.cleaned_data.get(clear_field):
                names.append(value_field)
        return sorted(set(names))

    def save(self, commit=True):
        connection = super().save(commit=False)
        connection.client_secret = self._value_after_save("client_secret", "clear_client_secret")
        connection.certificate_pem = self._value_after_save("certificate_pem", "clear_certificate")
        if self.endpoints_changed:
            if not connection.certificate_pem:
                connection.certificate_thumbprint = ""
            connection.refresh_token = ""
            connection.refresh_token_obtained_at = None
            connection.refresh_token_upn = ""
        if commit:
            connection.save()
        return connection


def _same(url) -> str:
    """Endpoints compared without a trailing slash (the only difference that changes no host)."""
    return str(url or "").strip().rstrip("/")
