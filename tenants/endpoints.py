"""Where a partner connection may send its credentials: the endpoint rule of the connection form.

A connection's sign-in endpoint receives the app's client secret (or a certificate assertion) and the
partner admin's refresh token, which open every customer tenant. So, outside development (``DEBUG`` off,
which ``DJANGO_ENV=production`` implies), an endpoint must be https on one of Microsoft's hosts for the
public cloud or a national cloud, unless the deployment explicitly allows more hosts:

* ``PARTNER_ENDPOINT_ALLOWED_HOSTS``: extra host names (``"*.example.net"`` allows its subdomains, ``"*"``
  any host); for a test or demo deployment that talks to a Graph-compatible stand-in;
* the embedded sandbox's own host (``SANDBOX_BASE_URL``, over the scheme configured there), while the
  sandbox is enabled.

Which credentials a changed endpoint costs is the form's business (tenants/forms.py): none follow it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

# Microsoft's hosts per endpoint: worldwide, US Government (GCC High / DoD) and China (21Vianet).
LOGIN_HOSTS = frozenset({
    "login.microsoftonline.com", "login.microsoft.com", "login.microsoftonline.us",
    "login.chinacloudapi.cn", "login.partner.microsoftonline.cn",
})  # fmt: skip
GRAPH_HOSTS = frozenset({
    "graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn",
})  # fmt: skip
EXCHANGE_HOSTS = frozenset({
    "outlook.office365.com", "outlook.office365.us", "webmail.apps.mil", "partner.outlook.cn",
})  # fmt: skip
SHAREPOINT_SUFFIXES = (
    ".sharepoint.com",
    ".sharepoint.us",
    ".sharepoint-mil.us",
    ".dps.mil",
    ".sharepoint.cn",
)

MICROSOFT = {
    "login_url": (LOGIN_HOSTS, ()),
    "graph_url": (GRAPH_HOSTS, ()),
    "exchange_url": (EXCHANGE_HOSTS, ()),
    "sharepoint_url_template": (frozenset(), SHAREPOINT_SUFFIXES),
}
ENDPOINT_FIELDS = tuple(MICROSOFT)
NAME_PLACEHOLDER = "{name}"


def enforced() -> bool:
    """Production rules apply: DEBUG off (the default with DJANGO_ENV=production)."""
    return bool(getattr(settings, "PRODUCTION", False)) or not settings.DEBUG


def _extra_hosts() -> list[str]:
    hosts = [str(h).strip().lower() for h in getattr(settings, "PARTNER_ENDPOINT_ALLOWED_HOSTS", ()) or ()]
    if getattr(settings, "SANDBOX_ENABLED", False) and getattr(settings, "SANDBOX_BASE_URL", ""):
        hosts.append((urlsplit(settings.SANDBOX_BASE_URL).hostname or "").lower())
    return [h for h in hosts if h]


def _is_sandbox_origin(parts) -> bool:
    if not (getattr(settings, "SANDBOX_ENABLED", False) and getattr(settings, "SANDBOX_BASE_URL", "")):
        return False
    sandbox = urlsplit(settings.SANDBOX_BASE_URL)
    return (parts.scheme, parts.netloc.lower()) == (sandbox.scheme, sandbox.netloc.lower())


def _matches(host: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def host_problem(field: str, url: str) -> str | None:
    """Why ``url`` may not be this connection endpoint, in words for the field, or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        return "Enter a full https:// address."
    if parts.username or parts.password:
        return "An endpoint address cannot carry a user name or password."
    if not enforced():
        return None
    if parts.scheme != "https":
        if _is_sandbox_origin(parts):
            return None  # the embedded sandbox, at the address the deployment configured for it
        return "Endpoints must use https."
    exact, suffixes = MICROSOFT[field]
    if host in exact or host.endswith(suffixes):
        return None
    if any(_matches(host, pattern) for pattern in _extra_hosts()):
        return None
    allowed = ", ".join(sorted(exact)) if exact else ", ".join(f"*{s}" for s in suffixes)
    return (
        f"{host} is not a Microsoft endpoint for this ({allowed}). Other hosts need "
        "PARTNER_ENDPOINT_ALLOWED_HOSTS in the server's settings."
    )


def template_problem(template: str) -> str | None:
    """The SharePoint template: one ``{name}`` placeholder and no other braces (it is str.format-ed)."""
    if template.count(NAME_PLACEHOLDER) != 1:
        return "Write {name} exactly once where the tenant's SharePoint name goes."
    if "{" in template.replace(NAME_PLACEHOLDER, "") or "}" in template.replace(NAME_PLACEHOLDER, ""):
        return "Only {name} may appear in braces."
    return host_problem("sharepoint_url_template", template.replace(NAME_PLACEHOLDER, "contoso"))
