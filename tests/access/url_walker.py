"""Every URL of the app, found from the resolver, with sample arguments filled in.

New URLs are covered automatically: a route whose arguments this module cannot fill makes the walk
fail loudly instead of being skipped. Skipped on purpose: the sandbox (its API has its own bearer auth),
the health check, and the sign-in/sign-out views, which must work without a session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

SKIP_PREFIXES = ("sandbox/", "static/")
SKIP_NAMES = {"healthz", "login", "logout", "oidc-login", "oidc-callback"}
_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "tenants/<uuid:tenant_id>/favourite/"
    name: str  # namespaced, e.g. "tenants:favourite"

    @property
    def takes_tenant(self) -> bool:
        return any(arg in ("tenant_id", "tenant") for arg in self.args)

    @property
    def args(self) -> list[str]:
        return [m.group("name") for m in _CONVERTER.finditer(self.route)]


def _walk(resolver, prefix: str = "", namespace: str = "") -> list[Route]:
    found: list[Route] = []
    for entry in resolver.url_patterns:
        if not isinstance(entry.pattern, RoutePattern):
            route = prefix + str(entry.pattern)
            if route.startswith(SKIP_PREFIXES):
                continue
            raise AssertionError(f"the URL walker cannot fill regex route {route!r}; add support for it")
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(_walk(entry, route, ns))
        elif isinstance(entry, URLPattern):
            if route.startswith(SKIP_PREFIXES) or entry.name in SKIP_NAMES:
                continue
            found.append(Route(route, f"{namespace}{entry.name or route}"))
    return found


def all_routes() -> list[Route]:
    return _walk(get_resolver())


def build_url(route: Route, samples: dict[str, object]) -> str:
    """Fill each ``<conv:name>`` from ``samples`` keyed by "route-prefix|name", then by name alone."""

    def fill(match: re.Match) -> str:
        name = match.group("name")
        head = route.route[: match.start()]
        for key, value in samples.items():
            prefix, _, arg = key.partition("|")
            if arg == name and head.startswith(prefix):
                return str(value)
        if name in samples:
            return str(samples[name])
        raise AssertionError(
            f"no sample value for <{name}> in {route.route!r}; add one to the walker's samples"
        )

    return "/" + _CONVERTER.sub(fill, route.route)
