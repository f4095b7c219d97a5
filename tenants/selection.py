"""The technician's current tenant, kept in the session (absent = "All tenants").

Pages that work on one tenant read it through ``current_tenant(request)``; the header picker writes it
through ``select_tenant``. The session holds the GUID as text: stable across renames and domain changes.
A page that shows a tenant of its own (opened by URL) declares it with ``show_scope`` so the picker names
what the page shows, not what the session last held.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from . import access
from .lookup import parse_guid
from .models import Tenant

SESSION_KEY = "tenant"


def current_tenant(request) -> Tenant | None:
    guid = parse_guid(request.session.get(SESSION_KEY, ""))
    if guid is None:
        return None
    tenant = access.visible_tenants(request.user).filter(tenant_id=guid, enabled=True).first()
    if tenant is None:
        # Deleted, disabled or taken out of the technician's scope since it was chosen: fall back to
        # "All tenants" rather than keep a dangling (or no longer permitted) id.
        request.session.pop(SESSION_KEY, None)
    return tenant


def select_tenant(request, tenant: Tenant | None) -> None:
    if tenant is None:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = str(tenant.tenant_id)


@dataclass(frozen=True)
class ShownScope:
    """What a page shows, declared by its view, so the header picker names the same thing: a page opened
    by URL (``/users/?tenant=contoso.com``) shows that tenant whatever the session holds."""

    tenant: Tenant | None
    label: str
    all_tenants: bool = False
    leave_to: str = ""  # where picking another tenant goes (a URL not tied to the shown tenant)


_SHOWN_ATTR = "_shown_scope"


def show_scope(request, tenant: Tenant | None, label: str = "", *, all_tenants: bool = False,
               leave_to: str = "") -> None:  # fmt: skip
    """Declare what this page shows; the header picker then names it (see ``PickerHeader``)."""
    label = label or (tenant.display_name if tenant is not None else "All tenants")
    setattr(request, _SHOWN_ATTR, ShownScope(tenant, label, all_tenants, leave_to))


class PickerHeader:
    """The header picker's button and marks: the scope the page declared, else the session's tenant.
    Read lazily by the template, after the view has run."""

    def __init__(self, request) -> None:
        self._request = request

    @cached_property
    def _shown(self) -> ShownScope:
        shown = getattr(self._request, _SHOWN_ATTR, None)
        if shown is not None:
            return shown
        tenant = current_tenant(self._request)
        return ShownScope(tenant, tenant.display_name if tenant else "All tenants", tenant is None)

    @property
    def label(self) -> str:
        return self._shown.label

    @property
    def tenant_pk(self) -> int | None:
        return self._shown.tenant.pk if self._shown.tenant is not None else None

    @property
    def all_tenants(self) -> bool:
        return self._shown.all_tenants

    @property
    def next(self) -> str:
        return self._shown.leave_to or self._request.get_full_path()
