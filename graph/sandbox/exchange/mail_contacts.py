"""Mail contacts: outside addresses listed in the tenant's address book (``Get-MailContact``), which Exchange
accepts as recipients, e.g. as a mailbox's ``ForwardingAddress``.

The sandbox keeps a tenant's contacts in ``SandboxTenant.settings["mailContacts"]`` (a list of
``{"Alias", "DisplayName", "ExternalEmailAddress"}``): nothing else reads or writes them, so they need no table
of their own. Identity resolves like a mailbox's: alias, display name, address or GUID.
"""

from __future__ import annotations

import uuid

from . import errors
from .cmdlets import cmdlet
from .errors import CmdletError

SETTING = "mailContacts"


def _guid(tenant, contact: dict) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"mail-contact:{tenant.pk}:{contact['Alias'].lower()}"))


def contact_object(tenant, contact: dict) -> dict:
    address = contact["ExternalEmailAddress"]
    return {
        "Identity": contact["Alias"],
        "Name": contact["Alias"],
        "Alias": contact["Alias"],
        "DisplayName": contact["DisplayName"],
        "ExternalEmailAddress": f"SMTP:{address}",
        "PrimarySmtpAddress": address,
        "EmailAddresses": [f"SMTP:{address}"],
        "RecipientType": "MailContact",
        "RecipientTypeDetails": "MailContact",
        "HiddenFromAddressListsEnabled": False,
        "Guid": _guid(tenant, contact),
    }


def contacts_of(tenant) -> list[dict]:
    return [c for c in (tenant.settings or {}).get(SETTING) or [] if isinstance(c, dict) and c.get("Alias")]


def add_contact(tenant, alias: str, display_name: str, address: str) -> dict:
    """Seed/test helper: a contact of ``tenant``."""
    contact = {"Alias": alias, "DisplayName": display_name, "ExternalEmailAddress": address}
    kept = [c for c in contacts_of(tenant) if c["Alias"].lower() != alias.lower()]
    tenant.settings = {**(tenant.settings or {}), SETTING: [*kept, contact]}
    tenant.save(update_fields=["settings"])
    return contact


def find_contact(tenant, identity) -> dict | None:
    value = str(identity or "").strip().lower()
    if value.startswith("smtp:"):
        value = value[5:]
    if not value:
        return None
    for contact in contacts_of(tenant):
        names = {contact["Alias"].lower(), contact["DisplayName"].lower(),
                 contact["ExternalEmailAddress"].lower(), _guid(tenant, contact)}  # fmt: skip
        if value in names:
            return contact
    return None


@cmdlet("Get-MailContact", parameters=("Identity", "ResultSize"), output_type="Exchange.MailContact")
def get_mail_contact(tenant, params: dict, request) -> list[dict]:
    identity = params.get("Identity")
    if identity not in (None, ""):
        contact = find_contact(tenant, identity)
        if contact is None:
            raise CmdletError(
                404,
                errors.NOT_FOUND,
                f"The operation couldn't be performed because object '{identity}' couldn't be found.",
                target=str(identity),
            )
        return [contact_object(tenant, contact)]
    contacts = sorted(contacts_of(tenant), key=lambda c: c["DisplayName"].lower())
    return [contact_object(tenant, c) for c in contacts]
