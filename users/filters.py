"""The users table's URL contract: parsing and validating the query string into a ``TableQuery``.

Every state of the table (search, filters, sort, page, page size) lives in the URL so a view can be
bookmarked and shared. Parsing never fails: a parameter that does not validate is dropped (its default
is used instead) and reported as a notice, so a hand-edited or stale link shows the table plus a clear
message, never a 500. Exports are stricter (``TableQuery.errors`` makes them answer 400) because
silently exporting a different set than the one asked for would be wrong.

Parameters: tenant, q, status (enabled|disabled), licence (licensed|unlicensed), sku (SKU GUID),
source (synced|cloud), type (member|guest), domain, department, jobTitle, companyName, officeLocation,
city, country, usageLocation (case-insensitive exact match on the cached value), sort ([-]column key), page, per_page.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django import forms

from .tables import SORTABLE

PAGE_SIZES = (25, 50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 50
DEFAULT_SORT = "display_name"
MAX_SEARCH = 200
# Printable domain names only: letters, digits, dots and hyphens (IDNs arrive in their xn-- form).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,252}[a-z0-9])?$")

STATUS_CHOICES = (("", "Any status"), ("enabled", "Enabled"), ("disabled", "Disabled"))
LICENCE_CHOICES = (("", "Any licensing"), ("licensed", "Licensed"), ("unlicensed", "Unlicensed"))
SOURCE_CHOICES = (("", "Any source"), ("synced", "AD synced"), ("cloud", "Cloud only"))
TYPE_CHOICES = (("", "Any type"), ("member", "Members"), ("guest", "Guests"))

# Directory attributes filtered by case-insensitive exact match; the URL parameter is the Graph property
# name, the value the cached DirectoryUser column.
ATTRIBUTE_FILTERS = {
    "department": ("department", "Department"),
    "jobTitle": ("job_title", "Job title"),
    "companyName": ("company_name", "Company"),
    "officeLocation": ("office_location", "Office"),
    "city": ("city", "City"),
    "country": ("country", "Country"),
    "usageLocation": ("usage_location", "Usage location"),
}

FILTER_NAMES = ("q", "status", "licence", "sku", "source", "type", "domain", *ATTRIBUTE_FILTERS)
PARAM_LABELS = {
    "q": "Search",
    "status": "Status",
    "licence": "Licensing",
    "sku": "Licence",
    "source": "Source",
    "type": "User type",
    "domain": "Domain",
    **{param: label for param, (_, label) in ATTRIBUTE_FILTERS.items()},
    "sort": "Sort",
    "page": "Page",
    "per_page": "Rows per page",
}


def _sort_choices():
    choices = []
    for key in SORTABLE:
        choices += [(key, key), (f"-{key}", f"-{key}")]
    return choices


class TableQueryForm(forms.Form):
    q = forms.CharField(required=False, max_length=MAX_SEARCH, strip=True)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    licence = forms.ChoiceField(required=False, choices=LICENCE_CHOICES)
    sku = forms.UUIDField(required=False)
    source = forms.ChoiceField(required=False, choices=SOURCE_CHOICES)
    type = forms.ChoiceField(required=False, choices=TYPE_CHOICES)
    domain = forms.CharField(required=False, max_length=255, strip=True)
    department = forms.CharField(required=False, max_length=64, strip=True)
    jobTitle = forms.CharField(required=False, max_length=128, strip=True)
    companyName = forms.CharField(required=False, max_length=64, strip=True)
    officeLocation = forms.CharField(required=False, max_length=128, strip=True)
    city = forms.CharField(required=False, max_length=128, strip=True)
    country = forms.CharField(required=False, max_length=128, strip=True)
    usageLocation = forms.RegexField(
        required=False,
        regex=r"^[A-Za-z]{2}$",
        strip=True,
        error_messages={"invalid": "A usage location is a two-letter country code, e.g. NL."},
    )
    sort = forms.ChoiceField(required=False, choices=_sort_choices)
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000_000)
    per_page = forms.TypedChoiceField(
        required=False, coerce=int, choices=[(str(n), str(n)) for n in PAGE_SIZES]
    )

    def __init__(self, data, *, sku_ids=None):
        super().__init__(data)
        self._sku_ids = sku_ids

    def clean_sku(self):
        value = self.cleaned_data["sku"]
        if value is not None and self._sku_ids is not None and value not in self._sku_ids:
            raise forms.ValidationError("No tenant in this view subscribes to that licence.")
        return value

    def clean_domain(self):
        value = self.cleaned_data["domain"].lower()
        if value and not DOMAIN_RE.match(value):
            raise forms.ValidationError("That is not a domain name.")
        return value


@dataclass(frozen=True)
class TableQuery:
    """The validated table state; ``urlencode`` gives the canonical query string (defaults omitted)."""

    tenant: str = ""
    q: str = ""
    status: str = ""
    licence: str = ""
    sku: uuid.UUID | None = None
    source: str = ""
    type: str = ""
    domain: str = ""
    department: str = ""
    jobTitle: str = ""
    companyName: str = ""
    officeLocation: str = ""
    city: str = ""
    country: str = ""
    usageLocation: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    errors: tuple[str, ...] = field(default=(), compare=False)

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def has_filters(self) -> bool:
        return any(getattr(self, name) for name in FILTER_NAMES)

    def params(self, *, page: bool = True) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.tenant:
            out["tenant"] = self.tenant
        for name in FILTER_NAMES:
            value = getattr(self, name)
            if value:
                out[name] = str(value)
        if self.sort != DEFAULT_SORT:
            out["sort"] = self.sort
        if self.per_page != DEFAULT_PAGE_SIZE:
            out["per_page"] = str(self.per_page)
        if page and self.page != 1:
            out["page"] = str(self.page)
        return out

    def urlencode(self, **overrides) -> str:
        """The query string for this state with ``overrides`` applied (a filter change resets the page)."""
        state = replace(self, **overrides) if overrides else self
        return urlencode(state.params())

    @property
    def chips(self) -> list[dict]:
        """One removable chip per active filter (search excluded: it has its own box); the remove link is
        this state without that one parameter, back on page 1."""
        out = []
        for name in FILTER_NAMES[1:]:
            value = getattr(self, name)
            if value:
                empty = None if name == "sku" else ""
                out.append(
                    {
                        "param": name,
                        "label": PARAM_LABELS.get(name, name),
                        "value": str(value),
                        "remove_query": self.urlencode(**{name: empty, "page": 1}),
                    }
                )
        return out

    def sort_url(self, key: str) -> str:
        """Clicking a header: ascending first, then toggles; always back to page 1."""
        new = f"-{key}" if self.sort == key else key
        return self.urlencode(sort=new, page=1)

    def page_url(self, number: int) -> str:
        return self.urlencode(page=number)


def parse_table_query(data, *, sku_ids=None) -> TableQuery:
    """``data`` is a QueryDict (or dict). Invalid parameters fall back to their defaults and are listed in
    ``errors`` as sentences a technician can act on. ``sku_ids``: the SKUs subscribed in the scope."""
    raw = {name: _first(data, name) for name in TableQueryForm.base_fields}
    form = TableQueryForm(raw, sku_ids=sku_ids)
    form.is_valid()
    errors = []
    for name, messages in form.errors.items():
        value = raw.get(name, "")
        shown = _CONTROL.sub("\ufffd", value if len(value) <= 60 else value[:57] + "…")
        errors.append(f"{PARAM_LABELS.get(name, name)} “{shown}” was ignored: {' '.join(messages)}")
    cleaned = form.cleaned_data
    values = {
        "tenant": (_first(data, "tenant") or "").strip()[:300],
        "q": cleaned.get("q") or "",
        "status": cleaned.get("status") or "",
        "licence": cleaned.get("licence") or "",
        "sku": cleaned.get("sku"),
        "source": cleaned.get("source") or "",
        "type": cleaned.get("type") or "",
        "domain": cleaned.get("domain") or "",
        **{param: cleaned.get(param) or "" for param in ATTRIBUTE_FILTERS},
        "sort": cleaned.get("sort") or DEFAULT_SORT,
        "page": cleaned.get("page") or 1,
        "per_page": cleaned.get("per_page") or DEFAULT_PAGE_SIZE,
    }
    return TableQuery(**values, errors=tuple(errors))


def _first(data, name: str) -> str:
    """One value of ``name`` (the last, as QueryDict.get gives); a repeated parameter is not an error."""
    getter = getattr(data, "get", None)
    value = getter(name, "") if getter else ""
    return value if isinstance(value, str) else str(value)
