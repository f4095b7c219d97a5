"""The mission's flows driven through the web views as a technician would, each checked against the sandbox
with the oracle of faults_kit: add user, every registered action, bulk add and research + remediation."""

from __future__ import annotations

import html
import re
import uuid

from django.urls import reverse

from .faults_kit import (
    RESULT_RE,
    TALLY,
    check_target,
    faults,
    fingerprint,
    finish_flow,
    says_unknown,
    tap_count,
)

STEP_RE = re.compile(
    r'data-step="([\w:-]+)" data-status="(\w+)">.*?<p class="uf-step-message">(.*?)</p>', re.S
)


# --- add user -----------------------------------------------------------------------------------------------


def add_user(client, tenant, sandbox_tenant, seed: int, group, sku) -> None:
    """Add one user with a licence and a security group; check the page against the sandbox."""
    from graph.sandbox.models import SandboxGroupMember, SandboxLicenseAssignment, SandboxUser

    username = f"fault.{seed}.{uuid.uuid4().hex[:5]}"
    upn = f"{username}@{tenant.default_domain}"
    flow = f"add-user seed={seed}"
    data = {
        "tenant": str(tenant.tenant_id), "given_name": "Fay", "surname": "Ult", "display_name": f"Fay Ult {seed}",
        "username": username, "domain": tenant.default_domain, "aliases": "", "password_mode": "generate",
        "usage_location": "NL", "licences": [str(sku.sku_id)], "groups": [str(group.pk)],
    }  # fmt: skip
    with faults([sandbox_tenant], seed):
        response = client.post("/users/add/", data)
    finish_flow(flow)
    users = SandboxUser.objects.filter(
        tenant=sandbox_tenant, upn_lower=upn.lower(), deleted_datetime__isnull=True
    )
    exists = users.exists()
    if response.status_code != 200:
        errors = re.findall(r'class="invalid-feedback[^"]*"[^>]*>(.*?)<', response.content.decode(), re.S)
        TALLY.wrong(flow, f"answered HTTP {response.status_code} {errors[:3]}")
        return
    page = response.content.decode()
    steps = {
        name: (status, html.unescape(message).strip()) for name, status, message in STEP_RE.findall(page)
    }
    created = 'data-created="true"' in page
    create_status, create_message = steps.get("create", ("missing", ""))
    if created != exists:
        if not (exists and says_unknown(create_message)):
            TALLY.wrong(flow, f"page says created={created}, the sandbox has the user: {exists}")
        else:
            TALLY.clear_failures += 1
        return
    if not created:
        check_target(flow, create_status, create_message, changed=False, check_ok=None)
        return
    user = users.get()
    for name, (status, message) in steps.items():
        if name == "licences":
            done = SandboxLicenseAssignment.objects.filter(user=user, sku=sku).exists()
        elif name == "groups":
            done = SandboxGroupMember.objects.filter(user=user, group=group).exists()
        else:
            continue
        check_target(f"{flow} step {name}", status, message, changed=done, check_ok=None)


# --- every registered action ------------------------------------------------------------------------------


def _outcomes(response) -> dict[str, tuple[str, str]]:
    """{user id: (status, message)} from the inline results, or from the Job the run became."""
    from users.models import JobItem

    if response.status_code == 302 and "/jobs/" in response["Location"]:
        job_id = int(response["Location"].rstrip("/").split("/")[-1])
        return {str(i.target_user_id): (i.status, i.message) for i in JobItem.objects.filter(job_id=job_id)}
    if response.status_code != 200:
        return {}
    page = response.content.decode()
    return {uid: (status, html.unescape(message).strip()) for status, uid, message in RESULT_RE.findall(page)}


# Actions whose success leaves the sandbox as it was: the push is answered on the phone, research reads.
READ_ONLY_ACTIONS = {"send-mfa-push", "research-compromise"}


def run_action(client, world, key: str, seed: int, capture) -> None:
    """Run one action on its example's target (and second target) through the modal's POST."""
    from tests.actions.examples import EXAMPLES
    from users.actions import registry
    from users.models import AuditEntry

    action, example = registry.get(key), EXAMPLES[key]
    targets = [example.target(world.sandbox)]
    if action.bulk and example.second is not None:
        targets.append(example.second(world.sandbox))
    data = example.data(world.sandbox) if callable(example.data) else dict(example.data)
    rows = [world.cache(t) for t in targets]
    before = {str(t.pk): fingerprint(t) for t in targets}
    taps = {str(t.pk): tap_count(t) for t in targets}
    payload = {
        "user": [world.value(r) for r in rows],
        "confirmed": "1",
        "expected_count": str(len(rows)),
        **data,
    }
    flow = f"action {key} seed={seed}"
    with faults(world.sandbox, seed), capture(execute=True):
        response = client.post(reverse("users:action", args=[key]), payload)
    finish_flow(flow)
    results = _outcomes(response)
    if set(results) != set(before):
        TALLY.wrong(flow, f"HTTP {response.status_code}: results for {sorted(results)} of {sorted(before)}")
        return
    for target in targets:
        uid = str(target.pk)
        status, message = results[uid]
        changed = fingerprint(target) != before[uid]
        check_ok = None
        if key in READ_ONLY_ACTIONS:
            check_ok = _read_only_done(key, world, target)
        elif example.check is not None:
            try:
                example.check(target)
                check_ok = True
            except Exception:  # noqa: BLE001 - an assertion or a missing row: the change is not there
                check_ok = False
        check_target(f"{flow} user={uid[:8]}", status, message, changed=changed, check_ok=check_ok)
        audited = AuditEntry.objects.filter(action=key, target_user_id=uid).count()
        if audited > 1:
            TALLY.duplicate(flow, f"{audited} audit entries for one target")
        if tap_count(target) - taps[uid] > 1:
            TALLY.duplicate(flow, "more than one Temporary Access Pass created")


def _read_only_done(key: str, world, target) -> bool:
    """Whether a read-only action did its job: a research report finished; a push answered."""
    from users.models import CompromiseReport

    if key == "research-compromise":
        report = CompromiseReport.objects.filter(user_id=target.pk).first()
        return bool(report and report.job and report.job.is_finished)
    return True  # send-mfa-push: nothing to change; its page's message is checked like any other


# --- bulk add ---------------------------------------------------------------------------------------------


def bulk_add(client, world, rows: list[dict], content: bytes, seed: int, capture) -> None:
    """Upload a file, run it with faults on, and check every row's reported outcome against the sandbox."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from graph.sandbox.models import SandboxGroupMember, SandboxLicenseAssignment, SandboxUser
    from users.bulkadd import plan
    from users.models import BulkImport

    flow = f"bulk-add seed={seed}"
    upload = client.post(reverse("users:bulk-add-upload"), {
        "tenant": str(world.tenant.tenant_id), "kind": "users",
        "file": SimpleUploadedFile("users.csv", content, "text/csv"),
    })  # fmt: skip
    assert upload.status_code == 302, upload.content.decode()[:2000]
    bulk_import = BulkImport.objects.latest("pk")
    assert bulk_import.rows.filter(problems={}).count() == len(rows), "the file must be valid before the run"
    with faults([world.sandbox], seed), capture(execute=True):
        started = client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    finish_flow(flow)
    assert started.status_code == 302, started.content.decode()[:2000]
    bulk_import.refresh_from_db()
    results = client.get(reverse("users:bulk-add-results", args=[bulk_import.pk]))
    assert results.status_code == 200
    vpn, sku = world.group("SG-VPN-Users"), world.sku("SPB")
    marker = {
        f"onPremisesExtensionAttributes__{plan.marker_attribute()}": plan.marker_value(bulk_import.marker)
    }
    marked = SandboxUser.objects.filter(
        tenant=world.sandbox, **{f"properties__{k}": v for k, v in marker.items()}
    )
    if marked.count() > len(rows):  # UPNs are unique, so a row created twice would need a second name
        TALLY.duplicate(flow, f"{marked.count()} users carry the import's marker for {len(rows)} rows")
    for row in bulk_import.rows.order_by("position"):
        upn = (row.resolved or {}).get("upn") or f"{row.data['username']}@{row.data['domain']}"
        found = SandboxUser.objects.filter(
            tenant=world.sandbox, upn_lower=upn.lower(), deleted_datetime__isnull=True
        )
        name = f"{flow} row {row.position}"
        exists = found.exists()
        if row.status in ("success", "partial"):
            if not exists:
                TALLY.wrong(name, f"reported {row.status} but no user {upn}")
                continue
            user = found.get()
            licensed = SandboxLicenseAssignment.objects.filter(user=user, sku=sku).exists()
            member = SandboxGroupMember.objects.filter(user=user, group=vpn).exists()
            if row.status == "success" and not (licensed and member):
                TALLY.wrong(name, f"reported success; licence {licensed}, group {member}")
            if row.status == "partial":
                TALLY.clear_failures += 1
                if not row.message.strip():
                    TALLY.wrong(name, "partial without a message")
        elif row.status == "failed":
            check_target(name, row.status, row.message, changed=exists, check_ok=None)
        else:
            TALLY.wrong(name, f"left in status {row.status} after the run")


# --- research + remediation ---------------------------------------------------------------------------------


def research_and_remediate(client, world, key: str, seed: int, capture) -> None:
    """Research the seeded compromised user, then run every remediation step, with faults on throughout."""
    from graph.sandbox.models import SandboxUser
    from users.models import CompromiseReport, Job
    from users.research import remediate

    tenant, compromised, _clean = world.cast(key)
    row = world.cache(compromised)
    flow = f"research {key} seed={seed}"
    with faults(world.sandbox, seed), capture(execute=True):
        response = client.post(
            reverse("users:research-run", args=[tenant.slug, row.user_id]), {"window_days": "7"}
        )
    finish_flow(flow)
    if response.status_code != 302:
        TALLY.wrong(flow, f"research answered HTTP {response.status_code}")
        return
    report = CompromiseReport.objects.get(tenant=tenant, user_id=row.user_id)
    page = client.get(reverse("users:research", args=[tenant.slug, row.user_id]))
    if page.status_code != 200 or report.job is None or not report.job.is_finished:
        TALLY.wrong(flow, "the report page or its Job did not finish")
    elif report.job.status != Job.Status.SUCCEEDED:
        TALLY.clear_failures += 1
    before = fingerprint(compromised)
    steps = [step.key for step in remediate.STEPS]
    flow = f"remediation {key} seed={seed}"
    with faults(world.sandbox, seed + 1000), capture(execute=True):
        response = client.post(
            reverse("users:research-remediate", args=[tenant.slug, row.user_id]),
            {"steps": steps, "rules_mode": "suspicious"},
        )
    finish_flow(flow)
    if response.status_code != 302:
        TALLY.wrong(flow, f"remediation answered HTTP {response.status_code}")
        return
    job = Job.objects.filter(action_key="research-remediate").latest("pk")
    items = {item.key: item for item in job.items.all()}
    after = SandboxUser.objects.get(pk=compromised.pk)
    now = fingerprint(compromised)
    effects = {
        "block-sign-in": after.account_enabled is False,
        "reset-password": after.password_hash != compromised.password_hash,
        "revoke-sessions": after.sessions_valid_after != compromised.sessions_valid_after,
        "remove-mfa": now["methods"] != before["methods"],
        "disable-rules": now["rules"] != before["rules"],
        "remove-forwarding": now["mailbox"] != before["mailbox"],
        "revoke-grants": now["grants"] != before["grants"],
    }
    for step in steps:
        item = items.get(step)
        if item is None:
            TALLY.wrong(flow, f"step {step} has no result")
            continue
        changed = effects.get(step)
        if changed is None:
            TALLY.wrong(flow, f"no state check for step {step}")
            continue
        check_target(f"{flow} step {step}", item.status, item.message, changed=changed, check_ok=None)
