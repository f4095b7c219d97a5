"""``/sandbox/mfa/``: the legacy MFA connector (see ``mfa_connector``)."""

from django.urls import path

from . import mfa_connector

urlpatterns = [
    path(
        "StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication",
        mfa_connector.begin_two_way_authentication,
        name="mfa-connector-begin",
    ),
]
