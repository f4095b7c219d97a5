"""make verify, part access: the password sign-in is rate-limited.

Drives the real ``login`` URL through Django's test client: wrong passwords for one username until the
form stops answering, then the right password inside the window. Records how many wrong attempts were
answered normally (the limit as measured, not as configured) and whether the lock held."""

from __future__ import annotations

import pytest
from django.urls import reverse

GOOD = "correct-horse-battery"


@pytest.mark.django_db
def test_login_is_rate_limited(client, technician, settings, figure):
    limit = settings.LOGIN_FAILURES_PER_USERNAME
    answered = 0
    status = 200
    # Up to twice the limit: a missing lock shows as "answered" growing past the limit, not as a hang.
    for _ in range(2 * limit):
        status = client.post(reverse("login"), {"username": "tech", "password": "wrong"}).status_code
        if status != 200:
            break
        answered += 1
    right_password = client.post(reverse("login"), {"username": "tech", "password": GOOD})
    locked = status == 429 and right_password.status_code == 429 and "_auth_user_id" not in client.session

    figure("access.login_attempts_before_lock", answered, "attempts", must_be=5,
           detail="wrong passwords for one username answered before HTTP 429")  # fmt: skip
    figure("access.login_rate_limited", int(locked), must_be=1,
           detail="attempt after the limit is 429, and so is the right password in the window")  # fmt: skip
    assert answered == 5 == limit
    assert locked
    assert "Too many failed sign-ins" in right_password.content.decode()
