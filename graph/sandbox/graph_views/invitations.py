"""POST /invitations: invite an external user (B2B), as Graph documents it (invitation-post).

The invitation creates a user of userType Guest (``local_domain#EXT#@<initial domain>``, creationType
Invitation, externalUserState PendingAcceptance) and answers 201 with the invitation resource, including an
``inviteRedeemUrl`` in Microsoft's form. What the service does beyond the reference page, as observed:

* inviting an address that already belongs to a guest of the tenant returns that same guest (Graph re-sends
  the invitation and mints a new redeem ticket, it never creates a second user);
* an address on one of the tenant's verified domains is refused ("This user cannot be invited because the
  domain of the user's email address is a verified domain of this directory.");
* an address some member or group of the tenant already holds is refused ("The invited user already exists
  in the directory as objectID: ...").

Invitations are not stored: the redeem ticket is an HMAC of (tenant, user, invitation id), so every URL is
unique and stable for its invitation without keeping anything.
"""

from __future__ import annotations

import base64
import re
import uuid
from urllib.parse import quote, urlsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from .. import directory
from .. import proxy_addresses as addresses
from ..auth import graph_endpoint
from ..errors import GraphProblem, not_found
from ..models import SandboxUser
from .common import context_url, graph_json, read_json_body

USER_TYPES = {"guest": "Guest", "member": "Member"}
# Characters the reference page permits in the user name: letters, digits, "_" anywhere, "." and "-"
# anywhere except at the start or end.
_LOCAL = re.compile(r"^(?:[\w]|[\w][\w.\-]*[\w])$")
_DOMAIN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
VERIFIED_DOMAIN = (
    "This user cannot be invited because the domain of the user's email address is a verified domain of "
    "this directory."
)


def _bad(message: str) -> GraphProblem:
    return GraphProblem(400, "BadRequest", message)


def valid_address(address) -> bool:
    if not isinstance(address, str) or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    return bool(_LOCAL.match(local)) and bool(_DOMAIN.match(domain))


def _redirect_url(value) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise _bad("The inviteRedirectUrl is not a valid absolute URL.")
    return value


def _message_info(value) -> dict:
    blank = {"messageLanguage": None, "customizedMessageBody": None,
             "ccRecipients": [{"emailAddress": {"name": None, "address": None}}]}  # fmt: skip
    if value is None:
        return blank
    if not isinstance(value, dict):
        raise _bad("Invalid value specified for property 'invitedUserMessageInfo'.")
    info = {**blank, **{k: v for k, v in value.items() if k in blank}}
    body = info["customizedMessageBody"]
    if body is not None and not isinstance(body, str):
        raise _bad("Invalid value specified for property 'customizedMessageBody'.")
    if not isinstance(info["ccRecipients"], list):
        raise _bad("Invalid value specified for property 'ccRecipients'.")
    return info


def redeem_url(tenant_id, user_id, invitation_id) -> str:
    """Microsoft's shape: login.microsoftonline.com/redeem?rd=<encoded invitations.microsoft.com URL>."""
    digest = salted_hmac("sandbox.invitation", f"{tenant_id}:{user_id}:{invitation_id}").digest()
    ticket = base64.b64encode(digest).decode()
    inner = (
        f"https://invitations.microsoft.com/redeem/?tenant={tenant_id}&user={user_id}"
        f"&ticket={quote(quote(ticket, safe=''), safe='')}&ver=2.0"
    )
    return f"https://login.microsoftonline.com/redeem?rd={quote(inner, safe='').lower()}"


def _taken(owner) -> GraphProblem:
    return _bad(
        f"The invited user already exists in the directory as objectID: {owner.pk}. They can use that "
        "account to sign in to shared apps and resources."
    )


def _existing_guest(tenant, address: str) -> SandboxUser | None:
    """The guest this address already belongs to; refuses an address held by anything else."""
    owner = addresses.owner_of(tenant, address)
    if owner is None:
        return None
    if isinstance(owner, SandboxUser) and owner.user_type == "Guest" and owner.deleted_datetime is None:
        return owner
    raise _taken(owner)


def _reset_redemption(tenant, body: dict, address: str) -> SandboxUser:
    """resetRedemption: the guest named by invitedUser.id is invited again, at ``address``, keeping its
    object id, memberships and licences."""
    invited = body.get("invitedUser") if isinstance(body.get("invitedUser"), dict) else {}
    try:
        user_id = uuid.UUID(str(invited.get("id")))
    except ValueError:
        raise _bad("The invitedUser id is required when resetRedemption is true.") from None
    user = SandboxUser.objects.filter(tenant=tenant, pk=user_id, deleted_datetime__isnull=True).first()
    if user is None:
        raise not_found(str(user_id))
    owner = addresses.owner_of(tenant, address, exclude_user=user)
    if owner is not None:
        raise _taken(owner)
    old = user.properties.get("mail") or ""
    proxies = addresses.with_primary(addresses.without(user.properties.get("proxyAddresses"), old), address)
    user.properties = {
        **user.properties, "mail": address, "otherMails": [address], "proxyAddresses": proxies,
        "externalUserState": "PendingAcceptance", "externalUserStateChangeDateTime": directory.graph_now(),
    }  # fmt: skip
    return directory.save_user(user)


@graph_endpoint(methods=("POST",))
def invitations(request: HttpRequest) -> HttpResponse:
    body = read_json_body(request)
    address = body.get("invitedUserEmailAddress")
    if address in (None, ""):
        raise _bad("The required property 'invitedUserEmailAddress' is missing.")
    if body.get("inviteRedirectUrl") in (None, ""):
        raise _bad("The required property 'inviteRedirectUrl' is missing.")
    address = address.strip() if isinstance(address, str) else address
    if not valid_address(address):
        raise _bad(f"The email address '{address}' is not valid.")
    redirect = _redirect_url(body["inviteRedirectUrl"])
    user_type = USER_TYPES.get(str(body.get("invitedUserType") or "Guest").lower())
    if user_type is None:
        raise _bad("Invalid value specified for property 'invitedUserType'. Use Guest or Member.")
    send = body.get("sendInvitationMessage", False)
    reset = body.get("resetRedemption", False)
    if not isinstance(send, bool) or not isinstance(reset, bool):
        raise _bad("Invalid value specified for a boolean property of the invitation.")
    info = _message_info(body.get("invitedUserMessageInfo"))
    display_name = body.get("invitedUserDisplayName")
    if display_name is not None and not isinstance(display_name, str):
        raise _bad("Invalid value specified for property 'invitedUserDisplayName'.")
    tenant = request.graph_tenant
    if address.rpartition("@")[2].lower() in directory.verified_domain_names(tenant):
        raise _bad(VERIFIED_DOMAIN)
    with transaction.atomic():
        if reset:
            user = _reset_redemption(tenant, body, address)
        else:
            user = _existing_guest(tenant, address) or directory.create_guest(
                tenant, address, display_name=display_name, user_type=user_type
            )
    accepted = user.properties.get("externalUserState") == "Accepted"
    invitation_id = uuid.uuid4()
    return graph_json(
        {
            "@odata.context": context_url(request, "invitations/$entity"),
            "id": str(invitation_id),
            "inviteRedeemUrl": redeem_url(tenant.id, user.id, invitation_id),
            "invitedUserDisplayName": display_name,
            "invitedUserType": user.properties.get("userType") or user_type,
            "invitedUserEmailAddress": address,
            "sendInvitationMessage": send,
            "resetRedemption": reset,
            "inviteRedirectUrl": redirect,
            "status": "Completed" if accepted else "PendingAcceptance",
            "invitedUserMessageInfo": info,
            "invitedUser": {"id": str(user.id)},
        },
        status=201,
    )
