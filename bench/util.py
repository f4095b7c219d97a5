"""Helpers the benchmarks share: the database, the seeded sandbox world, the sandbox over real HTTP,
request counting, memory figures and percentiles.

Seeding 100,000 sandbox users takes a minute or two, so a world already in the bench database with the
right size is reused; the seed itself runs in a child process (``manage.py sandbox_seed``) so its memory
high-water mark never pollutes the benchmark process's ``ru_maxrss``.
"""

from __future__ import annotations

import math
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from .harness import ROOT, SandboxServer

_migrated = False

# The load-test tenants of seed_demo(tenants=M, users=N) are named "Load Test Tenant 001" ...; each has N
# people plus two shared mailboxes (which are users too).
LOAD_TENANT_NAME = "Load Test Tenant {number:03d}"
SHARED_MAILBOXES_PER_LOAD_TENANT = 2
LATENCY_MS = 50


def migrate() -> None:
    """Bring the bench database's schema up to date (once per process)."""
    global _migrated
    if not _migrated:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        _migrated = True


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """The environment for gunicorn and child processes: the same database and settings as this one."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --- the sandbox world -------------------------------------------------------------------------------


def load_tenants(count: int) -> list[dict]:
    """demo_summary() rows of the first ``count`` load-test tenants, in order (missing ones left out)."""
    from graph.sandbox.seed import demo_summary

    by_name = {row["display_name"]: row for row in demo_summary() if not row["is_partner"]}
    names = [LOAD_TENANT_NAME.format(number=i + 1) for i in range(count)]
    return [by_name[name] for name in names if name in by_name]


def ensure_sandbox_world(tenants: int, users: int) -> list[dict]:
    """A sandbox with a partner and ``tenants`` load-test customers of ``users`` people each: reused when
    the bench database already holds it, seeded otherwise. Returns their demo_summary() rows.

    The delta benchmark creates as many users as it soft-deletes, so its runs keep the count; a world a
    few users off (an interrupted delta run) is still the right size for these figures."""
    from graph.sandbox.seed import partner_admin

    migrate()
    expected = users + SHARED_MAILBOXES_PER_LOAD_TENANT
    rows = load_tenants(tenants)
    if (
        partner_admin() is not None
        and len(rows) == tenants
        and all(abs(row["user_count"] - expected) <= 10 for row in rows)
    ):
        log(f"reusing the seeded sandbox world ({tenants} x {users} users)")
        return rows
    log(f"seeding the sandbox: {tenants} tenant(s) x {users} users (once; later runs reuse it)")
    subprocess.run(
        [sys.executable, "manage.py", "sandbox_seed", "--tenants", str(tenants), "--users", str(users)],
        cwd=ROOT,
        env=child_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    rows = load_tenants(tenants)
    if len(rows) != tenants:
        raise RuntimeError(f"seeding produced {len(rows)} load-test tenants, expected {tenants}")
    return rows


@contextmanager
def sandbox_server() -> Iterator[SandboxServer]:
    """gunicorn serving the app (and so the sandbox) on loopback, with the demo partner connection
    pointing at it."""
    from graph.sandbox.demo import wire_sandbox_connection

    with SandboxServer(child_env()) as server:
        wire_sandbox_connection(f"{server.base_url}/sandbox")
        yield server


def customer_tenant(sandbox_tenant_id: str):
    """The app's Tenant row for a sandbox customer, discovering the partner's customers when missing."""
    from graph.sandbox.demo import DEMO_CONNECTION_NAME
    from tenants.models import PartnerConnection, Tenant
    from tenants.services import discover_customers

    tenant = Tenant.objects.filter(tenant_id=sandbox_tenant_id).select_related("connection").first()
    if tenant is None:
        discover_customers(PartnerConnection.objects.get(name=DEMO_CONNECTION_NAME))
        tenant = Tenant.objects.select_related("connection").get(tenant_id=sandbox_tenant_id)
    return tenant


def add_latency(sandbox_tenant_id: str, latency_ms: int = LATENCY_MS) -> None:
    from graph.sandbox.switches import set_switches

    set_switches(
        sandbox_tenant_id,
        latency_ms=latency_ms,
        throttle_limit=0,
        throttle_probability=0,
        fault_probability=0,
    )


# --- counting Graph requests -----------------------------------------------------------------------


class RequestCounter:
    """A requests response hook counting the HTTP requests sent under one URL prefix (retries included,
    each attempt is a response). Thread-safe: the sync's prefetch thread sends through the same session."""

    def __init__(self, prefix: str) -> None:
        parts = urlsplit(prefix)
        self.netloc, self.path = parts.netloc, parts.path
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, response, *args, **kwargs):
        url = urlsplit(response.request.url)
        if url.netloc == self.netloc and url.path.startswith(self.path):
            with self._lock:
                self.count += 1
        return response

    def install(self, session) -> RequestCounter:
        session.hooks["response"].append(self)
        return self


# --- figures ---------------------------------------------------------------------------------------


def max_rss_mb() -> float:
    """The process's peak resident set so far (Linux reports ru_maxrss in KiB).

    Caveat: a child started with vfork+exec (subprocess does) inherits the parent's high-water mark in
    ru_maxrss, so a child's figure can be the parent's; ``PeakRss`` below does not have that flaw."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


class PeakRss:
    """Peak resident set of a stretch of code: the kernel's high-water mark (VmHWM) is reset when the
    stretch starts (``/proc/self/clear_refs``), so the figure is this stretch's peak, not any earlier
    one, minus the resident set it started from."""

    def __enter__(self) -> PeakRss:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")  # reset the peak RSS to the current RSS
        self.start_mb = _status_mb("VmRSS")
        self.rusage_start_mb = max_rss_mb()
        return self

    def __exit__(self, *exc) -> None:
        self.peak_mb = _status_mb("VmHWM")
        self.delta_mb = self.peak_mb - self.start_mb
        self.rusage_delta_mb = max_rss_mb() - self.rusage_start_mb


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is one that was measured)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def rounded(value: float, digits: int = 1) -> float:
    return round(value, digits)
