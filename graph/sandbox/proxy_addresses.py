"""proxyAddresses as Entra ID and Exchange Online keep them, shared by Graph (``mail``), Exchange
(``Set-Mailbox -EmailAddresses``) and invitations.

An entry is ``<type>:<address>``; ``SMTP:`` (upper case) marks the primary SMTP address, ``smtp:`` a
secondary one. An address belongs to at most one object of the tenant: a user's userPrincipalName, mail and
proxy addresses and a group's mail and proxy addresses all count, including soft-deleted users (deleted
items keep their addresses until purged, which is why Graph still refuses them).
"""

from __future__ import annotations

import re

from django.db.models import Q

from .models import SandboxGroup, SandboxUser

# Good enough to refuse what Entra/Exchange refuse as "not an SMTP address"; the domain needs a dot.
SMTP_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def strip_prefix(entry: str) -> str:
    """The address of ``smtp:a@b`` / ``SMTP:a@b`` / ``a@b``."""
    text = str(entry).strip()
    prefix, sep, rest = text.partition(":")
    return rest if sep and prefix.lower() == "smtp" else text


def is_primary(entry: str) -> bool:
    return str(entry).startswith("SMTP:")


def primary_address(proxies: list[str]) -> str | None:
    return next((strip_prefix(entry) for entry in proxies or [] if is_primary(entry)), None)


def own_addresses(user: SandboxUser) -> set[str]:
    """Every address (lower case) the user already answers to."""
    props = user.properties or {}
    found = {user.upn_lower, (props.get("mail") or "").lower()}
    found.update(strip_prefix(entry).lower() for entry in props.get("proxyAddresses") or [])
    return found - {""}


def owner_of(
    tenant, address: str, *, exclude_user: SandboxUser | None = None, live_only: bool = False
) -> SandboxUser | SandboxGroup | None:
    """The other user or group of ``tenant`` that holds ``address`` (any case), or None. ``live_only``:
    ignore users in deleted items (a UPN is free once its user is deleted)."""
    lower = strip_prefix(address).lower()
    if not lower:
        return None
    needle = f':{lower}"'  # the JSON text of an entry ends with the address and a quote
    # Users: their smtp proxy addresses are mirrored in a narrow column (models.smtp_address_key), which
    # is much cheaper to scan than every row's JSON; a match is confirmed below all the same.
    users = SandboxUser.objects.filter(tenant=tenant).filter(
        Q(upn_lower=lower) | Q(mail_lower=lower) | Q(smtp_addresses__contains=f"|{lower}|")
    )
    if exclude_user is not None:
        users = users.exclude(pk=exclude_user.pk)
    if live_only:
        users = users.filter(deleted_datetime__isnull=True)
    for user in users[:5]:  # confirm in Python: icontains on JSON text is a substring test
        if lower in own_addresses(user):
            return user
    groups = SandboxGroup.objects.filter(tenant=tenant).filter(
        Q(mail_lower=lower) | Q(properties__proxyAddresses__icontains=needle)
    )
    for group in groups[:5]:
        addresses = {group.mail_lower} | {
            strip_prefix(entry).lower() for entry in (group.properties or {}).get("proxyAddresses") or []
        }
        if lower in addresses:
            return group
    return None


def with_primary(proxies: list[str], address: str) -> list[str]:
    """``address`` becomes the primary SMTP address; the previous primary stays as a secondary ``smtp:``
    (what Entra does when ``mail`` is set, and Exchange when an ``SMTP:`` address is added)."""
    lower = address.lower()
    rest = []
    for entry in proxies or []:
        if strip_prefix(entry).lower() == lower:
            continue
        rest.append(f"smtp:{strip_prefix(entry)}" if is_primary(entry) else entry)
    return [f"SMTP:{address}", *rest]


def with_secondary(proxies: list[str], address: str) -> list[str]:
    """Add ``smtp:address`` unless the user already has it (in any case, primary or not)."""
    lower = address.lower()
    if any(strip_prefix(entry).lower() == lower for entry in proxies or []):
        return list(proxies or [])
    return [*(proxies or []), f"smtp:{address}"]


def without(proxies: list[str], address: str) -> list[str]:
    lower = strip_prefix(address).lower()
    return [entry for entry in proxies or [] if strip_prefix(entry).lower() != lower]
