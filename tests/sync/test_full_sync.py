"""Full sync against the in-process sandbox: every seeded user cached with the right columns, the number
and kind of Graph requests, page-by-page writes, and the sweep of users that are gone."""

from __future__ import annotations

import math
import uuid

import pytest

from graph.sandbox.models import SandboxUser
from tenants.models import Tenant
from users.models import DirectorySyncState, DirectoryUser, DirectoryUserLicense, TenantSku
from users.sync import full as full_module
from users.sync import sync_tenant
from users.sync.records import USER_SELECT

from .conftest import sandbox_tenant_of

pytestmark = pytest.mark.django_db


def test_every_seeded_user_is_cached_with_its_fields(fabrikam, recording_client):
    client, session = recording_client(fabrikam)
    result = sync_tenant(fabrikam, client=client)
    assert result.ok and result.kind == "full" and result.full_reason == "first sync"

    seeded = {
        u.id: u.properties
        for u in SandboxUser.objects.filter(tenant=sandbox_tenant_of(fabrikam), deleted_datetime__isnull=True)
    }
    cached = {row.user_id: row for row in DirectoryUser.objects.filter(tenant=fabrikam)}
    assert set(cached) == set(seeded) and len(cached) == result.users == len(seeded) > 200
    names = dict(TenantSku.objects.filter(tenant=fabrikam).values_list("sku_id", "product_name"))
    for user_id, props in seeded.items():
        row = cached[user_id]
        assert row.user_principal_name == props["userPrincipalName"]
        assert row.display_name == props["displayName"]
        assert row.mail == (props.get("mail") or "")
        assert row.department == (props.get("department") or "")
        assert row.account_enabled is (props.get("accountEnabled") is not False)
        assert row.on_premises_sync_enabled is (props.get("onPremisesSyncEnabled") is True)
        assert row.user_type == (props.get("userType") or "Member")
        assert row.proxy_addresses == (props.get("proxyAddresses") or [])
        skus = sorted(str(lic["skuId"]) for lic in props.get("assignedLicenses") or [])
        assert row.license_sku_ids == skus
        assert row.license_names == "; ".join(sorted({names[uuid.UUID(s)] for s in skus}))
        assert set(row.graph) <= set(USER_SELECT)
    hybrid = [row for row in cached.values() if row.on_premises_sync_enabled]
    assert hybrid and all(row.on_premises_immutable_id for row in hybrid)
    # licence rows match the denormalised ids
    assert DirectoryUserLicense.objects.filter(tenant=fabrikam).count() == sum(
        len(r.license_sku_ids) for r in cached.values()
    )

    # requests: subscribedSkus, the deltaLink ("sync from now"), ceil(n/999) user pages, sign-in pages
    user_pages = math.ceil(len(seeded) / 999)
    sign_in_pages = math.ceil(len(seeded) / 500)
    assert session.paths() == ["/subscribedSkus", "/users/delta"] + ["/users"] * (user_pages + sign_in_pages)
    assert "$deltatoken=latest" in session.calls[1][1]
    assert "$top=999" in session.calls[2][1] and "$select=id,userPrincipalName," in session.calls[2][1]
    assert "$select=id,signInActivity" in session.calls[-1][1] and "$top=500" in session.calls[-1][1]
    assert result.requests == len(session.calls)

    state = DirectorySyncState.objects.get(tenant=fabrikam)
    assert (
        state.delta_link and state.user_count == len(seeded) and state.last_request_count == result.requests
    )
    assert state.last_full_sync_at and state.last_full_sync_reason == "first sync" and not state.locked_by
    fabrikam.refresh_from_db()
    assert (
        fabrikam.last_sync_status == Tenant.SyncStatus.OK
        and fabrikam.last_sync_at
        and not fabrikam.last_sync_error
    )


def test_writes_happen_page_by_page_never_holding_the_whole_set(fabrikam, recording_client, monkeypatch):
    """With 50-user pages, each bulk write takes one page, right after that page was downloaded."""
    client, session = recording_client(fabrikam)
    writes: list[tuple[int, int]] = []  # (records in the write, user pages downloaded before it)
    real_upsert = full_module.upsert_records

    def spy(tenant, records, namer, **kwargs):
        records = list(records)
        writes.append((len(records), session.paths().count("/users")))
        return real_upsert(tenant, records, namer, **kwargs)

    monkeypatch.setattr(full_module, "upsert_records", spy)
    real_full = full_module.full_sync
    monkeypatch.setattr(
        "users.sync.service.full_sync", lambda *a, **kw: real_full(*a, **{**kw, "page_size": 50})
    )
    result = sync_tenant(fabrikam, client=client, sign_ins=False)
    total = result.users
    assert len(writes) == math.ceil(total / 50)
    assert all(size <= 50 for size, _ in writes)
    assert [pages for _, pages in writes] == list(range(1, len(writes) + 1))
    assert sum(size for size, _ in writes) == total


def test_users_gone_from_the_tenant_are_swept(tailspin):
    sync_tenant(tailspin)
    ghost = DirectoryUser.objects.create(
        tenant=tailspin, user_id=uuid.uuid4(), user_principal_name="ghost@tailspintoys.com"
    )
    DirectoryUserLicense.objects.create(user=ghost, tenant=tailspin, sku_id=uuid.uuid4())
    before = DirectoryUser.objects.filter(tenant=tailspin).count()
    result = sync_tenant(tailspin, full=True)
    assert result.kind == "full" and result.full_reason == "full sync requested" and result.removed == 1
    assert not DirectoryUser.objects.filter(pk=ghost.pk).exists()
    assert DirectoryUser.objects.filter(tenant=tailspin).count() == before - 1
    assert not DirectoryUserLicense.objects.filter(user_id=ghost.pk).exists()


def test_graph_failure_is_recorded_on_the_tenant(tailspin, monkeypatch):
    from graph.errors import AuthError

    def refuse(*args, **kwargs):
        raise AuthError("AADSTS50173: the grant has expired", status=401, code="invalid_grant")

    monkeypatch.setattr("users.sync.service.refresh_tenant_skus", refuse)
    result = sync_tenant(tailspin)
    assert not result.ok and "AADSTS50173" in result.error
    tailspin.refresh_from_db()
    assert tailspin.last_sync_status == Tenant.SyncStatus.FAILED and "AADSTS50173" in tailspin.last_sync_error
    assert tailspin.last_sync_at is None  # the last *good* sync time is kept as it was
    assert not DirectorySyncState.objects.get(tenant=tailspin).locked_by
