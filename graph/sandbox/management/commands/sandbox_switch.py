"""``manage.py sandbox_switch <tenant> --latency-ms 50 --throttle-probability 0.1 ...``

Sets a sandbox tenant's switches (tenant = GUID or verified domain) for benchmarks and manual tests, with
the same validation as the sandbox admin page. Options not given keep their current values.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from graph.sandbox.identity import find_tenant
from graph.sandbox.switches import SwitchError, expire_delta_tokens, set_switches


class Command(BaseCommand):
    help = "Set latency, throttling, fault, timeout and drop switches of a sandbox tenant."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="tenant GUID or verified domain")
        parser.add_argument("--latency-ms", type=int, dest="latency_ms")
        parser.add_argument(
            "--throttle-limit", type=int, dest="throttle_limit", help="requests per window (0 = off)"
        )
        parser.add_argument("--throttle-window-seconds", type=int, dest="throttle_window_seconds")
        parser.add_argument("--throttle-probability", type=float, dest="throttle_probability")
        parser.add_argument("--fault-probability", type=float, dest="fault_probability")
        parser.add_argument(
            "--timeout-probability",
            type=float,
            dest="timeout_probability",
            help="answers past the read timeout",
        )
        parser.add_argument(
            "--drop-probability", type=float, dest="drop_probability", help="dropped connections"
        )
        parser.add_argument(
            "--expire-delta-tokens", action="store_true", help="make existing delta tokens 410"
        )
        parser.add_argument("--reset", action="store_true", help="turn every switch off first")

    def handle(self, *args, **options):
        tenant = find_tenant(options["tenant"])
        if tenant is None:
            raise CommandError(f"No sandbox tenant has the id or verified domain '{options['tenant']}'.")
        names = (
            "latency_ms",
            "throttle_limit",
            "throttle_window_seconds",
            "throttle_probability",
            "fault_probability",
            "timeout_probability",
            "drop_probability",
        )
        values = {name: options[name] for name in names if options[name] is not None}
        if options["reset"]:
            values = {
                "latency_ms": 0,
                "throttle_limit": 0,
                "throttle_probability": 0.0,
                "fault_probability": 0.0,
                "timeout_probability": 0.0,
                "drop_probability": 0.0,
            } | values
        try:
            tenant = set_switches(tenant.pk, **values)
        except SwitchError as exc:
            raise CommandError(f"Invalid switches: {exc}") from exc
        if options["expire_delta_tokens"]:
            expire_delta_tokens(tenant)
        summary = ", ".join(f"{name}={getattr(tenant, name)}" for name in names)
        self.stdout.write(f"{tenant.display_name} ({tenant.pk}): {summary}")
