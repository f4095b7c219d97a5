"""Throttling the technician password sign-in (the ``login`` URL).

Failed attempts are counted in Django's cache (Redis in production, so every web worker shares the
counters; local memory in development and tests) in fixed windows of LOGIN_LOCKOUT_MINUTES: one counter
per username (LOGIN_FAILURES_PER_USERNAME, default 5) and one per client address (LOGIN_FAILURES_PER_IP,
default 20, against one address trying many names). Once a counter has reached its limit, every further
attempt in that window is refused with HTTP 429 *before* the password is looked at: the right password is
refused too, and a refused attempt costs no password hash, so the answer says nothing about the password.
A successful sign-in clears its username's counter (not the address's: one good account must not reset
the budget of an address that is guessing others).

The username counter is keyed on the name Django authenticates: the form strips it and applies NFKC
(``UsernameField``), then case-folded, because technician usernames are unique regardless of case
(tenants/technician_forms.py) — so "Tech", "TECH" and fullwidth "ｔｅｃｈ" spend one budget.

Many technicians share one address behind an office NAT or a proxy, so the address limit must not lock
them all out because of one guesser (or a few typos each). A browser that has signed in successfully
carries a signed "known device" cookie naming (as a hash) the usernames it signed in as (OWASP's device
cookies): an attempt for one of those usernames from that browser neither counts towards nor is refused
by the address limit — only by its username's. Everyone else behind a locked address waits for the window
to end (or signs in with Microsoft). A guesser cannot forge the cookie (signed with SECRET_KEY), and a
stolen one only exempts that one username, which keeps its own limit of 5.

The lock's beginning is logged and written to the audit log (username, address, which limit) — never the
password. Refused attempts after that are only logged at DEBUG, so an attacker cannot flood the audit log.

Sign-in with Microsoft Entra ID (tenants/oidc.py) is not throttled here: the password is checked by
Microsoft, whose smart lockout and sign-in risk policies apply there, and our callback only redeems a
one-time code bound to the session's state, nonce and PKCE verifier.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core import signing
from django.core.cache import cache
from django.forms.utils import ErrorDict

from cippusers import client_address
from users import audit

logger = logging.getLogger(__name__)

_PREFIX = "login-throttle"
DEVICE_COOKIE = "cippusers_known_device"
DEVICE_COOKIE_DAYS = 30
DEVICE_COOKIE_NAMES = 5  # usernames remembered per browser (a shared jump host), most recent first
_DEVICE_SALT = "tenants.login_throttle.known-device"


def window_seconds() -> int:
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def client_ip(request) -> str:
    """The address the per-address limit counts (cippusers/client_address.py), "unknown" when none."""
    return client_address.client_ip(request) or "unknown"


def normalised_username(username: str) -> str:
    """The username as Django authenticates it (CharField strips it, UsernameField applies NFKC unless it is
    longer than the field allows, as Django skips it then), case-folded."""
    value = str(username or "").strip()
    model = get_user_model()
    max_length = model._meta.get_field(model.USERNAME_FIELD).max_length or 254  # AuthenticationForm's default
    if len(value) <= max_length:
        value = unicodedata.normalize("NFKC", value)
    return value.casefold()


def _device_tag(name: str) -> str:
    return hashlib.sha256(f"device:{name}".encode()).hexdigest()[:24]


def known_device_tags(request) -> list[str]:
    """The usernames (as tags) this browser has signed in as, from its signed cookie; [] when absent or forged."""
    try:
        tags = signing.loads(
            request.COOKIES.get(DEVICE_COOKIE, ""), salt=_DEVICE_SALT, max_age=DEVICE_COOKIE_DAYS * 86400
        )
    except signing.BadSignature:
        return []
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def is_known_device(request, username: str) -> bool:
    name = normalised_username(username)
    return bool(name) and _device_tag(name) in known_device_tags(request)


def remember_device(request, response, username: str) -> None:
    """After a successful sign-in: this browser is known for this username (kept first, at most five)."""
    name = normalised_username(username)
    if not name:
        return
    tag = _device_tag(name)
    tags = [tag] + [t for t in known_device_tags(request) if t != tag]
    response.set_cookie(
        DEVICE_COOKIE, signing.dumps(tags[:DEVICE_COOKIE_NAMES], salt=_DEVICE_SALT),
        max_age=DEVICE_COOKIE_DAYS * 86400, path=request.path, secure=settings.SESSION_COOKIE_SECURE,
        httponly=True, samesite="Lax",
    )  # fmt: skip


@dataclass(frozen=True)
class Counter:
    scope: str  # "username" or "ip"
    subject: str  # the normalised username or the address, for messages and the audit log
    limit: int

    @property
    def key(self) -> str:
        # Hashed: a username is user input of any length and any characters, a cache key is not.
        digest = hashlib.sha256(f"{self.scope}:{self.subject}".encode()).hexdigest()
        return f"{_PREFIX}:{digest}"

    @property
    def started_key(self) -> str:
        return self.key + ":started"


def counters(username: str, ip: str, *, known_device: bool = False) -> list[Counter]:
    """The counters an attempt is checked against and counted in; a known device skips the address's."""
    found = [] if known_device else [Counter("ip", ip, settings.LOGIN_FAILURES_PER_IP)]
    name = normalised_username(username)
    if name:
        found.insert(0, Counter("username", name, settings.LOGIN_FAILURES_PER_USERNAME))
    return found


def locked_for(username: str, ip: str, *, known_device: bool = False) -> int:
    """Seconds left in the window of the first counter that has reached its limit; 0 when none has."""
    checked = counters(username, ip, known_device=known_device)
    values = cache.get_many([c.key for c in checked])
    for counter in checked:
        if values.get(counter.key, 0) >= counter.limit:
            started = cache.get(counter.started_key) or time.time()
            return max(1, int(started + window_seconds() - time.time()))
    return 0


def register_failure(username: str, ip: str, *, known_device: bool = False) -> list[Counter]:
    """Count one failed attempt; returns the counters this attempt brought to their limit."""
    reached = []
    window = window_seconds()
    for counter in counters(username, ip, known_device=known_device):
        # add() only sets a missing key: the first failure opens the window, later ones do not extend it.
        cache.add(counter.started_key, time.time(), window)
        cache.add(counter.key, 0, window)
        try:
            count = cache.incr(counter.key)
        except ValueError:  # the window expired between add() and incr(): this failure opens a new one
            cache.set(counter.started_key, time.time(), window)
            cache.set(counter.key, 1, window)
            count = 1
        if count == counter.limit:
            reached.append(counter)
    return reached


def clear_username(username: str) -> None:
    for counter in counters(username, "-"):
        if counter.scope == "username":
            cache.delete_many([counter.key, counter.started_key])


def refusal_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


class ThrottledLoginView(auth_views.LoginView):
    """Django's LoginView with the limits above."""

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        ip = client_ip(request)
        seconds = locked_for(username, ip, known_device=is_known_device(request, username))
        if seconds:
            logger.debug("Sign-in refused: throttled (address %s)", ip)
            form = self.get_form()
            # Set the errors directly: form.errors / is_valid() would run clean(), i.e. check the password.
            form._errors = ErrorDict(
                {"__all__": form.error_class([refusal_message(seconds)], error_class="nonfield")}
            )
            form.cleaned_data = {}
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username = self.request.POST.get("username", "")
        ip = client_ip(self.request)
        known = is_known_device(self.request, username)
        for counter in register_failure(username, ip, known_device=known):
            minutes = settings.LOGIN_LOCKOUT_MINUTES
            logger.warning(
                "Sign-in locked for %s minutes after %s failed attempts for %s %s",
                minutes, counter.limit, counter.scope, counter.subject if counter.scope == "ip" else repr(username),
            )  # fmt: skip
            audit.record(
                self.request, tenant=None, target=None, action="technician.login_locked",
                parameters={"username": username[:150], "limit": counter.scope, "failures": counter.limit,
                            "minutes": minutes},
                result="failed",
                message=f"{counter.limit} failed sign-ins for this {counter.scope}; further attempts are refused "
                        f"for {minutes} minutes.",
            )  # fmt: skip
        return super().form_invalid(form)

    def form_valid(self, form):
        username = self.request.POST.get("username", "")
        clear_username(username)
        response = super().form_valid(form)
        remember_device(self.request, response, username)
        return response
