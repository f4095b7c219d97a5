"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's live_server.

Never a downloaded browser: the tests skip, with the reason, when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM would otherwise refuse to be
# called from it ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is not installed (apt install chromium); browser tests need Debian's Chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleWatch:
    """Collects what the page reports: CSP violations and uncaught errors fail the test."""

    def __init__(self, page):
        self.csp: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp.append(message.text)

    def assert_clean(self):
        assert self.csp == [], f"CSP violations: {self.csp}"
        assert self.errors == [], f"page errors: {self.errors}"


@pytest.fixture
def browser_page(chromium, live_server):
    context = chromium.new_context(
        base_url=live_server.url, color_scheme="light", viewport={"width": 1400, "height": 800}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console_watch = ConsoleWatch(page)
    yield page
    context.close()


@pytest.fixture
def seeded(transactional_db, django_user_model):
    from django.utils import timezone

    from tenants.models import PartnerConnection, TechnicianProfile, Tenant, TenantDomain

    technician = django_user_model.objects.create_user(username="tech", password=PASSWORD)
    TechnicianProfile.objects.create(
        user=technician, role=TechnicianProfile.Role.ADMIN, scope=TechnicianProfile.Scope.ALL
    )
    connection = PartnerConnection.objects.create(
        name="Contoso Partner", partner_tenant_id=uuid.uuid4(), client_id=uuid.uuid4(), client_secret="x"
    )
    rows = {}
    for name, domain, extra in (
        ("Fabrikam Inc", "fabrikam.com", {"has_entra_p2": True, "has_exchange": True}),
        ("Northwind Traders", "northwindtraders.com", {"kind": Tenant.Kind.SANDBOX, "has_hybrid_sync": True}),
        (
            "Tailspin Toys",
            "tailspintoys.com",
            {
                "last_sync_status": Tenant.SyncStatus.FAILED,
                "last_sync_error": "AADSTS50020: user account does not exist in tenant",
            },
        ),
        ("Adatum Corporation", "adatum.com", {"enabled": False}),
    ):
        if "has_entra_p2" in extra or "has_hybrid_sync" in extra:
            extra = {
                **extra,
                "capabilities_checked_at": timezone.now(),
                "last_sync_status": Tenant.SyncStatus.OK,
                "last_sync_at": timezone.now(),
            }
        tenant = Tenant.objects.create(
            tenant_id=uuid.uuid4(), connection=connection, display_name=name, default_domain=domain, **extra
        )
        TenantDomain.objects.create(tenant=tenant, name=domain, is_default=True)
        TenantDomain.objects.create(
            tenant=tenant, name=domain.split(".")[0] + ".onmicrosoft.com", is_initial=True
        )
        rows[name] = tenant
    return {"technician": technician, "connection": connection, "tenants": rows}


def log_in(page, username="tech", password=PASSWORD):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/tenants/")
