"""Get-HostedOutboundSpamFilterPolicy: the tenant's outbound spam policy, whose ``AutoForwardingMode`` says
whether mailboxes may forward automatically to outside addresses.

Exchange Online answers with the default policy (``IsDefault``) first, then any custom ones. The mode is
``On`` (allowed), ``Off`` (blocked) or ``Automatic`` (system-controlled: blocked since Microsoft turned it
off in late 2020). The sandbox keeps it per tenant in ``SandboxTenant.settings["outboundAutoForwardingMode"]``
(default ``Automatic``, as a new tenant has); the demo seed allows it in Northwind Traders.
"""

from __future__ import annotations

import uuid

from .cmdlets import cmdlet

SETTING = "outboundAutoForwardingMode"
MODES = ("On", "Off", "Automatic")
DEFAULT_MODE = "Automatic"


def forwarding_mode(tenant) -> str:
    mode = (tenant.settings or {}).get(SETTING)
    return mode if mode in MODES else DEFAULT_MODE


def set_forwarding_mode(tenant, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"AutoForwardingMode must be one of {', '.join(MODES)}")
    tenant.settings = {**(tenant.settings or {}), SETTING: mode}
    tenant.save(update_fields=["settings"])


@cmdlet("Get-HostedOutboundSpamFilterPolicy", parameters=("Identity",),
        output_type="Exchange.HostedOutboundSpamFilterPolicy")  # fmt: skip
def get_hosted_outbound_spam_filter_policy(tenant, params: dict, request) -> list[dict]:
    identity = params.get("Identity")
    if identity not in (None, "", "Default"):
        from .mailbox import not_found

        raise not_found(str(identity))
    return [
        {
            "Identity": "Default",
            "Name": "Default",
            "Guid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"outbound-spam-policy:{tenant.pk}")),
            "IsDefault": True,
            "AutoForwardingMode": forwarding_mode(tenant),
            "RecipientLimitExternalPerHour": 0,
            "RecipientLimitInternalPerHour": 0,
            "RecipientLimitPerDay": 0,
            "ActionWhenThresholdReached": "BlockUserForToday",
            "BccSuspiciousOutboundMail": False,
            "NotifyOutboundSpam": False,
        }
    ]
