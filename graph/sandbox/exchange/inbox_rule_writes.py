"""Disable-InboxRule, Enable-InboxRule and Remove-InboxRule (Microsoft's cmdlet reference).

``Identity`` names the rule: its name, its RuleIdentity number, or ``<mailbox>\\<RuleIdentity or name>``;
``Mailbox`` names the mailbox when the identity does not. Hidden rules can be addressed like any other
(that is how an administrator switches off a rule an attacker hid). A name shared by several rules is refused
as ambiguous, as Exchange does. Success writes nothing to the pipeline.
"""

from __future__ import annotations

from ..models import SandboxInboxRule
from . import errors
from .cmdlets import cmdlet, require
from .errors import CmdletError
from .mailbox import find_mailbox
from .mailbox_writes import as_switch

_PARAMETERS = ("Identity", "Mailbox", "AlwaysDeleteOutlookRulesBlob", "Force")


def find_rule(tenant, params: dict) -> SandboxInboxRule:
    require(params, "Identity")
    identity = str(params["Identity"]).strip()
    mailbox_part, _, rule_part = identity.rpartition("\\")
    mailbox_key = params.get("Mailbox") or mailbox_part
    if not mailbox_key:
        # Without a mailbox Exchange looks in the caller's own mailbox; the sandbox's admins have none.
        require(params, "Mailbox")
    mailbox = find_mailbox(tenant, mailbox_key)
    for name in ("AlwaysDeleteOutlookRulesBlob", "Force"):
        if name in params:
            as_switch(params, name)
    rules = list(SandboxInboxRule.objects.filter(mailbox=mailbox))
    matches = [r for r in rules if str(r.rule_id) == rule_part] or [
        r for r in rules if r.name.lower() == rule_part.lower()
    ]
    if not matches:
        raise CmdletError(
            404,
            errors.NOT_FOUND,
            f"The operation couldn't be performed because rule '{identity}' couldn't be found.",
            target=identity,
        )
    if len(matches) > 1:
        raise CmdletError(
            400,
            errors.AMBIGUOUS,
            f"The operation couldn't be performed because '{identity}' matches multiple entries.",
            target=identity,
        )
    return matches[0]


@cmdlet("Disable-InboxRule", parameters=_PARAMETERS)
def disable_inbox_rule(tenant, params: dict, request) -> list[dict]:
    rule = find_rule(tenant, params)
    SandboxInboxRule.objects.filter(pk=rule.pk).update(enabled=False)
    return []


@cmdlet("Enable-InboxRule", parameters=_PARAMETERS)
def enable_inbox_rule(tenant, params: dict, request) -> list[dict]:
    rule = find_rule(tenant, params)
    SandboxInboxRule.objects.filter(pk=rule.pk).update(enabled=True)
    return []


@cmdlet("Remove-InboxRule", parameters=_PARAMETERS)
def remove_inbox_rule(tenant, params: dict, request) -> list[dict]:
    rule = find_rule(tenant, params)
    SandboxInboxRule.objects.filter(pk=rule.pk).delete()
    return []
