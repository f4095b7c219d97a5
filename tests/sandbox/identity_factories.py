"""Tiny row factories for the identity, Exchange and switches tests (the seed command is not needed)."""

from __future__ import annotations

import msal
import requests
from django.conf import settings
from django.contrib.auth.hashers import make_password

from graph.sandbox.adapter import InProcessSandboxAdapter
from graph.sandbox.models import (
    SandboxDomain,
    SandboxGdapRelationship,
    SandboxMailbox,
    SandboxTenant,
    SandboxUser,
)

BASE = "https://sandbox.test/sandbox"
PASSWORD = "Sandbox-Passw0rd!"


def make_tenant(name: str, *, is_partner: bool = False, **switches) -> SandboxTenant:
    tenant = SandboxTenant.objects.create(display_name=name.title(), is_partner=is_partner, **switches)
    SandboxDomain.objects.create(
        tenant=tenant, name=f"{name}.onmicrosoft.com", is_initial=True, is_default=True
    )
    return tenant


def domain_of(tenant: SandboxTenant) -> str:
    return tenant.domains.get(is_initial=True).name


def make_user(
    tenant: SandboxTenant, local: str, *, password: str | None = PASSWORD, **columns
) -> SandboxUser:
    upn = f"{local}@{domain_of(tenant)}"
    return SandboxUser.objects.create(
        tenant=tenant,
        upn_lower=upn,
        mail_lower=upn,
        display_name=columns.pop("display_name", local.title()),
        password_hash=make_password(password) if password else "",
        properties={
            "userPrincipalName": upn,
            "mail": upn,
            "mailNickname": local,
            "proxyAddresses": [f"SMTP:{upn}"],
        },
        **columns,
    )


def make_mailbox(user: SandboxUser, **columns) -> SandboxMailbox:
    return SandboxMailbox.objects.create(user=user, **columns)


def make_gdap(
    partner: SandboxTenant, customer: SandboxTenant, status: str = "active"
) -> SandboxGdapRelationship:
    return SandboxGdapRelationship.objects.create(
        partner=partner, customer=customer, display_name=f"{partner} -> {customer}", status=status
    )


def sandbox_session() -> requests.Session:
    session = requests.Session()
    adapter = InProcessSandboxAdapter()
    session.mount("https://sandbox.test/", adapter)
    session.mount("http://sandbox.test/", adapter)
    return session


def msal_app(tenant_segment: str, *, secret: str | None = None) -> msal.ConfidentialClientApplication:
    """A fresh MSAL app (MSAL caches 400 answers per app object, so each case gets its own)."""
    return msal.ConfidentialClientApplication(
        settings.SANDBOX_CLIENT_ID,
        client_credential=secret or settings.SANDBOX_CLIENT_SECRET,
        authority=f"{BASE}/login/{tenant_segment}",
        http_client=sandbox_session(),
        instance_discovery=False,
        validate_authority=False,
    )


def token_url(tenant_segment: str) -> str:
    return f"{BASE}/login/{tenant_segment}/oauth2/v2.0/token"


def post_token(tenant_segment: str, **form) -> requests.Response:
    data = {"client_id": settings.SANDBOX_CLIENT_ID, "client_secret": settings.SANDBOX_CLIENT_SECRET} | form
    data = {key: value for key, value in data.items() if value is not None}
    return sandbox_session().post(token_url(tenant_segment), data=data)
