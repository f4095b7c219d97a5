"""Mail actions (Exchange Online): convert to shared / back to user mailbox, enable the online archive, set
and disable out of office, disable forwarding.

Every handler first reads the mailbox (one Get- cmdlet): the cache does not know mailbox types, so a user
without a mailbox, or one already in the wanted state, is reported as skipped with the reason instead of
sending a write that would fail or change nothing. Exchange failures come back as failed outcomes with
Exchange's own message.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.utils import timezone

from graph.errors import GraphError, NotFoundError
from graph.exchange import ExchangeClient
from graph.services import mailbox_admin as mbx

from .mail_forms import OutOfOfficeForm, parse_time
from .registry import Action, Group, Outcome, Status, Target, register
from .wording import in_tenant, who

if TYPE_CHECKING:
    from users.models import DirectoryUser

NO_MAILBOX = "No mailbox: Exchange Online has no mailbox for this user."
TYPE_WORDS = {"SharedMailbox": "a shared mailbox", "UserMailbox": "a user mailbox"}
# Warnings read mailbox sizes one Exchange call per user before the technician confirms; keep it bounded.
SIZE_CHECK_LIMIT = 20


# --- shared helpers ---------------------------------------------------------------------------------------


def mailbox_why_not(user: DirectoryUser) -> str | None:
    """Mailbox actions need a mailbox; the cache only knows the user's address, so that is the test."""
    if (user.user_type or "").lower() == "guest":
        return "Guests have no mailbox in this tenant."
    if not user.mail:
        return "No mailbox: the user has no email address."
    return None


def cached_mailbox_type(user: DirectoryUser) -> str:
    """Graph's ``mailboxSettings.userPurpose`` (user / shared / room ...) when the cached record has it."""
    settings = (user.graph or {}).get("mailboxSettings") or {}
    return str(settings.get("userPurpose") or "").lower() if isinstance(settings, dict) else ""


def reports_failures(handler):
    """Exchange/Graph errors become a failed outcome carrying the service's message and request ids."""

    @functools.wraps(handler)
    def wrapper(ctx, target, data):
        try:
            return handler(ctx, target, data)
        except GraphError as error:
            request_ids = [rid for rid in (error.request_id,) if rid]
            return Outcome(Status.FAILED, error.message, request_ids=request_ids,
                           details={"code": error.code or "", "status": error.status})  # fmt: skip

    return wrapper


def skipped(message: str, **details) -> Outcome:
    return Outcome(Status.SKIPPED, message, details=details)


def gigabytes(size: int) -> str:
    return f"{size / 1024**3:.1f} GB"


# --- convert to shared / user mailbox ---------------------------------------------------------------------


def convert_handler(kind: str):
    wanted = mbx.MAILBOX_TYPES[kind]

    @reports_failures
    def run(ctx, target: Target, data: dict) -> Outcome:
        upn = target.user.user_principal_name
        mailbox = mbx.get_mailbox(ctx.exchange, upn)
        if mailbox is None:
            return skipped(NO_MAILBOX)
        current = str(mailbox.get("RecipientTypeDetails") or "")
        if current == wanted:
            return skipped(f"Already {TYPE_WORDS[wanted]}.")
        if current not in TYPE_WORDS:
            return skipped(
                f"It is a {current or 'special'} mailbox; only user and shared mailboxes convert here."
            )
        result = mbx.set_mailbox_type(ctx.exchange, upn, kind)
        details: dict = {"from": current, "to": wanted}
        message = f"Converted to {TYPE_WORDS[wanted]}."
        if kind == "Shared":
            message += " Its licence stays assigned until you remove it."
            size = _size_or_none(ctx.exchange, upn)
            if size is not None:
                details["size_bytes"] = size
                if size >= mbx.SHARED_MAILBOX_WARN_BYTES:
                    message += (f" The mailbox holds {gigabytes(size)}: without a licence a shared mailbox is "
                                "limited to 50 GB.")  # fmt: skip
        if result.warnings:
            details["warnings"] = list(result.warnings)
        return Outcome(Status.SUCCESS, message, details=details)

    return run


def _size_or_none(exchange: ExchangeClient, upn: str) -> int | None:
    try:
        return mbx.mailbox_size(exchange, upn)
    except GraphError:
        return None  # the size only feeds a warning; the conversion itself succeeded


def large_mailbox_warnings(targets: list[Target]) -> list[str]:
    """Shown before confirming "Convert to shared": mailboxes at or over 49 GB, read live with
    Get-MailboxStatistics (the cache has no sizes). Done here rather than in a form because the action
    has no form; bounded to SIZE_CHECK_LIMIT users so a large selection's modal still opens quickly."""
    warnings: list[str] = []
    clients: dict = {}
    for target in targets[:SIZE_CHECK_LIMIT]:
        if mailbox_why_not(target.user):
            continue
        upn = target.user.user_principal_name
        key = target.tenant.pk
        if key not in clients:
            clients[key] = ExchangeClient.for_tenant(target.tenant)
        try:
            size = mbx.mailbox_size(clients[key], upn)
        except NotFoundError:
            continue
        except GraphError as error:
            warnings.append(f"The size of {upn}'s mailbox could not be read: {error.message}")
            continue
        if size is not None and size >= mbx.SHARED_MAILBOX_WARN_BYTES:
            warnings.append(
                f"{upn}'s mailbox holds {gigabytes(size)}. A shared mailbox without a licence is limited to "
                "50 GB: keep an Exchange Online Plan 2 licence (or an archive) on it."
            )
    if len(targets) > SIZE_CHECK_LIMIT:
        warnings.append(f"Mailbox sizes were checked for the first {SIZE_CHECK_LIMIT} users only.")
    return warnings


def convert_to_shared_applies(user: DirectoryUser) -> str | None:
    return mailbox_why_not(user) or (
        "Already a shared mailbox." if cached_mailbox_type(user) == "shared" else None
    )


def convert_to_user_applies(user: DirectoryUser) -> str | None:
    purpose = cached_mailbox_type(user)
    return mailbox_why_not(user) or ("Already a user mailbox." if purpose == "user" else None)


register(Action(
    key="convert-to-shared", label="Convert to shared mailbox", group=Group.MAIL, icon="inbox",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Convert the mailbox of {who(targets)} {in_tenant(targets, tenant)} to a shared mailbox. Anyone with access can "
        "then read it; the user's licence stays assigned until you remove it."
    ),
    applies=convert_to_shared_applies, run=convert_handler("Shared"), warnings=large_mailbox_warnings,
))  # fmt: skip

register(Action(
    key="convert-to-user", label="Convert to user mailbox", group=Group.MAIL, icon="person-badge",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Convert the shared mailbox of {who(targets)} {in_tenant(targets, tenant)} back to a user mailbox. The user needs "
        "an Exchange licence within 30 days, or the mailbox is disconnected."
    ),
    applies=convert_to_user_applies, run=convert_handler("Regular"),
))  # fmt: skip


# --- online archive ---------------------------------------------------------------------------------------


@reports_failures
def enable_archive(ctx, target: Target, data: dict) -> Outcome:
    upn = target.user.user_principal_name
    mailbox = mbx.get_mailbox(ctx.exchange, upn)
    if mailbox is None:
        return skipped(NO_MAILBOX)
    if mbx.has_archive(mailbox):
        return skipped("The online archive is already enabled.")
    mbx.enable_archive(ctx.exchange, upn)
    return Outcome(
        Status.SUCCESS, "Online archive enabled. Exchange moves old mail there by its retention policy."
    )


register(Action(
    key="enable-archive", label="Enable online archive", group=Group.MAIL, icon="archive",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Enable the online archive for {who(targets)} {in_tenant(targets, tenant)}. An archive cannot be removed from "
        "here once enabled."
    ),
    applies=mailbox_why_not, run=enable_archive,
))  # fmt: skip


# --- out of office ----------------------------------------------------------------------------------------


@reports_failures
def set_out_of_office(ctx, target: Target, data: dict) -> Outcome:
    upn = target.user.user_principal_name
    reply = mbx.AutoReply(
        internal=data.get("internal_message") or "",
        external=data.get("external_message") or "",
        audience=data.get("external_audience") or "None",
        start=parse_time(data.get("start")),
        end=parse_time(data.get("end")),
    )
    try:
        mbx.set_auto_reply(ctx.exchange, upn, reply)
    except NotFoundError:
        return skipped(NO_MAILBOX)
    audience = {"None": "inside the organisation only", "Known": "inside and to their contacts",
                "All": "inside and outside the organisation"}[reply.audience]  # fmt: skip
    if reply.start and reply.end:
        start = timezone.localtime(reply.start).strftime("%Y-%m-%d %H:%M")
        end = timezone.localtime(reply.end).strftime("%Y-%m-%d %H:%M %Z")
        message = f"Automatic replies scheduled from {start} to {end}, {audience}."
    else:
        message = f"Automatic replies on, {audience}."
    return Outcome(
        Status.SUCCESS, message, details={"audience": reply.audience, "scheduled": bool(reply.start)}
    )


@reports_failures
def disable_out_of_office(ctx, target: Target, data: dict) -> Outcome:
    upn = target.user.user_principal_name
    try:
        state = mbx.get_auto_reply_state(ctx.exchange, upn)
    except NotFoundError:
        return skipped(NO_MAILBOX)
    if state == "Disabled":
        return skipped("Automatic replies were already off.")
    mbx.disable_auto_reply(ctx.exchange, upn)
    return Outcome(
        Status.SUCCESS, f"Automatic replies turned off (they were {state.lower()}); the messages are kept."
    )


register(Action(
    key="set-out-of-office", label="Set out of office", group=Group.MAIL, icon="reply",
    permission="users.actions.helpdesk", form_class=OutOfOfficeForm,
    confirm=lambda targets, tenant: (
        f"Turn on automatic replies for {who(targets)} {in_tenant(targets, tenant)} with the messages below. Existing "
        "automatic replies are replaced."
    ),
    applies=mailbox_why_not, run=set_out_of_office,
))  # fmt: skip

register(Action(
    key="disable-out-of-office", label="Disable out of office", group=Group.MAIL, icon="reply-all",
    permission="users.actions.helpdesk",
    confirm=lambda targets, tenant: (
        f"Turn off automatic replies for {who(targets)} {in_tenant(targets, tenant)}. Their messages are kept for next time."
    ),
    applies=mailbox_why_not, run=disable_out_of_office,
))  # fmt: skip


# --- forwarding -------------------------------------------------------------------------------------------


@reports_failures
def disable_forwarding(ctx, target: Target, data: dict) -> Outcome:
    upn = target.user.user_principal_name
    mailbox = mbx.get_mailbox(ctx.exchange, upn)
    if mailbox is None:
        return skipped(NO_MAILBOX)
    before = mbx.describe_forwarding(mailbox)
    if before or mailbox.get("DeliverToMailboxAndForward"):
        mbx.clear_forwarding(ctx.exchange, upn)
    details: dict = {"removed_forwarding": before}
    try:
        rules = mbx.forwarding_rules(mbx.list_inbox_rules(ctx.exchange, upn))
    except GraphError as error:
        rules = None
        details["rules_error"] = error.message
    details["forwarding_rules"] = rules or []
    message = f"Mailbox forwarding to {before} removed." if before else "The mailbox had no forwarding set."
    if rules is None:
        message += f" Its inbox rules could not be read: {details['rules_error']}"
    elif rules:
        listed = "; ".join(f"{r['name']} ({r['action']} {', '.join(r['targets'])})" for r in rules)
        message += f" {len(rules)} inbox rule(s) still forward mail: {listed}."
    else:
        message += " No inbox rule forwards mail."
    status = Status.SUCCESS if before else Status.SKIPPED
    return Outcome(status, message, details=details)


register(Action(
    key="disable-forwarding", label="Disable email forwarding", group=Group.MAIL, icon="sign-stop",
    permission="users.edit",
    confirm=lambda targets, tenant: (
        f"Stop mailbox forwarding for {who(targets)} {in_tenant(targets, tenant)}: the forwarding address is cleared and "
        "mail stays in the mailbox. Inbox rules that forward are listed afterwards, not changed."
    ),
    applies=mailbox_why_not, run=disable_forwarding,
))  # fmt: skip
