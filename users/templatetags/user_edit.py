"""``{% edit_user_link tenant user_id style %}``: the "Edit user" link on View user, More info and the row
menu, shown only to technicians who may edit users of that tenant (tenants.access decides)."""

from __future__ import annotations

from django import template
from django.urls import reverse

from tenants.access import can

register = template.Library()


@register.inclusion_tag("users/provisioning/edit_link.html", takes_context=True)
def edit_user_link(context, tenant, user_id, style="detail"):
    request = context.get("request")
    technician = getattr(request, "user", None)
    allowed = technician is not None and tenant is not None and can(technician, "users.edit", tenant)
    url = reverse("users:edit", args=[tenant.slug, user_id]) if allowed else ""
    return {"url": url, "style": style}
