"""The export's rows from ``values()`` instead of model instances: half the CPU per row.

Building a DirectoryUser (every field, plus its tenant through select_related) costs more than formatting
its cells. The columns' ``export`` functions only read attributes, so each row is handed to them as a light
object carrying just the fields the chosen columns read, and ``tenant`` as one shared object per tenant
(its name and whether sign-in data exists). Exported values stay exactly those of ``Column.export``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .tables import Column

# Model fields each column's ``export`` reads (``tenant`` is attached separately, from tenant_id).
FIELDS: dict[str, tuple[str, ...]] = {
    "tenant": (),
    "display_name": ("display_name",),
    "mail": ("mail",),
    "upn": ("user_principal_name",),
    "licences": ("license_names",),
    "enabled": ("account_enabled",),
    "synced": ("on_premises_sync_enabled",),
    "job_title": ("job_title",),
    "department": ("department",),
    "office": ("office_location",),
    "city": ("city",),
    "country": ("country",),
    "usage_location": ("usage_location",),
    "user_type": ("user_type",),
    "company": ("company_name",),
    "mobile": ("mobile_phone",),
    "business_phones": ("business_phones",),
    "proxy_addresses": ("proxy_addresses",),
    "last_sign_in": ("last_sign_in",),
    "mfa": ("per_user_mfa_state",),
    "created": ("created_datetime",),
    "last_sync": ("on_premises_last_sync",),
    "user_id": ("user_id",),
}


class _TenantFacts:
    __slots__ = ("display_name", "has_entra_p1", "has_entra_p2")

    def __init__(self, display_name, has_entra_p1, has_entra_p2):
        self.display_name = display_name
        self.has_entra_p1 = has_entra_p1
        self.has_entra_p2 = has_entra_p2


class _Row:
    """Attribute access over one ``values()`` dict (what ``Column.export`` expects of a user)."""

    __slots__ = ("__dict__",)

    def __init__(self, values: dict, tenant: _TenantFacts):
        self.__dict__ = values
        values["tenant"] = tenant


def fields_for(columns: Iterable[Column]) -> list[str]:
    wanted = {"tenant_id"}
    for column in columns:
        wanted.update(FIELDS[column.key])
    return sorted(wanted)


def export_values(queryset, tenants, columns: list[Column], *, chunk_size: int) -> Iterator[list[str]]:
    """Each user of ``queryset`` as its exported cells. ``tenants``: a queryset of the tenants covered."""
    facts = {
        pk: _TenantFacts(name, p1, p2)
        for pk, name, p1, p2 in tenants.values_list("pk", "display_name", "has_entra_p1", "has_entra_p2")
    }
    exporters = [column.export for column in columns]
    for values in queryset.values(*fields_for(columns)).iterator(chunk_size=chunk_size):
        row = _Row(values, facts[values["tenant_id"]])
        yield [export(row) for export in exporters]
