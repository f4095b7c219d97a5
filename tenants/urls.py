from django.urls import path

from . import connection_views, views

app_name = "tenants"

urlpatterns = [
    path("", views.tenant_list, name="list"),
    path("add/", views.add_tenant, name="add"),
    path("picker/", views.picker_results, name="picker"),
    path("select/", views.select, name="select"),
    path("<uuid:tenant_id>/favourite/", views.toggle_favourite, name="favourite"),
    path("<uuid:tenant_id>/enabled/", views.toggle_enabled, name="toggle-enabled"),
    path("connections/", connection_views.connection_list, name="connections"),
    path("connections/new/", connection_views.connection_edit, name="connection-create"),
    path("connections/callback/", connection_views.consent_callback, name="consent-callback"),
    path("connections/<int:pk>/", connection_views.connection_edit, name="connection-edit"),
    path("connections/<int:pk>/connect/", connection_views.connection_consent, name="connection-consent"),
    path("connections/<int:pk>/discover/", connection_views.discover, name="discover"),
]
