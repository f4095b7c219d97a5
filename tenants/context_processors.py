"""What every page's header needs: the current tenant and the picker's first screen (favourites first).

Lazy: a page that never renders the header (login, a bare partial) runs no query.
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def tenant_picker(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Imported here: settings load context processors before the app registry is ready in some tools.
    from .permissions import can_manage_tenants
    from .selection import PickerHeader, current_tenant
    from .views import picker_context

    return {
        "current_tenant": SimpleLazyObject(lambda: current_tenant(request) or _NoTenant()),
        "picker": SimpleLazyObject(lambda: picker_context(request)),
        "picker_header": PickerHeader(request),
        "can_manage_tenants": can_manage_tenants(user),
    }


class _NoTenant:
    """Stands for "All tenants" so templates can write {% if current_tenant %} on the lazy object."""

    def __bool__(self) -> bool:
        return False
