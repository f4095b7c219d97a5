"""Encryption at rest for secrets (client secrets, certificates, refresh tokens).

Fernet (AES-128-CBC + HMAC-SHA256) with a key list: the first key encrypts, every key decrypts, so a
key is rotated by prepending a new one and re-encrypting (``manage.py rotate_field_key``). Values are
never rendered back: forms show only whether a secret is set.

Where ciphertext lives: every ``EncryptedTextField`` (found by the rotation command through the app
registry), plus the plain text columns listed in ``FERNET_TEXT_COLUMNS`` that hold ``encrypt()`` output
written by hand. Anything else secret is deliberately not under this key (see README "Secrets and key
rotation"): bulk-import passwords sealed to the technician's browser key, MSAL token caches (memory only).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("no field encryption key configured")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be url-safe base64 32-byte Fernet keys "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from exc


def active_keys() -> tuple[str, ...]:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if keys:
        return keys
    # Development only (production refuses to start without FIELD_ENCRYPTION_KEY).
    derived = base64.urlsafe_b64encode(hashlib.sha256(("field-key:" + settings.SECRET_KEY).encode()).digest())
    return (derived.decode(),)


def encrypt(plaintext: str) -> str:
    return _fernet(active_keys()).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet(active_keys()).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEY"
        ) from exc


def is_current(ciphertext: str) -> bool:
    """True when the newest key alone opens ``ciphertext`` (it needs no rotation)."""
    keys = active_keys()
    _fernet(keys)  # a malformed key fails here with the clear ImproperlyConfigured message
    try:
        Fernet(keys[0].encode()).decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


# Plain TextFields that hold ``encrypt()`` output written by hand (the value is needed encrypted in the
# database but the model reads it only in one place): (app label, model name, field name). The rotation
# command re-encrypts these alongside every EncryptedTextField; add a column here when adding one.
FERNET_TEXT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("users", "BulkImportRow", "password_for_worker"),  # a typed bulk-import password, until the row is sent
)


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the first (newest) key."""
    return _fernet(active_keys()).rotate(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; the Python value is the plaintext (or "" when unset)."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return ""
        return decrypt(value)

    def get_prep_value(self, value):
        if value in (None, ""):
            return ""
        return encrypt(str(value))

    def to_python(self, value):
        return "" if value is None else value
