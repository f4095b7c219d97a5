"""The client's address, for the audit log and sign-in throttling: one rule for both.

REMOTE_ADDR, or, with TRUSTED_PROXY_COUNT = N reverse proxies in front of the app, the X-Forwarded-For
entry N places from the right: each trusted proxy appends the address it received the request from, so
that entry was written by our outermost proxy, while anything further left came from the client and could
be anything (a forged address in the audit log, or a fresh one per attempt to escape the sign-in limit).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid_ip(value) -> str | None:
    try:
        return ipaddress.ip_address(str(value).strip()).compressed
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's IP address, or None when not even REMOTE_ADDR is an address."""
    meta = getattr(request, "META", {}) or {}
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            forwarded = _valid_ip(hops[max(len(hops) - proxies, 0)])
            if forwarded:
                return forwarded
    return _valid_ip(meta.get("REMOTE_ADDR", ""))
