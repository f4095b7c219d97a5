"""Set-Mailbox -EmailAddresses: the mailbox's proxy addresses (= the user's proxyAddresses in Entra ID).

Parameter shapes (Set-Mailbox reference, contract Part A.1/A.5):

* replace all: ``"EmailAddresses": ["SMTP:a@contoso.com", "smtp:b@contoso.com"]``; the primary is the
  ``SMTP:`` entry, else the first address;
* add / remove some: ``{"@odata.type": "#Exchange.GenericHashTable", "Add": [...], "Remove": [...]}``
  (keys in any case, a single string or an array); without the type tag the hashtable cannot be bound.

An entry without a type is an SMTP address (secondary when added). SMTP addresses must be well formed and on
one of the organisation's accepted (verified) domains, and may not belong to another recipient. The primary
address cannot be removed: another one has to become primary first. Users synchronised from on-premises AD
are read-only here.
"""

from __future__ import annotations

from .. import proxy_addresses as addresses
from ..directory import verified_domain_names
from . import errors
from .errors import CmdletError

# Sandbox-own ids (see errors.py), stable so tests can match them.
NOT_ACCEPTED = ("Ex2B7E40", "Microsoft.Exchange.Data.DataValidationException")
PROXY_IN_USE = ("ExD5A1C3", "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException")
PRIMARY_REMOVAL = ("Ex8C3F27", "Microsoft.Exchange.Data.DataValidationException")
SYNCED_RECIPIENT = ("Ex6E0A72", "Microsoft.Exchange.Configuration.Tasks.TaskException")
HASHTABLE = "#Exchange.GenericHashTable"


def _binding(message: str) -> CmdletError:
    return CmdletError(400, errors.PARAMETER_BINDING, f"Cannot bind parameter 'EmailAddresses'. {message}")


def _entries(value) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise _binding(
            f'Cannot convert value "{value}" to type "Microsoft.Exchange.Data.ProxyAddressCollection".'
        )
    return [item.strip() for item in items]


def _entry(tenant, text: str) -> tuple[str, str | None, bool]:
    """(entry as stored, SMTP address or None for other types, primary?)."""
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() != "smtp" and "@" not in prefix:
        return text, None, False  # X500:, SIP:, SPO: ... are kept as given, unvalidated (as Exchange does)
    address = rest if sep else text
    if not addresses.SMTP_ADDRESS.match(address):
        raise _binding(f"The address '{text}' is not a valid SMTP address.")
    domain = address.rpartition("@")[2].lower()
    if domain not in verified_domain_names(tenant):
        raise CmdletError(
            400,
            NOT_ACCEPTED,
            f"You can't use the domain {domain} because it's not an accepted domain for your organization.",
        )
    primary = sep and prefix == "SMTP"
    return f"{'SMTP' if primary else 'smtp'}:{address}", address, bool(primary)


def _check_free(tenant, user, address: str) -> None:
    if address.lower() in addresses.own_addresses(user):
        return
    owner = addresses.owner_of(tenant, address, exclude_user=user)
    if owner is not None:
        holder = getattr(owner, "display_name", "") or str(owner.pk)
        raise CmdletError(
            400,
            PROXY_IN_USE,
            f'The proxy address "SMTP:{address}" is already being used by the proxy addresses or LegacyExchangeDN '
            f'of "{holder}". Please choose another proxy address.',
        )


def _hashtable(value: dict) -> tuple[list[str], list[str]]:
    if value.get("@odata.type") != HASHTABLE:
        raise _binding(
            'Cannot convert the "System.Collections.Hashtable" value to type '
            '"Microsoft.Exchange.Data.ProxyAddressCollection". Tag the value "@odata.type": "#Exchange.GenericHashTable".'
        )
    keys = {str(k).lower(): v for k, v in value.items() if not str(k).startswith("@")}
    unknown = sorted(set(keys) - {"add", "remove"})
    if unknown:
        raise _binding(f"The hashtable key '{unknown[0]}' is not valid; use Add and Remove.")
    adds = _entries(keys["add"]) if keys.get("add") not in (None, []) else []
    removes = _entries(keys["remove"]) if keys.get("remove") not in (None, []) else []
    return adds, removes


def new_proxy_addresses(tenant, user, value) -> list[str]:
    """The user's proxyAddresses after ``-EmailAddresses value``; raises CmdletError, changes nothing."""
    if user.properties.get("onPremisesSyncEnabled"):
        raise CmdletError(
            400,
            SYNCED_RECIPIENT,
            f"The action 'Set-Mailbox', 'EmailAddresses', can't be performed on the object '{user.display_name}' "
            "because the object is being synchronized from your on-premises organization. This action should be "
            "performed on the object in your on-premises organization.",
        )
    current = list(user.properties.get("proxyAddresses") or [])
    if isinstance(value, dict):
        adds, removes = _hashtable(value)
        proxies = current
        for text in adds:
            entry, address, primary = _entry(tenant, text)
            if address is None:
                proxies = proxies if entry in proxies else [*proxies, entry]
                continue
            _check_free(tenant, user, address)
            proxies = (
                addresses.with_primary(proxies, address)
                if primary
                else addresses.with_secondary(proxies, address)
            )
        for text in removes:
            prefix, sep, _ = text.partition(":")
            if sep and prefix.lower() != "smtp" and "@" not in prefix:
                proxies = [entry for entry in proxies if entry.lower() != text.lower()]
                continue
            target = addresses.strip_prefix(text)
            if (addresses.primary_address(proxies) or "").lower() == target.lower():
                raise CmdletError(
                    400,
                    PRIMARY_REMOVAL,
                    f"The primary SMTP address '{target}' can't be removed. Make another address the primary SMTP "
                    "address first.",
                )
            proxies = addresses.without(proxies, target)  # removing an address it does not have is a no-op
        return proxies
    if value is None:
        raise _binding("The argument is null. Provide at least one SMTP address.")
    parsed = [_entry(tenant, text) for text in _entries(value)]
    smtp = [(entry, address, primary) for entry, address, primary in parsed if address is not None]
    if not smtp:
        raise _binding("The collection needs at least one SMTP address.")
    if sum(primary for _, _, primary in smtp) > 1:
        raise _binding("Only one address can be the primary SMTP address (SMTP:).")
    for _, address, _ in smtp:
        _check_free(tenant, user, address)
    primary = next((address for _, address, is_primary in smtp if is_primary), smtp[0][1])
    rest = [entry for entry, address, _ in parsed if address is None or address.lower() != primary.lower()]
    return addresses.with_primary(rest, primary)
