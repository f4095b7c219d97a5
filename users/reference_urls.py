"""The reference product's users URLs, redirected to ours so bookmarks and PSA LiveLinks keep working after
changing only the host: /identity/administration/users[/user|/bulk-add|/invite]?tenantFilter=...

Each answers 302 to our canonical URL with the other query parameters kept. A tenant or user that is unknown
or outside the technician's scope gets the same 404 as our own pages (the tenant is checked here, through
tenants.access, before anything is echoed into a Location header). Login is required by
LoginRequiredMiddleware, whose redirect keeps the query string in ``next``.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from tenants.access import require
from tenants.lookup import parse_guid, resolve_tenant

TENANT_PARAMETERS = ("tenant", "tenantFilter")  # ours wins when both are given


def _tenant_value(request) -> str:
    return next((request.GET[k].strip() for k in TENANT_PARAMETERS if request.GET.get(k, "").strip()), "")


def _checked_tenant(request, value: str, permission: str = "users.view"):
    tenant = resolve_tenant(value)
    if tenant is None:
        raise Http404("No such tenant.")
    require(request.user, "users.view", tenant)  # out of scope: Http404, as for an unknown tenant
    require(request.user, permission, tenant)  # the target page's own permission: refused here already
    return tenant


def _redirect(url: str, params) -> HttpResponseRedirect:
    query = params.urlencode()
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


def _rest(request, *drop: str):
    params = request.GET.copy()
    for name in (*TENANT_PARAMETERS, *drop):
        params.pop(name, None)
    return params


@require_GET
def users_list(request):
    """The users table: ``?tenantFilter=<domain|GUID|AllTenants>`` becomes ``?tenant=``."""
    value = _tenant_value(request)
    params = _rest(request)
    if value.lower() in ("all", "alltenants"):
        params["tenant"] = "all"
    elif value:
        params["tenant"] = _checked_tenant(request, value).slug
    return _redirect(reverse("users:list"), params)


@require_GET
def view_user(request):
    """View user: ``?userId=<GUID>&tenantFilter=<domain|GUID>``."""
    raw_id = request.GET.get("userId", "").strip()
    if not raw_id:  # no user named: the tenant's users table, where the reference's link would land
        return users_list(request)
    user_id = parse_guid(raw_id)
    value = _tenant_value(request)
    if user_id is None or not value:
        raise Http404("No such user.")
    tenant = _checked_tenant(request, value)
    # Whether the user exists (cache, else Graph) is decided by View user itself: the same 404 as a direct visit.
    return _redirect(reverse("users:detail", args=[tenant.slug, user_id]), _rest(request, "userId"))


def _with_tenant(name: str, permission: str):
    @require_GET
    def redirect(request):
        value = _tenant_value(request)
        params = _rest(request)
        if value:
            params["tenant"] = _checked_tenant(request, value, permission).slug
        else:
            require(request.user, permission)
        return _redirect(reverse(name), params)

    return redirect


bulk_add = _with_tenant("users:bulk-add", "users.edit")
invite = _with_tenant("users:invite", "users.edit")

PREFIX = "identity/administration/users"
urlpatterns = [
    *[path(f"{PREFIX}{slash}", users_list, name=f"identity-users{suffix}")
      for slash, suffix in (("", ""), ("/", "-slash"))],
    *[path(f"{PREFIX}/user{slash}", view_user, name=f"identity-users-user{suffix}")
      for slash, suffix in (("", ""), ("/", "-slash"))],
    *[path(f"{PREFIX}/bulk-add{slash}", bulk_add, name=f"identity-users-bulk-add{suffix}")
      for slash, suffix in (("", ""), ("/", "-slash"))],
    *[path(f"{PREFIX}/invite{slash}", invite, name=f"identity-users-invite{suffix}")
      for slash, suffix in (("", ""), ("/", "-slash"))],
]  # fmt: skip
