"""The technician's current tenant, kept in the session (absent = "All tenants").

Pages that work on one tenant read it through ``current_tenant(request)``; the header picker writes it
through ``select_tenant``. The session holds the GUID as text: stable across renames and domain changes.
"""

from __future__ import annotations

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
