"""The Add user form: what the technician fills in, validated with the shared rules before anything is sent.

``load_options(tenant)`` reads what the pickers offer once per page (verified domains and licences from the
cache; groups and the organization's country from Graph). ``AddUserForm(data, tenant=, options=)``
validates; ``to_new_user()`` hands the result to ``create.provision_user`` as a ``types.NewUser``.

Checked here, so nothing doomed is sent: every length and pattern (rules), the domain is one of the tenant's,
each alias is an address on one of the tenant's domains, a typed password meets Microsoft's complexity,
licences still have a free unit, manager and "copy from" are users of this tenant, and finally the UPN and
the aliases are free (local cache and Graph, ``availability.address_problems``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms

from tenants.forms import BootstrapFormMixin

from . import form_fields as ff
from . import rules
from .types import LicenceChoice, NewUser

PASSWORD_MODES = (("generate", "Generate a strong password"), ("manual", "Type a password"))


@dataclass
class FormOptions:
    """What the pickers offer for one tenant."""

    domains: list[str]
    tenant_country: str = ""
    licences: list = field(default_factory=list)  # form_fields.LicenceOption
    groups: list = field(default_factory=list)  # graph.services.groups.GroupChoice (joinable and not)
    groups_truncated: bool = False
    groups_error: str = ""

    @property
    def blocked_groups(self) -> list:
        return [g for g in self.groups if g.why_not]


def load_options(tenant) -> FormOptions:
    groups, truncated, error = ff.group_choices(tenant)
    return FormOptions(
        domains=ff.tenant_domains(tenant),
        tenant_country=ff.tenant_country(tenant),
        licences=ff.licence_options(tenant),
        groups=groups,
        groups_truncated=truncated,
        groups_error=error,
    )


def _default_address_check(tenant, addresses):
    from .availability import address_problems

    return address_problems(tenant, addresses)


class AddUserForm(BootstrapFormMixin, forms.Form):
    tenant = forms.CharField(widget=forms.HiddenInput)  # the tenant's GUID, re-checked by the view

    def __init__(self, *args, tenant, options: FormOptions, check_addresses=None, **kwargs):
        self.tenant_obj = tenant
        self.options = options
        # (tenant, [addresses]) -> {address lower: reason}; the view's default asks the cache and Graph.
        self.check_addresses = check_addresses or _default_address_check
        forms.Form.__init__(self, *args, **kwargs)
        self.fields["tenant"].initial = str(tenant.tenant_id)
        copy_help = (
            "Fills job, company and address fields, business phone, usage location and licences from that user "
            "(fields you already filled are kept); names, username and mobile phone stay this person's."
        )
        self.fields["copy_from"] = ff.user_field("Copy from another user", help_text=copy_help)
        self.fields["copy_groups"] = forms.BooleanField(
            label="Also copy their group memberships (after creation; dynamic and synced groups skipped)",
            required=False,
            initial=True,
        )
        self.fields.update(ff.profile_fields(names=("given_name", "surname", "display_name")))
        self.fields["username"] = ff.username_field()
        self.fields["domain"] = ff.domain_field(options.domains)
        self.fields["aliases"] = ff.aliases_field()
        self.fields["password_mode"] = forms.ChoiceField(
            label="Password", choices=PASSWORD_MODES, initial="generate", widget=forms.RadioSelect
        )
        self.fields["password"] = forms.CharField(
            label="Password to set",
            required=False,
            strip=False,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=f"{rules.PASSWORD_MIN}–{rules.PASSWORD_MAX} characters with three of: upper-case, "
            "lower-case, digits, symbols. Shown once after creation, never stored.",
        )
        self.fields["must_change_password"] = forms.BooleanField(
            label="Require a password change at next sign-in", required=False, initial=False
        )
        self.fields["usage_location"] = ff.usage_location_field(options.tenant_country)
        self.fields["licences"] = ff.licence_field(options.licences)
        self.fields.update(ff.profile_fields(names=ff.PROFILE_NAMES[3:]))
        self.fields["manager"] = ff.user_field("Manager")
        self.fields["groups"] = ff.group_field(options.groups)
        self.fields["display_name"].help_text = "Suggested from first and last name until you change it."
        self.fields["domain"].help_text = "The tenant's verified domains; the default domain first."
        ff.style(self)
        self.copy_source = None
        self.manager_user = None

    # --- prefilled values that do not fit ----------------------------------------------------------------

    def show_invalid_choice(self, name: str, value: str) -> None:
        """Keep a prefilled value the picker does not offer visible (selected, marked invalid) without
        making it a valid choice: only the widget lists it, validation still refuses it."""
        field = self.fields[name]
        field.widget.choices = [*field.choices, (value, f"{value} — not valid here")]
        self.initial[name] = value

    def add_initial_errors(self, errors: dict) -> None:
        """Show messages on an unbound form (the prefill's problems) exactly like validation errors."""
        from django.forms.utils import ErrorDict

        if self._errors is None:
            self._errors = ErrorDict()
        for name, messages in errors.items():
            if name not in self.fields:
                continue
            self._errors.setdefault(name, self.error_class(renderer=self.renderer)).extend(messages)
            attrs = self.fields[name].widget.attrs
            attrs["class"] = (attrs.get("class", "") + " is-invalid").strip()
            attrs["aria-invalid"] = "true"

    # --- validation ----------------------------------------------------------------------------------------

    def clean_tenant(self):
        value = self.cleaned_data["tenant"]
        if value.strip().lower() != str(self.tenant_obj.tenant_id):
            raise forms.ValidationError("The form belongs to another tenant; open it again.")
        return value

    def clean_copy_from(self):
        value = self.cleaned_data.get("copy_from", "")
        if value:
            self.copy_source = ff.find_user(self.tenant_obj, value)
            if self.copy_source is None:
                raise forms.ValidationError(f"No user “{value}” in this tenant's directory.")
        return value

    def clean_manager(self):
        value = self.cleaned_data.get("manager", "")
        if value:
            self.manager_user = ff.find_user(self.tenant_obj, value)
            if self.manager_user is None:
                raise forms.ValidationError(f"No user “{value}” in this tenant's directory.")
        return value

    def clean_licences(self):
        chosen = self.cleaned_data.get("licences") or []
        empty = ff.licences_without_units(chosen, self.options.licences)
        if empty:
            raise forms.ValidationError(
                "No unit left of: " + ", ".join(empty) + ". Buy more or free one up first."
            )
        return chosen

    def clean(self):
        data = super().clean()
        if data.get("password_mode") == "manual":
            password = data.get("password") or ""
            problem = rules.password_problem(password) if password else "Type the password, or generate one."
            if problem:
                self.add_error("password", problem)
        else:
            data["password"] = None  # never keep a typed value the technician switched away from
        username, domain = data.get("username"), data.get("domain")
        aliases: list[str] = []
        if domain and "aliases" not in self.errors:
            aliases, problems = ff.parse_aliases(
                data.get("aliases", ""), default_domain=domain, domains=self.options.domains
            )
            upn = f"{username}@{domain}".lower() if username else ""
            aliases = [a for a in aliases if a.lower() != upn]  # the UPN is the primary address already
            for problem in problems:
                self.add_error("aliases", problem)
        data["alias_list"] = aliases
        if username and domain and not {"username", "domain", "aliases"} & set(self.errors):
            self._check_addresses(f"{username}@{domain}", aliases)
        return data

    def _check_addresses(self, upn: str, aliases: list[str]) -> None:
        from graph.errors import GraphError

        try:
            problems = self.check_addresses(self.tenant_obj, [upn, *aliases]) or {}
        except GraphError as error:
            # Graph could not be asked: refuse what the cache already knows is taken and let the create go
            # ahead otherwise (Graph refuses a taken address itself, and the result page says so).
            problems = getattr(error, "partial", None) or {}
        problems = {str(k).lower(): v for k, v in problems.items()}
        if upn.lower() in problems:
            self.add_error("username", f"{upn}: {problems[upn.lower()]}")
        for alias in aliases:
            if alias.lower() in problems:
                self.add_error("aliases", f"{alias}: {problems[alias.lower()]}")

    # --- result ----------------------------------------------------------------------------------------------

    def to_new_user(self) -> NewUser:
        data = self.cleaned_data
        copy_groups_from = (
            str(self.copy_source.user_id)
            if self.copy_source is not None and data.get("copy_groups")
            else None
        )
        return NewUser(
            **ff.profile_values(data),
            username=data["username"],
            domain=data["domain"],
            aliases=list(data.get("alias_list") or []),
            password=data.get("password") or None,
            must_change_password=bool(data.get("must_change_password")),
            usage_location=data.get("usage_location") or "",
            licences=[LicenceChoice(sku_id=sku) for sku in data.get("licences") or []],
            manager_id=str(self.manager_user.user_id) if self.manager_user is not None else None,
            group_ids=list(data.get("groups") or []),
            copy_groups_from=copy_groups_from,
        )

    # --- layout helpers for the template ----------------------------------------------------------------------

    def section(self, *names):
        return [self[name] for name in names if name in self.fields]

    @property
    def identity_fields(self):
        return self.section("given_name", "surname", "display_name")

    @property
    def work_fields(self):
        return self.section("job_title", "department", "company_name")

    @property
    def address_fields(self):
        return self.section("street_address", "city", "state", "postal_code", "country")

    @property
    def phone_fields(self):
        return self.section("business_phone", "mobile_phone")


def copy_values(source, *, current: dict) -> dict:
    """What "copy from another user" fills: ``{"fields": {name: value}, "licences": [sku ids],
    "kept": [names]}`` — the source's organisational profile and usage location, never over a
    value the technician already entered (``current``)."""
    profile = ff.profile_initial(source)
    wanted = ("job_title", "department", "company_name", "street_address", "city", "state", "postal_code",
              "country", "business_phone")  # fmt: skip
    fields: dict[str, str] = {}
    kept: list[str] = []
    candidates = {name: profile.get(name, "") for name in wanted}
    candidates["usage_location"] = source.usage_location or ""
    for name, value in candidates.items():
        if not value:
            continue
        if (current.get(name) or "").strip():
            kept.append(name)
        else:
            fields[name] = value
    licences = [str(sku).lower() for sku in (source.license_sku_ids or [])]
    return {"fields": fields, "licences": licences, "kept": kept}
