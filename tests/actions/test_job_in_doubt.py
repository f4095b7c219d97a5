"""A Job resumed after its worker was killed mid-$batch: the items that worker had sent without recording the
answer are "in doubt". For Add to group, Graph is asked first: a target it already lists as a member is
recorded as added (its add is not sent again — that would answer "already a member": done twice); the others
are sent. Each target ends with one result and one audit entry."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from graph.sandbox.models import SandboxGroup, SandboxGroupMember
from tests.actions.examples import plain_member
from users.actions import jobs as job_service
from users.actions.groups import ALREADY_MEMBER
from users.models import AuditEntry, Job, JobItem


def test_in_doubt_targets_already_added_are_not_sent_again(action_world, role_client):
    group = SandboxGroup.objects.get(tenant__display_name="Northwind Traders", display_name="SG-Intune-Pilot")
    people = [plain_member(action_world.sandbox, skip=i) for i in range(6)]
    SandboxGroupMember.objects.filter(group=group, user__in=people).delete()
    rows = [action_world.cache(person) for person in people]
    client = role_client("editor")
    # Above ACTIONS_INLINE_MAX the modal makes a Job; its task is not run (on_commit is not executed here).
    response = client.post(reverse("users:action", args=["add-to-group"]), {
        "user": [action_world.value(r) for r in rows], "confirmed": "1", "expected_count": "6",
        "group": str(group.pk)})  # fmt: skip
    job = Job.objects.get()
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    items = list(job.items.order_by("position"))
    # The dead worker: the first two items were in its $batch; Graph had applied the first one's add only.
    SandboxGroupMember.objects.create(group=group, user_id=items[0].target_user_id)
    JobItem.objects.filter(pk__in=[items[0].pk, items[1].pk]).update(
        status=JobItem.Status.RUNNING, attempts=1
    )
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    assert job_service.run_action_job(job.pk) == Job.Status.SUCCEEDED
    job.refresh_from_db()
    assert (job.succeeded, job.failed, job.skipped) == (6, 0, 0)
    assert set(job.items.values_list("status", flat=True)) == {JobItem.Status.SUCCESS}
    assert not job.items.filter(message=ALREADY_MEMBER).exists()
    confirmed = job.items.get(pk=items[0].pk)
    assert (
        confirmed.message.startswith("Added to SG-Intune-Pilot") and "restarted" in confirmed.details["note"]
    )
    assert "note" not in job.items.get(pk=items[1].pk).details  # not a member yet: sent, and added now
    assert SandboxGroupMember.objects.filter(group=group, user__in=people).count() == 6
    per_target = [
        AuditEntry.objects.filter(job_id=job.pk, target_user_id=i.target_user_id).count() for i in items
    ]
    assert per_target == [1] * 6
