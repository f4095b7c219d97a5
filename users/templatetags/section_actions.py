"""Per-item action links inside View user's sections (a Remove button per sign-in method ...): the modal URL
of one registered action, pre-choosing the item, or "" when the technician may not run it on this tenant."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template

from tenants.access import can
from users.actions import registry
from users.actions.menus import action_url

register = template.Library()


@register.simple_tag(takes_context=True)
def item_action_url(context, key: str, tenant, user_id, **choice) -> str:
    """``{% item_action_url "remove-auth-method" tenant user_id method=value as url %}``."""
    request = context.get("request")
    technician = getattr(request, "user", None)
    action = registry.get(key)
    if (
        technician is None
        or action is None
        or tenant is None
        or not can(technician, action.permission, tenant)
    ):
        return ""
    return action_url(action, urlencode({"user": f"{tenant.tenant_id}/{user_id}", **choice}))
