"""``?tenantFilter=`` (the reference product's name) read as ``?tenant=`` on every page.

Views read ``request.GET["tenant"]`` in several places (the users table, exports, the panel, bulk add, the
live checks); aliasing it once here, before any view runs, keeps them all in step. When both are given,
``tenant`` wins: it is ours, and the one our own links write.
"""

from __future__ import annotations

ALIAS = "tenantFilter"
CANONICAL = "tenant"


class TenantFilterAliasMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        alias = request.GET.get(ALIAS, "")
        if alias.strip() and not request.GET.get(CANONICAL, "").strip():
            params = request.GET.copy()
            params[CANONICAL] = alias
            params._mutable = False
            request.GET = params
        return self.get_response(request)
