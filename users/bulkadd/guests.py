"""Bulk guest invitations: the same upload, preview, fix-in-place and Job machinery as new users, one
``POST /invitations`` per row (sent 20 to a ``$batch`` by the runner).

Per row: a display name, a valid e-mail address outside the tenant's own domains, unique within the file,
a redirect URL (https; blank: the file default, else https://myapps.microsoft.com) and an optional message
(blank: the file default). An address that belongs to a *member* of the tenant is refused (an invitation
would fail or confuse); an existing *guest* is allowed and shown as "invited again" (Graph keeps the same
user and only sends the e-mail again), exactly as the single Invite guest page does.

Exactly once: Graph never creates a second user for an address it already invited, so a row re-sent
after a crash cannot duplicate the guest; at worst the e-mail goes out twice, and before re-sending a row
whose answer was lost the runner first asks Graph whether that guest exists now. When the file default
says "don't send the e-mail", each guest's redemption link is as good as a password for whoever holds it
first: it is sealed like a password (``users.bulkadd.sealed``) and shown only in the one-time download.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import Q

from graph.errors import GraphError
from graph.services import provisioning as graph_provisioning
from users.models import DirectoryUser
from users.provisioning import rules
from users.provisioning.invite import DEFAULT_REDIRECT
from users.provisioning.invite import _body as invitation_body  # the single Invite guest page's body

from .columns import by_key

logger = logging.getLogger(__name__)

MAX_URL = 2048
MAX_MESSAGE = 2000
CHUNK = 50


def check_guest_row(data: dict, defaults: dict, facts):
    from .validate import RowCheck

    check = RowCheck()
    display = str(data.get("display_name") or "").strip()
    if not display:
        check.add("display_name", "Enter the guest's display name.")
    elif rules.length_problem("displayName", display):
        check.add("display_name", rules.length_problem("displayName", display))
    email = str(data.get("email") or "").strip()
    if not email:
        check.add("email", "Enter the guest's e-mail address.")
    else:
        try:
            validate_email(email)
        except ValidationError:
            check.add("email", f"“{email}” is not an e-mail address.")
            email = ""
    domain = email.rsplit("@", 1)[-1].lower() if email else ""
    if domain and domain in facts.domains:
        check.add(
            "email", f"{domain} is one of this tenant's own domains: add this person as a user, not a guest."
        )
    redirect = (
        str(data.get("redirect_url") or "").strip()
        or str(defaults.get("redirect_url") or "")
        or DEFAULT_REDIRECT
    )
    try:
        URLValidator(schemes=["https"])(redirect)
        if len(redirect) > MAX_URL:
            raise ValidationError("too long")
    except ValidationError:
        check.add("redirect_url", "Write an https:// address (2,048 characters at most).")
    message = str(data.get("message") or "").strip() or str(defaults.get("message") or "").strip()
    if len(message) > MAX_MESSAGE:
        check.add("message", f"At most {MAX_MESSAGE:,} characters (this has {len(message):,}).")
    check.resolved = {
        "upn": email.lower(), "email": email, "display_name": display, "redirect_url": redirect,
        "message": message, "send_invitation": bool(defaults.get("send_invitation", True)),
    }  # fmt: skip
    return check


def _existing(tenant, client, emails: list[str]) -> tuple[dict[str, dict], str]:
    """({email: {id, name, upn, type}} for addresses someone in the tenant holds, problem text)."""
    found: dict[str, dict] = {}
    for index in range(0, len(emails), CHUNK):
        chunk = emails[index : index + CHUNK]
        condition = Q()
        for email in chunk:
            condition |= Q(mail__iexact=email) | Q(user_principal_name__iexact=email)
        for row in DirectoryUser.objects.filter(condition, tenant=tenant).only(
            "user_id", "display_name", "user_principal_name", "mail", "user_type"
        ):
            for email in chunk:
                if email in {(row.mail or "").lower(), row.user_principal_name.lower()}:
                    found[email] = {"id": str(row.user_id), "name": row.display_name,
                                    "upn": row.user_principal_name, "type": row.user_type}  # fmt: skip
    unknown = [e for e in emails if e not in found]
    try:
        for index in range(0, len(unknown), CHUNK):
            chunk = unknown[index : index + CHUNK]
            for owner in graph_provisioning.find_address_owners(client, chunk):
                owned = {
                    str(owner.get("mail") or "").lower(),
                    str(owner.get("userPrincipalName") or "").lower(),
                }
                owned |= {str(p).split(":", 1)[-1].lower() for p in owner.get("proxyAddresses") or []}
                for email in chunk:
                    if email in owned:
                        found[email] = {"id": str(owner.get("id")), "name": owner.get("displayName") or "",
                                        "upn": owner.get("userPrincipalName") or "",
                                        "type": owner.get("userType") or "Member"}  # fmt: skip
    except GraphError as error:
        return found, error.message or error.code or "Graph did not answer"
    return found, ""


def check_guest_rows(bulk_import, rows, facts, client, *, refresh: bool):
    defaults = bulk_import.defaults or {}
    checks = {row.pk: check_guest_row(row.data, defaults, facts) for row in rows}
    by_email: dict[str, list] = {}
    for row in rows:
        email = checks[row.pk].resolved["upn"]
        if email:
            by_email.setdefault(email, []).append(row)
    for email, same in by_email.items():
        if len(same) > 1:
            for row in same:
                others = ", ".join(str(o.position) for o in same if o.pk != row.pk)
                checks[row.pk].add("email", f"{email} is also on row(s) {others} of this file.")
    file_problems = []
    existing, unchecked = _existing(bulk_import.tenant, client, list(by_email))
    if unchecked:
        file_problems.append(
            f"The addresses could not all be checked with Microsoft ({unchecked}). Check again."
        )
    for row in rows:
        check = checks[row.pk]
        holder = existing.get(check.resolved["upn"])
        if holder is None:
            continue
        if holder["type"] != "Guest":
            check.add("email", f"{check.resolved['email']} belongs to a member of this tenant ({holder['name']}, "
                      f"{holder['upn']}).")  # fmt: skip
        else:
            check.resolved["existing_guest"] = holder["id"]
    return checks, file_problems


def invitation(resolved: dict) -> dict:
    """The POST /invitations body of a row (the same body the single Invite guest page sends)."""
    return invitation_body(resolved["display_name"], resolved["email"], resolved["redirect_url"],
                           bool(resolved.get("send_invitation", True)), resolved.get("message") or "")  # fmt: skip


GUEST_COLUMN_KEYS = tuple(by_key("guests"))
