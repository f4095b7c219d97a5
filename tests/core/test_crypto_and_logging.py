import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from cippusers import crypto
from cippusers.logging import RedactSecretsFilter, redact
from tenants.models import PartnerConnection


@pytest.fixture
def keys(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [first]
    return first, second


@pytest.mark.django_db
def test_secrets_are_encrypted_at_rest(keys):
    conn = PartnerConnection.objects.create(
        name="p",
        partner_tenant_id="11111111-1111-1111-1111-111111111111",
        client_id="22222222-2222-2222-2222-222222222222",
        client_secret="super-secret-value",
        refresh_token="refresh-token-value",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret, refresh_token FROM tenants_partnerconnection WHERE id = %s", [conn.pk]
        )
        raw_secret, raw_token = cursor.fetchone()
    assert "super-secret-value" not in raw_secret and raw_secret.startswith("gAAAA")
    assert "refresh-token-value" not in raw_token
    reloaded = PartnerConnection.objects.get(pk=conn.pk)
    assert reloaded.client_secret == "super-secret-value"
    assert reloaded.refresh_token == "refresh-token-value"


@pytest.mark.django_db
def test_key_rotation_keeps_old_values_readable(keys, settings):
    old, new = keys
    conn = PartnerConnection.objects.create(
        name="p",
        partner_tenant_id="11111111-1111-1111-1111-111111111111",
        client_id="22222222-2222-2222-2222-222222222222",
        client_secret="rotate-me",
    )
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # new key first: encrypts; old still decrypts
    assert PartnerConnection.objects.get(pk=conn.pk).client_secret == "rotate-me"
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM tenants_partnerconnection WHERE id = %s", [conn.pk])
        ciphertext = cursor.fetchone()[0]
    rotated = crypto.rotate(ciphertext)
    settings.FIELD_ENCRYPTION_KEYS = [new]  # old key retired
    assert crypto.decrypt(rotated) == "rotate-me"
    with pytest.raises(Exception, match="cannot be decrypted"):
        crypto.decrypt(ciphertext)


def test_empty_secret_stays_empty():
    field = crypto.EncryptedTextField()
    assert field.get_prep_value("") == ""
    assert field.from_db_value("", None, None) == ""


@pytest.mark.parametrize(
    "text,secret",
    [
        ("grant_type=refresh_token&refresh_token=0.AAAA-xyz&client_id=1", "0.AAAA-xyz"),
        ('{"password": "Hunter2!xyz", "user": "a"}', "Hunter2!xyz"),
        ("Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.abc.def", "eyJ0eXAiOiJKV1QiLCJhbGciOi.abc.def"),
        ("client_secret=abc~123", "abc~123"),
    ],
)
def test_redaction(text, secret):
    assert secret not in redact(text)
    assert "[redacted]" in redact(text)


def test_filter_rewrites_records(caplog):
    logger = logging.getLogger("cippusers.test")
    logger.addFilter(RedactSecretsFilter())
    with caplog.at_level(logging.INFO, logger="cippusers.test"):
        logger.info("sending %s", "refresh_token=very-secret-token")
    assert "very-secret-token" not in caplog.text
    assert "[redacted]" in caplog.text
