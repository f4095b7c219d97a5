"""Forms for technician accounts (role + tenant scope) and tenant groups.

What is on offer comes from ``tenants.access``: an Admin scoped to some tenants is offered only its own
tenants and the tenant groups wholly inside its scope, and ``access.scope_refusal`` checks whatever is
posted, so no technician (the editor included) ends up with a role or scope wider than the editor's.
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
        self.editor = editor
        self.fields["tenants"].queryset = access.visible_tenants(editor).order_by("display_name")
        self.fields["tenant_groups"].queryset = access.manageable_groups(editor).order_by("name")
        if not access.manages_global(editor):
            # "All tenants" and "all except" grow with every new tenant: not a scoped Admin's to give.
            self.fields["scope"].choices = [
                (Scope.ONLY, Scope.ONLY.label),
                (Scope.GROUPS, Scope.GROUPS.label),
            ]
            rank = access.ROLE_RANK.get(access.role_of(editor).key, -1)
            self.fields["role"].choices = [
                (value, label) for value, label in TechnicianProfile.Role.choices
                if access.ROLE_RANK[value] <= rank
            ]  # fmt: skip

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
        if data.get("role") and scope and not self.errors:
            refusal = access.scope_refusal(
                self.editor, data["role"], scope, data.get("tenants") or (), data.get("tenant_groups") or ()
            )
            if refusal:
                self.add_error("scope", refusal)
        return data

    def scope_snapshot(self) -> dict:
        """Role and scope as the audit log records them (tenant GUIDs, group names)."""
        data = self.cleaned_data
        scope = data.get("scope")
        return {
            "role": data.get("role"),
            "scope": scope,
            "tenants": sorted(str(t.tenant_id) for t in data.get("tenants") or [])
            if scope in (Scope.ONLY, Scope.EXCEPT) else [],
            "tenant_groups": sorted(g.name for g in data.get("tenant_groups") or [])
            if scope == Scope.GROUPS else [],
        }  # fmt: skip

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
        # Only the editor's own tenants are on offer; a scoped Admin's group needs one (an empty group
        # lies inside nobody's scope, so it would vanish from their pages).
        self.fields["tenants"].queryset = access.visible_tenants(editor).order_by("display_name")
        self.fields["tenants"].required = False
        self.needs_tenant = not access.manages_global(editor)
        _style(self)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = TenantGroup.objects.filter(name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("A tenant group with this name already exists.")
        return name

    def clean_tenants(self):
        tenants = self.cleaned_data.get("tenants")
        if not tenants and self.needs_tenant:
            raise forms.ValidationError("Choose at least one of your tenants.")
        return tenants
