"""Template tags rendering the action menus (users.actions.menus) into the users table, More info and View
user. Each only needs the technician (from the request) and the user or scope it is about."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from users.actions import menus
from users.actions.selection import user_value
from users.models import DirectoryUser

register = template.Library()


def _technician(context):
    request = context.get("request")
    return getattr(request, "user", None)


@register.inclusion_tag("users/actions/row_toggle.html", takes_context=True)
def row_actions(context, user):
    """The row's actions button; its menu loads on first open (users/actions/menu/)."""
    technician = _technician(context)
    # The table lists only tenants the technician sees, so the role alone decides (no query per tenant);
    # the menu itself checks the tenant when it loads.
    allowed = technician is not None and menus.may_act(technician)
    url = reverse("users:action-menu") + "?" + urlencode({"user": user_value(user)}) if allowed else ""
    return {"allowed": allowed, "menu_url": url, "user": user}


@register.inclusion_tag("users/actions/user_menu.html", takes_context=True)
def user_actions(context, tenant, user_id, *, layout="panel"):
    """Grouped dropdowns of one user's actions (More info: ``layout="panel"``, View user: ``"detail"``)."""
    technician = _technician(context)
    request = context.get("request")
    row = (
        DirectoryUser.objects.select_related("tenant").filter(tenant=tenant, user_id=user_id).first()
        if technician is not None
        else None
    )
    groups = menus.user_menu(technician, row) if row is not None else []
    return {
        "groups": groups,
        "row": row,
        "layout": layout,
        "refresh_url": request.get_full_path() if request is not None else "",
        "may_act": technician is not None and menus.may_act(technician, tenant),
    }


@register.inclusion_tag("users/actions/bulk_menu.html", takes_context=True)
def bulk_actions(context, scope):
    technician = _technician(context)
    tenant = getattr(scope, "tenant", None)
    groups = menus.bulk_menu(technician, tenant) if technician is not None else []
    return {"groups": groups}


_WIDGET_CLASS = {
    "checkbox": "form-check-input",
    "radioselect": "form-check-input",
    "checkboxselectmultiple": "form-check-input",
    "select": "form-select",
    "selectmultiple": "form-select",
}


@register.inclusion_tag("users/actions/field.html")
def action_field(field):
    """An action form's field with Bootstrap classes and aria wiring (invalid state, help, error)."""
    kind = field.widget_type
    css = _WIDGET_CLASS.get(kind, "form-control")
    attrs = {"class": css + (" is-invalid" if field.errors else "")}
    described = [f"{field.auto_id}-help"] if field.help_text else []
    if field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}-error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if kind in ("radioselect", "checkboxselectmultiple"):
        field.field.widget.attrs.setdefault("class", css)
    return {"field": field, "kind": kind, "widget": field.as_widget(attrs=attrs)}
