"""``/sandbox/login/{tenant}/...``: the identity platform's URL shapes (see ``identity.py``)."""

from django.urls import path

from . import identity

urlpatterns = [
    path(
        "<str:tenant>/v2.0/.well-known/openid-configuration",
        identity.openid_configuration,
        name="oidc-configuration",
    ),
    path("<str:tenant>/discovery/v2.0/keys", identity.jwks, name="oidc-keys"),
    path("<str:tenant>/oauth2/v2.0/authorize", identity.authorize, name="oauth-authorize"),
    path("<str:tenant>/oauth2/v2.0/token", identity.token, name="oauth-token"),
    path("<str:tenant>/oauth2/v2.0/logout", identity.logout, name="oauth-logout"),
]
