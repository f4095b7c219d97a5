"""Everything under ``/sandbox/`` (mounted only when settings.SANDBOX_ENABLED)."""

from django.urls import include, path

from . import admin_views

app_name = "sandbox"
urlpatterns = [
    path("login/", include("graph.sandbox.identity_urls")),
    path("graph/", include("graph.sandbox.graph_urls")),
    path("exchange/", include("graph.sandbox.exchange_urls")),
    path("sharepoint/", include("graph.sandbox.sharepoint")),
    path("mfa/", include("graph.sandbox.mfa_urls")),
    path("admin/", admin_views.tenant_switches, name="admin"),
    path("admin/<uuid:tenant_id>/switches", admin_views.update_switches, name="admin-switches"),
    path("admin/<uuid:tenant_id>/expire-delta", admin_views.expire_delta, name="admin-expire-delta"),
]
