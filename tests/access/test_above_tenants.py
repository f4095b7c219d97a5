"""Objects above tenants (issue 13, parts 1 and 6): a scoped Admin (scope only / all except / groups) tries
every path of the review and gets the answer an unknown object gets; the Admin over all tenants succeeds.

How refusals answer: the connection pages, Add tenant and discovery are out of a scoped Admin's reach as
a kind, so they answer 403 before any object is looked up (a real and an unknown id alike); technicians,
tenant groups and tenants are partly in reach, so one out of reach answers 404 exactly like an unknown id.
"""

from __future__ import annotations

import uuid

import pytest

from tenants import access
from tenants.access_global import ScopeSpec, contained
from tenants.models import TechnicianProfile, TenantGroup
from users.models import AuditEntry

UNKNOWN = 999_999


@pytest.fixture
def alpha_group(world):
    group = TenantGroup.objects.create(name="Alpha only")
    group.tenants.add(world.alpha)
    return group


@pytest.fixture
def boss(make_tech):
    return make_tech("admin", "all", username="boss")


@pytest.fixture(params=["only", "except", "groups"])
def scoped(request, world, make_tech, alpha_group, client):
    """An Admin whose scope holds alpha (and, for "all except beta", gamma) but never beta."""
    scope = request.param
    tenants = {"only": [world.alpha], "except": [world.beta], "groups": []}[scope]
    admin = make_tech("admin", scope, tenants, [alpha_group] if scope == "groups" else [], username="scoped")
    client.force_login(admin)
    client.user = admin
    return client


def _same(first, second):
    assert (first.status_code, first.content) == (second.status_code, second.content)
    return first.status_code


def test_scoped_admin_has_no_tenants_manage_but_keeps_technicians(scoped, boss):
    assert not access.can(scoped.user, "tenants.manage") and access.can(scoped.user, "technicians.manage")
    assert not access.manages_global(scoped.user) and access.manages_global(boss)
    assert access.can(boss, "tenants.manage")


def test_partner_connection_pages_refuse_before_looking_up(scoped, world):
    pk = world.connection.pk
    for path in (
        "/tenants/connections/{}/",
        "/tenants/connections/{}/connect/",
        "/tenants/connections/{}/discover/",
    ):
        real, unknown = path.format(pk), path.format(UNKNOWN)
        assert _same(scoped.get(real), scoped.get(unknown)) in (403, 405)
        assert _same(scoped.post(real, {"name": "pwned"}), scoped.post(unknown, {"name": "pwned"})) == 403
    for url in ("/tenants/connections/", "/tenants/connections/new/", "/tenants/connections/callback/",
                "/tenants/add/"):  # fmt: skip
        assert scoped.get(url).status_code == 403
    assert scoped.post("/tenants/add/", {"connection": pk, "tenant": "x.example"}).status_code == 403
    world.connection.refresh_from_db()
    assert world.connection.name == "Access test partner"
    html = scoped.get("/tenants/").content.decode()
    assert "/tenants/connections/" not in html and "/tenants/add/" not in html  # no button, no nav link
    assert "Discover tenants" not in html and 'role="switch"' not in html


def test_enable_disable_own_tenant_403_other_like_unknown(scoped, world):
    assert scoped.post(f"/tenants/{world.alpha.tenant_id}/enabled/").status_code == 403
    beta = scoped.post(f"/tenants/{world.beta.tenant_id}/enabled/")
    assert _same(beta, scoped.post(f"/tenants/{uuid.uuid4()}/enabled/")) == 404
    world.alpha.refresh_from_db(), world.beta.refresh_from_db()
    assert world.alpha.enabled and world.beta.enabled


def test_all_tenant_admin_cannot_be_touched(scoped, boss):
    for path, data in (("/technicians/{}/", None), ("/technicians/{}/", {"role": "reader", "scope": "only"}),
                       ("/technicians/{}/active/", {"active": "0"})):  # fmt: skip
        method = scoped.post if data is not None else scoped.get
        assert (
            _same(method(path.format(boss.pk), data or {}), method(path.format(UNKNOWN), data or {})) == 404
        )
    boss.refresh_from_db()
    assert boss.is_active and boss.technician.role == "admin" and boss.technician.scope == "all"
    assert "boss" not in scoped.get("/technicians/").content.decode()


def test_technicians_outside_or_wider_answer_like_unknown(scoped, world, make_tech):
    outsider = make_tech("reader", "only", [world.alpha, world.beta], username="outsider")
    wide = make_tech("helpdesk", "except", [world.gamma], username="growing")  # holds beta, and grows
    for tech in (outsider, wide):
        assert _same(scoped.get(f"/technicians/{tech.pk}/"), scoped.get(f"/technicians/{UNKNOWN}/")) == 404
        scoped.post(f"/technicians/{tech.pk}/active/", {"active": "0"})
        tech.refresh_from_db()
        assert tech.is_active
    html = scoped.get("/technicians/").content.decode()
    assert "outsider" not in html and "growing" not in html


def test_scoped_admin_manages_inside_and_cannot_widen(scoped, world, make_tech, alpha_group):
    inside = make_tech("reader", "only", [world.alpha], username="insider")
    html = scoped.get(f"/technicians/{inside.pk}/").content.decode()
    assert "Zephyralpha" in html and "Quokkabeta" not in html and "Beta customers" not in html
    assert 'value="all"' not in html and 'value="except"' not in html
    assert "insider" in scoped.get("/technicians/").content.decode()
    for posted in ({"scope": "only", "tenants": [world.beta.pk]}, {"scope": "all"},
                   {"scope": "groups", "tenant_groups": [world.group.pk]}):  # fmt: skip
        response = scoped.post(f"/technicians/{inside.pk}/", {"role": "reader", **posted})
        assert response.status_code == 422
    inside.technician.refresh_from_db()
    assert list(inside.technician.tenants.all()) == [world.alpha]
    me = scoped.user
    assert scoped.post(f"/technicians/{me.pk}/", {"role": "admin", "scope": "all"}).status_code == 422
    assert scoped.post(f"/technicians/{me.pk}/", {"role": "admin", "scope": "only",
                                                 "tenants": [world.beta.pk]}).status_code == 422  # fmt: skip
    # An Admin inside its own scope, by group: allowed, and audited with the fields that changed.
    response = scoped.post(f"/technicians/{inside.pk}/", {"role": "admin", "scope": "groups",
                                                         "tenant_groups": [alpha_group.pk]})  # fmt: skip
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(action="technician.update", target_upn="insider").get()
    assert entry.parameters["changed"] == ["role", "scope", "tenant_groups", "tenants"]
    created = scoped.post("/technicians/new/", {"username": "newbie", "password1": "a-Long-passphrase-42!",
                                                "password2": "a-Long-passphrase-42!", "role": "editor",
                                                "scope": "only", "tenants": [world.alpha.pk]})  # fmt: skip
    assert created.status_code == 302 and AuditEntry.objects.filter(action="technician.create").exists()


def test_tenant_groups_outside_answer_like_unknown(scoped, world, alpha_group):
    group = world.group  # beta only
    assert _same(scoped.get(f"/technicians/tenant-groups/{group.pk}/"),
                 scoped.get(f"/technicians/tenant-groups/{UNKNOWN}/")) == 404  # fmt: skip
    assert _same(scoped.post(f"/technicians/tenant-groups/{group.pk}/delete/"),
                 scoped.post(f"/technicians/tenant-groups/{UNKNOWN}/delete/")) == 404  # fmt: skip
    assert TenantGroup.objects.filter(pk=group.pk).exists()
    empty = TenantGroup.objects.create(name="Empty VIP")
    listing = scoped.get("/technicians/tenant-groups/").content.decode()
    assert "Alpha only" in listing and "Beta customers" not in listing and "Empty VIP" not in listing
    assert scoped.get(f"/technicians/tenant-groups/{empty.pk}/").status_code == 404
    # Growing its own group with a tenant outside the scope is not on offer.
    grown = scoped.post(f"/technicians/tenant-groups/{alpha_group.pk}/",
                        {"name": "Alpha only", "tenants": [world.alpha.pk, world.beta.pk]})  # fmt: skip
    assert grown.status_code == 422 and "Select a valid choice" in grown.content.decode()
    assert list(alpha_group.tenants.all()) == [world.alpha]
    nothing = scoped.post("/technicians/tenant-groups/new/", {"name": "Nothing"})
    assert nothing.status_code == 422 and "Choose at least one of your tenants" in nothing.content.decode()


def test_group_names_not_revealed_by_id_in_the_users_table(scoped, world):
    hidden = scoped.get("/users/", {"tenant": f"group:{world.group.pk}"})
    unknown = scoped.get("/users/", {"tenant": f"group:{UNKNOWN}"})
    assert hidden.status_code == unknown.status_code == 404
    assert "Beta customers" not in hidden.content.decode()


def test_all_tenant_admin_manages_everything(client, boss, world, make_tech):
    scoped = make_tech("admin", "only", [world.alpha], username="scoped")
    client.force_login(boss)
    assert client.get(f"/tenants/connections/{world.connection.pk}/").status_code == 200
    assert client.post(f"/technicians/{scoped.pk}/active/", {"active": "0"}).status_code == 302
    scoped.refresh_from_db()
    assert not scoped.is_active
    assert client.post(f"/tenants/{world.beta.tenant_id}/enabled/").status_code == 302
    world.beta.refresh_from_db()
    assert not world.beta.enabled
    entry = AuditEntry.objects.get(action="tenant.disable")
    assert entry.tenant_id == world.beta.tenant_id and entry.technician_name == "boss"
    response = client.post(f"/technicians/tenant-groups/{world.group.pk}/",
                           {"name": "Beta customers", "tenants": [world.beta.pk, world.alpha.pk]})  # fmt: skip
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="tenant_group.update")
    assert entry.target_upn == "group:Beta customers" and entry.parameters["changed"] == ["tenants"]


def test_containment_counts_scopes_that_grow(world, alpha_group):
    alpha, beta, gamma = world.alpha, world.beta, world.gamma
    only_alpha = ScopeSpec.build("only", [alpha])
    assert contained(ScopeSpec.build("groups", groups=[alpha_group]), only_alpha)
    assert not contained(ScopeSpec.build("except", [beta, gamma]), only_alpha)  # {alpha} today, grows
    assert contained(ScopeSpec.build("except", [beta, gamma]), ScopeSpec.build("except", [beta]))
    assert not contained(ScopeSpec.build("except", [gamma]), ScopeSpec.build("except", [beta]))
    assert not contained(ScopeSpec.build("all"), ScopeSpec.build("except", []))
    assert contained(ScopeSpec.build("only", [alpha, gamma]), ScopeSpec.build("except", [beta]))
    assert not contained(ScopeSpec.build("groups", groups=[world.group]), only_alpha)
    assert contained(ScopeSpec.build("all"), ScopeSpec.build("all"))


def test_add_tenant_does_not_name_an_existing_tenant_out_of_scope(world):
    from tenants.models import Tenant
    from tenants.services import ALREADY_LISTED, ManualAddError, add_tenant_manually

    with pytest.raises(ManualAddError) as refused:
        add_tenant_manually(
            world.connection, "quokkabeta.example", visible=Tenant.objects.filter(pk=world.alpha.pk)
        )
    assert str(refused.value) == ALREADY_LISTED
    with pytest.raises(ManualAddError) as named:
        add_tenant_manually(world.connection, "quokkabeta.example", visible=Tenant.objects.all())
    assert "Quokkabeta" in str(named.value)


def test_profiles_and_superusers_out_of_reach(world, make_tech):
    scoped = make_tech("admin", "only", [world.alpha])
    bare = make_tech(None, username="bare")
    root = make_tech(None, superuser=True, username="root")
    assert not access.can_manage_technician(scoped, bare) and not access.can_manage_technician(scoped, root)
    assert access.can_manage_technician(scoped, scoped)
    assert TechnicianProfile.objects.filter(user=scoped).exists()
