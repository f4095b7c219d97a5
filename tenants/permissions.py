"""What the tenant pages ask of ``tenants.access``, in the words they need.

``tenants.access`` decides (roles and tenant scopes); this module only names the questions the tenant
views, templates and the header ask, so they all ask them the same way.
"""

from __future__ import annotations

from functools import wraps

from . import access

MANAGE = "tenants.manage"


def can_manage_tenants(user) -> bool:
    """Discover, add, enable/disable tenants and edit partner connections: Admins over all tenants and
    superusers only (``tenants.access`` grants ``tenants.manage`` to no scoped Admin)."""
    return access.can(user, MANAGE)


def visible_tenants(user):
    """Every tenant page and the picker start here: tenants outside the technician's scope do not exist."""
    return access.visible_tenants(user)


def manage_tenants_required(view):
    """403 for a signed-in technician who may not manage tenants, before any object is looked up, so a
    real and an unknown connection id answer alike (the login redirect for anonymous visitors comes
    earlier, from LoginRequiredMiddleware)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        access.require(request.user, MANAGE)
        return view(request, *args, **kwargs)

    return wrapper
