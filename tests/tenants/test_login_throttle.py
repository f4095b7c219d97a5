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


def test_username_key_is_what_django_authenticates_case_folded():
    fullwidth = "\uff41\uff44\uff4d\uff49\uff4e"  # ａｄｍｉｎ
    keys = {
        login_throttle.normalised_username(n)
        for n in ("admin", "Admin", "ADMIN", fullwidth, f" {fullwidth} ")
    }
    assert keys == {"admin"}
    assert login_throttle.normalised_username("Stra\u00dfe") == "strasse"  # casefold, not lower()
    assert login_throttle.normalised_username("x" * 151 + "\uff41").endswith(
        "\uff41"
    )  # too long: Django skips NFKC


@pytest.mark.django_db
def test_fullwidth_and_case_variants_share_the_counter_of_the_account_django_signs_in(client, technician):
    fullwidth = "\uff54\uff45\uff43\uff48"  # ｔｅｃｈ: Django's form turns it into "tech" (NFKC) and signs in
    assert _attempt(client, fullwidth, GOOD).status_code == 302
    client.logout()
    for name in (fullwidth, "TECH", f" {fullwidth.upper()} ", "Tech", "\uff34\uff25\uff23\uff28"):
        assert _attempt(client, name, "wrong").status_code == 200
    assert _attempt(client, "tech", GOOD, REMOTE_ADDR="192.0.2.9").status_code == 429


def _sign_in_and_keep_device(client, username="tech"):
    assert _attempt(client, username, GOOD).status_code == 302
    assert login_throttle.DEVICE_COOKIE in client.cookies
    device = client.cookies[login_throttle.DEVICE_COOKIE]
    assert device["httponly"] and device["path"] == reverse("login")
    client.logout()  # clears every cookie: put the device cookie back, as a browser keeps it
    client.cookies[login_throttle.DEVICE_COOKIE] = device.value


@pytest.mark.django_db
def test_a_guesser_behind_the_office_proxy_does_not_lock_out_known_browsers(
    client, technician, django_user_model
):
    from django.test import Client

    django_user_model.objects.create_user(username="second", password=GOOD)
    _sign_in_and_keep_device(client)
    guesser = Client()  # same address (127.0.0.1), as everyone behind one proxy is
    for i in range(20):
        assert _attempt(guesser, f"admin{i}", "wrong").status_code == 200
    assert _attempt(guesser, "tech", GOOD).status_code == 429  # the address is locked for unknown browsers
    assert _attempt(client, "second", GOOD).status_code == 429  # the device is known for tech only
    assert _attempt(client, "tech", GOOD).status_code == 302
    locks = AuditEntry.objects.filter(action="technician.login_locked")
    assert [e.parameters["limit"] for e in locks] == ["ip"]


@pytest.mark.django_db
def test_known_browser_keeps_the_username_limit_and_spends_no_address_budget(client, technician):
    from django.test import Client

    _sign_in_and_keep_device(client)
    for _ in range(4):
        assert _attempt(client, "tech", "wrong").status_code == 200
    other = Client()
    for i in range(19):  # the known browser's 4 failures were not counted for the address
        assert _attempt(other, f"user{i}", "wrong").status_code == 200
    assert _attempt(client, "Tech", "wrong").status_code == 200  # fifth failure for the username
    assert _attempt(client, "tech", GOOD).status_code == 429  # the username limit holds for a known browser


@pytest.mark.django_db
def test_forged_device_cookie_is_ignored(client, technician):
    from django.core import signing

    forged = signing.dumps([login_throttle._device_tag("tech")], salt="another-salt")
    client.cookies[login_throttle.DEVICE_COOKIE] = forged
    for i in range(20):
        _attempt(client, f"user{i}", "wrong")
    assert _attempt(client, "tech", GOOD).status_code == 429


def test_docker_compose_trusts_exactly_the_reverse_proxy():
    from pathlib import Path

    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    environment = compose["services"]["web"]["environment"]
    assert environment["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"
