"""``manage.py audit_verify``: walk the audit log's hash chain and name the first broken link.

Exit code 0 when every entry matches its hash and links to the one before it, 1 otherwise (so a
scheduled check or a monitoring job can alert on it).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from users.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit code 1 at the first broken link."

    def handle(self, *args, **options):
        checked, broken, why = verify_chain()
        if broken is None:
            self.stdout.write(self.style.SUCCESS(f"Audit log intact: {checked} entries verified."))
            return
        raise CommandError(
            f"Audit chain broken at entry {broken.id} ({broken.created_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"action {broken.action!r}): {why}. {checked} entries before it are intact.",
            returncode=1,
        )
