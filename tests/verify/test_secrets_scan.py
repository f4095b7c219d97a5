"""make verify, part secrets: after every flow that handles a secret has run through the web views against
the sandbox, no secret value is found anywhere the portal keeps anything.

The flows: add a user with a typed and with a generated password; reset a password and create a Temporary
Access Pass (per-user actions); a bulk import with a typed password and generated ones, downloaded once; a
partner connection created with a client secret, and the partner admin's consent (a refresh token); a
compromise research and its remediation (a password nobody sees); a technician's Entra ID sign-in.

Every secret is captured where it comes into being: typed ones as typed, generated passwords by wrapping
the generator (users.actions.passwords_gen) wherever it is used — which also catches the remediation's
password that no page shows — access tokens at the token provider, TAPs and one-time values from the
responses. Then every table (rows, and a pg_dump on PostgreSQL), the decoded session store, the cache,
all log records (DEBUG) and the audit log are searched (tests/secrets_scan.py).
"""

from __future__ import annotations

import csv
import html
import io
import logging
import re
import sys
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests import secrets_scan
from tests.actions.test_every_action import SECRET_RE, post
from tests.bulkadd.conftest import csv_bytes, user_rows
from tests.conftest import enable_sandbox_sso
from tests.tenants.test_connections import form_data
from tests.verify.hostile_world import build_world, seed_sandbox

# Kinds of secret the flows must produce; each must have been captured at least once, so a flow that
# silently stopped producing (or the capture that stopped seeing) one fails the part instead of passing.
KINDS = ("typed-add", "generated-add", "reset", "tap", "bulk-typed", "bulk-generated", "bulk-key",
         "client-secret", "refresh-token", "partner-password", "remediation", "oidc-code", "access-token")  # fmt: skip


class Secrets:
    def __init__(self):
        self.values: dict[str, str] = {}

    def add(self, kind: str, value: str) -> None:
        value = html.unescape(value or "").strip()
        assert value, f"empty {kind} secret"
        self.values.setdefault(value, kind)

    def kinds(self) -> set[str]:
        return set(self.values.values())

    def labelled(self) -> dict[str, str]:
        """{label: value}, labels like 'reset#2' (what a failure names; the value is never printed)."""
        counts: dict[str, int] = {}
        out = {}
        for value, kind in self.values.items():
            counts[kind] = counts.get(kind, 0) + 1
            out[f"{kind}#{counts[kind]}"] = value
        return out


def _spy_generators(monkeypatch, secrets: Secrets, kind: dict) -> None:
    """Wrap random_password/passphrase in every module that imported them: each generated password is
    recorded under the kind of the flow running at the time (kind["now"])."""
    from users.actions import passwords_gen

    for name in ("random_password", "passphrase"):
        real = getattr(passwords_gen, name)

        def spy(*args, _real=real, **kwargs):
            value = _real(*args, **kwargs)
            secrets.add(kind["now"], value)
            return value

        for module in list(sys.modules.values()):
            if getattr(module, name, None) is real:
                monkeypatch.setattr(module, name, spy)


def _spy_tokens(monkeypatch, secrets: Secrets) -> None:
    from graph import tokens

    real = tokens.TokenProvider.get_token

    def get_token(self, *args, **kwargs):
        token = real(self, *args, **kwargs)
        secrets.add("access-token", token)
        return token

    monkeypatch.setattr(tokens.TokenProvider, "get_token", get_token)


def _sandbox_sign_in(client: Client, start_location: str, username: str, password: str) -> tuple[str, dict]:
    """The browser at the (sandbox) identity platform: its sign-in form, then back to our callback."""
    authorize = urlsplit(start_location)
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    signed = client.post(authorize.path, {**params, "username": username, "password": password})
    assert signed.status_code == 302, signed.content[:500]
    callback = urlsplit(signed["Location"])
    return callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()}


def _member(tenant, *, skip: int = 0):
    """A licensed, enabled cloud member without admin roles (what reset and TAP examples use)."""
    from graph.sandbox.models import SandboxUser
    from users.models import DirectoryUser

    users = [u for u in SandboxUser.objects.filter(
        tenant_id=tenant.tenant_id, deleted_datetime__isnull=True, account_enabled=True, user_type="Member",
        role_memberships__isnull=True).order_by("created_datetime", "id")
        if not u.properties.get("onPremisesSyncEnabled") and u.properties.get("assignedLicenses")]  # fmt: skip
    return DirectoryUser.objects.get(tenant=tenant, user_id=users[skip].pk)


def _secret_shown(response) -> str:
    found = SECRET_RE.findall(response.content.decode()) or re.findall(
        r"data-secret>([^<]+)<", response.content.decode()
    )
    assert found, response.content.decode()[:2000]
    return found[0]


# Committed (transaction=True), so the pg_dump of the database — another connection — sees every row.
@pytest.mark.django_db(transaction=True)
def test_no_secret_is_stored_logged_or_cached(monkeypatch, caplog, settings, django_capture_on_commit_callbacks,
                                               figure):  # fmt: skip
    from graph.sandbox.seed import DEFAULT_ADMIN_PASSWORD, partner_admin
    from tenants.models import PartnerConnection, TechnicianProfile
    from users.models import AuditEntry, BulkImport

    caplog.set_level(logging.DEBUG)  # root at DEBUG; msal/urllib3 keep the levels production gives them
    secrets, kind = Secrets(), {"now": "generated-add"}
    _spy_generators(monkeypatch, secrets, kind)
    _spy_tokens(monkeypatch, secrets)
    _sandbox, connection = seed_sandbox()
    world = build_world(connection, research=False)
    admin = world.client()
    northwind = world.tenants["Northwind Traders"]
    secrets.add("client-secret", connection.client_secret)  # the demo app's secret, stored encrypted

    # Partner admin consent on the sandbox connection: a typed password there, a refresh token here.
    start = admin.post(reverse("tenants:connection-consent", args=[connection.pk]))
    secrets.add("partner-password", DEFAULT_ADMIN_PASSWORD)
    path, query = _sandbox_sign_in(
        Client(), start["Location"], partner_admin().upn_lower, DEFAULT_ADMIN_PASSWORD
    )
    admin.get(path, query)
    connection.refresh_from_db()
    secrets.add("refresh-token", connection.refresh_token)
    secrets.add("oidc-code", query["code"])  # the partner's authorization code: one-time, still secret

    # A new partner connection typed with a client secret.
    typed_secret = f"Client~{uuid.uuid4().hex}"
    secrets.add("client-secret", typed_secret)
    created = admin.post(
        reverse("tenants:connection-create"), form_data(name="Scan", client_secret=typed_secret)
    )
    assert (
        created.status_code == 302
        and PartnerConnection.objects.get(name="Scan").client_secret == typed_secret
    )

    # Add user: typed password, then generated.
    typed = f"Typed-{uuid.uuid4().hex[:10]}!A"
    secrets.add("typed-add", typed)
    base = {"tenant": str(northwind.tenant_id), "given_name": "Scan", "surname": "Person", "domain":
            northwind.default_domain, "aliases": "", "usage_location": "NL", "city": "Utrecht"}  # fmt: skip
    added = admin.post("/users/add/", {**base, "display_name": "Scan Typed", "username": "scan.typed",
                                       "password_mode": "manual", "password": typed})  # fmt: skip
    assert added.status_code == 200 and typed in added.content.decode()
    kind["now"] = "generated-add"
    added = admin.post("/users/add/", {**base, "display_name": "Scan Gen", "username": "scan.generated",
                                       "password_mode": "generate"})  # fmt: skip
    assert added.status_code == 200, added.content.decode()[:2000]
    secrets.add("generated-add", _secret_shown(added))

    # Per-user actions: reset password, create a TAP.
    from users.actions import registry

    kind["now"] = "reset"
    with django_capture_on_commit_callbacks(execute=True):
        reset = post(
            admin, registry.get("reset-password"), [_member(northwind)], {"style": "random", "length": "16"}
        )
    secrets.add("reset", _secret_shown(reset))
    with django_capture_on_commit_callbacks(execute=True):
        tap = post(admin, registry.get("create-tap"), [_member(northwind, skip=1)],
                   {"lifetime_minutes": "120", "one_time": "on"})  # fmt: skip
    secrets.add("tap", _secret_shown(tap))

    # Bulk import: three rows, one with a typed password; run, show, download once.
    kind["now"] = "bulk-generated"
    rows = user_rows(3, northwind.default_domain)
    bulk_typed = f"Bulk-{uuid.uuid4().hex[:10]}!Q"
    rows[0]["password"] = bulk_typed
    secrets.add("bulk-typed", bulk_typed)
    upload = admin.post(reverse("users:bulk-add-upload"), {
        "tenant": str(northwind.tenant_id), "kind": "users",
        "file": SimpleUploadedFile("scan.csv", csv_bytes(rows, header=[*rows[1], "password"]), "text/csv"),
    })  # fmt: skip
    bulk = BulkImport.objects.filter(tenant=northwind).latest("id")
    secrets.add("bulk-key", upload.cookies[f"bulkadd_key_{bulk.pk}"].value)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("users:bulk-add-run", args=[bulk.pk]))
    bulk.refresh_from_db()
    assert bulk.job.succeeded == 3, bulk.job.status
    assert bulk_typed in admin.get(reverse("users:bulk-add-results", args=[bulk.pk])).content.decode()
    download = admin.post(reverse("users:bulk-add-passwords", args=[bulk.pk]))
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    for line in table[1:]:
        secrets.add("bulk-typed" if line[2] == bulk_typed else "bulk-generated", line[2])

    # Compromise research, then remediation with a password reset nobody sees.
    kind["now"] = "remediation"
    user = world.user
    with django_capture_on_commit_callbacks(execute=True):
        ran = admin.post(
            reverse("users:research-run", args=[world.tenant.slug, user.user_id]), {"window_days": "7"}
        )
    assert ran.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        fixed = admin.post(reverse("users:research-remediate", args=[world.tenant.slug, user.user_id]),
                           {"steps": ["reset-password", "revoke-sessions"], "rules_mode": "suspicious"})  # fmt: skip
    assert fixed.status_code == 302

    # A technician signs in with Entra ID (the sandbox identity platform).
    sso = enable_sandbox_sso(settings)
    from django.contrib.auth import get_user_model

    sso_tech = get_user_model().objects.create_user(username=sso.upn_lower, password=None)
    TechnicianProfile.objects.create(user=sso_tech, role="reader", scope="all")
    browser = Client()
    start = browser.get("/login/entra/")
    path, query = _sandbox_sign_in(Client(), start["Location"], sso.upn_lower, DEFAULT_ADMIN_PASSWORD)
    assert browser.get(path, query).status_code == 302 and "_auth_user_id" in browser.session
    secrets.add("oidc-code", query["code"])

    # --- the scan -----------------------------------------------------------------------------------------
    missing = set(KINDS) - secrets.kinds()
    assert not missing, f"flows produced no secret of kind {sorted(missing)}"
    places = {f"table {t}": text for t, text in secrets_scan.database_text().items()}
    dump = secrets_scan.pg_dump_text()
    if dump is not None:
        places["pg_dump"] = dump
    places["sessions"] = secrets_scan.sessions_text()
    places["cache"] = secrets_scan.cache_text()
    places.update(secrets_scan.logs_text(caplog.records))
    places["audit"] = "\n".join(
        f"{e.parameters} {e.message} {e.target_upn}" for e in AuditEntry.objects.all()
    )
    # The scan can see: the places hold what the flows wrote (new users, the audit trail, log lines).
    assert "scan.typed@" in places["table users_directoryuser"] and places["audit"]
    assert any(name.startswith("log graph.") for name in places), "no Graph request was logged"
    assert places["sessions"] and places["cache"], "nothing in the session store or the cache to search"
    found = secrets_scan.leaks(secrets.labelled(), places)
    tables = sum(1 for name in places if name.startswith("table "))
    searched = f"{tables} tables{', pg_dump' if dump is not None else ''}, sessions, cache, logs, audit"

    figure("secrets.values_checked", len(secrets.values), "values", at_least=len(KINDS),
           detail=f"{len(KINDS)} kinds of secret, {len(places)} places searched")  # fmt: skip
    figure("secrets.found_in_storage", len(found), must_be=0,
           detail="; ".join(found[:3]) or searched)  # fmt: skip
    assert not found, found
