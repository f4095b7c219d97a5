"""Field rules Graph enforces on a user, in one place.

The Add / Edit user forms, the live checks while typing and the CSV importer all validate with these, so a
value accepted here is one Graph will accept (lengths and patterns from Microsoft's user resource
documentation, ``graph-contract/graph-v1-subset.json``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Graph property -> maximum length (characters). Microsoft: "Maximum length is N characters".
MAX_LENGTH = {
    "givenName": 64,
    "surname": 64,
    "displayName": 256,
    "mailNickname": 64,
    "jobTitle": 128,
    "department": 64,
    "companyName": 64,
    "streetAddress": 1024,
    "city": 128,
    "state": 128,
    "postalCode": 40,
    "country": 128,
    "mobilePhone": 64,
    "businessPhones": 64,  # one entry; Graph accepts a single business phone for cloud users
    "employeeId": 16,
}

# The local part of a userPrincipalName: "Only the following characters are allowed A - Z, a - z, 0 - 9,
# ' . - _ ! # ^ ~" (user resource, userPrincipalName). No leading / trailing / double dot.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9'.\-_!#^~]{1,64}$")
USERNAME_HELP = (
    "Letters, digits and ' . - _ ! # ^ ~ only; 64 characters at most; no leading, trailing or double dot."
)

# Microsoft 365 password rules: 8-256 characters, at least three of upper, lower, digit, symbol.
PASSWORD_MIN, PASSWORD_MAX = 8, 256


def username_problem(value: str) -> str | None:
    """Why ``value`` cannot be the part before @, or None."""
    if not value:
        return "Enter a username."
    if len(value) > MAX_LENGTH["mailNickname"]:
        return f"At most {MAX_LENGTH['mailNickname']} characters (this has {len(value)})."
    if not USERNAME_PATTERN.fullmatch(value):
        return USERNAME_HELP
    if value.startswith(".") or value.endswith(".") or ".." in value:
        return "A username cannot start or end with a dot or contain two dots in a row."
    return None


def length_problem(graph_property: str, value: str) -> str | None:
    limit = MAX_LENGTH.get(graph_property)
    if limit is not None and value and len(value) > limit:
        return f"At most {limit} characters (this has {len(value)})."
    return None


def password_problem(value: str) -> str | None:
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        return f"A password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters."
    classes = sum(
        bool(re.search(pattern, value)) for pattern in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        return "A password needs three of: upper-case letters, lower-case letters, digits, symbols."
    return None


@lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """(alpha-2 code, name) for every ISO 3166-1 country, sorted by name."""
    rows = [(c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries]
    return tuple(sorted(rows, key=lambda row: row[1]))


def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a code (any case) or an exact country name, else None."""
    text = (value or "").strip()
    if not text:
        return None
    codes = {code for code, _ in countries()}
    if text.upper() in codes:
        return text.upper()
    lowered = text.casefold()
    for code, name in countries():
        if name.casefold() == lowered:
            return code
    return None


ADDRESS_PATTERN = re.compile(r"^[A-Za-z0-9'.\-_!#^~+]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")


def split_address(value: str) -> tuple[str, str] | None:
    """(local part, domain lower-cased) of an e-mail address, or None when it is not one."""
    text = (value or "").strip()
    if not ADDRESS_PATTERN.fullmatch(text):
        return None
    local, domain = text.rsplit("@", 1)
    return local, domain.lower()


# The profile fields Add user, Edit user and the CSV importer share:
# (form / CSV field name, Graph property, label). Lengths come from MAX_LENGTH by Graph property.
PROFILE_FIELDS = (
    ("given_name", "givenName", "First name"),
    ("surname", "surname", "Last name"),
    ("display_name", "displayName", "Display name"),
    ("job_title", "jobTitle", "Job title"),
    ("department", "department", "Department"),
    ("company_name", "companyName", "Company"),
    ("street_address", "streetAddress", "Street"),
    ("city", "city", "City"),
    ("state", "state", "State or province"),
    ("postal_code", "postalCode", "Postal code"),
    ("country", "country", "Country or region"),
    ("business_phone", "businessPhones", "Business phone"),
    ("mobile_phone", "mobilePhone", "Mobile phone"),
)

# Properties Entra ID masters on-premises for a hybrid-synced user (onPremisesSyncEnabled): Graph refuses
# to change them in the cloud, so the forms show them read-only with this reason.
SYNCED_READ_ONLY_REASON = (
    "Synced from on-premises Active Directory: change it there, Entra Connect copies it here."
)
ON_PREMISES_MASTERED = frozenset(
    {
        "givenName", "surname", "displayName", "jobTitle", "department", "companyName", "streetAddress",
        "city", "state", "postalCode", "country", "businessPhones", "mobilePhone", "userPrincipalName",
        "mailNickname", "mail", "proxyAddresses", "manager",
    }
)  # fmt: skip


def graph_value(graph_property: str, text: str):
    """A form's text as the Graph value: businessPhones is a collection of one; blank means None / []."""
    text = (text or "").strip()
    if graph_property == "businessPhones":
        return [text] if text else []
    return text or None
