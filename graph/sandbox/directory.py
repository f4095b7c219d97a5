"""The only writers of sandbox directory rows (users, group memberships; licence assignments are in
``directory_licences``).

Each helper validates its input the way Graph does and raises :class:`GraphProblem` with Graph's status,
code and message, so the HTTP views stay thin and seeding/tests get the same rules. Every user write
stamps ``user.version`` from the tenant's change counter (what users/delta reads) and keeps the indexed
columns in step with the Graph-shaped ``properties``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from . import proxy_addresses as addresses
from .errors import GraphProblem, bad_request
from .models import (
    SandboxGroup,
    SandboxGroupMember,
    SandboxTenant,
    SandboxTombstone,
    SandboxUser,
    smtp_address_key,
)
from .user_schema import COLLECTION_KINDS, NOT_NULLABLE, USER_PROPERTIES

REQUIRED_ON_CREATE = ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName")
PASSWORD_COMPLEXITY = "The specified password does not comply with password complexity requirements."
UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists."
# What Graph answers when ``mail`` names an address another object of the tenant already holds.
PROXY_TAKEN = "Another object with the same value for property proxyAddresses already exists."
MANAGER_NOT_FOUND = (
    "Resource 'manager' does not exist or one of its queried reference-property objects are not present."
)
BAD_DOMAIN = (
    "The domain portion of the userPrincipalName property is invalid. "
    "You must use one of the verified domain names in your organization."
)
# What Graph answers when a property mastered on-premises is written on a synced user.
SYNCED_OBJECT = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
    "currently undergoing migration."
)
_USAGE_LOCATION = re.compile(r"^[A-Z]{2}$")
# The user resource's documented limits ("Maximum length is N characters"); Graph refuses longer values
# with "Invalid value specified for property ...". The portal's own table (users.provisioning.rules) must
# agree; tests check that.
MAX_LENGTH = {
    "givenName": 64, "surname": 64, "displayName": 256, "mailNickname": 64, "jobTitle": 128,
    "department": 64, "companyName": 64, "streetAddress": 1024, "city": 128, "state": 128, "postalCode": 40,
    "country": 128, "mobilePhone": 64, "employeeId": 16,
}  # fmt: skip
# userPrincipalName: "Only the following characters are allowed A - Z, a - z, 0 - 9, ' . - _ ! # ^ ~"
# before the @, at most 64 of them.
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'.\-_!#^~]{1,64}$")
# Properties Entra Connect masters on-premises: Graph refuses to write them on a synced user.
PASSWORD_POLICIES = ("DisablePasswordExpiration", "DisableStrongPassword")
ON_PREMISES_MASTERED = frozenset(
    {
        "givenName", "surname", "displayName", "jobTitle", "department", "companyName", "streetAddress",
        "city", "state", "postalCode", "country", "businessPhones", "mobilePhone", "officeLocation",
        "faxNumber", "employeeId", "userPrincipalName", "mailNickname", "mail", "onPremisesImmutableId",
    }
)  # fmt: skip


def graph_now(moment: datetime | None = None) -> str:
    """Graph's DateTimeOffset rendering: UTC, second precision, trailing Z."""
    return (moment or timezone.now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_version(tenant: SandboxTenant) -> int:
    """Atomically advance the tenant's change counter and return the new value.

    One ``UPDATE ... RETURNING`` (PostgreSQL, SQLite >= 3.35) instead of an update and a read: every user
    write runs this while its transaction holds locks (the SKU row in assignLicense), so a round trip less
    here shortens the time concurrent $batch items wait for each other."""
    table = connection.ops.quote_name(SandboxTenant._meta.db_table)
    key = SandboxTenant._meta.pk.get_db_prep_value(tenant.pk, connection)
    # The table name comes from the model, never from input; the key is a bound parameter.
    sql = f"UPDATE {table} SET change_counter = change_counter + 1 WHERE id = %s RETURNING change_counter"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        raise SandboxTenant.DoesNotExist("SandboxTenant matching query does not exist.")
    tenant.change_counter = row[0]
    return row[0]


def verified_domain_names(tenant: SandboxTenant) -> set[str]:
    return set(tenant.domains.filter(is_verified=True).values_list("name", flat=True))


def password_is_complex(password: str) -> bool:
    """Entra's rule: 8-256 characters and at least three of lower, upper, digit, symbol."""
    if not isinstance(password, str) or not 8 <= len(password) <= 256:
        return False
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return sum(classes) >= 3


def _invalid_value(name: str) -> GraphProblem:
    return bad_request(f"Invalid value specified for property '{name}' of resource 'User'.")


def _check_value(name: str, value) -> object:
    """Type-check one writable property value; returns the value to store."""
    kind, _ = USER_PROPERTIES[name]
    if value is None:
        if name in NOT_NULLABLE:
            raise _invalid_value(name)
        return [] if kind in COLLECTION_KINDS else None
    ok = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "datetime": isinstance(value, str) and _parse_datetime(value) is not None,
        "strlist": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "list": isinstance(value, list),
        "object": isinstance(value, dict),
    }[kind]
    if not ok:
        raise _invalid_value(name)
    if name == "usageLocation" and not _USAGE_LOCATION.match(value):
        raise _invalid_value(name)
    if kind == "str" and len(value) > MAX_LENGTH.get(name, len(value)):
        raise _invalid_value(name)
    # businessPhones: "Only one number can be set for this property."
    if name == "businessPhones" and (len(value) > 1 or any(len(v) > 64 for v in value)):
        raise _invalid_value(name)
    if name == "mail" and not (value.isascii() and addresses.SMTP_ADDRESS.match(value)):
        raise _invalid_value(name)  # "This property can't contain accent characters."
    if name == "passwordPolicies":
        return _password_policies(value)
    return value


def _password_policies(value: str) -> str | None:
    """passwordPolicies: "None", or DisablePasswordExpiration and/or DisableStrongPassword separated by
    commas (the documented values); Graph refuses anything else. "None" clears the policies."""
    parts = [part.strip() for part in value.split(",")]
    if parts == ["None"]:
        return "None"
    if not parts or any(part not in PASSWORD_POLICIES for part in parts) or len(set(parts)) != len(parts):
        raise _invalid_value("passwordPolicies")
    return ", ".join(parts)


def _parse_datetime(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_known_writable(changes: dict) -> None:
    for name in changes:
        if name.startswith("@") or "@odata." in name:
            continue  # annotations such as @odata.type are allowed in request bodies
        if name not in USER_PROPERTIES:
            raise bad_request(
                f"Property '{name}' does not exist as a declared property or extension property."
            )
        if USER_PROPERTIES[name][1]:
            raise bad_request(f"Property '{name}' is read-only and cannot be set.")


def _check_upn(tenant: SandboxTenant, upn: str, *, exclude: SandboxUser | None = None) -> str:
    if not isinstance(upn, str) or upn.count("@") != 1:
        raise _invalid_value("userPrincipalName")
    alias, domain = upn.split("@")
    if not _UPN_LOCAL.match(alias) or alias.startswith(".") or alias.endswith(".") or ".." in alias:
        raise _invalid_value("userPrincipalName")
    if domain.lower() not in verified_domain_names(tenant):
        raise bad_request(BAD_DOMAIN)
    # A deleted user's UPN is free for a new user (Entra's rule); its other addresses stay reserved.
    owner = addresses.owner_of(tenant, upn, exclude_user=exclude, live_only=True)
    if owner is not None or _deleted_upn_owner(tenant, upn, exclude) is not None:
        raise bad_request(UPN_TAKEN)
    return upn.lower()


def _deleted_upn_owner(tenant: SandboxTenant, upn: str, exclude: SandboxUser | None) -> SandboxUser | None:
    """A user in deleted items whose *other* addresses (mail, proxies) include ``upn``: still reserved."""
    owner = addresses.owner_of(tenant, upn, exclude_user=exclude)
    if (
        isinstance(owner, SandboxUser)
        and owner.deleted_datetime is not None
        and owner.upn_lower == upn.lower()
    ):
        return None
    return owner


def _apply_mail(tenant: SandboxTenant, props: dict, user: SandboxUser | None) -> None:
    """Entra recalculates proxyAddresses when ``mail`` is written: the new address becomes the primary
    SMTP address and the previous primary stays as a secondary ``smtp:`` (CIPP adds aliases this way)."""
    value = props.get("mail")
    proxies = list(props.get("proxyAddresses") or [])
    if value is None:
        props["proxyAddresses"] = [
            f"smtp:{addresses.strip_prefix(e)}" if addresses.is_primary(e) else e for e in proxies
        ]
        return
    if user is None or value.lower() not in addresses.own_addresses(user):
        if addresses.owner_of(tenant, value, exclude_user=user) is not None:
            raise bad_request(PROXY_TAKEN)
    props["proxyAddresses"] = addresses.with_primary(proxies, value)


def _password_profile(profile, *, required: bool) -> tuple[str | None, dict]:
    """Split a passwordProfile into (password, profile to store without the password)."""
    if not isinstance(profile, dict):
        raise _invalid_value("passwordProfile")
    password = profile.get("password")
    if password is None and required:
        raise bad_request("Invalid value specified for property 'passwordProfile' of resource 'User'.")
    if password is not None and not password_is_complex(password):
        raise bad_request(PASSWORD_COMPLEXITY)
    stored = {
        "forceChangePasswordNextSignIn": bool(profile.get("forceChangePasswordNextSignIn", False)),
        "forceChangePasswordNextSignInWithMfa": bool(
            profile.get("forceChangePasswordNextSignInWithMfa", False)
        ),
        "password": None,
    }
    return password, stored


def sync_columns(user: SandboxUser) -> None:
    """Mirror the indexed Graph properties into their columns."""
    props = user.properties
    user.upn_lower = (props.get("userPrincipalName") or "").lower()
    user.display_name = props.get("displayName") or ""
    user.mail_lower = (props.get("mail") or "").lower()
    user.smtp_addresses = smtp_address_key(props)
    user.account_enabled = bool(props.get("accountEnabled"))
    user.user_type = props.get("userType") or "Member"


def _save(user: SandboxUser) -> SandboxUser:
    user.version = next_version(user.tenant)
    sync_columns(user)
    user.save()
    return user


def create_user(tenant: SandboxTenant, props: dict, password: str | None = None) -> SandboxUser:
    """POST /users semantics. ``password`` overrides passwordProfile.password (seeding convenience)."""
    if not isinstance(props, dict):
        raise bad_request("Invalid request body.", code="BadRequest")
    props = dict(props)
    if password is not None:
        props["passwordProfile"] = {**(props.get("passwordProfile") or {}), "password": password}
    for name in REQUIRED_ON_CREATE:
        if props.get(name) in (None, ""):
            raise bad_request(f"Invalid value specified for property '{name}' of resource 'User'.")
    _check_known_writable(props)
    values = {name: _check_value(name, value) for name, value in props.items() if name in USER_PROPERTIES}
    clear_password, values["passwordProfile"] = _password_profile(props["passwordProfile"], required=True)
    try:
        return _insert_user(tenant, values, clear_password)
    except IntegrityError:
        # Two creates of the same UPN raced past the check; the unique constraint decides, and the loser
        # gets Graph's answer for a taken UPN rather than a server error.
        raise bad_request(UPN_TAKEN) from None


def _insert_user(tenant: SandboxTenant, values: dict, clear_password: str) -> SandboxUser:
    with transaction.atomic():
        _check_upn(tenant, values["userPrincipalName"])
        if values.get("mail"):
            _apply_mail(tenant, values, None)
        now = timezone.now()
        user = SandboxUser(tenant=tenant, id=uuid.uuid4(), created_datetime=now)
        properties = {
            "id": str(user.id),
            "businessPhones": [],
            "createdDateTime": graph_now(now),
            "creationType": None,
            "userType": "Member",
            "assignedLicenses": [],
            "assignedPlans": [],
            "otherMails": [],
            "imAddresses": [],
            "identities": [
                {
                    "signInType": "userPrincipalName",
                    "issuer": values["userPrincipalName"].split("@")[1],
                    "issuerAssignedId": values["userPrincipalName"],
                }
            ],
            "lastPasswordChangeDateTime": graph_now(now),
            "onPremisesSyncEnabled": None,
            "deletedDateTime": None,
        }
        properties.update(values)
        properties.setdefault("proxyAddresses", [])
        user.properties = properties
        user.password_hash = make_password(clear_password)
        return _save(user)


def update_user(user: SandboxUser, changes: dict) -> SandboxUser:
    """PATCH /users/{id} semantics: only the given properties change; null clears one."""
    if not isinstance(changes, dict):
        raise bad_request("Invalid request body.", code="BadRequest")
    _check_known_writable(changes)
    if user.properties.get("onPremisesSyncEnabled") and ON_PREMISES_MASTERED.intersection(changes):
        raise bad_request(SYNCED_OBJECT)
    props = dict(user.properties)
    new_password = None
    for name, value in changes.items():
        if name not in USER_PROPERTIES:
            continue
        if name == "passwordProfile" and value is not None:
            new_password, props[name] = _password_profile(value, required=False)
            continue
        props[name] = _check_value(name, value)
    with transaction.atomic():
        if "userPrincipalName" in changes:
            _check_upn(user.tenant, props["userPrincipalName"], exclude=user)
        if "mail" in changes:
            _apply_mail(user.tenant, props, user)
        if new_password is not None:
            user.password_hash = make_password(new_password)
            props["lastPasswordChangeDateTime"] = graph_now()
        user.properties = props
        return _save(user)


def save_user(user: SandboxUser) -> SandboxUser:
    """Persist a user changed by another writer module (Exchange cmdlets, invitations), stamping the
    change counter and mirroring the indexed columns like every write here."""
    return _save(user)


def initial_domain(tenant: SandboxTenant) -> str:
    names = dict(tenant.domains.values_list("is_initial", "name"))
    return names.get(True) or names.get(False) or f"{tenant.pk}.onmicrosoft.com"


def create_guest(
    tenant: SandboxTenant, address: str, *, display_name: str | None, user_type: str
) -> SandboxUser:
    """The user object an invitation creates: ``local_domain#EXT#@<initial domain>``, mail = the invited
    address, pending acceptance, no password of its own (the guest signs in at home)."""
    local, _, domain = address.rpartition("@")
    base = f"{local}_{domain}"
    with transaction.atomic():
        suffix = ""
        while SandboxUser.objects.filter(
            tenant=tenant, upn_lower=f"{base}{suffix}#ext#@{initial_domain(tenant)}".lower()
        ).exists():
            suffix = str(int(suffix or 0) + 1)  # Entra numbers colliding guest UPNs
        nickname = f"{base}{suffix}#EXT#"
        upn = f"{nickname}@{initial_domain(tenant)}"
        now = timezone.now()
        user = SandboxUser(tenant=tenant, id=uuid.uuid4(), created_datetime=now)
        user.properties = {
            "id": str(user.id), "userPrincipalName": upn, "mailNickname": nickname, "displayName": display_name or local,
            "givenName": None, "surname": None, "mail": address, "otherMails": [address],
            "proxyAddresses": [f"SMTP:{address}"], "imAddresses": [], "businessPhones": [],
            "accountEnabled": True, "userType": user_type, "creationType": "Invitation",
            "externalUserState": "PendingAcceptance", "externalUserStateChangeDateTime": graph_now(now),
            "createdDateTime": graph_now(now), "assignedLicenses": [], "assignedPlans": [],
            "identities": [{"signInType": "userPrincipalName", "issuer": initial_domain(tenant), "issuerAssignedId": upn}],
            "onPremisesSyncEnabled": None, "deletedDateTime": None, "usageLocation": None,
        }  # fmt: skip
        user.password_hash = make_password(None)  # unusable: guests authenticate with their home identity
        return _save(user)


# --- manager ---------------------------------------------------------------------------------------------


def current_manager(user: SandboxUser) -> SandboxUser | None:
    """The manager Graph shows: none when unset or when the manager sits in deleted items."""
    manager = user.manager
    return manager if manager is not None and manager.deleted_datetime is None else None


def set_manager(user: SandboxUser, manager: SandboxUser) -> SandboxUser:
    """PUT /users/{id}/manager/$ref. The change is a user change (delta reports it)."""
    if manager.pk == user.pk:
        raise bad_request("Invalid value specified for property 'manager' of resource 'User'.")
    if user.properties.get("onPremisesSyncEnabled"):
        raise bad_request(SYNCED_OBJECT)  # the manager attribute is synced from on-premises AD
    user.manager = manager
    return _save(user)


def remove_manager(user: SandboxUser) -> SandboxUser:
    """DELETE /users/{id}/manager/$ref."""
    if current_manager(user) is None:
        raise GraphProblem(404, "Request_ResourceNotFound", MANAGER_NOT_FOUND)
    if user.properties.get("onPremisesSyncEnabled"):
        raise bad_request(SYNCED_OBJECT)
    user.manager = None
    return _save(user)


def set_directory_managed(user: SandboxUser, values: dict) -> SandboxUser:
    """Write properties Graph clients cannot (proxyAddresses, mail from Exchange, signInActivity, sync
    state); for the seed and the Exchange emulation. Names must still be user properties."""
    unknown = [name for name in values if name not in USER_PROPERTIES]
    if unknown:
        raise ValueError(f"not user properties: {unknown}")
    user.properties = {**user.properties, **values}
    return _save(user)


def soft_delete_user(user: SandboxUser) -> SandboxUser:
    """DELETE /users/{id}: the object moves to deleted items (restorable for 30 days)."""
    now = timezone.now()
    user.deleted_datetime = now
    user.properties = {**user.properties, "deletedDateTime": graph_now(now)}
    return _save(user)


def restore_user(user: SandboxUser, *, auto_reconcile_proxy_conflict: bool = False) -> SandboxUser:
    """POST /directory/deletedItems/{id}/restore: the same object comes back with its properties, licences,
    group and role memberships. Refused as Microsoft does (400 Request_BadRequest) when a live object now
    holds its UPN, or one of its proxy addresses unless ``auto_reconcile_proxy_conflict`` drops those."""
    if user.deleted_datetime is None:
        raise bad_request("The object is not in the deleted items container.")
    with transaction.atomic():
        tenant = user.tenant
        if addresses.owner_of(tenant, user.upn_lower, exclude_user=user, live_only=True) is not None:
            raise bad_request(UPN_TAKEN)
        props = dict(user.properties)
        proxies = list(props.get("proxyAddresses") or [])
        taken = [e for e in proxies if addresses.owner_of(tenant, e, exclude_user=user, live_only=True)]
        if taken and not auto_reconcile_proxy_conflict:
            raise bad_request(PROXY_TAKEN)
        props["proxyAddresses"] = [e for e in proxies if e not in taken]
        user.deleted_datetime = None
        user.properties = {**props, "deletedDateTime": None}
        try:
            with transaction.atomic():
                return _save(user)
        except IntegrityError:  # a create of the same UPN raced past the check
            raise bad_request(UPN_TAKEN) from None


def hard_delete_user(user: SandboxUser) -> None:
    """Permanent deletion: the row goes, a tombstone tells delta clients ``@removed: deleted``."""
    with transaction.atomic():
        version = next_version(user.tenant)
        SandboxTombstone.objects.create(
            tenant=user.tenant, object_id=user.id, object_type="user", version=version
        )
        user.delete()


# --- groups ---------------------------------------------------------------------------------------------


def group_kind(group: SandboxGroup) -> str:
    """microsoft365, security, mailEnabledSecurity or distribution."""
    if "Unified" in (group.group_types or []):
        return "microsoft365"
    if group.mail_enabled:
        return "mailEnabledSecurity" if group.security_enabled else "distribution"
    return "security"


def _check_group_writable(group: SandboxGroup) -> None:
    if group.on_premises_sync_enabled:
        raise bad_request(
            "Unable to update the specified properties for on-premises mastered Directory Sync objects "
            "or objects currently undergoing migration."
        )
    if group.membership_rule or "DynamicMembership" in (group.group_types or []):
        raise bad_request(
            "Insufficient privileges to complete the operation. Members of a dynamic group cannot be added or removed."
        )
    if group_kind(group) in {"mailEnabledSecurity", "distribution"}:
        raise bad_request("Cannot Update a mail-enabled security groups and or distribution list.")


def add_group_member(group: SandboxGroup, user: SandboxUser) -> None:
    _check_group_writable(group)
    with transaction.atomic():
        if SandboxGroupMember.objects.filter(group=group, user=user).exists():
            raise bad_request(
                "One or more added object references already exist for the following modified properties: 'members'."
            )
        SandboxGroupMember.objects.create(group=group, user=user)


def remove_group_member(group: SandboxGroup, user: SandboxUser) -> None:
    _check_group_writable(group)
    deleted, _ = SandboxGroupMember.objects.filter(group=group, user=user).delete()
    if not deleted:
        raise GraphProblem(
            404,
            "Request_ResourceNotFound",
            f"Resource '{user.id}' does not exist or one of its queried reference-property objects are not present.",
        )
