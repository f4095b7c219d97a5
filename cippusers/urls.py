from django.apps import apps
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from tenants import oidc
from tenants.login_throttle import ThrottledLoginView
from tenants.roles_views import technician_urlpatterns
from users.provisioning.views_add import add_user
from users.reference_urls import urlpatterns as reference_urlpatterns

from .health import healthz, liveness

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tenants:list", permanent=False), name="home"),
    path("healthz", healthz, name="healthz"),
    path("healthz/live", liveness, name="healthz-live"),
    path(
        "login/",
        ThrottledLoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenants/", include("tenants.urls")),
    path("users/", include("users.urls")),
    # The reference product's Add user path, so AutoTask LiveLinks work after changing only the host.
    path("identity/administration/users/add", add_user, name="identity-users-add"),
    path("identity/administration/users/add/", add_user, name="identity-users-add-slash"),
    # Its users table, View user, bulk add and invite: redirects to ours (users/reference_urls.py).
    *reference_urlpatterns,
    path("login/entra/", oidc.entra_login, name="oidc-login"),
    path("login/entra/callback/", oidc.entra_callback, name="oidc-callback"),
    path("technicians/", include((technician_urlpatterns, "technicians"))),
    path("audit/", include("users.audit_urls")),
    path("jobs/", include("users.job_urls")),
]

# Apps installed only in some configurations (the sandbox, with SANDBOX_ENABLED) mount their own URLs: an
# AppConfig with ``url_prefix`` and ``urlconf``. Nothing here imports them when they are not installed.
for app_config in apps.get_app_configs():
    if getattr(app_config, "url_prefix", None):
        urlpatterns.append(path(app_config.url_prefix, include(app_config.urlconf)))
