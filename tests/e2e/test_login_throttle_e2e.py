"""Sign-in throttling in a real browser: wrong passwords, then the lock message on the form, and the right
password refused until the window ends (tenants/login_throttle.py)."""

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD

pytestmark = [pytest.mark.e2e]


def _attempt(page, password):
    page.goto("/login/")
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_repeated_wrong_passwords_lock_the_username_with_a_message(browser_page, seeded, settings):
    page = browser_page
    for _ in range(settings.LOGIN_FAILURES_PER_USERNAME):
        _attempt(page, "wrong-password")
        expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    _attempt(page, PASSWORD)
    expect(page.get_by_text("Too many failed sign-ins")).to_be_visible()
    assert "/login/" in page.url  # still on the form: the right password did not get in
    page.console_watch.assert_clean()
