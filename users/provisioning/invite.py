"""Invite guest: ``POST /invitations`` with the technician's choices, said truthfully.

Before inviting, the tenant is asked (cache, then Graph) whether someone already has that address: a
member of the tenant is refused (inviting them would fail or confuse); an existing guest is invited again
(Graph keeps the same user, no duplicate) and the result says so. ``sendInvitationMessage`` is always sent
explicitly (CIPP's "absent means false" slip), the custom message only when there is one. When no e-mail
is sent the redeem URL is returned in ``details["invite_redeem_url"]`` for the technician to pass on; it is
not audited. The guest is written into the directory cache.
"""

from __future__ import annotations

import logging

from django.db.models import Q

from graph.errors import GraphError
from graph.services import provisioning as graph_provisioning
from graph.services.users import get_user
from tenants.access import require
from users.actions.registry import Status
from users.models import DirectoryUser
from users.sync import USER_SELECT, RecordError, apply_user_record

from . import steps
from .availability import proxy_q
from .types import StepResult

logger = logging.getLogger(__name__)

ACTION = "invite-guest"
DEFAULT_REDIRECT = "https://myapps.microsoft.com"


def _existing(ctx, email: str) -> dict | None:
    """Someone in the tenant with this address (``{id, displayName, userPrincipalName, userType}``)."""
    lower = email.lower()
    row = (
        DirectoryUser.objects.filter(tenant=ctx.tenant)
        .filter(Q(mail__iexact=lower) | Q(user_principal_name__iexact=lower) | proxy_q(lower))
        .first()
    )
    if row is not None:
        return {"id": str(row.user_id), "displayName": row.display_name, "userType": row.user_type,
                "userPrincipalName": row.user_principal_name}  # fmt: skip
    try:
        owners = graph_provisioning.find_address_owners(ctx.graph, [email])
    except GraphError as error:  # the invitation itself is still truthful about what happened
        logger.info("existing-user check for an invitation failed (%s)", error.code)
        return None
    for owner in owners:
        owned = {str(owner.get("mail") or "").lower(), str(owner.get("userPrincipalName") or "").lower()}
        owned |= {str(p).split(":", 1)[-1].lower() for p in owner.get("proxyAddresses") or []}
        if lower in owned:
            return owner
    return None


def _body(display_name: str, email: str, redirect_url: str, send_email: bool, message: str) -> dict:
    body = {
        "invitedUserEmailAddress": email,
        "inviteRedirectUrl": redirect_url or DEFAULT_REDIRECT,
        "sendInvitationMessage": bool(send_email),
    }
    if display_name:
        body["invitedUserDisplayName"] = display_name
    if message.strip():
        body["invitedUserMessageInfo"] = {"customizedMessageBody": message.strip()}
    return body


def _cache(ctx, user_id: str, display_name: str, email: str) -> None:
    try:
        record = get_user(ctx.graph, user_id, USER_SELECT)
        apply_user_record(ctx.tenant, record, partial=False)
    except (GraphError, RecordError) as error:
        logger.info("the invited guest could not be read back (%s); caching what is known", error)
        try:
            apply_user_record(ctx.tenant, {"id": user_id, "displayName": display_name, "mail": email,
                                           "userType": "Guest"}, partial=True)  # fmt: skip
        except RecordError:
            logger.warning("the invited guest could not be written to the directory cache")


def invite_guest(ctx, *, display_name: str, email: str, redirect_url: str = DEFAULT_REDIRECT,
                 send_email: bool = True, message: str = "", request=None) -> StepResult:  # fmt: skip
    require(ctx.technician, "users.edit", ctx.tenant)
    email = (email or "").strip()
    display_name = (display_name or "").strip()
    redirect_url = redirect_url or DEFAULT_REDIRECT
    parameters = {"email": email, "display_name": display_name, "redirect_url": redirect_url,
                  "send_email": bool(send_email), "custom_message": bool(message.strip())}  # fmt: skip
    existing = _existing(ctx, email)
    if existing is not None and str(existing.get("userType") or "Member") != "Guest":
        who = existing.get("displayName") or existing.get("userPrincipalName")
        step = StepResult(
            "invite",
            Status.FAILED,
            f"{email} belongs to a member of this tenant ({who}, "
            f"{existing.get('userPrincipalName')}); no invitation was sent.",  # fmt: skip
            details={"user_id": str(existing.get("id"))},
        )
        steps.record(
            ctx, request, (existing.get("id"), existing.get("userPrincipalName")), ACTION, step, parameters
        )
        return step
    try:
        answer = graph_provisioning.invite(
            ctx.graph, _body(display_name, email, redirect_url, send_email, message)
        )
    except GraphError as error:
        step = steps.failed("invite", error, "The invitation was not created: ")
        steps.record(ctx, request, (None, email), ACTION, step, parameters)
        return step
    user_id = str((answer.get("invitedUser") or {}).get("id") or (existing or {}).get("id") or "")
    details = {"user_id": user_id, "status": answer.get("status") or ""}
    if not send_email:
        details["invite_redeem_url"] = answer.get("inviteRedeemUrl") or ""
    if existing is not None:
        text = f"{email} is already a guest in this tenant: " + (
            "the invitation e-mail was sent again."
            if send_email
            else "a new redeem link was made (no e-mail sent)."
        )
    else:
        name = display_name or email
        text = f"Invited {name} ({email}) as a guest; " + (
            "the invitation e-mail is on its way."
            if send_email
            else "no e-mail was sent: pass on the redeem link."
        )
    step = StepResult("invite", Status.SUCCESS, text, details=details)
    steps.record(ctx, request, (user_id or None, (existing or {}).get("userPrincipalName") or email), ACTION,
                 step, parameters)  # fmt: skip
    if user_id:
        _cache(ctx, user_id, display_name, email)
    return step
