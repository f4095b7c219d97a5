"""``manage.py sandbox_seed``: build (or rebuild) the sandbox world.

    manage.py sandbox_seed                          partner + the three demo customers
    manage.py sandbox_seed --tenants 3 --users 5000 partner + 3 load-test customers of 5,000 users
    manage.py sandbox_seed --reset                  wipe every sandbox tenant first
    manage.py sandbox_seed --list                   print the tenants as JSON, change nothing

The partner admin is admin@contosomsp.onmicrosoft.com; its password comes from the environment variable
SANDBOX_ADMIN_PASSWORD, or is the documented demo default "Sandbox-Demo-2026!". Other seeded users have no
usable password.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from graph.sandbox.seed import demo_summary, seed_demo, wipe_tenants

MAX_TENANTS = 500
MAX_USERS = 1_000_000


def _bounded(name: str, value: int | None, maximum: int) -> None:
    if value is not None and not 1 <= value <= maximum:
        raise CommandError(f"--{name} must be between 1 and {maximum:,}")


class Command(BaseCommand):
    help = "Seed the sandbox with a partner tenant and customer tenants (deterministic, idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenants", type=int, help="number of load-test customer tenants (with --users)")
        parser.add_argument("--users", type=int, help="users per load-test customer tenant (with --tenants)")
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; same seed, same ids (default 1)"
        )
        parser.add_argument("--reset", action="store_true", help="delete every sandbox tenant first")
        parser.add_argument("--list", action="store_true", help="print the sandbox tenants as JSON and exit")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            self.stdout.write(json.dumps(demo_summary(), indent=2))
            return
        tenants, users = options["tenants"], options["users"]
        if (tenants is None) != (users is None):
            raise CommandError("--tenants and --users go together, e.g. --tenants 1 --users 100000")
        _bounded("tenants", tenants, MAX_TENANTS)
        _bounded("users", users, MAX_USERS)
        started = time.monotonic()
        if options["reset"]:
            wipe_tenants()
        seeded = seed_demo(tenants=tenants, users=users, seed=options["seed"])
        elapsed = time.monotonic() - started
        by_id = {row["tenant_id"]: row for row in demo_summary()}
        for tenant in seeded:
            row = by_id[str(tenant.pk)]
            role = "partner" if row["is_partner"] else "customer"
            self.stdout.write(
                f"  {row['display_name']} ({row['default_domain']}, {role}): {row['user_count']:,} users"
            )
        total = sum(by_id[str(t.pk)]["user_count"] for t in seeded)
        self.stdout.write(
            self.style.SUCCESS(f"Seeded {len(seeded)} tenants, {total:,} users in {elapsed:.1f}s")
        )
