"""``make run``: set everything up and serve the demo at http://127.0.0.1:8000.

Steps: migrate; seed the sandbox when its demo tenants are missing (``--reseed`` rebuilds it); create the
technician ``admin`` (password from DEMO_ADMIN_PASSWORD, else generated and printed once); wire the
sandbox partner connection; start the web server; discover the demo customer tenants over HTTP once it
answers and sync their directories (a full sync after a reseed, so users the new world no longer has go);
then start a Celery worker and Celery beat (their output goes to var/log/) and print the URL and the
credentials last. Ctrl-C, SIGTERM and SIGHUP stop every process it started (cippusers.demo_processes).
"""

from __future__ import annotations

import os
import secrets
import sys
import time
import urllib.request

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from cippusers.demo_processes import ProcessSupervisor, StopRequested


class Command(BaseCommand):
    help = "Set up the embedded demo (database, sandbox, admin, partner connection) and serve it."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--reseed", action="store_true", help="rebuild the sandbox demo tenants")
        parser.add_argument("--no-worker", action="store_true", help="do not start Celery worker and beat")
        parser.add_argument("--setup-only", action="store_true", help="prepare everything, serve nothing")

    def handle(self, *args, **options):
        if not settings.SANDBOX_ENABLED:
            raise CommandError(
                "rundemo needs the sandbox: unset DJANGO_ENV=production or set SANDBOX_ENABLED=true"
            )
        port, host = options["port"], options["host"]
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        reseeded = self._seed(options["reseed"])
        credentials = self._ensure_admin()
        from graph.sandbox.demo import wire_sandbox_connection

        base_url = f"http://{host}:{port}/sandbox"
        connection = wire_sandbox_connection(base_url)
        self.stdout.write(f"sandbox partner connection wired to {base_url}")
        if options["setup_only"]:
            self._print_access(None, credentials)
            return
        env = {**os.environ, "PORT": str(port), "SANDBOX_BASE_URL": base_url}
        failure = ""
        with ProcessSupervisor(settings.BASE_DIR, env) as processes:
            try:
                self._serve(processes, host, port, connection, options, full_sync=reseeded)
                self._print_access(f"http://{host}:{port}/", credentials)
                name, child = processes.wait_for_exit()
                failure = f"the {name} stopped (exit code {child.returncode})"
                if name in processes.logs:
                    failure += f"; its output is in {processes.logs[name]}"
                self.stderr.write(f"{failure}; stopping the rest")
            except StopRequested as stop:
                self.stdout.write(f"\n{stop} received: stopping the web server, worker and beat…")
        left = processes.alive()
        if left:
            self.stderr.write(f"processes still running after SIGKILL: {', '.join(map(str, left))}")
        else:
            self.stdout.write("stopped: nothing the demo started is still running")
        if failure:
            raise CommandError(failure)

    def _serve(self, processes, host: str, port: int, connection, options, *, full_sync: bool) -> None:
        python = sys.executable
        web = processes.start(
            "web server", [python, "manage.py", "runserver", f"{host}:{port}", "--noreload", "--skip-checks"]
        )
        self._wait_until_up(host, port, web)
        self._discover(connection)
        # Synced here, before "ready", so the table is full on first open; the worker and beat start after,
        # so the beat's first round finds the tenants freshly synced instead of racing this one.
        self._sync_tenants(connection, full=full_sync)
        if options["no_worker"]:
            return
        logs = settings.VAR_DIR / "log"
        # One embedded worker for every queue (production runs a pool per queue); "celery", the queue of
        # demos from before the queues were split, drains tasks still waiting in var/celery-broker.
        queues = ",".join([*settings.WORKER_QUEUES, "celery"])
        worker = [python, "-m", "celery", "-A", "cippusers", "worker", "-Q", queues]
        processes.start("worker", [*worker, "--loglevel=INFO", "--concurrency=2"], log=logs / "worker.log")
        beat_schedule = str(settings.VAR_DIR / "celerybeat-schedule")
        beat = [python, "-m", "celery", "-A", "cippusers", "beat", "--loglevel=INFO", "-s", beat_schedule]
        processes.start("beat", beat, log=logs / "beat.log")
        self.stdout.write(f"Celery worker and beat started (logs in {logs})")

    def _sync_tenants(self, connection, *, full: bool) -> None:
        from tenants.models import Tenant
        from users.sync import SyncAlreadyRunning, sync_tenant

        for tenant in Tenant.objects.filter(connection=connection, enabled=True).order_by("display_name"):
            try:
                result = sync_tenant(tenant, full=full)
            except SyncAlreadyRunning:
                self.stdout.write(
                    f"{tenant.display_name}: a sync is already running; its users appear when done"
                )
                continue
            if not result.ok:
                self.stderr.write(f"sync of {tenant.display_name} failed: {result.error}")
                continue
            removed = f", {result.removed} no longer in the tenant removed" if result.removed else ""
            self.stdout.write(
                f"synced {tenant.display_name}: {result.users} users ({result.kind} sync{removed})"
            )

    def _print_access(self, url: str | None, credentials: str) -> None:
        """The last lines of the start-up: where to go and how to sign in."""
        # The web server prints each request of the sync from its own process: let the last ones land
        # first, so nothing follows these lines until someone uses the demo.
        time.sleep(0.3)
        self.stdout.write("")
        if url:
            self.stdout.write(self.style.SUCCESS(f"cippusers demo ready at {url}  (Ctrl-C stops it)"))
        self.stdout.write(self.style.WARNING(credentials))

    def _seed(self, reseed: bool) -> bool:
        """True when the sandbox was (re)built now."""
        from graph.sandbox.models import SandboxTenant
        from graph.sandbox.seed import seed_demo

        if reseed or not SandboxTenant.objects.filter(is_partner=True).exists():
            tenants = seed_demo()
            self.stdout.write(f"sandbox seeded: {len(tenants)} tenants")
            return True
        self.stdout.write("sandbox already seeded (make run ARGS=--reseed rebuilds it)")
        return False

    def _ensure_admin(self) -> str:
        """Create or update the technician ``admin``; returns the sign-in line to print at the end."""
        User = get_user_model()
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or None  # set but empty counts as unset
        user = User.objects.filter(username="admin").first()
        if user is None:
            generated = password is None
            password = password or secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", email="", password=password)
            shown = password if generated else "(from DEMO_ADMIN_PASSWORD)"
            return f"sign in as admin, password: {shown}"
        if password:
            user.set_password(password)
            user.save(update_fields=["password"])
            return "sign in as admin, password: (from DEMO_ADMIN_PASSWORD)"
        return (
            "sign in as admin with the password printed when it was created "
            "(DEMO_ADMIN_PASSWORD=... make run sets a new one)"
        )

    def _wait_until_up(self, host: str, port: int, web, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{host}:{port}/healthz"
        while time.monotonic() < deadline:
            if web.poll() is not None:
                raise CommandError("the web server exited during start-up (is the port in use?)")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - fixed local URL
                    if response.status in (200, 503):
                        return
            except OSError:
                time.sleep(0.3)
        raise CommandError(f"the web server did not answer {url} within {timeout:.0f}s")

    def _discover(self, connection) -> None:
        from tenants.services import discover_customers

        try:
            summary = discover_customers(connection)
        except Exception as exc:  # noqa: BLE001 - the demo still serves; the page shows the error too
            self.stderr.write(f"tenant discovery failed: {exc}")
            return
        self.stdout.write(f"tenants discovered: {summary}")
