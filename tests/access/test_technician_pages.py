"""Role page, technician management and tenant groups: Admin-only changes, errors next to fields, audit."""

from __future__ import annotations

import pytest

from tenants import access
from tenants.models import TechnicianProfile, TenantGroup
from users.models import AuditEntry


@pytest.fixture
def admin_client(client, make_tech):
    admin = make_tech("admin", "all", username="root-admin")
    client.force_login(admin)
    client.admin = admin
    return client


def test_role_page_for_everyone_signed_in(client, make_tech):
    client.force_login(make_tech(None))
    html = client.get("/technicians/roles/").content.decode()
    for label in ("Reader", "Helpdesk", "Editor", "Admin"):
        assert label in html
    assert access.PERMISSIONS["users.actions.admin"] in html
    assert "No tenants (no role assigned yet)" in html


@pytest.mark.parametrize("role", ["reader", "helpdesk", "editor"])
def test_non_admins_cannot_manage(client, make_tech, world, role):
    client.force_login(make_tech(role, "all"))
    for url in ("/technicians/", "/technicians/new/", "/technicians/tenant-groups/",
                f"/technicians/tenant-groups/{world.group.pk}/"):  # fmt: skip
        assert client.get(url).status_code == 403
    assert client.post("/technicians/new/", {"username": "x"}).status_code == 403
    assert client.post(f"/technicians/tenant-groups/{world.group.pk}/delete/").status_code == 403


def test_create_technician_with_validated_password_and_scope(admin_client, world):
    form = {"username": "newbie", "email": "newbie@msp.example", "password1": "short", "password2": "short",
            "role": "helpdesk", "scope": "only"}  # fmt: skip
    response = admin_client.post("/technicians/new/", form)
    html = response.content.decode()
    assert response.status_code == 422
    assert "This password is too short" in html and "Choose at least one tenant" in html
    form.update(password1="a-Long-enough-passphrase-42", password2="a-Long-enough-passphrase-42",
                tenants=[world.alpha.pk])  # fmt: skip
    response = admin_client.post("/technicians/new/", form)
    assert response.status_code == 302
    profile = TechnicianProfile.objects.get(user__username="newbie")
    assert profile.role == "helpdesk" and list(profile.tenants.all()) == [world.alpha]
    assert profile.user.check_password("a-Long-enough-passphrase-42")
    entry = AuditEntry.objects.get(action="technician.create")
    assert entry.target_upn == "newbie" and "a-Long-enough" not in str(entry.parameters)
    duplicate = admin_client.post("/technicians/new/", {**form, "username": "NEWBIE"})
    assert "already exists" in duplicate.content.decode()


def test_edit_role_scope_and_deactivate(admin_client, world, make_tech):
    tech = make_tech("reader", "only", [world.alpha], username="worker")
    response = admin_client.post(f"/technicians/{tech.pk}/", {"role": "editor", "scope": "groups",
                                                              "tenant_groups": [world.group.pk]})  # fmt: skip
    assert response.status_code == 302
    tech.refresh_from_db()
    assert tech.technician.role == "editor" and tech.technician.scope == "groups"
    assert list(tech.technician.tenants.all()) == []  # the stale list is not kept
    assert admin_client.post(f"/technicians/{tech.pk}/active/", {"active": "0"}).status_code == 302
    tech.refresh_from_db()
    assert not tech.is_active
    assert AuditEntry.objects.filter(action="technician.deactivate", target_upn="worker").exists()


def test_admin_cannot_lock_themselves_out(admin_client):
    me = admin_client.admin
    admin_client.post(f"/technicians/{me.pk}/active/", {"active": "0"})
    me.refresh_from_db()
    assert me.is_active
    html = admin_client.post(f"/technicians/{me.pk}/", {"role": "reader", "scope": "all"}).content.decode()
    assert "cannot remove your own Admin role" in html


def test_partially_scoped_admin_cannot_grant_more_than_they_see(client, make_tech, world):
    scoped = make_tech("admin", "only", [world.alpha])
    target = make_tech("reader", "only", [world.alpha])
    client.force_login(scoped)
    html = client.post(f"/technicians/{target.pk}/", {"role": "reader", "scope": "all"}).content.decode()
    assert "Select a valid choice" in html
    html = client.post(f"/technicians/{target.pk}/", {"role": "reader", "scope": "only",
                                                      "tenants": [world.beta.pk]}).content.decode()  # fmt: skip
    assert "Select a valid choice" in html


def test_tenant_group_crud(admin_client, world, make_tech):
    response = admin_client.post(
        "/technicians/tenant-groups/new/", {"name": "Gold", "tenants": [world.alpha.pk]}
    )
    assert response.status_code == 302
    gold = TenantGroup.objects.get(name="Gold")
    assert list(gold.tenants.all()) == [world.alpha]
    clash = admin_client.post("/technicians/tenant-groups/new/", {"name": "gold"})
    assert clash.status_code == 422 and "already exists" in clash.content.decode()
    make_tech("reader", "groups", groups=[world.group], username="grouped")
    admin_client.post(f"/technicians/tenant-groups/{world.group.pk}/delete/")
    assert TenantGroup.objects.filter(pk=world.group.pk).exists()  # still somebody's scope
    admin_client.post(f"/technicians/tenant-groups/{gold.pk}/delete/")
    assert not TenantGroup.objects.filter(pk=gold.pk).exists()
    assert AuditEntry.objects.filter(action="tenant_group.delete").count() == 1
