"""Wiring of the demo partner connection to the embedded sandbox (``make run`` and the test suite).

In the real world a partner admin signs in once on the connection page and the Secure Application Model
refresh token comes back from the identity platform. For the demo the sandbox mints that refresh token for
its seeded partner admin directly, so a fresh clone is usable without a sign-in; everything after that
(token redemption, GDAP, Graph calls) goes over HTTP exactly as it would against Microsoft.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.models import PartnerConnection

from .identity import mint_refresh_token
from .seed import partner_admin, partner_tenant

DEMO_CONNECTION_NAME = "Sandbox partner (demo)"


@transaction.atomic
def wire_sandbox_connection(base_url: str | None = None) -> PartnerConnection:
    base = (base_url or settings.SANDBOX_BASE_URL).rstrip("/")
    partner = partner_tenant()
    admin = partner_admin()
    connection, _ = PartnerConnection.objects.get_or_create(
        name=DEMO_CONNECTION_NAME,
        defaults={"partner_tenant_id": partner.id, "client_id": settings.SANDBOX_CLIENT_ID},
    )
    connection.partner_tenant_id = partner.id
    connection.client_id = settings.SANDBOX_CLIENT_ID
    connection.client_secret = settings.SANDBOX_CLIENT_SECRET
    connection.refresh_token = mint_refresh_token(admin, settings.SANDBOX_CLIENT_ID)
    connection.refresh_token_obtained_at = timezone.now()
    connection.refresh_token_upn = admin.upn_lower
    connection.login_url = f"{base}/login"
    connection.graph_url = f"{base}/graph"
    connection.exchange_url = f"{base}/exchange"
    connection.sharepoint_url_template = f"{base}/sharepoint/{{name}}-admin"
    connection.is_sandbox = True
    connection.save()
    return connection
