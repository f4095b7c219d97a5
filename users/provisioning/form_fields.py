"""Form fields and choices shared by Add user and Edit user (and anything else that edits a user's profile).

Every rule comes from ``rules`` (lengths, username pattern, countries), so the forms, the live checks and
the CSV importer agree. Nothing here sends anything to Microsoft except ``group_choices`` (one Graph read of
the tenant's groups) and ``tenant_country`` (one read of the organization, cached for a while).

How to use it in a form::

    from users.provisioning import form_fields as ff

    class MyForm(BootstrapFormMixin, forms.Form):
        def __init__(self, *args, tenant, **kwargs):
            super().__init__(*args, **kwargs)          # BootstrapFormMixin (tenants.forms) adds the CSS
            self.fields.update(ff.profile_fields())   # given_name ... mobile_phone (rules.PROFILE_FIELDS)
            self.fields["username"] = ff.username_field()
            self.fields["domain"] = ff.domain_field(ff.tenant_domains(tenant))
            self.fields["aliases"] = ff.aliases_field()
            self.fields["usage_location"] = ff.usage_location_field(ff.tenant_country(tenant))
            self.fields["licences"] = ff.licence_field(ff.licence_options(tenant))

        def clean_aliases(self):
            addresses, problems = ff.parse_aliases(self.cleaned_data["aliases"], default_domain=...)
            ...

Add the fields before BootstrapFormMixin's __init__ runs its loop, or call ``ff.style(form)`` afterwards.
``profile_initial(directory_user)`` gives a cached user's profile as form initial values (copy from another
user, Edit user). ``profile_values(cleaned_data)`` maps cleaned form values back to keyword arguments of
``types.NewUser`` (the form field names ARE the NewUser attribute names).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError

from . import rules

log = logging.getLogger(__name__)

# form field name -> (Graph property, label), in display order.
PROFILE = {name: (prop, label) for name, prop, label in rules.PROFILE_FIELDS}
PROFILE_NAMES = tuple(PROFILE)
COUNTRY_CACHE_SECONDS = 600


def length_validator(graph_property: str):
    """A validator with the rules' wording ("At most 64 characters (this has 70).")."""

    def validate(value):
        problem = rules.length_problem(graph_property, value or "")
        if problem:
            raise ValidationError(problem, code="max_length")

    return validate


def text_field(graph_property: str, label: str, *, required: bool = False, **kwargs) -> forms.CharField:
    """A text field limited as Graph limits ``graph_property``. No ``maxlength`` attribute on purpose: a
    prefilled over-long value must stay visible in full so the technician can see what to shorten; the
    limit is announced in ``data-max-length`` for the live counter and enforced by the validator."""
    attrs = {"data-graph-property": graph_property, "autocomplete": "off"}
    limit = rules.MAX_LENGTH.get(graph_property)
    if limit:
        attrs["data-max-length"] = str(limit)
    return forms.CharField(
        label=label,
        required=required,
        validators=[length_validator(graph_property)],
        widget=forms.TextInput(attrs=attrs),
        **kwargs,
    )


def profile_fields(*, required: tuple[str, ...] = ("display_name",), names=PROFILE_NAMES) -> dict:
    """{form field name: CharField} for the shared profile fields (rules.PROFILE_FIELDS), in order."""
    return {name: text_field(PROFILE[name][0], PROFILE[name][1], required=name in required) for name in names}


def profile_values(cleaned_data: dict, names=PROFILE_NAMES) -> dict:
    """The profile part of ``cleaned_data`` as NewUser keyword arguments (text, never None)."""
    return {name: (cleaned_data.get(name) or "").strip() for name in names}


def profile_initial(user) -> dict:
    """A cached DirectoryUser's profile as form values (copy from another user, Edit user).

    The cache keeps the columns the users table needs; street, state and postal code live only in the
    stored Graph JSON, so they are read from there."""
    graph = user.graph or {}
    phones = user.business_phones or graph.get("businessPhones") or []
    return {
        "given_name": user.given_name or graph.get("givenName") or "",
        "surname": user.surname or graph.get("surname") or "",
        "display_name": user.display_name or graph.get("displayName") or "",
        "job_title": user.job_title or graph.get("jobTitle") or "",
        "department": user.department or graph.get("department") or "",
        "company_name": user.company_name or graph.get("companyName") or "",
        "street_address": graph.get("streetAddress") or "",
        "city": user.city or graph.get("city") or "",
        "state": graph.get("state") or "",
        "postal_code": graph.get("postalCode") or "",
        "country": user.country or graph.get("country") or "",
        "business_phone": phones[0] if phones else "",
        "mobile_phone": user.mobile_phone or graph.get("mobilePhone") or "",
    }


# --- username, domain, aliases ------------------------------------------------------------------------------


def validate_username(value: str) -> None:
    problem = rules.username_problem(value or "")
    if problem:
        raise ValidationError(problem, code="username")


def username_field(**kwargs) -> forms.CharField:
    return forms.CharField(
        label="Username",
        validators=[validate_username],
        help_text=rules.USERNAME_HELP,
        widget=forms.TextInput(
            attrs={
                "data-graph-property": "mailNickname",
                "data-max-length": str(rules.MAX_LENGTH["mailNickname"]),
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
        **kwargs,
    )


def tenant_domains(tenant) -> list[str]:
    """The tenant's verified domains from the tenant cache (discovery records them), default first, then
    by name; the default / initial domain on the tenant row when no domain rows exist yet."""
    rows = list(tenant.domains.order_by("-is_default", "name").values_list("name", flat=True))
    if rows:
        return rows
    return [d for d in dict.fromkeys([tenant.default_domain, tenant.initial_domain]) if d]


def domain_field(domains: list[str], **kwargs) -> forms.ChoiceField:
    """The domain picker: ``domains`` in the given order, the first preselected."""
    return forms.ChoiceField(
        label="Domain",
        choices=[(d, d) for d in domains],
        initial=domains[0] if domains else None,
        **kwargs,
    )


def aliases_field(**kwargs) -> forms.CharField:
    return forms.CharField(
        label="Aliases",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off"}),
        help_text="One address per line. A name without @ gets the chosen domain.",
        **kwargs,
    )


def alias_lines(text: str) -> list[str]:
    """The non-blank lines of an aliases box (also splits on commas, semicolons and spaces, which people
    paste from other tools)."""
    raw = (text or "").replace(",", "\n").replace(";", "\n")
    return [part for line in raw.splitlines() for part in line.split() if part]


def parse_aliases(text: str, *, default_domain: str, domains: list[str] | None = None):
    """(addresses, problems): full lower-case-domain addresses, de-duplicated, and a list of messages for
    lines that are not addresses or whose domain is not one of ``domains`` (when given)."""
    addresses: list[str] = []
    problems: list[str] = []
    allowed = {d.lower() for d in domains} if domains is not None else None
    for line in alias_lines(text):
        candidate = line if "@" in line else f"{line}@{default_domain}"
        parts = rules.split_address(candidate)
        if parts is None:
            problems.append(f"“{line}” is not an e-mail address.")
            continue
        local, domain = parts
        problem = rules.username_problem(local)
        if problem:
            problems.append(f"“{line}”: {problem}")
            continue
        if allowed is not None and domain not in allowed:
            problems.append(f"“{line}”: {domain} is not one of this tenant's verified domains.")
            continue
        address = f"{local}@{domain}"
        if address.lower() not in {a.lower() for a in addresses}:
            addresses.append(address)
    return addresses, problems


# --- usage location ------------------------------------------------------------------------------------------


def country_name(code: str) -> str:
    return dict(rules.countries()).get((code or "").upper(), code or "")


def tenant_country(tenant) -> str:
    """The organization's country (countryLetterCode), which Microsoft uses as a new user's usage location
    default; cached for ten minutes; "" when it cannot be read."""
    key = f"provisioning:tenant-country:{tenant.tenant_id}"
    value = cache.get(key)
    if value is not None:
        return value
    from graph.client import GraphClient
    from graph.errors import GraphError
    from graph.services.organization import get_tenant_profile

    try:
        value = (get_tenant_profile(GraphClient.for_tenant(tenant)).get("country") or "").upper()
    except (GraphError, OSError) as error:
        log.info("tenant %s: organization country unavailable (%s)", tenant.tenant_id, type(error).__name__)
        return ""
    cache.set(key, value, COUNTRY_CACHE_SECONDS)
    return value


def usage_location_field(tenant_default: str = "", **kwargs) -> forms.ChoiceField:
    """ISO 3166 countries; the blank choice names the tenant default it stands for."""
    if tenant_default:
        blank = f"Tenant default — {country_name(tenant_default)} ({tenant_default})"
    else:
        blank = "Tenant default (the organization's country)"
    return forms.ChoiceField(
        label="Usage location",
        required=False,
        choices=[("", blank), *((code, f"{name} ({code})") for code, name in rules.countries())],
        help_text="Where the user's licensed services are delivered; licences need one.",
        **kwargs,
    )


# --- licences ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceOption:
    sku_id: str
    name: str
    part_number: str
    available: int

    @property
    def label(self) -> str:
        return f"{self.name} ({self.available} available)"


def licence_options(tenant) -> list[LicenceOption]:
    """The tenant's subscribed SKUs from the cache (TenantSku, refreshed with the directory), by name."""
    return [
        LicenceOption(
            str(sku.sku_id), sku.product_name or sku.part_number, sku.part_number, sku.available_units
        )
        for sku in tenant.skus.filter(capability_status__in=("Enabled", "Warning")).order_by("product_name")
    ]


def licence_field(options: list[LicenceOption], **kwargs) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Licences",
        required=False,
        choices=[(o.sku_id, o.label) for o in options],
        widget=forms.CheckboxSelectMultiple,
        **kwargs,
    )


def licences_without_units(chosen: list[str], options: list[LicenceOption], *, already=()) -> list[str]:
    """Names of chosen SKUs with no unit left (``already``: SKUs the user holds, which need no new unit)."""
    by_id = {o.sku_id: o for o in options}
    return [
        by_id[sku].name
        for sku in chosen
        if sku in by_id and sku not in set(already) and by_id[sku].available < 1
    ]


# --- groups and users ----------------------------------------------------------------------------------------


def group_choices(tenant):
    """(GroupChoice list, truncated, error text) for the groups picker, read from Graph (one page of up to
    999 groups by name). Groups that cannot take members from here are listed with why."""
    from graph.client import GraphClient
    from graph.errors import GraphError
    from graph.services.groups import list_groups

    try:
        groups, truncated = list_groups(GraphClient.for_tenant(tenant))
    except GraphError as error:
        return [], False, f"The tenant's groups could not be read: {error.message or error.code}"
    return groups, truncated, ""


def group_field(groups, **kwargs) -> forms.MultipleChoiceField:
    """Checkboxes "Name — kind"; groups with ``why_not`` are left out of the choices (the template lists
    them separately with the reason)."""
    return forms.MultipleChoiceField(
        label="Groups to join",
        required=False,
        choices=[(g.id, f"{g.name} — {g.kind}") for g in groups if not g.why_not],
        widget=forms.CheckboxSelectMultiple,
        **kwargs,
    )


def user_field(label: str, **kwargs) -> forms.CharField:
    """A user of the tenant by UPN, mail or object id (a search box with suggestions on the page);
    resolve it with ``find_user``."""
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "name@domain or name"}
        ),
        **kwargs,
    )


def find_user(tenant, value: str):
    """The cached DirectoryUser of ``tenant`` whose object id, UPN or mail is ``value``; None otherwise."""
    from tenants.lookup import parse_guid
    from users.models import DirectoryUser

    text = (value or "").strip()
    # Nothing is longer than "Name <address>" with a 320-character address; longer text would also fail
    # SQLite's LIKE (a 500).
    if not text or len(text) > 600:
        return None
    users = DirectoryUser.objects.filter(tenant=tenant)
    guid = parse_guid(text)
    if guid is not None:
        return users.filter(user_id=guid).first()
    # "Name <upn>" as the suggestion list shows it
    if text.endswith(">") and "<" in text:
        text = text.rsplit("<", 1)[1][:-1].strip()
    return users.filter(user_principal_name__iexact=text).first() or users.filter(mail__iexact=text).first()


def search_users(tenant, q: str, *, limit: int = 15):
    """Cached users of ``tenant`` whose name, UPN or mail starts with / contains ``q`` (suggestion lists)."""
    from django.db.models import Q

    from users.models import DirectoryUser

    text = (q or "").strip()
    # Nothing is longer than a mail address (320); longer text would also fail SQLite's LIKE (a 500).
    if len(text) < 2 or len(text) > 320 or not text.isprintable():
        return []
    return list(
        DirectoryUser.objects.filter(tenant=tenant)
        .filter(
            Q(display_name__icontains=text) | Q(user_principal_name__icontains=text) | Q(mail__icontains=text)
        )
        .order_by("display_name")[:limit]
    )


def style(form) -> None:
    """Bootstrap classes for fields added after BootstrapFormMixin ran (checkbox lists included)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple | forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        classes = widget.attrs.get("class", "").split()
        if css not in classes:
            widget.attrs["class"] = " ".join([*classes, css])
