"""Seed what the Security actions need, after a tenant's activity (authentication methods) exists:

* the first-party "Azure Multi-Factor Auth Client" service principal in every tenant except Tailspin Toys,
  so Send MFA push also walks the path where the connector's service principal must be created first;
* how people answer an MFA push: one Northwind person with the Authenticator app denies (everyone else with
  a push-capable method approves; people without one never answer — see ``mfa_connector``);
* more method variety on one Northwind person: an alternate mobile and an office phone beside the mobile
  (so Re-require MFA registration has to delete the alternate before the mobile, as Graph requires).

The TAP policy itself is tenant data (``settings["tapPolicy"]``, seed_data): on for Northwind, off for
Tailspin.
"""

from __future__ import annotations

import uuid

from .models import (
    SandboxAuthMethod,
    SandboxMfaPushAnswer,
    SandboxServicePrincipal,
    SandboxUser,
)
from .seed_people import TenantSeed

MFA_CLIENT_APP_ID = uuid.UUID("981f26a1-7f43-403b-a875-f8b09b8cd720")
MFA_CLIENT_NAME = "Azure Multi-Factor Auth Client"
TENANTS_WITHOUT_MFA_CLIENT = {"tailspin"}
# Graph gives phone slots fixed ids; the table's key is global, so per-user ids are derived from them.
PHONE_IDS = {
    "alternateMobile": uuid.UUID("b6332ec1-7057-4abe-9331-3d72feddfe41"),
    "office": uuid.UUID("e37fc753-ff3b-4958-9484-eaa9425c82bc"),
}


def _non_admin_users_with(tenant, method_type: str):
    return (
        SandboxUser.objects.filter(
            tenant=tenant,
            deleted_datetime__isnull=True,
            role_memberships__isnull=True,
            auth_methods__method_type=method_type,
        )
        .order_by("created_datetime", "id")
        .distinct()
    )


def seed_security(ctx: TenantSeed) -> None:
    tenant = ctx.tenant
    if ctx.key not in TENANTS_WITHOUT_MFA_CLIENT:
        SandboxServicePrincipal.objects.create(
            id=ctx.id_for("service-principal", "mfa-client"),
            tenant=tenant,
            app_id=MFA_CLIENT_APP_ID,
            display_name=MFA_CLIENT_NAME,
        )
    if ctx.key != "northwind":
        return
    authenticator_users = list(
        _non_admin_users_with(tenant, "microsoftAuthenticatorAuthenticationMethod")[:2]
    )
    if authenticator_users:
        SandboxMfaPushAnswer.objects.create(user=authenticator_users[-1], answer=SandboxMfaPushAnswer.DENY)
    phone_user = _non_admin_users_with(tenant, "phoneAuthenticationMethod").first()
    if phone_user is not None:
        mobile = phone_user.auth_methods.filter(method_type="phoneAuthenticationMethod").first()
        number = (mobile.properties or {}).get("phoneNumber", "+44 7700 900000")
        SandboxAuthMethod.objects.bulk_create(
            SandboxAuthMethod(
                id=uuid.uuid5(PHONE_IDS[kind], str(phone_user.pk)),
                user=phone_user,
                method_type="phoneAuthenticationMethod",
                properties={
                    "phoneNumber": f"{number[:-3]}{offset}",
                    "phoneType": kind,
                    "smsSignInState": "notSupported",
                },
            )
            for kind, offset in (("alternateMobile", "101"), ("office", "202"))
        )
