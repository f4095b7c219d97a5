"""The Invite guest form (Graph POST /invitations): who, where the redemption lands, and the e-mail."""

from __future__ import annotations

from django import forms

from tenants.forms import BootstrapFormMixin

from . import form_fields as ff

DEFAULT_REDIRECT = "https://myapps.microsoft.com"


class InviteGuestForm(BootstrapFormMixin, forms.Form):
    tenant = forms.CharField(widget=forms.HiddenInput)
    display_name = ff.text_field("displayName", "Display name", required=True)
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="The guest's address in their own organisation (or a personal account).",
    )
    redirect_url = forms.URLField(
        label="Redirect URL",
        required=False,
        assume_scheme="https",
        initial=DEFAULT_REDIRECT,
        help_text=f"Where the guest lands after accepting; {DEFAULT_REDIRECT} (My Apps) when left blank.",
    )
    send_email = forms.BooleanField(
        label="Send the invitation e-mail",
        required=False,
        initial=True,
        help_text="Off: no e-mail goes out; the redemption link is shown here for you to pass on.",
    )
    message = forms.CharField(
        label="Custom message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Added to the invitation e-mail.",
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant_obj = tenant
        self.fields["tenant"].initial = str(tenant.tenant_id)

    def clean_tenant(self):
        value = self.cleaned_data["tenant"]
        if value.strip().lower() != str(self.tenant_obj.tenant_id):
            raise forms.ValidationError("The form belongs to another tenant; open it again.")
        return value

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        domain = email.rsplit("@", 1)[-1].lower()
        if domain in {d.lower() for d in ff.tenant_domains(self.tenant_obj)}:
            raise forms.ValidationError(
                f"{domain} is one of this tenant's own domains: add this person as a user, not a guest."
            )
        return email

    def clean_redirect_url(self):
        url = (self.cleaned_data.get("redirect_url") or "").strip()
        if not url:
            return DEFAULT_REDIRECT
        if not url.lower().startswith("https://"):
            raise forms.ValidationError("Use an https:// address.")
        return url
