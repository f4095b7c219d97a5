"""Who may change tenants and partner connections.

The single place that decides it, so the roles system that comes later replaces one function instead of
a check scattered over views and templates.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied


def can_manage_tenants(user) -> bool:
    """Discover, add, enable/disable tenants and edit partner connections: staff only for now."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def manage_tenants_required(view):
    """403 (not a login redirect) for a signed-in technician without the right: they are logged in, the
    answer is simply no."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_manage_tenants(request.user):
            raise PermissionDenied("You are not allowed to manage tenants.")
        return view(request, *args, **kwargs)

    return wrapper
