"""Navbar links that appear only once their page exists.

Users, Jobs and Audit arrive in later issues; ``{% nav_link "users:list" "Users" "people" %}`` renders
nothing until the URL name resolves, so the shell never breaks on a missing app.
"""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.inclusion_tag("includes/nav_link.html", takes_context=True)
def nav_link(context, url_name: str, label: str, icon: str = "", match: str = ""):
    """``match``: comma-separated view-name prefixes that mark the link active (default: its namespace)."""
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return {"url": None}
    request = context.get("request")
    prefixes = [p for p in match.split(",") if p] or [
        url_name.split(":", 1)[0] + ":" if ":" in url_name else url_name
    ]
    view_name = getattr(getattr(request, "resolver_match", None), "view_name", "") or ""
    active = any(view_name.startswith(prefix) for prefix in prefixes)
    return {"url": url, "label": label, "icon": icon, "active": active}
