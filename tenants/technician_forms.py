"""Forms for technician accounts (role + tenant scope) and tenant groups.

The tenants and scopes on offer are limited to what the editing Admin may see themselves: an Admin
scoped to some tenants cannot hand out a scope wider than their own.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation

from . import access
from .models import TechnicianProfile, Tenant, TenantGroup

Scope = TechnicianProfile.Scope


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            continue
        css = "form-select" if isinstance(widget, forms.Select | forms.SelectMultiple) else "form-control"
        widget.attrs.setdefault("class", css)


class _ScopeFields(forms.Form):
    role = forms.ChoiceField(
        choices=TechnicianProfile.Role.choices, help_text="See the role page for what each may do."
    )
    scope = forms.ChoiceField(choices=Scope.choices, label="Tenant scope")
    tenants = forms.ModelMultipleChoiceField(
        queryset=Tenant.objects.none(),
        required=False,
        help_text="Used by “Only these tenants” and “All tenants except these”.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    tenant_groups = forms.ModelMultipleChoiceField(
        queryset=TenantGroup.objects.none(),
        required=False,
        help_text="Used by “Tenants in these groups”.",
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    entra_object_id = forms.UUIDField(
        required=False,
        label="Entra ID object id",
        help_text="Links this account to a Microsoft sign-in. Optional: a matching username or email also works.",
    )

    def _limit_to(self, editor) -> None:
        self.fields["tenants"].queryset = access.visible_tenants(editor).order_by("display_name")
        self.fields["tenant_groups"].queryset = TenantGroup.objects.order_by("name")
        if not access.sees_every_tenant(editor):
            # A partially scoped Admin may only grant tenants they can see themselves, one by one.
            self.fields["scope"].choices = [(Scope.ONLY, Scope.ONLY.label)]
            self.fields["tenant_groups"].queryset = TenantGroup.objects.none()

    def clean_entra_object_id(self):
        value = self.cleaned_data.get("entra_object_id")
        if value is None:
            return None
        others = TechnicianProfile.objects.filter(entra_object_id=value)
        if getattr(self, "profile", None) is not None and self.profile.pk:
            others = others.exclude(pk=self.profile.pk)
        if others.exists():
            raise forms.ValidationError("Another technician is already linked to this Entra ID object.")
        return value

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == Scope.ONLY and not data.get("tenants"):
            self.add_error("tenants", "Choose at least one tenant for “Only these tenants”.")
        if scope == Scope.GROUPS and not data.get("tenant_groups"):
            self.add_error("tenant_groups", "Choose at least one tenant group.")
        return data

    def save_profile(self, user) -> TechnicianProfile:
        profile, _ = TechnicianProfile.objects.get_or_create(user=user)
        data = self.cleaned_data
        profile.role = data["role"]
        profile.scope = data["scope"]
        profile.entra_object_id = data.get("entra_object_id")
        profile.save()
        # Only the lists that apply are kept, so a later scope change never revives a stale list.
        profile.tenants.set(data["tenants"] if data["scope"] in (Scope.ONLY, Scope.EXCEPT) else [])
        profile.tenant_groups.set(data["tenant_groups"] if data["scope"] == Scope.GROUPS else [])
        return profile


class TechnicianCreateForm(_ScopeFields):
    """A local account (bootstrap, demo, or a technician who will sign in with Microsoft later)."""

    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    email = forms.EmailField(required=False)
    password1 = forms.CharField(label="Initial password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))  # fmt: skip
    password2 = forms.CharField(label="Repeat password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))  # fmt: skip

    field_order = ["username", "first_name", "last_name", "email", "password1", "password2", "role", "scope",
                   "tenants", "tenant_groups", "entra_object_id"]  # fmt: skip

    def __init__(self, data=None, *, editor):
        super().__init__(data)
        self.profile = None
        self._limit_to(editor)
        _style(self)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        model = get_user_model()
        model.username_validator(username)
        if model.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A technician with this username already exists.")
        return username

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip()
        if email and get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("Another technician already uses this email address.")
        return email

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            candidate = get_user_model()(
                username=data.get("username", ""), email=data.get("email", ""),
                first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
            )  # fmt: skip
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data

    def save(self):
        data = self.cleaned_data
        user = get_user_model().objects.create_user(
            username=data["username"], email=data.get("email", ""), password=data["password1"],
            first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
        )  # fmt: skip
        self.profile = self.save_profile(user)
        return user


class TechnicianEditForm(_ScopeFields):
    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    email = forms.EmailField(required=False)

    field_order = [
        "first_name",
        "last_name",
        "email",
        "role",
        "scope",
        "tenants",
        "tenant_groups",
        "entra_object_id",
    ]

    def __init__(self, data=None, *, editor, technician):
        self.technician = technician
        self.profile = TechnicianProfile.objects.filter(user=technician).first()
        initial = {
            "first_name": technician.first_name,
            "last_name": technician.last_name,
            "email": technician.email,
        }
        if self.profile is not None:
            initial.update(
                role=self.profile.role,
                scope=self.profile.scope,
                tenants=list(self.profile.tenants.all()),
                tenant_groups=list(self.profile.tenant_groups.all()),
                entra_object_id=self.profile.entra_object_id,
            )
        super().__init__(data, initial=initial)
        self.editor = editor
        self._limit_to(editor)
        _style(self)

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip()
        model = get_user_model()
        if email and model.objects.filter(email__iexact=email).exclude(pk=self.technician.pk).exists():
            raise forms.ValidationError("Another technician already uses this email address.")
        return email

    def clean_role(self):
        role = self.cleaned_data["role"]
        if self.technician.pk == self.editor.pk and role != TechnicianProfile.Role.ADMIN:
            raise forms.ValidationError("You cannot remove your own Admin role (ask another Admin).")
        return role

    def save(self):
        data = self.cleaned_data
        self.technician.first_name = data.get("first_name", "")
        self.technician.last_name = data.get("last_name", "")
        self.technician.email = data.get("email", "")
        self.technician.save(update_fields=["first_name", "last_name", "email"])
        self.profile = self.save_profile(self.technician)
        return self.technician


class TenantGroupForm(forms.ModelForm):
    class Meta:
        model = TenantGroup
        fields = ["name", "description", "tenants"]
        widgets = {"tenants": forms.SelectMultiple(attrs={"size": 12})}

    def __init__(self, *args, editor, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor = editor
        self.fields["tenants"].queryset = access.visible_tenants(editor).order_by("display_name")
        self.fields["tenants"].required = False
        _style(self)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = TenantGroup.objects.filter(name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("A tenant group with this name already exists.")
        return name

    def save(self, commit=True):
        # Members the editing Admin cannot see were not on offer: keep them rather than silently drop them.
        hidden = []
        if self.instance.pk and not access.sees_every_tenant(self.editor):
            visible = access.visible_tenants(self.editor).values("pk")
            hidden = list(self.instance.tenants.exclude(pk__in=visible))
        group = super().save(commit=commit)
        if commit and hidden:
            group.tenants.add(*hidden)
        return group
