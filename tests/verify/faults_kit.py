"""Shared kit of the faults part: fault switches on the customer tenants, the tally the figures come from,
a fingerprint of a sandbox user's state (to tell "changed" from "unchanged"), and the checks every flow's
outcome goes through.

Oracle, per flow and target: success → the sandbox changed (the example's own check, else the fingerprint
differs); failure → the technician sees a message, and the state is unchanged unless that message says the
outcome is unknown (the answer of a write was lost). Anything else is ``wrong_state``. A Job left queued
or running is ``stuck``; a write carried out twice (two audit entries for one target, two TAPs, two users
for one row) is a ``duplicate``.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.forms.models import model_to_dict

# The rates of the mission's brief: 10 % throttling, 10 % 5xx, 5 % timeouts, 5 % dropped connections.
RATES = {"throttle_probability": 0.10, "fault_probability": 0.10, "timeout_probability": 0.05,
         "drop_probability": 0.05}  # fmt: skip
OFF = dict.fromkeys(RATES, 0.0)
# Words with which a failure tells the technician the write may have happened after all.
UNKNOWN_MARKERS = ("outcome unknown", "check whether", "may or may not", "may have been")


@dataclass
class Tally:
    flows: int = 0
    clear_failures: int = 0
    stuck_jobs: int = 0
    duplicates: int = 0
    wrong_state: int = 0
    injected: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def wrong(self, flow: str, what: str) -> None:
        self.wrong_state += 1
        self.problems.append(f"wrong state: {flow}: {what}")

    def duplicate(self, flow: str, what: str) -> None:
        self.duplicates += 1
        self.problems.append(f"duplicate: {flow}: {what}")


TALLY = Tally()


def says_unknown(message: str) -> bool:
    text = (message or "").lower()
    return any(marker in text for marker in UNKNOWN_MARKERS)


# A partial failure that names what was done and what was not ("Removed A, B. Could not remove C: ...").
PARTIAL_RE = re.compile(
    r"\b(removed|created|done|disabled|deleted|revoked)\b.*\b(could not|failed)\b", re.I | re.S
)


@contextlib.contextmanager
def faults(sandbox_tenants, seed: int, tally: Tally = TALLY):
    """Fault switches on for the customer tenants while the block runs; counts what the sandbox injected."""
    from graph.sandbox import switches

    switches.seed_random(seed)
    switches.reset_injected()
    customers = [t for t in sandbox_tenants if not t.is_partner]
    for tenant in customers:
        switches.set_switches(tenant.pk, **RATES)
    try:
        yield
    finally:
        for tenant in customers:
            switches.set_switches(tenant.pk, **OFF)
        for kind, count in switches.injected_counts().items():
            tally.injected[kind] += count


def finish_flow(flow: str, tally: Tally = TALLY) -> None:
    """Count the flow and any Job it left unfinished."""
    from users.models import Job

    tally.flows += 1
    stuck = list(Job.objects.exclude(status__in=Job.FINISHED).values_list("pk", "kind", "status"))
    for job in stuck:
        tally.stuck_jobs += 1
        tally.problems.append(f"stuck job: {flow}: {job}")
    # A stuck Job is counted once: mark it so the next flow of the same test does not count it again.
    if stuck:
        Job.objects.filter(pk__in=[j[0] for j in stuck]).update(status=Job.Status.FAILED)


def admin_client(django_user_model):
    from django.test import Client

    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username=f"admin-{uuid.uuid4().hex[:6]}", password="x")
    TechnicianProfile.objects.create(user=user, role="admin", scope=TechnicianProfile.Scope.ALL)
    client = Client()
    client.force_login(user)
    client.technician = user
    return client


def _rows(queryset, *exclude) -> list:
    return sorted(
        repr(sorted((k, v) for k, v in model_to_dict(o).items() if k not in exclude)) for o in queryset
    )


def fingerprint(sandbox_user) -> dict:
    """Everything the per-user actions can change about one sandbox user."""
    from graph.sandbox import models as m

    user = m.SandboxUser.objects.get(pk=sandbox_user.pk)
    state = {
        "user": repr(sorted(model_to_dict(user).items())),
        "licences": _rows(m.SandboxLicenseAssignment.objects.filter(user=user)),
        "groups": sorted(str(g) for g in user.group_memberships.values_list("group_id", flat=True)),
        "methods": _rows(m.SandboxAuthMethod.objects.filter(user=user)),
        "authentication": _rows(m.SandboxUserAuthentication.objects.filter(user=user)),
        "mailbox": _rows(m.SandboxMailbox.objects.filter(user=user)),
        "rules": _rows(m.SandboxInboxRule.objects.filter(mailbox__user=user)),
        "drive": _rows(m.SandboxDrive.objects.filter(user=user)),
        "drive_items": _rows(m.SandboxDriveItem.objects.filter(user=user)),
        "site_request": _rows(m.SandboxPersonalSiteRequest.objects.filter(user=user)),
        "grants": _rows(m.SandboxOAuth2PermissionGrant.objects.filter(principal=user)),
    }
    return state


def tap_count(sandbox_user) -> int:
    from graph.sandbox.models import SandboxAuthMethod

    return SandboxAuthMethod.objects.filter(
        user_id=sandbox_user.pk, method_type__icontains="temporaryAccessPass"
    ).count()


RESULT_RE = re.compile(
    r'data-result="(\w+)" data-user-id="([0-9a-f-]+)">.*?<p class="action-result-message">(.*?)</p>', re.S
)


def check_target(flow: str, status: str, message: str, changed: bool, check_ok: bool | None,
                 tally: Tally = TALLY) -> None:  # fmt: skip
    """The oracle for one target of one flow (see the module doc). ``check_ok`` is the example's own
    state check when it has one (None: rely on ``changed``)."""
    done = check_ok if check_ok is not None else changed
    if status in ("success", "accepted"):
        if not done:
            tally.wrong(flow, f"reported {status} but the sandbox did not change ({message[:160]!r})")
        return
    tally.clear_failures += 1
    if not message.strip():
        tally.wrong(flow, f"{status} without a message for the technician")
    elif changed and not (says_unknown(message) or PARTIAL_RE.search(message)):
        tally.wrong(flow, f"reported {status} ({message[:200]!r}) but the sandbox changed")
