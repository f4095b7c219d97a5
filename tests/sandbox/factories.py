"""Small builders for sandbox directory data in Graph tests, going through graph.sandbox.directory (the
only writer of directory rows) wherever a Graph operation exists for the change."""

from __future__ import annotations

import json
import uuid

from django.conf import settings

from graph.sandbox import directory
from graph.sandbox.models import (
    SandboxDirectoryRole,
    SandboxDomain,
    SandboxGdapRelationship,
    SandboxGroup,
    SandboxGroupMember,
    SandboxRoleMember,
    SandboxSku,
    SandboxTenant,
    SandboxUser,
)
from graph.sandbox.tokens import GRAPH_AUDIENCE, issue_access_token
from tests.contract import validate_response

PASSWORD = "Sandbox-Passw0rd!"
E3_SKU = uuid.UUID("05e9a617-0261-4cee-bb44-138d3ef5d965")
P1_SKU = uuid.UUID("078d2b04-f1bd-4111-bbd4-b4b1b354cef4")
EXCHANGE_PLAN = "efb87545-963c-4e0d-99df-69c6916d9eb0"
TEAMS_PLAN = "57ff2da0-773e-42df-b2af-ffb7a2317929"
AAD_P1_PLAN = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"


def make_tenant(name: str = "Contoso", domain: str | None = None, *, partner: bool = False) -> SandboxTenant:
    tenant = SandboxTenant.objects.create(display_name=name, is_partner=partner)
    initial = domain or f"{name.lower().replace(' ', '')}.onmicrosoft.com"
    SandboxDomain.objects.create(tenant=tenant, name=initial, is_default=True, is_initial=True)
    return tenant


def make_sku(tenant: SandboxTenant, *, sku_id: uuid.UUID = E3_SKU, part: str = "SPE_E3", units: int = 5,
             premium: bool = False) -> SandboxSku:  # fmt: skip
    plans = [
        {"servicePlanId": EXCHANGE_PLAN, "servicePlanName": "EXCHANGE_S_ENTERPRISE", "provisioningStatus": "Success",
         "appliesTo": "User", "service": "exchange"},
        {"servicePlanId": TEAMS_PLAN, "servicePlanName": "TEAMS1", "provisioningStatus": "Success",
         "appliesTo": "User", "service": "TeamspaceAPI"},
    ]  # fmt: skip
    if premium:
        plans.append({"servicePlanId": AAD_P1_PLAN, "servicePlanName": "AAD_PREMIUM", "provisioningStatus": "Success",
                      "appliesTo": "User"})  # fmt: skip
    return SandboxSku.objects.create(
        tenant=tenant, sku_id=sku_id, sku_part_number=part, prepaid_enabled=units, service_plans=plans
    )


def default_domain(tenant: SandboxTenant) -> str:
    return tenant.domains.get(is_default=True).name


def make_user(tenant: SandboxTenant, alias: str, display_name: str | None = None, **props) -> SandboxUser:
    body = {
        "accountEnabled": True,
        "displayName": display_name or alias.replace(".", " ").title(),
        "mailNickname": alias.replace(".", ""),
        "userPrincipalName": f"{alias}@{default_domain(tenant)}",
        "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
        **props,
    }
    return directory.create_user(tenant, body)


def make_group(tenant: SandboxTenant, name: str, kind: str = "security", **extra) -> SandboxGroup:
    """kind: microsoft365, security, mailEnabledSecurity, distribution, dynamic, synced."""
    nickname = name.lower().replace(" ", "")
    fields = {
        "microsoft365": dict(group_types=["Unified"], mail_enabled=True, security_enabled=False),
        "security": dict(group_types=[], mail_enabled=False, security_enabled=True),
        "mailEnabledSecurity": dict(group_types=[], mail_enabled=True, security_enabled=True),
        "distribution": dict(group_types=[], mail_enabled=True, security_enabled=False),
        "dynamic": dict(group_types=["DynamicMembership"], mail_enabled=False, security_enabled=True,
                        membership_rule='user.department -eq "Sales"'),
        "synced": dict(group_types=[], mail_enabled=False, security_enabled=True, on_premises_sync_enabled=True),
    }[kind]  # fmt: skip
    if fields["mail_enabled"]:
        fields["mail_lower"] = f"{nickname}@{default_domain(tenant)}"
    fields.update(extra)
    return SandboxGroup.objects.create(
        tenant=tenant, display_name=name, properties={"mailNickname": nickname, "description": name}, **fields
    )


def add_member_row(group: SandboxGroup, user: SandboxUser) -> None:
    """Seed a membership Graph cannot create (dynamic, synced, mail-enabled groups)."""
    SandboxGroupMember.objects.create(group=group, user=user)


def make_role(
    tenant: SandboxTenant, name: str = "User Administrator", *members: SandboxUser
) -> SandboxDirectoryRole:
    role = SandboxDirectoryRole.objects.create(
        tenant=tenant,
        role_template_id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        display_name=name,
        description=name,
    )
    for user in members:
        SandboxRoleMember.objects.create(role=role, user=user)
    return role


def make_gdap(
    partner: SandboxTenant, customer: SandboxTenant, status: str = "active"
) -> SandboxGdapRelationship:
    return SandboxGdapRelationship.objects.create(
        partner=partner, customer=customer, display_name=f"{partner} - {customer}", status=status
    )


def token_for(tenant: SandboxTenant | str, *, audience: str = GRAPH_AUDIENCE, lifetime: int | None = None,
              user: SandboxUser | None = None) -> str:  # fmt: skip
    token, _ = issue_access_token(
        tenant_id=str(getattr(tenant, "id", tenant)),
        audience=audience,
        app_id=settings.SANDBOX_CLIENT_ID,
        user_id=str(user.id) if user else None,
        upn=user.upn_lower if user else None,
        scopes=("https://graph.microsoft.com/.default",) if user else (),
        roles=() if user else ("User.ReadWrite.All",),
        lifetime=lifetime,
    )
    return token


class GraphCaller:
    """Calls the sandbox's Graph endpoints with django.test.Client and checks every answer against the
    contract (tests/contract.py)."""

    def __init__(self, client, tenant: SandboxTenant, version: str = "v1.0"):
        self.client = client
        self.token = token_for(tenant)
        self.version = version

    def url(self, path: str) -> str:
        return f"/sandbox/graph/{self.version}/{path.lstrip('/')}"

    def __call__(self, method: str, path: str, body=None, *, eventual: bool = False, headers: dict | None = None,
                 token: str | None = None, validate: bool = True):  # fmt: skip
        url = path if path.startswith("http") or path.startswith("/sandbox/") else self.url(path)
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token or self.token}"}
        if eventual:
            extra["HTTP_CONSISTENCYLEVEL"] = "eventual"
        for name, value in (headers or {}).items():
            extra[f"HTTP_{name.upper().replace('-', '_')}"] = value
        kwargs = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        response = getattr(self.client, method.lower())(url, **kwargs, **extra)
        # The beta OpenAPI subset only describes /authentication, so beta answers are not schema-checked.
        if (
            validate
            and self.version == "v1.0"
            and response.get("Content-Type", "").startswith("application/json")
        ):
            validate_response(
                method,
                url,
                response.status_code,
                headers={"Content-Type": "application/json"},
                body=response.content,
            )
        return response

    def get(self, path: str, **kw):
        return self("GET", path, **kw)
