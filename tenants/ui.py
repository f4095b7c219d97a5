"""Small helpers shared by the views: htmx partial detection, toasts, safe "back" redirects."""

from __future__ import annotations

from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import trigger_client_event


def htmx_partial(request) -> bool:
    """True for an htmx request that wants a fragment (boosted navigations want the whole page)."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def toast(response, message: str, level: str = "success"):
    """Ask the page to show a toast (handled by static/js/app.js on the "toast" event)."""
    return trigger_client_event(response, "toast", {"message": message, "level": level})


def safe_next(request, fallback: str = "tenants:list") -> str:
    """The ``next`` the form carried if it points back into this site, else ``fallback``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    return candidate if is_safe_next(request, candidate) else resolve_url(fallback)


def is_safe_next(request, candidate: str) -> bool:
    """A path on this site. Only a path: anything else is taken by redirect() for a URL name
    (NoReverseMatch, a 500), and a control character cannot go into a Location header at all."""
    return (
        candidate.startswith("/")
        and candidate.isprintable()
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    )
