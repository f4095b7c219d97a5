"""Password sign-in throttling (tenants/login_throttle.py): limits per username and per address, refusal
before the password is checked, reset on success, lock audited without the password."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from tenants import login_throttle
from users.models import AuditEntry

GOOD = "correct-horse-battery"


def _attempt(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_sixth_attempt_for_a_username_is_refused_even_with_the_right_password(
    client, technician, monkeypatch
):
    for _ in range(5):
        assert _attempt(client, "tech", "wrong").status_code == 200
    checked = []
    monkeypatch.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: checked.append(1))
    refused = _attempt(client, "tech", GOOD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in refused.content.decode()
    assert checked == []  # the password was never looked at: no timing or answer difference
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_lock_is_audited_once_without_the_password(client, technician, caplog):
    for _ in range(7):
        _attempt(client, "tech", "Guess-Secret-123")
    entries = list(AuditEntry.objects.filter(action="technician.login_locked"))
    assert len(entries) == 1
    assert entries[0].parameters["username"] == "tech" and entries[0].parameters["limit"] == "username"
    assert entries[0].source_ip == "127.0.0.1" and entries[0].result == "failed"
    everything = str([(e.parameters, e.message) for e in entries]) + caplog.text
    assert "Guess-Secret-123" not in everything
    assert any("Sign-in locked" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_success_clears_the_username_counter(client, technician):
    for _ in range(4):
        _attempt(client, "tech", "wrong")
    assert _attempt(client, "tech", GOOD).status_code == 302
    client.logout()
    for _ in range(4):  # a fresh budget of five
        assert _attempt(client, "tech", "wrong").status_code == 200
    assert _attempt(client, "tech", GOOD).status_code == 302


@pytest.mark.django_db
def test_one_address_guessing_many_names_is_stopped_at_twenty(client, technician):
    for i in range(20):
        assert _attempt(client, f"user{i}", "wrong").status_code == 200
    assert _attempt(client, "tech", GOOD).status_code == 429
    # Another address is not affected, and the technician's own username has no failures.
    assert _attempt(client, "tech", GOOD, REMOTE_ADDR="192.0.2.7").status_code == 302


@pytest.mark.django_db
def test_username_limit_ignores_case_and_spaces(client, technician):
    for name in ("tech", "TECH", " Tech ", "tEch", "tech"):
        _attempt(client, name, "wrong")
    assert _attempt(client, "tech", GOOD, REMOTE_ADDR="192.0.2.8").status_code == 429


@pytest.mark.django_db
def test_lock_ends_with_the_window(client, technician, monkeypatch):
    import time

    start = time.time()
    monkeypatch.setattr(login_throttle.time, "time", lambda: start)
    for _ in range(5):
        _attempt(client, "tech", "wrong")
    monkeypatch.setattr(login_throttle.time, "time", lambda: start + 14 * 60 + 10)
    refused = _attempt(client, "tech", GOOD)
    assert refused.status_code == 429 and "Try again in 1 minute." in refused.content.decode()
    # The cache expires the counter at the end of the window; expire it now instead of waiting.
    from django.core.cache import cache

    for counter in login_throttle.counters("tech", "127.0.0.1"):
        if counter.scope == "username":
            cache.delete(counter.key)
    assert _attempt(client, "tech", GOOD).status_code == 302


def test_client_ip_trusts_forwarded_for_only_as_far_as_configured(settings):
    factory = RequestFactory()
    request = factory.post("/login/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    settings.TRUSTED_PROXY_COUNT = 0
    assert login_throttle.client_ip(request) == "10.0.0.1"  # no proxy trusted: the header is ignored
    settings.TRUSTED_PROXY_COUNT = 1
    assert login_throttle.client_ip(request) == "203.0.113.5"  # the hop our proxy appended, not 6.6.6.6
    settings.TRUSTED_PROXY_COUNT = 2
    assert login_throttle.client_ip(request) == "6.6.6.6"
    bogus = factory.post("/login/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert login_throttle.client_ip(bogus) == "10.0.0.1"
