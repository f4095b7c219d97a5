"""From a Graph user record (a dict of the sync's $select) to the columns of a DirectoryUser row.

Pure functions, no database: the writers in ``users.sync.store`` call them for every user of every page,
so they stay cheap. Strings are cut to their column's length (PostgreSQL would reject the page otherwise;
the whole record stays in ``graph`` for the details panel).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from users.models import DirectoryUser
from users.search_key import build_search_key

# What the table, its column chooser, the More info panel and View user's profile read from the cache.
# Explicit, because /users without $select returns a dozen properties and with it exactly these.
USER_SELECT: tuple[str, ...] = (
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "otherMails",
    "jobTitle",
    "department",
    "employeeId",
    "officeLocation",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "usageLocation",
    "preferredLanguage",
    "userType",
    "creationType",
    "externalUserState",
    "companyName",
    "mobilePhone",
    "businessPhones",
    "proxyAddresses",
    "accountEnabled",
    "onPremisesSyncEnabled",
    "onPremisesImmutableId",
    "onPremisesLastSyncDateTime",
    "onPremisesSamAccountName",
    "onPremisesDomainName",
    "onPremisesUserPrincipalName",
    "createdDateTime",
    "lastPasswordChangeDateTime",
    "assignedLicenses",
)

# Columns a sync (full or delta) writes. last_sign_in has its own query, per_user_mfa_state its own
# source; neither is touched here so a directory round never blanks them.
SYNCED_FIELDS: tuple[str, ...] = (
    "user_principal_name",
    "upn_domain",
    "display_name",
    "given_name",
    "surname",
    "mail",
    "job_title",
    "department",
    "office_location",
    "city",
    "country",
    "usage_location",
    "user_type",
    "company_name",
    "mobile_phone",
    "business_phones",
    "proxy_addresses",
    "proxy_search",
    "search_key",
    "account_enabled",
    "on_premises_sync_enabled",
    "on_premises_immutable_id",
    "on_premises_last_sync",
    "created_datetime",
    "license_sku_ids",
    "license_names",
    "is_licensed",
    "graph",
    "synced_at",
)

# (model field, Graph property) pairs copied as text.
_TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("user_principal_name", "userPrincipalName"),
    ("display_name", "displayName"),
    ("given_name", "givenName"),
    ("surname", "surname"),
    ("mail", "mail"),
    ("job_title", "jobTitle"),
    ("department", "department"),
    ("office_location", "officeLocation"),
    ("city", "city"),
    ("country", "country"),
    ("usage_location", "usageLocation"),
    ("company_name", "companyName"),
    ("mobile_phone", "mobilePhone"),
    ("on_premises_immutable_id", "onPremisesImmutableId"),
)

_MAX_LENGTHS: dict[str, int] = {
    field.name: field.max_length
    for field in DirectoryUser._meta.get_fields()
    if getattr(field, "max_length", None)
}


class RecordError(ValueError):
    """A Graph record the cache cannot hold (no usable object id)."""


def clean_record(record: Mapping) -> dict:
    """The record without OData annotations (``@odata.type``, ``@removed``, ``manager@delta``...)."""
    return {key: value for key, value in record.items() if "@" not in key}


def parse_user_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise RecordError(f"a Graph user record has no valid id ({value!r:.60})") from None


def _text(field: str, value) -> str:
    text = "" if value is None else str(value)
    limit = _MAX_LENGTHS.get(field)
    return text[:limit] if limit else text


def _strings(value) -> list[str]:
    if not isinstance(value, list | tuple):
        return []
    return [str(item) for item in value if item not in (None, "")]


def _when(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def upn_domain(upn: str) -> str:
    """The lower-case domain of a UPN; a guest's ``x_contoso.com#EXT#@tenant.onmicrosoft.com`` gives the
    tenant's domain (what the domain filter is about: where the account lives)."""
    return upn.rpartition("@")[2].lower() if "@" in upn else ""


def license_sku_ids(record: Mapping) -> list[str]:
    ids = set()
    for item in record.get("assignedLicenses") or []:
        if isinstance(item, Mapping):
            try:
                ids.add(str(uuid.UUID(str(item.get("skuId")))))
            except (ValueError, TypeError):
                continue  # a malformed item: ignored rather than failing the whole page
    return sorted(ids)


def user_fields(record: Mapping, licence_name: Callable[[str], str], *, now: datetime) -> dict:
    """Column values (``SYNCED_FIELDS``) for a complete record. ``licence_name(sku_id)`` names a SKU."""
    record = clean_record(record)
    fields: dict = {name: _text(name, record.get(prop)) for name, prop in _TEXT_FIELDS}
    fields["upn_domain"] = _text("upn_domain", upn_domain(fields["user_principal_name"]))
    fields["usage_location"] = fields["usage_location"].upper()
    fields["user_type"] = _text("user_type", record.get("userType") or "Member")
    phones = _strings(record.get("businessPhones"))
    proxies = _strings(record.get("proxyAddresses"))
    fields["business_phones"] = phones
    fields["proxy_addresses"] = proxies
    fields["proxy_search"] = " ".join(address.lower() for address in proxies)
    fields["search_key"] = build_search_key(
        display_name=fields["display_name"], given_name=fields["given_name"], surname=fields["surname"],
        user_principal_name=fields["user_principal_name"], mail=fields["mail"], proxy_addresses=proxies,
    )  # fmt: skip
    # accountEnabled is null only for objects Graph has not finished creating: treat as enabled.
    fields["account_enabled"] = record.get("accountEnabled") is not False
    # null means "never synced from AD" (cloud-only); false means "was synced, sync since turned off".
    fields["on_premises_sync_enabled"] = record.get("onPremisesSyncEnabled") is True
    fields["on_premises_last_sync"] = _when(record.get("onPremisesLastSyncDateTime"))
    fields["created_datetime"] = _when(record.get("createdDateTime"))
    skus = license_sku_ids(record)
    fields["license_sku_ids"] = skus
    fields["license_names"] = "; ".join(sorted({licence_name(sku) for sku in skus}))
    fields["is_licensed"] = bool(skus)
    fields["graph"] = record
    fields["synced_at"] = now
    return fields


def merge_record(previous: Mapping | None, changes: Mapping) -> dict:
    """A delta item carries the id plus the properties that changed: missing keys mean "unchanged",
    never "cleared", so the change is laid over the record we hold."""
    merged = dict(previous or {})
    merged.update(clean_record(changes))
    return merged


def last_sign_in(activity) -> datetime | None:
    """The latest of the interactive and non-interactive sign-ins in a signInActivity object."""
    if not isinstance(activity, Mapping):
        return None
    moments = [
        _when(activity.get(key))
        for key in ("lastSignInDateTime", "lastNonInteractiveSignInDateTime", "lastSuccessfulSignInDateTime")
    ]
    moments = [moment for moment in moments if moment is not None]
    return max(moments) if moments else None
