"""Writing the audit log: ``record`` is the only way an entry comes into being.

Each entry is hashed together with the previous entry's hash (``entry_hash = sha256(previous_hash +
canonical JSON)``), so ``manage.py audit_verify`` can prove nothing was edited, removed or inserted
outside the application. Appends are serialised (a PostgreSQL transaction-scoped advisory lock; SQLite
transactions here are IMMEDIATE, i.e. already one writer at a time) so two technicians acting at the
same moment never fork the chain.

Secrets never reach the table: values under secret-looking keys are replaced, recursively, before the
row is built, and the message goes through the same redaction as the logs.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cippusers.client_address import client_ip  # noqa: F401 - views take it from here
from cippusers.logging import redact
from users.models import AuditEntry

REDACTED = "[redacted]"
# Keys whose values are never stored, compared without case, "_" or "-".
SECRET_KEYS = frozenset(
    {
        "password",
        "passwordprofile",
        "temporaryaccesspass",
        "newpassword",
        "currentpassword",
        "secret",
        "token",
        "refreshtoken",
        "accesstoken",
        "idtoken",
        "clientsecret",
        "codeverifier",
        "assertion",
        "authorization",
    }
)
# ... and any key containing one of these words (apiToken, userPassword, appSecret ...).
SECRET_KEY_PARTS = ("password", "secret", "token", "passphrase")

# An arbitrary constant naming the audit chain's PostgreSQL advisory lock.
_CHAIN_LOCK_KEY = 0x41554449  # "AUDI"

HASHED_FIELDS = (
    "created_at",
    "technician_id",
    "technician_name",
    "source_ip",
    "tenant_id",
    "tenant_name",
    "target_user_id",
    "target_upn",
    "action",
    "parameters",
    "result",
    "message",
    "request_ids",
    "job_id",
)


# --- secrets ---------------------------------------------------------------------------------------------


def is_secret_key(key: Any) -> bool:
    name = str(key).lower().replace("_", "").replace("-", "")
    return name in SECRET_KEYS or any(part in name for part in SECRET_KEY_PARTS)


def strip_secrets(value: Any) -> Any:
    """A JSON-native copy of ``value`` with every secret-keyed value replaced by ``[redacted]``."""
    if isinstance(value, dict):
        return {str(k): (REDACTED if is_secret_key(k) else strip_secrets(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [strip_secrets(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # UUIDs, dates, enums: as text, so the stored JSON equals what was hashed


# --- hashing ---------------------------------------------------------------------------------------------


def _canonical_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "created_at":
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if name in ("tenant_id", "target_user_id"):
        return str(value).lower()
    return value


def compute_hash(entry: AuditEntry) -> str:
    """sha256 over the previous hash and the entry's canonical JSON (sorted keys, no whitespace)."""
    body = {name: _canonical_value(name, getattr(entry, name)) for name in HASHED_FIELDS}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((entry.previous_hash + canonical).encode()).hexdigest()


# --- who and where -----------------------------------------------------------------------------------------


def _valid_ip(value: Any) -> str | None:
    try:
        return ipaddress.ip_address(str(value).strip()).compressed
    except ValueError:
        return None


def _target(target) -> tuple[uuid.UUID | None, str]:
    if target is None:
        return None, ""
    if isinstance(target, tuple | list):
        user_id, upn = (list(target) + [None, ""])[:2]
    else:  # a DirectoryUser (or anything shaped like it)
        user_id, upn = getattr(target, "user_id", None), getattr(target, "user_principal_name", "")
    try:
        parsed = uuid.UUID(str(user_id)) if user_id else None
    except ValueError:
        parsed = None
    return parsed, str(upn or "")[:255]


def _tenant(tenant) -> tuple[uuid.UUID | None, str]:
    if tenant is None:
        return None, ""
    if hasattr(tenant, "tenant_id"):
        return uuid.UUID(str(tenant.tenant_id)), str(getattr(tenant, "display_name", ""))[:256]
    return uuid.UUID(str(tenant)), ""


# --- the one writer --------------------------------------------------------------------------------------------


def record(
    request_or_user,
    *,
    tenant,
    target,
    action: str,
    parameters: dict | None,
    result: str,
    message: str = "",
    request_ids: Iterable[str] = (),
    job_id: int | None = None,
    source_ip: str | None = None,
) -> AuditEntry:
    """Append one entry. ``request_or_user``: the HttpRequest (technician + source IP taken from it) or
    the technician (Celery tasks: pass ``source_ip`` kept from the original request). ``tenant``: a
    Tenant, its GUID or None; ``target``: a DirectoryUser, ``(user id, upn)`` or None."""
    if result not in AuditEntry.Result.values:
        raise ValueError(f"unknown audit result {result!r}")
    request = request_or_user if hasattr(request_or_user, "META") else None
    user = getattr(request_or_user, "user", None) if request is not None else request_or_user
    if source_ip is None and request is not None:
        ip = client_ip(request)
    else:
        ip = _valid_ip(source_ip) if source_ip else None
    authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
    tenant_id, tenant_name = _tenant(tenant)
    target_id, target_upn = _target(target)
    entry = AuditEntry(
        technician=user if authenticated else None,
        technician_name=(user.get_username() if authenticated else "(anonymous)")[:150],
        source_ip=ip,
        tenant_id=tenant_id,
        tenant_name=tenant_name,
        target_user_id=target_id,
        target_upn=target_upn,
        action=str(action)[:64],
        parameters=strip_secrets(parameters or {}),
        result=result,
        message=redact(str(message or "")),
        request_ids=[str(r) for r in request_ids if r],
        job_id=job_id,
    )
    with transaction.atomic():
        _lock_chain()
        previous = AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        entry.previous_hash = previous or ""
        entry.created_at = timezone.now()
        entry.entry_hash = compute_hash(entry)
        # raw=True keeps the timestamp we hashed (auto_now_add would replace it while saving).
        entry.save_base(raw=True, force_insert=True)
    return entry


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


# --- verification ----------------------------------------------------------------------------------------------


def verify_chain(batch_size: int = 2000) -> tuple[int, AuditEntry | None, str]:
    """Walk the chain oldest first. Returns (entries checked, first broken entry or None, why)."""
    previous = ""
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not rows:
            return checked, None, ""
        for entry in rows:
            if entry.previous_hash != previous:
                return (
                    checked,
                    entry,
                    "its previous_hash does not match the entry before it (removed or inserted row)",
                )
            if compute_hash(entry) != entry.entry_hash:
                return checked, entry, "its content does not match its hash (edited row)"
            previous = entry.entry_hash
            checked += 1
            last_id = entry.id
