"""The bulk import Job against the sandbox: $batch of 20 (fully parallel: follow-ups in the following
batches), licences / groups / manager / aliases, 429s retried after Retry-After, transient failures,
exactly once across a crash mid-run, cancel, the lease, guests."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from graph.client import GraphClient
from graph.http import build_session
from graph.sandbox import switches
from graph.sandbox.models import SandboxUser
from tests.bulkadd.conftest import FakeRequest, csv_bytes, user_rows
from users.bulkadd import plan, service
from users.bulkadd.runner import LeaseLost, Runner
from users.models import AuditEntry, BulkImportRow, DirectoryUser, Job

Status = BulkImportRow.Status


class Recorder:
    """A GraphClient on its own session that records every $batch it sends (and can die after the N-th
    batch that creates users)."""

    def __init__(self, tenant, *, die_after_creates: int | None = None, on_batch=None):
        self.client = GraphClient.for_tenant(tenant, priority="low", session=build_session())
        self.batches: list[list[dict]] = []
        self.creating_batches = 0
        self.on_batch = on_batch
        self.client.session.hooks["response"].append(self._hook)
        original = self.client.batch

        def batch(requests_, **kwargs):
            answers = original(requests_, **kwargs)
            if self.on_batch:
                self.on_batch(len(self.batches))
            self.creating_batches += any(r.url == "/users" and r.method == "POST" for r in requests_)
            if die_after_creates is not None and self.creating_batches >= die_after_creates:
                # The process dies after Graph carried the batch out, before its answer is recorded.
                raise SystemExit("killed")
            return answers

        self.client.batch = batch

    def _hook(self, response, *args, **kwargs):
        if response.request.url.endswith("/$batch"):
            self.batches.append(json.loads(response.request.body)["requests"])


def _queued(bulk_import, editor, capture):
    """Start the run without working it (the on-commit task is not executed)."""
    with capture(execute=False):
        job = service.start(bulk_import, FakeRequest(editor))
    return job


def _work(bulk_import, recorder, **kwargs):
    return service.work(bulk_import.pk, client=recorder.client, **kwargs)


def _sandbox_users(world, upns):
    return SandboxUser.objects.filter(tenant=world.sandbox, upn_lower__in=[u.lower() for u in upns],
                                      deleted_datetime__isnull=True)  # fmt: skip


def test_a_run_creates_users_with_licences_groups_manager_and_aliases_in_full_batches(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    rows = user_rows(25, bulk_world.domain, licences="SPB", groups="SG-VPN-Users; Marketing Team")
    boss = rows[0]["username"] + "@" + bulk_world.domain
    rows[1]["manager"] = boss
    rows[2]["aliases"] = f"{rows[2]['username']}.alias; second.{rows[2]['username']}"
    bulk_import, _ = make_import(csv_bytes(rows, header=[*rows[0], "manager", "aliases"]))
    assert not bulk_import.problems and not bulk_import.rows.exclude(problems={}).exists()
    job = _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    recorder = Recorder(bulk_world.tenant)
    assert _work(bulk_import, recorder) == Job.Status.SUCCEEDED
    job.refresh_from_db()
    assert (job.total, job.succeeded, job.failed, job.skipped) == (25, 25, 0, 0)
    # Every batch: at most 20 items, fully parallel (no dependsOn), creates before their follow-ups.
    items = [item for batch in recorder.batches for item in batch]
    assert all(len(batch) <= 20 for batch in recorder.batches)
    assert not any("dependsOn" in item for item in items)
    creates = [i for i in items if i["url"] == "/users" and i["method"] == "POST"]
    assert len(creates) == 25
    assert all(c["body"]["onPremisesExtensionAttributes"] == {"extensionAttribute15": plan.marker_value(bulk_import.marker)}
               for c in creates)  # fmt: skip
    follow_ups = len(items) - 25
    # 25 licences + 50 groups + 1 manager + 3 mail PATCHes (2 aliases, then the UPN again)
    assert follow_ups == 25 + 50 + 1 + 3
    assert len(recorder.batches) <= -(-len(items) // 20) + 2  # nearly every batch full
    upns = [r["username"] + "@" + bulk_world.domain for r in rows]
    users = {u.upn_lower: u for u in _sandbox_users(bulk_world, upns)}
    assert len(users) == 25
    sku = bulk_world.sku("SPB")
    assert all(
        any(a["skuId"] == str(sku.sku_id) for a in u.properties["assignedLicenses"]) for u in users.values()
    )
    vpn, marketing = bulk_world.group("SG-VPN-Users"), bulk_world.group("Marketing Team")
    assert vpn.memberships.filter(user__in=users.values()).count() == 25
    assert marketing.memberships.filter(user__in=users.values()).count() == 25
    assert (
        users[upns[1].lower()].manager_id == users[boss.lower()].pk
    )  # a manager who is another row of the file
    third = users[upns[2].lower()].properties
    proxies = {p.lower() for p in third.get("proxyAddresses") or []}
    assert f"smtp:{rows[2]['username']}.alias@{bulk_world.domain}".lower() in proxies
    assert third.get("mail", "").lower() == upns[2].lower()  # the UPN is the primary again
    # Every created user is in the users table at once, and audited once.
    cached = DirectoryUser.objects.filter(
        tenant=bulk_world.tenant, user_principal_name__in=[u.lower() for u in upns]
    )
    assert cached.count() == 25 and cached.filter(is_licensed=True).count() == 25
    assert AuditEntry.objects.filter(job_id=job.pk, action="bulk-add-user", result="success").count() == 25
    done = bulk_import.rows.get(position=3)
    assert done.status == Status.SUCCESS and "Licences" in done.message and done.user_id


def test_throttled_items_are_retried_after_retry_after(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    rows = user_rows(12, bulk_world.domain, licences="SPB")
    bulk_import, _ = make_import(csv_bytes(rows))
    _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    switches.seed_random(7)
    switches.set_switches(bulk_world.sandbox.pk, throttle_probability=0.3)
    recorder = Recorder(bulk_world.tenant)
    slept = []
    try:
        job = bulk_import.job
        lease = __import__("users.actions.jobs", fromlist=["claim_job"]).claim_job(job.pk)
        runner = Runner(bulk_import, job, editor, lease, client=recorder.client, sleep=slept.append)
        outcome = runner.run()
    finally:
        switches.set_switches(bulk_world.sandbox.pk, throttle_probability=0)
    assert outcome.throttled > 0 and outcome.retried >= outcome.throttled
    assert bulk_import.rows.filter(status=Status.SUCCESS).count() == 12
    assert _sandbox_users(bulk_world, [r["username"] + "@" + bulk_world.domain for r in rows]).count() == 12
    assert slept, "the run waited for Retry-After instead of hammering"


def test_transient_failures_never_create_twice(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    rows = user_rows(10, bulk_world.domain, groups="SG-VPN-Users")
    bulk_import, _ = make_import(csv_bytes(rows))
    _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    switches.seed_random(3)
    switches.set_switches(bulk_world.sandbox.pk, fault_probability=0.3)
    try:
        recorder = Recorder(bulk_world.tenant)
        status = _work(bulk_import, recorder)
    finally:
        switches.set_switches(bulk_world.sandbox.pk, fault_probability=0)
    items = [i for b in recorder.batches for i in b]
    assert any(i["method"] == "GET" and "onPremisesExtensionAttributes" in i["url"] for i in items), (
        "a lost create was checked"
    )
    assert status in (Job.Status.SUCCEEDED, Job.Status.PARTIAL)
    upns = [r["username"] + "@" + bulk_world.domain for r in rows]
    assert _sandbox_users(bulk_world, upns).count() == bulk_import.rows.filter(user_id__isnull=False).count()
    assert bulk_import.rows.filter(status=Status.FAILED).count() == 0


def test_a_crash_mid_run_resumes_exactly_once(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    rows = user_rows(45, bulk_world.domain, licences="SPB", groups="SG-VPN-Users")
    bulk_import, _ = make_import(csv_bytes(rows))
    job = _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    # The first worker dies right after its second batch of creates reached Graph (answers never recorded).
    with pytest.raises(SystemExit):
        _work(bulk_import, Recorder(bulk_world.tenant, die_after_creates=2))
    assert bulk_import.rows.filter(status=Status.SENDING).exists()
    # Until its heartbeat is stale nobody else may take the job ...
    assert _work(bulk_import, Recorder(bulk_world.tenant)) == "busy"
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert list(service.stale_jobs()) == [job]
    # ... then a new worker resumes: it asks Graph about the rows in flight before anything else.
    recorder = Recorder(bulk_world.tenant)
    assert _work(bulk_import, recorder) == Job.Status.SUCCEEDED
    first = recorder.batches[0]
    assert all(item["method"] == "GET" for item in first)
    upns = [r["username"] + "@" + bulk_world.domain for r in rows]
    assert _sandbox_users(bulk_world, upns).count() == 45  # exactly once: none lost, none doubled
    assert bulk_import.rows.filter(status=Status.SUCCESS).count() == 45
    assert AuditEntry.objects.filter(job_id=job.pk, action="bulk-add-user").count() == 45
    assert (
        bulk_world.group("SG-VPN-Users")
        .memberships.filter(user__upn_lower__in=[u.lower() for u in upns])
        .count()
        == 45
    )


def test_a_taken_upn_is_ours_only_with_our_marker(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    from graph.sandbox import directory

    rows = user_rows(3, bulk_world.domain)
    bulk_import, _ = make_import(csv_bytes(rows))
    job = _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    upns = [r["username"] + "@" + bulk_world.domain for r in rows]

    def make(upn, marker):
        props = {"accountEnabled": True, "displayName": upn, "mailNickname": upn.split("@")[0],
                 "userPrincipalName": upn, "passwordProfile": {"password": "Sandbox-Pass-123!"}}  # fmt: skip
        if marker:
            props["onPremisesExtensionAttributes"] = {"extensionAttribute15": plan.marker_value(marker)}
        return directory.create_user(bulk_world.sandbox, props)

    ours = make(upns[0], bulk_import.marker)  # a create whose answer was lost
    make(upns[1], "someone-else")  # another import (or a person) took the name meanwhile
    bulk_import.rows.filter(position__in=(2, 3)).update(status=Status.SENDING)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    _work(bulk_import, Recorder(bulk_world.tenant))
    first, second, third = bulk_import.rows.order_by("position")
    assert first.status == Status.SUCCESS and str(first.user_id) == str(ours.pk)
    assert second.status == Status.FAILED and "did not create" in second.message
    assert third.status == Status.SUCCESS
    assert _sandbox_users(bulk_world, upns).count() == 3


def test_cancel_mid_run_marks_unsent_rows(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    rows = user_rows(60, bulk_world.domain, licences="SPB")
    bulk_import, _ = make_import(csv_bytes(rows))
    job = _queued(bulk_import, editor, django_capture_on_commit_callbacks)

    def cancel_after_first(count):
        if count == 1:
            service.request_cancel(bulk_import, FakeRequest(editor))

    recorder = Recorder(bulk_world.tenant, on_batch=cancel_after_first)
    assert _work(bulk_import, recorder) == Job.Status.CANCELLED
    created = bulk_import.rows.filter(user_id__isnull=False)
    cancelled = bulk_import.rows.filter(status=Status.CANCELLED)
    assert (
        created.count() == 20 and created.filter(status=Status.SUCCESS).count() == 20
    )  # finished, licences too
    assert cancelled.count() == 40 and all("cancelled" in r.message for r in cancelled)
    job.refresh_from_db()
    assert (job.succeeded, job.skipped) == (20, 40)
    upns = [r["username"] + "@" + bulk_world.domain for r in rows]
    assert _sandbox_users(bulk_world, upns).count() == 20


def test_a_worker_that_lost_its_lease_stops(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    from users.actions.jobs import claim_job

    bulk_import, _ = make_import(csv_bytes(user_rows(2, bulk_world.domain)))
    job = _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    lease = claim_job(job.pk)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())  # another worker took over
    runner = Runner(bulk_import, job, editor, lease, client=Recorder(bulk_world.tenant).client)
    with pytest.raises(LeaseLost):
        runner.run()
    assert not bulk_import.rows.filter(status=Status.SENDING).exists()


def test_a_technician_who_lost_the_right_gets_nothing_run(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    from tenants.models import TechnicianProfile

    bulk_import, _ = make_import(csv_bytes(user_rows(2, bulk_world.domain)))
    _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    TechnicianProfile.objects.filter(user=editor).update(role=TechnicianProfile.Role.HELPDESK)
    recorder = Recorder(bulk_world.tenant)
    assert _work(bulk_import, recorder) == "refused"
    assert recorder.batches == [] and bulk_import.rows.filter(status=Status.CANCELLED).count() == 2


def test_guests_are_invited_through_the_same_machinery(
    bulk_world, make_import, editor, django_capture_on_commit_callbacks
):
    tag = uuid.uuid4().hex[:6]
    rows = [{"displayName": f"Guest {i}", "email": f"guest{i}.{tag}@fabrikam.com"} for i in range(3)]
    bulk_import, key = make_import(csv_bytes(rows), kind="guests", defaults={"send_invitation": False})
    job = _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    recorder = Recorder(bulk_world.tenant)
    assert _work(bulk_import, recorder) == Job.Status.SUCCEEDED
    items = [i for b in recorder.batches for i in b]
    invitations = [i for i in items if i["url"] == "/invitations"]
    assert len(invitations) == 3 and all(i["body"]["sendInvitationMessage"] is False for i in invitations)
    guests = SandboxUser.objects.filter(
        tenant=bulk_world.sandbox, user_type="Guest", mail_lower__endswith=f"{tag}@fabrikam.com"
    )
    assert guests.count() == 3
    from users.bulkadd import sealed

    for row in bulk_import.rows.all():
        assert row.status == Status.SUCCESS and row.password_source == "redeem"
        link = sealed.open_sealed(key, row.password_sealed, sealed.row_context(bulk_import.pk, row.key))
        assert link.startswith("http")
    assert AuditEntry.objects.filter(job_id=job.pk, action="bulk-invite-guest").count() == 3
    assert (
        DirectoryUser.objects.filter(
            tenant=bulk_world.tenant, user_type="Guest", mail__endswith=f"{tag}@fabrikam.com"
        ).count()
        == 3
    )


def test_an_alias_refused_mid_chain_still_puts_the_upn_back(bulk_world, make_import, editor,
                                                            django_capture_on_commit_callbacks):  # fmt: skip
    from graph.sandbox import directory

    rows = user_rows(1, bulk_world.domain)
    name = rows[0]["username"]
    rows[0]["aliases"] = f"{name}.one; {name}.two; {name}.three"
    bulk_import, _ = make_import(csv_bytes(rows, header=[*rows[0]]))
    assert not bulk_import.rows.exclude(problems={}).exists()
    # Between the check and the run, someone else takes the second alias.
    taken = f"{name}.two@{bulk_world.domain}"
    directory.create_user(bulk_world.sandbox, {
        "accountEnabled": True, "displayName": "Squatter", "mailNickname": f"sq{name}"[:60],
        "userPrincipalName": f"sq{name}@{bulk_world.domain}"[:100], "mail": taken,
        "passwordProfile": {"password": "Sandbox-Pass-123!"}})  # fmt: skip
    _queued(bulk_import, editor, django_capture_on_commit_callbacks)
    _work(bulk_import, Recorder(bulk_world.tenant))
    row = bulk_import.rows.get()
    assert row.status == Status.PARTIAL and f"{taken} was not added" in row.message
    user = bulk_world.sandbox_user(f"{name}@{bulk_world.domain}")
    assert user.properties["mail"].lower() == f"{name}@{bulk_world.domain}"  # the UPN is primary again
    proxies = {p.lower() for p in user.properties["proxyAddresses"]}
    assert f"smtp:{name}.one@{bulk_world.domain}" in proxies and f"smtp:{taken}" not in proxies
