"""An empty users table whose tenant waits for its first sync says so and offers Refresh (issue 19 part 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Tenant
from users.models import DirectorySyncState
from users.sync.lock import TenantSyncLock

from .factories import make_admin, make_technician, make_tenant, make_users

URL = "/users/"
pytestmark = pytest.mark.django_db

WAITING = "Waiting for the first directory sync"
POLLING = 'hx-trigger="every 3s"'


@pytest.fixture
def fresh():
    return make_tenant(
        "Fresh Co", domain="fresh.example", last_sync_status=Tenant.SyncStatus.NEVER, last_sync_at=None
    )


def page(client, tenant, **params) -> str:
    response = client.get(URL, {"tenant": tenant if isinstance(tenant, str) else tenant.slug, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_never_synced_tenant_says_it_waits_and_offers_refresh(client, fresh):
    client.force_login(make_admin())
    body = page(client, fresh)
    assert f"{WAITING} of Fresh Co." in body
    assert f'action="/users/sync/{fresh.slug}/"' in body and "Refresh" in body
    assert "not synced yet." in body
    assert POLLING not in body  # nothing queued: no point polling


def test_a_queued_first_sync_makes_the_table_poll_until_users_arrive(client, fresh):
    client.force_login(make_admin())
    DirectorySyncState.objects.create(tenant=fresh, last_attempt_at=timezone.now())
    body = client.get(URL, {"tenant": fresh.slug}, HTTP_HX_REQUEST="true").content.decode()
    assert WAITING in body and POLLING in body
    assert f'hx-get="/users/?tenant={fresh.slug}"' in body
    # The sync lands: the next poll gets the rows, and the polling element is gone.
    make_users(fresh, 3)
    Tenant.objects.filter(pk=fresh.pk).update(
        last_sync_status=Tenant.SyncStatus.OK, last_sync_at=timezone.now()
    )
    body = client.get(URL, {"tenant": fresh.slug}, HTTP_HX_REQUEST="true").content.decode()
    assert WAITING not in body and POLLING not in body
    assert "<strong>3</strong> users" in body


def test_a_running_first_sync_shows_progress_without_refresh(client, fresh):
    client.force_login(make_admin())
    Tenant.objects.filter(pk=fresh.pk).update(last_sync_status=Tenant.SyncStatus.RUNNING)
    lock = TenantSyncLock(fresh)
    assert lock.acquire()
    try:
        body = page(client, fresh)
    finally:
        lock.release()
    assert "syncing now" in body and POLLING in body
    assert f'action="/users/sync/{fresh.slug}/" class="d-inline">' not in body.split(WAITING)[1]


def test_refresh_is_offered_only_to_technicians_who_may_sync(client, fresh):
    client.force_login(make_technician("reader", role="reader", tenants=[fresh]))
    body = page(client, fresh)
    assert WAITING in body and f"/users/sync/{fresh.slug}/" not in body


def test_all_tenants_names_each_tenant_waiting(client, fresh):
    make_tenant("Synced Co", domain="synced.example")
    other = make_tenant(
        "Late Co", domain="late.example", last_sync_status=Tenant.SyncStatus.NEVER, last_sync_at=None
    )
    client.force_login(make_admin())
    body = page(client, "all")
    assert f"{WAITING} of 2 tenants." in body
    assert "Fresh Co</span>: " in body and "Late Co</span>: " in body and "Synced Co</span>: " not in body
    assert f"/users/sync/{fresh.slug}/" in body and f"/users/sync/{other.slug}/" in body


def test_a_synced_empty_tenant_and_a_filtered_table_keep_their_own_messages(client):
    synced = make_tenant(
        "Empty Co", domain="empty.example", last_sync_at=timezone.now() - timedelta(minutes=1)
    )
    client.force_login(make_admin())
    assert WAITING not in page(client, synced)
    assert "No users in the directory cache of Empty Co yet." in page(client, synced)
    never = make_tenant(
        "Never Co", domain="never.example", last_sync_status=Tenant.SyncStatus.NEVER, last_sync_at=None
    )
    body = page(client, never, q="nobody")
    assert WAITING not in body and "No user matches these filters." in body
