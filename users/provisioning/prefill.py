"""Read an Add user link's query string (AutoTask LiveLinks and the like) into form values.

The parameters are the reference product's documented ones (seed page, "Query String Support"), so links
written for it keep working after replacing only the host name. Names match case-insensitively; both the
documented misspelling ``addedAliasses`` and ``addedAliases`` are read; ``tenant`` and ``tenantFilter`` are
synonyms of ``customerId``, ``username`` of ``mailNickname``.

``parse_prefill`` is a pure function: it never raises on any input, never touches the database and never
submits anything. A value that does not fit is kept (so the technician sees and corrects it) and reported as
a field error; parameters it does not know are listed. The view resolves the tenant from ``tenant_value``
and passes the tenant's domains in for the domain checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import rules

# lower-case parameter -> form field
PARAMETERS = {
    "businessphones": "business_phone",
    "city": "city",
    "companyname": "company_name",
    "country": "country",
    "department": "department",
    "displayname": "display_name",
    "givenname": "given_name",
    "jobtitle": "job_title",
    "mailnickname": "username",
    "username": "username",
    "mobilephone": "mobile_phone",
    "addedaliasses": "aliases",
    "addedaliases": "aliases",
    "postalcode": "postal_code",
    "streetaddress": "street_address",
    "surname": "surname",
    "state": "state",
    "usagelocation": "usage_location",
    "primdomain": "domain",
    "mustchangepass": "must_change_password",
}
TENANT_PARAMETERS = ("customerid", "tenantfilter", "tenant")  # first present wins, in this order
# Field -> Graph property whose length limit applies.
GRAPH_PROPERTY = {name: prop for name, prop, _label in rules.PROFILE_FIELDS}
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "n", ""})
# C0 / C1 control characters and lone surrogates have no business in a name or an address; they are dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
MAX_VALUE_CHARS = 4096  # a longer value is cut (a link can carry ~8 KB at most anyway) and reported


@dataclass
class Prefill:
    tenant_value: str = ""  # customerId / tenant / tenantFilter as given (GUID or domain), stripped
    initial: dict = field(default_factory=dict)  # form field -> value (str, or bool for the checkbox)
    errors: dict = field(default_factory=dict)  # form field -> [messages]
    unknown: list = field(default_factory=list)  # parameter names not recognised, as given
    given: list = field(default_factory=list)  # form fields the link set, in order

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _pairs(params) -> list[tuple[str, str]]:
    """(name, value) pairs from a QueryDict, a mapping or an iterable of pairs; anything odd is skipped."""
    out: list[tuple[str, str]] = []
    try:
        if hasattr(params, "lists"):
            items: Iterable = ((k, v) for k, values in params.lists() for v in values)
        elif isinstance(params, Mapping):
            items = params.items()
        else:
            items = params or ()
        for item in items:
            try:
                name, value = item
            except (TypeError, ValueError):
                continue
            if isinstance(value, list | tuple):
                out.extend((str(name), str(v)) for v in value)
            else:
                out.append((str(name), "" if value is None else str(value)))
    except TypeError:
        return out
    return out


def _clean(value: str, *, keep_newlines: bool = False) -> str:
    text = _CONTROL.sub("", value)
    if not keep_newlines:
        text = text.replace("\n", " ").replace("\r", " ")
    return text.strip()


def tenant_value(params) -> str:
    """The tenant named by the link (customerId, else tenantFilter, else tenant), or ""."""
    found: dict[str, str] = {}
    for name, value in _pairs(params):
        key = name.strip().lower()
        if key in TENANT_PARAMETERS and key not in found:
            found[key] = _clean(value)[:MAX_VALUE_CHARS]
    return next((found[key] for key in TENANT_PARAMETERS if found.get(key)), "")


def normalise_domain(value: str) -> str:
    """``https://www.Contoso.com/about`` -> ``contoso.com``: what a CRM's "website" field holds, reduced to
    the host name without "www.", port, user info or trailing dot."""
    text = _clean(value).lower()
    text = _SCHEME.sub("", text)
    text = re.split(r"[/?#\\]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1]  # user:pass@host
    text = text.split(":", 1)[0]
    previous = None
    while previous != text:  # "a. ." and the like: trailing dots and spaces in any order
        previous, text = text, text.strip().rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    return text


def match_domain(value: str, domains: list[str]) -> str | None:
    """The tenant domain ``value`` names (exactly, or once reduced by ``normalise_domain``), else None."""
    owned = {d.lower(): d for d in domains}
    exact = _clean(value).lower().rstrip(".")
    if exact in owned:
        return owned[exact]
    reduced = normalise_domain(value)
    if reduced in owned:
        return owned[reduced]
    # "www.contoso.com" where the tenant really owns "www.contoso.com" was covered by the exact match;
    # a host like "shop.contoso.com" does not name "contoso.com", so no suffix matching.
    return None


def parse_boolean(value: str) -> bool | None:
    word = _clean(value).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_prefill(params, *, domains: list[str] | None = None) -> Prefill:
    """Form values from a link's parameters.

    ``domains``: the tenant's verified domains, default first; None when the tenant is not known (then the
    domain and alias checks are skipped and bare alias names stay as given)."""
    result = Prefill(tenant_value=tenant_value(params))
    raw: dict[str, str] = {}
    alias_parts: list[str] = []
    for name, value in _pairs(params):
        key = name.strip().lower()
        if key in TENANT_PARAMETERS:
            continue
        target = PARAMETERS.get(key)
        if target is None:
            if name not in result.unknown:
                result.unknown.append(name)
            continue
        if len(value) > MAX_VALUE_CHARS:
            value = value[:MAX_VALUE_CHARS]
            result.add_error(target, f"The link's value was cut to {MAX_VALUE_CHARS} characters.")
        if target == "aliases":
            alias_parts.append(_clean(value, keep_newlines=True))
        else:
            raw[target] = _clean(value)  # a repeated parameter: the last one wins, as in a form post
        if target not in result.given:
            result.given.append(target)

    for target, value in raw.items():
        if target == "must_change_password":
            _set_must_change(result, value)
        elif target == "usage_location":
            _set_usage_location(result, value)
        elif target == "username":
            _set_username(result, value, raw, domains)
        elif target == "domain":
            _set_domain(result, value, domains)
        else:
            result.initial[target] = value
            problem = rules.length_problem(GRAPH_PROPERTY[target], value)
            if problem:
                result.add_error(target, problem)
    if alias_parts:
        _set_aliases(result, "\n".join(p for p in alias_parts if p), domains)
    return result


def _set_must_change(result: Prefill, value: str) -> None:
    flag = parse_boolean(value)
    result.initial["must_change_password"] = bool(flag)
    if flag is None:
        result.add_error(
            "must_change_password",
            f"“{value[:40]}” is not true or false (MustChangePass takes true/false, 1/0 or yes/no); "
            "left off.",
        )


def _set_usage_location(result: Prefill, value: str) -> None:
    if not value:
        result.initial["usage_location"] = ""  # blank: the tenant's default
        return
    code = rules.country_code(value)
    if code is None:
        result.initial["usage_location"] = value
        result.add_error("usage_location", f"“{value[:64]}” is not an ISO 3166 country code (e.g. NL, US).")
    else:
        result.initial["usage_location"] = code


def _set_username(result: Prefill, value: str, raw: dict, domains: list[str] | None) -> None:
    # A full address in mailNickname: its local part is the username and, when no primDomain was given,
    # its domain picks the domain.
    if "@" in value:
        local, _, domain = value.rpartition("@")
        if "domain" not in raw and domain:
            _set_domain(result, domain, domains)
            if "domain" not in result.given:
                result.given.append("domain")
        value = local
    result.initial["username"] = value
    problem = rules.username_problem(value) if value else None
    if problem:
        result.add_error("username", problem)


def _set_domain(result: Prefill, value: str, domains: list[str] | None) -> None:
    if not value:
        return  # blank primDomain: the picker keeps the tenant's default
    if domains is None:
        result.initial["domain"] = normalise_domain(value) or value
        return
    owned = match_domain(value, domains)
    if owned is None:
        result.initial["domain"] = value
        result.add_error("domain", f"“{value[:255]}” is not one of this tenant's verified domains.")
    else:
        result.initial["domain"] = owned


def _alias_domain(result: Prefill, domains: list[str] | None) -> str | None:
    """The domain bare alias names get: the link's primDomain when the tenant owns it, else the default."""
    chosen = result.initial.get("domain")
    if domains is None:
        return chosen or None
    if chosen and "domain" not in result.errors and chosen in domains:
        return chosen
    return domains[0] if domains else None


def _set_aliases(result: Prefill, text: str, domains: list[str] | None) -> None:
    from .form_fields import alias_lines

    domain = _alias_domain(result, domains)
    owned = {d.lower() for d in domains} if domains is not None else None
    lines: list[str] = []
    for part in alias_lines(text):
        address = part if "@" in part or domain is None else f"{part}@{domain}"
        lines.append(address)
        parts = rules.split_address(address)
        if parts is None:
            if "@" in address:
                result.add_error("aliases", f"“{part[:100]}” is not an e-mail address.")
            continue
        local, alias_domain = parts
        problem = rules.username_problem(local)
        if problem:
            result.add_error("aliases", f"“{part[:100]}”: {problem}")
        elif owned is not None and alias_domain not in owned:
            result.add_error(
                "aliases", f"“{part[:100]}”: {alias_domain} is not one of this tenant's domains."
            )
    result.initial["aliases"] = "\n".join(lines)


# The parameter names the "Copy prefill link" button writes (reference product's spelling, so the link
# works in both products), by form field. Exposed to the page as data attributes.
LINK_PARAMETERS = {
    "given_name": "givenName",
    "surname": "surname",
    "display_name": "displayName",
    "username": "mailNickname",
    "domain": "primDomain",
    "aliases": "addedAliases",
    "usage_location": "usageLocation",
    "must_change_password": "MustChangePass",
    "job_title": "jobTitle",
    "department": "department",
    "company_name": "companyName",
    "street_address": "streetAddress",
    "city": "city",
    "state": "state",
    "postal_code": "postalCode",
    "country": "country",
    "business_phone": "businessPhones",
    "mobile_phone": "mobilePhone",
}
