"""Jobs: a selection above ACTIONS_INLINE_MAX becomes a Job; the worker records each item, resumes a job
whose worker died without redoing finished items, honours cancel, re-checks the technician's rights; the
progress page, the jobs list and the results CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.actions.examples import plain_member
from users.actions import jobs as job_service
from users.actions import registry
from users.models import AuditEntry, Job, JobItem


def _members(world, n):
    return [world.cache(plain_member(world.sandbox, skip=i)) for i in range(n)]


def test_a_larger_selection_runs_as_a_job(action_world, role_client, django_capture_on_commit_callbacks):
    rows = _members(action_world, 6)
    client = role_client("helpdesk")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("users:action", args=["block-sign-in"]), {
            "user": [action_world.value(r) for r in rows], "confirmed": "1", "expected_count": "6"})  # fmt: skip
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert (job.status, job.total, job.succeeded, job.failed) == (Job.Status.SUCCEEDED, 6, 6, 0)
    assert set(job.items.values_list("status", flat=True)) == {JobItem.Status.SUCCESS}
    assert AuditEntry.objects.filter(job_id=job.pk).count() == 6
    from graph.sandbox.models import SandboxUser

    assert not SandboxUser.objects.filter(pk__in=[r.user_id for r in rows], account_enabled=True).exists()
    page = client.get(response["Location"])
    assert page.status_code == 200 and "6</strong> of 6 done" in page.content.decode()
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert "jobFinished" in partial["HX-Trigger"] and "hx-trigger" not in partial.content.decode()
    listing = client.get(reverse("jobs:list")).content.decode()
    assert f"#{job.pk}" in listing
    body = b"".join(client.get(reverse("jobs:results-csv", args=[job.pk])).streaming_content).decode(
        "utf-8-sig"
    )
    rows_csv = list(csv.reader(io.StringIO(body)))
    assert rows_csv[0][:4] == ["user", "display name", "tenant", "status"]
    assert len(rows_csv) == 7 and {r[3] for r in rows_csv[1:]} == {"Succeeded"}


def test_jobs_are_private_to_their_technician(action_world, role_client):
    rows = _members(action_world, 2)
    owner, other, admin = role_client("helpdesk"), role_client("helpdesk"), role_client("admin")
    job = job_service.create_job(registry.get("block-sign-in"), rows, {}, technician=owner.technician,
                                 source_ip=None, label="x")  # fmt: skip
    url = reverse("jobs:detail", args=[job.pk])
    assert owner.get(url).status_code == 200
    assert other.get(url).status_code == 404
    assert other.get(reverse("jobs:results-csv", args=[job.pk])).status_code == 404
    assert other.post(reverse("jobs:cancel", args=[job.pk])).status_code == 404
    assert admin.get(url).status_code == 200


def test_a_job_disappears_with_its_tenant_from_the_technicians_scope(action_world, role_client):
    rows = _members(action_world, 2)
    tenant = rows[0].tenant
    owner = role_client("helpdesk", tenants=[tenant])
    scoped_admin = role_client("admin", tenants=[tenant])
    job = job_service.create_job(registry.get("block-sign-in"), rows, {}, technician=owner.technician,
                                 source_ip=None, label="x")  # fmt: skip
    url = reverse("jobs:detail", args=[job.pk])
    assert owner.get(url).status_code == 200 and scoped_admin.get(url).status_code == 200
    other = next(t for t in action_world.tenants.values() if t.pk != tenant.pk)
    for technician in (owner.technician, scoped_admin.technician):
        technician.technician.tenants.set([other])
    for client in (owner, scoped_admin):
        assert client.get(url).status_code == 404
        assert client.get(reverse("jobs:results-csv", args=[job.pk])).status_code == 404
        assert f"#{job.pk}" not in client.get(reverse("jobs:list")).content.decode()


def test_a_dead_workers_job_resumes_without_redoing_items(action_world, role_client):
    rows = _members(action_world, 4)
    client = role_client("helpdesk")
    action = registry.get("block-sign-in")
    job = job_service.create_job(
        action, rows, {}, technician=client.technician, source_ip="10.0.0.1", label="x"
    )
    # The first worker finished two users, then died.
    first, second = job.items.order_by("position")[:2]
    JobItem.objects.filter(pk__in=[first.pk, second.pk]).update(status=JobItem.Status.SUCCESS, message="done")
    JobItem.objects.filter(job=job, position=2).update(status=JobItem.Status.RUNNING)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, succeeded=2,
                                         heartbeat_at=timezone.now() - timedelta(hours=1))  # fmt: skip
    assert list(job_service.stale_jobs()) == [job]
    assert "Resume" in client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert job_service.run_action_job(job.pk) == Job.Status.SUCCEEDED
    job.refresh_from_db()
    assert (job.succeeded, job.failed, job.skipped) == (4, 0, 0)
    audited = set(AuditEntry.objects.filter(job_id=job.pk).values_list("target_user_id", flat=True))
    assert audited == {rows[2].user_id, rows[3].user_id}  # the finished two were not run again
    assert AuditEntry.objects.filter(job_id=job.pk).first().source_ip == "10.0.0.1"
    assert job_service.run_action_job(job.pk) == "finished"


def test_a_live_job_is_not_taken_twice(action_world, role_client):
    rows = _members(action_world, 1)
    client = role_client("helpdesk")
    job = job_service.create_job(registry.get("block-sign-in"), rows, {}, technician=client.technician,
                                 source_ip=None, label="x")  # fmt: skip
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, heartbeat_at=timezone.now())
    assert job_service.run_action_job(job.pk) == "busy"
    assert not AuditEntry.objects.exists()


def test_cancel_marks_pending_items(action_world, role_client):
    rows = _members(action_world, 3)
    client = role_client("helpdesk")
    job = job_service.create_job(registry.get("block-sign-in"), rows, {}, technician=client.technician,
                                 source_ip=None, label="x")  # fmt: skip
    response = client.post(reverse("jobs:cancel", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Not sent (cancelled)" in response.content.decode()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.cancel_requested
    assert set(job.items.values_list("status", flat=True)) == {JobItem.Status.CANCELLED}
    assert job_service.run_action_job(job.pk) == "finished"
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("new_role", ["reader"])
def test_the_worker_rechecks_the_technicians_role(action_world, role_client, new_role):
    from tenants.models import TechnicianProfile

    rows = _members(action_world, 2)
    client = role_client("helpdesk")
    job = job_service.create_job(registry.get("block-sign-in"), rows, {}, technician=client.technician,
                                 source_ip=None, label="x")  # fmt: skip
    TechnicianProfile.objects.filter(user=client.technician).update(role=new_role)
    assert job_service.run_action_job(job.pk) == "refused"
    job.refresh_from_db()
    assert job.status == Job.Status.PARTIAL or job.status == Job.Status.FAILED or job.skipped == 2
    assert set(job.items.values_list("status", flat=True)) == {JobItem.Status.SKIPPED}
    assert "no longer allowed" in job.message


def test_secret_actions_never_run_in_a_worker(action_world, role_client):
    rows = _members(action_world, 1)
    client = role_client("admin")
    job = job_service.create_job(registry.get("reset-password"), rows, {"style": "random", "length": "16"},
                                 technician=client.technician, source_ip=None, label="x")  # fmt: skip
    assert job_service.run_action_job(job.pk) == "refused"
    assert not AuditEntry.objects.exists()
