"""Write-through after an action, and the periodic (beat) selection of tenants due a sync."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from tenants.models import TechnicianProfile
from users import tasks
from users.models import DirectorySyncState, DirectoryUser, DirectoryUserLicense
from users.sync import RecordError, apply_user_record, remove_user, schedule, sync_tenant
from users.sync.lock import TenantSyncLock

pytestmark = pytest.mark.django_db
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"


def test_apply_user_record_updates_the_row_at_once(fabrikam):
    sync_tenant(fabrikam, sign_ins=False)
    row = DirectoryUser.objects.filter(tenant=fabrikam, is_licensed=False).first()
    department = row.department
    updated = apply_user_record(
        fabrikam, {"id": str(row.user_id), "jobTitle": "Promoted", "assignedLicenses": [{"skuId": E3}]}
    )
    assert updated.pk == row.pk and updated.job_title == "Promoted" and updated.department == department
    assert updated.is_licensed and updated.license_names == "Microsoft 365 E3"
    assert list(DirectoryUserLicense.objects.filter(user=updated).values_list("sku_id", flat=True)) == [
        uuid.UUID(E3)
    ]
    assert remove_user(fabrikam, row.user_id) is True
    assert not DirectoryUser.objects.filter(pk=row.pk).exists()
    assert remove_user(fabrikam, row.user_id) is False


def test_apply_user_record_creates_and_replaces(tailspin):
    user_id = uuid.uuid4()
    created = apply_user_record(
        tailspin, {"id": str(user_id), "userPrincipalName": "new@tailspintoys.com", "displayName": "New"}
    )
    assert created.user_principal_name == "new@tailspintoys.com"
    replaced = apply_user_record(tailspin, {"id": str(user_id), "displayName": "Renamed"}, partial=False)
    assert replaced.display_name == "Renamed" and replaced.user_principal_name == ""
    with pytest.raises(RecordError):
        apply_user_record(tailspin, {"displayName": "no id"})


@override_settings(USERS_SYNC_INTERVAL_MINUTES=15)
def test_due_tenants_selection(customers):
    fabrikam, northwind, tailspin = (
        customers[n] for n in ("Fabrikam Inc", "Northwind Traders", "Tailspin Toys")
    )
    now = timezone.now()
    for tenant in customers.values():
        DirectorySyncState.objects.get_or_create(tenant=tenant)
    DirectorySyncState.objects.filter(tenant=fabrikam).update(last_attempt_at=now - timedelta(minutes=5))
    DirectorySyncState.objects.filter(tenant=northwind).update(last_attempt_at=now - timedelta(minutes=20))
    assert set(schedule.due_tenants(now)) == {northwind, tailspin}
    with TenantSyncLock(tailspin):
        assert set(schedule.due_tenants()) == {northwind}
    tailspin.enabled = False
    tailspin.save()
    assert set(schedule.due_tenants()) == {northwind}
    assert schedule.claim(northwind) is True
    assert schedule.claim(northwind) is False  # claimed once: not queued twice
    assert set(schedule.due_tenants()) == set()


def test_beat_task_queues_and_runs_due_tenants(customers):
    queued = tasks.sync_due_tenants.delay().get()  # eager in tests: the syncs run inline
    assert queued == len(customers)
    for tenant in customers.values():
        tenant.refresh_from_db()
        assert tenant.last_sync_status == "ok"
        assert DirectoryUser.objects.filter(tenant=tenant).exists()
    assert tasks.sync_due_tenants.delay().get() == 0  # all synced just now


def test_task_rechecks_the_technicians_permission(tailspin, django_user_model):
    reader = django_user_model.objects.create_user(username="r", password="x-Correct-Horse-1")
    TechnicianProfile.objects.create(user=reader, role=TechnicianProfile.Role.READER, scope="all")
    assert tasks.sync_tenant.delay(tailspin.pk, requested_by=reader.pk).get() == "refused"
    assert not DirectoryUser.objects.filter(tenant=tailspin).exists()
    helper = django_user_model.objects.create_user(username="h", password="x-Correct-Horse-1")
    TechnicianProfile.objects.create(user=helper, role=TechnicianProfile.Role.HELPDESK, scope="all")
    assert tasks.sync_tenant.delay(tailspin.pk, requested_by=helper.pk).get() == "ok"
    assert tasks.sync_tenant.delay(999999).get() == "no such tenant"
