"""``/sandbox/login/{tenant}/...``: the identity platform's URL shapes (see ``identity.py``)."""

from django.urls import path

from . import identity, mfa_connector

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
    # v1 endpoint: only the legacy MFA connector's client-credentials grant (Send MFA push) uses it.
    path("<str:tenant>/oauth2/token", mfa_connector.v1_token, name="oauth-v1-token"),
]
