"""Exchange Online creating a mailbox when a user gets an Exchange licence.

In Microsoft 365 the mailbox appears shortly after ``assignLicense`` gives a member a licence with an
Exchange Online plan (not the "foundation" plan, not disabled): the user's ``mail`` becomes the primary SMTP
address (the existing mail, else the UPN) and the tenant's ``<alias>@<initial domain>`` is added as a
secondary address. The sandbox does it at once, inside the licence write, so a new user can be added to a
distribution list through Exchange straight after licensing. Removing the licence keeps the mailbox (Exchange
keeps a disconnected mailbox for 30 days), so nothing is undone here.
"""

from __future__ import annotations

from . import proxy_addresses as addresses
from .models import SandboxDomain, SandboxMailbox, SandboxUser


def _exchange_plan_ids(user: SandboxUser, assignments=None) -> set[str]:
    plans = set()
    if assignments is None:
        assignments = user.licenses.select_related("sku")
    for assignment in assignments:
        disabled = {str(plan) for plan in assignment.disabled_plans}
        for plan in assignment.sku.service_plans or []:
            name = str(plan.get("servicePlanName") or "")
            plan_id = str(plan.get("servicePlanId"))
            if name.startswith("EXCHANGE_S_") and name != "EXCHANGE_S_FOUNDATION" and plan_id not in disabled:
                plans.add(plan_id)
    return plans


def provision_mailbox(user: SandboxUser, assignments=None) -> bool:
    """Create the user's mailbox when an enabled Exchange plan is now assigned; updates ``user.properties``
    (the caller saves). Returns whether a mailbox was created. ``assignments``: the user's current licence
    assignments with their SKUs, when the caller has just read them (saves the same query again)."""
    props = user.properties
    if props.get("userType") == "Guest" or SandboxMailbox.objects.filter(user=user).exists():
        return False
    if not _exchange_plan_ids(user, assignments):
        return False
    upn = props.get("userPrincipalName") or user.upn_lower
    nickname = props.get("mailNickname") or upn.split("@")[0]
    primary = props.get("mail") or addresses.primary_address(props.get("proxyAddresses") or []) or upn
    proxies = addresses.with_primary(props.get("proxyAddresses") or [], primary)
    initial = (
        SandboxDomain.objects.filter(tenant=user.tenant, is_initial=True)
        .values_list("name", flat=True)
        .first()
    )
    if initial:
        routing = f"{nickname}@{initial}"
        if addresses.owner_of(user.tenant, routing, exclude_user=user) is None:
            proxies = addresses.with_secondary(proxies, routing)
    user.properties = {**props, "mail": primary, "proxyAddresses": proxies}
    SandboxMailbox.objects.create(
        user=user,
        recipient_type_details="UserMailbox",
        auto_reply={"AutoReplyState": "Disabled", "InternalMessage": "", "ExternalMessage": "",
                    "ExternalAudience": "All", "StartTime": None, "EndTime": None},
        properties={"Alias": nickname},
    )  # fmt: skip
    return True
