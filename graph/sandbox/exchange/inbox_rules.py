"""Get-InboxRule: a mailbox's Outlook rules, hidden ones (junk-mail, ``Microsoft.Exchange.OOF.*``) only with
``-IncludeHidden`` (contract Part A.5)."""

from __future__ import annotations

from ..models import SandboxInboxRule
from . import errors
from .cmdlets import cmdlet, require
from .errors import CmdletError
from .mailbox import _alias, _result_size, find_mailbox
from .mailbox_writes import as_switch

# Action/condition properties every rule object carries (null/false when unused), as Exchange returns them.
RULE_LIST_PROPERTIES = (
    "ForwardTo", "RedirectTo", "ForwardAsAttachmentTo", "From", "SentTo", "SubjectContainsWords",
    "BodyContainsWords", "SubjectOrBodyContainsWords", "FromAddressContainsWords",
)  # fmt: skip
RULE_SCALAR_PROPERTIES = {
    "MoveToFolder": None, "CopyToFolder": None, "DeleteMessage": False, "MarkAsRead": False,
    "StopProcessingRules": False, "SoftDeleteMessage": False, "MarkImportance": None,
}  # fmt: skip


def recipient_text(address: str, name: str | None = None) -> str:
    """How rule recipients print: ``"Name" [SMTP:address]``."""
    return f'"{name or address}" [SMTP:{address}]'


def rule_object(rule: SandboxInboxRule, alias: str, owner: str) -> dict:
    props = rule.properties or {}
    item = {
        "Name": rule.name,
        "Identity": f"{alias}\\{rule.rule_id}",
        "RuleIdentity": str(rule.rule_id),
        "MailboxOwnerId": owner,
        "Enabled": rule.enabled,
        "Priority": rule.priority,
        "Description": props.get("Description") or rule.name,
        "InError": False,
        "IsValid": True,
    }
    for name in RULE_LIST_PROPERTIES:
        value = props.get(name)
        item[name] = list(value) if value else None
    for name, default in RULE_SCALAR_PROPERTIES.items():
        item[name] = props.get(name, default)
    return item


@cmdlet(
    "Get-InboxRule",
    parameters=("Mailbox", "Identity", "IncludeHidden", "ResultSize"),
    output_type="Exchange.InboxRule",
)
def get_inbox_rule(tenant, params: dict, request) -> list[dict]:
    # Without -Mailbox Exchange reads the caller's own mailbox; the sandbox's admins have none there.
    require(params, "Mailbox")
    include_hidden = as_switch(params, "IncludeHidden")
    mailbox = find_mailbox(tenant, params["Mailbox"])
    rules = SandboxInboxRule.objects.filter(mailbox=mailbox)
    if not include_hidden:
        rules = rules.filter(hidden=False)
    limit = _result_size(params.get("ResultSize"))
    alias = _alias(mailbox)
    owner = mailbox.user.display_name
    identity = params.get("Identity")
    if identity not in (None, ""):
        wanted = str(identity).split("\\")[-1].strip()
        matches = [r for r in rules if str(r.rule_id) == wanted or r.name.lower() == wanted.lower()]
        if not matches:
            raise CmdletError(
                404,
                errors.NOT_FOUND,
                f"The operation couldn't be performed because rule '{identity}' couldn't be found.",
                target=str(identity),
            )
        return [rule_object(rule, alias, owner) for rule in matches]
    return [rule_object(rule, alias, owner) for rule in rules[:limit]]
