"""Seed step for the mail actions: inbox rules (one forwarding outside the company, one redirecting inside,
harmless ones, hidden junk-mail and automatic-reply rules) and a guaranteed distribution-list member.

"Disable email forwarding" lists the rules that still forward after it clears the mailbox forwarding, so
the mailbox that forwards externally (``demo_mailbox_features``) also gets a forwarding rule, and another
mailbox forwards only through a rule. Deterministic: it picks by seed order, never at random.
"""

from __future__ import annotations

from .exchange.mail_contacts import add_contact
from .exchange.outbound_spam import set_forwarding_mode
from .models import SandboxGroupMember, SandboxInboxRule, SandboxMailbox
from .seed_people import ROLE_SEATS, TenantSeed

EXTERNAL_FORWARD = "invoices.archive@outlook.com"
JUNK_RULE = "Junk E-mail Rule"
OOF_RULES = {
    "Known": "Microsoft.Exchange.OOF.KnownSenders.Extension",
    "All": "Microsoft.Exchange.OOF.AllExternalSenders.Extension",
}


def _rule(mailbox: SandboxMailbox, rule_id: int, name: str, priority: int, *, hidden=False, **props):
    return SandboxInboxRule(
        mailbox=mailbox, rule_id=rule_id, name=name, priority=priority, hidden=hidden, properties=props
    )


def _recipient(address: str, name: str | None = None) -> str:
    return f'"{name or address}" [SMTP:{address}]'


def seed_mail_rules(ctx: TenantSeed) -> None:
    if ctx.tenant is None or ctx.tenant.is_partner:
        return
    member_ids = [p.id for p in ctx.people if p.kind == "member" and p.enabled and p.index >= len(ROLE_SEATS)]
    boxes = {
        box.user_id: box
        for box in SandboxMailbox.objects.filter(user_id__in=member_ids, recipient_type_details="UserMailbox")
        .select_related("user")
    }  # fmt: skip
    ordered = [boxes[i] for i in member_ids if i in boxes]
    if any(b.forwarding_smtp_address for b in ordered):
        # A tenant whose mailbox forwards outside has allowed it in its outbound spam policy; the others
        # keep the service default (Automatic: blocked), so Set forwarding shows both cases.
        set_forwarding_mode(ctx.tenant, "On")
        # ... and keeps its outside partners in the address book (internal forwarding targets too).
        add_contact(
            ctx.tenant, "accounting.partner", "Accounting partner (external)", "books@ledgerly.example"
        )
        add_contact(ctx.tenant, "payroll.bureau", "Payroll bureau (external)", "payroll@paybureau.example")
    if len(ordered) < 4:
        return
    rules: list[SandboxInboxRule] = []
    # The mailbox that already forwards externally (or the first one) also forwards invoices by rule.
    forwarding = next((b for b in ordered if b.forwarding_smtp_address), ordered[0])
    colleague = next(b for b in ordered if b.pk != forwarding.pk)
    rules.append(_rule(forwarding, 1, "Invoices", 1, SubjectContainsWords=["invoice", "payment"],
                       ForwardTo=[_recipient(EXTERNAL_FORWARD)], MarkAsRead=True))  # fmt: skip
    rules.append(_rule(forwarding, 2, "Newsletters", 2, FromAddressContainsWords=["newsletter"],
                       MoveToFolder="Newsletters"))  # fmt: skip
    # A mailbox that forwards only through rules: an internal redirect and an external copy as attachment.
    second = next(b for b in ordered if b.pk not in (forwarding.pk, colleague.pk))
    colleague_mail = colleague.user.mail_lower or colleague.user.upn_lower
    rules.append(_rule(second, 1, "Out of hours to colleague", 1,
                       RedirectTo=[_recipient(colleague_mail, colleague.user.display_name)]))  # fmt: skip
    rules.append(_rule(second, 2, "Copy to personal", 2,
                       ForwardAsAttachmentTo=[_recipient("home.mail@gmail.com")], StopProcessingRules=True))  # fmt: skip
    # Every seeded user mailbox has Outlook's hidden junk-mail rule; keep it to a handful (cost at scale).
    for box in ordered[:10]:
        rules.append(_rule(box, 100, JUNK_RULE, 100, hidden=True, Description="Junk e-mail filtering"))
    # Mailboxes with automatic replies on have Exchange's hidden OOF rule for their audience.
    replying = SandboxMailbox.objects.filter(user__tenant=ctx.tenant, auto_reply__AutoReplyState="Enabled")
    for box in replying:
        audience = (box.auto_reply or {}).get("ExternalAudience") or "All"
        if audience in OOF_RULES:
            rules.append(_rule(box, 101, OOF_RULES[audience], 101, hidden=True,
                               Description="Automatic replies to external senders"))  # fmt: skip
    SandboxInboxRule.objects.bulk_create(rules, ignore_conflicts=True)
    _ensure_distribution_member(ctx, ordered[0])


def _ensure_distribution_member(ctx: TenantSeed, mailbox: SandboxMailbox) -> None:
    """Add to group's "already a member" path needs a user already in a distribution list."""
    for group, _rule_of in ctx.groups:
        if group.mail_enabled and not group.security_enabled and "Unified" not in (group.group_types or []):
            if not group.on_premises_sync_enabled:
                SandboxGroupMember.objects.get_or_create(group=group, user_id=mailbox.user_id)
                return
