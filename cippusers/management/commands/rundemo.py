"""``make run``: set everything up and serve the demo at http://127.0.0.1:8000.

Steps: migrate; seed the sandbox when its demo tenants are missing (``--reseed`` rebuilds it); create the
technician ``admin`` (password from DEMO_ADMIN_PASSWORD, else generated and printed once); wire the
sandbox partner connection; start the web server, a Celery worker and Celery beat; discover the demo
customer tenants over HTTP once the web server answers. Ctrl-C stops all of it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


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
        self._seed(options["reseed"])
        self._ensure_admin()
        from graph.sandbox.demo import wire_sandbox_connection

        base_url = f"http://{host}:{port}/sandbox"
        connection = wire_sandbox_connection(base_url)
        self.stdout.write(f"sandbox partner connection wired to {base_url}")
        if options["setup_only"]:
            return
        children = self._start_processes(host, port, with_worker=not options["no_worker"])
        try:
            self._wait_until_up(host, port, children)
            self._discover(connection)
            self.stdout.write(
                self.style.SUCCESS(f"cippusers demo ready at http://{host}:{port}/  (Ctrl-C stops)")
            )
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("a process stopped; shutting down the rest")
        except KeyboardInterrupt:
            self.stdout.write("\nstopping…")
        finally:
            self._stop(children)

    def _seed(self, reseed: bool) -> None:
        from graph.sandbox.models import SandboxTenant
        from graph.sandbox.seed import seed_demo

        if reseed or not SandboxTenant.objects.filter(is_partner=True).exists():
            tenants = seed_demo()
            self.stdout.write(f"sandbox seeded: {len(tenants)} tenants")
        else:
            self.stdout.write("sandbox already seeded (make run ARGS=--reseed rebuilds it)")

    def _ensure_admin(self) -> None:
        User = get_user_model()
        password = os.environ.get("DEMO_ADMIN_PASSWORD")
        user = User.objects.filter(username="admin").first()
        if user is None:
            generated = password is None
            password = password or secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", email="", password=password)
            shown = password if generated else "(from DEMO_ADMIN_PASSWORD)"
            self.stdout.write(self.style.WARNING(f"technician 'admin' created, password: {shown}"))
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write("technician 'admin' password set from DEMO_ADMIN_PASSWORD")
        else:
            self.stdout.write(
                "technician 'admin' exists; password unchanged (set DEMO_ADMIN_PASSWORD to reset it)"
            )

    def _start_processes(self, host: str, port: int, *, with_worker: bool) -> list[subprocess.Popen]:
        env = {**os.environ, "PORT": str(port), "SANDBOX_BASE_URL": f"http://{host}:{port}/sandbox"}
        python = sys.executable
        commands = [[python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]]
        if with_worker:
            # One embedded worker for every queue (production runs a pool per queue); "celery", the queue of
            # demos from before the queues were split, drains tasks still waiting in var/celery-broker.
            queues = ",".join([*settings.WORKER_QUEUES, "celery"])
            worker = [python, "-m", "celery", "-A", "cippusers", "worker", "-Q", queues]
            commands.append([*worker, "--loglevel=INFO", "--concurrency=2"])
            beat_schedule = str(settings.VAR_DIR / "celerybeat-schedule")
            commands.append(
                [python, "-m", "celery", "-A", "cippusers", "beat", "--loglevel=INFO", "-s", beat_schedule]
            )
        # Own process groups: Ctrl-C reaches us once and we stop each child cleanly.
        return [
            subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, start_new_session=True) for cmd in commands
        ]

    def _wait_until_up(self, host: str, port: int, children, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{host}:{port}/healthz"
        while time.monotonic() < deadline:
            if children[0].poll() is not None:
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

    def _stop(self, children) -> None:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
