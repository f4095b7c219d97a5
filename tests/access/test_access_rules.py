"""The access rule itself: roles × permissions, scope modes × tenants, 404 before 403, task re-checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tenants import access

ALL_PERMS = list(access.PERMISSIONS)
EXPECTED = {
    "reader": {"users.view", "users.export"},
    "helpdesk": {"users.view", "users.export", "sync.run", "users.actions.helpdesk"},
    "editor": {"users.view", "users.export", "sync.run", "users.actions.helpdesk", "users.edit"},
    "admin": set(ALL_PERMS),
}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("perm", ALL_PERMS)
def test_role_permission_matrix(world, make_tech, role, perm):
    tech = make_tech(role, "all")
    assert access.can(tech, perm) is (perm in EXPECTED[role])
    assert access.can(tech, perm, world.alpha) is (perm in EXPECTED[role])


def test_roles_build_on_each_other_and_are_described():
    order = ["reader", "helpdesk", "editor", "admin"]
    for lower, higher in zip(order, order[1:], strict=False):
        assert access.ROLES[lower].permissions < access.ROLES[higher].permissions
    for role in access.ROLES.values():
        assert role.summary and all(text for _, text in role.permission_list)


# scope mode -> (tenants chosen, groups chosen) and which of alpha/beta/gamma a non-admin / admin sees
SCOPES = {
    "all": ((), (), {"alpha", "beta"}, {"alpha", "beta", "gamma"}),
    "only": (("alpha", "gamma"), (), {"alpha"}, {"alpha", "gamma"}),
    "except": (("alpha",), (), {"beta"}, {"beta", "gamma"}),
    "groups": ((), ("group",), {"beta"}, {"beta"}),
}


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("role", ["reader", "helpdesk", "editor", "admin"])
def test_scope_modes(world, make_tech, scope, role):
    tenant_names, group_names, seen_by_others, seen_by_admin = SCOPES[scope]
    tech = make_tech(
        role, scope, [getattr(world, n) for n in tenant_names], [getattr(world, n) for n in group_names]
    )
    expected = seen_by_admin if role == "admin" else seen_by_others
    names = {"Zephyralpha Ltd": "alpha", "Quokkabeta GmbH": "beta", "Narwhalgamma BV": "gamma"}
    assert {names[t.display_name] for t in access.visible_tenants(tech)} == expected
    for name in ("alpha", "beta", "gamma"):
        tenant = getattr(world, name)
        assert access.can(tech, "users.view", tenant) is (name in expected)
        # by GUID (text and UUID) and by primary key, too
        assert access.can(tech, "users.view", str(tenant.tenant_id)) is (name in expected)
        assert access.can(tech, "users.view", tenant.pk) is (name in expected)


def test_group_membership_changes_apply_and_disabled_members_stay_hidden(world, make_tech):
    tech = make_tech("editor", "groups", groups=[world.group])
    world.group.tenants.add(world.gamma, world.alpha)
    assert set(access.visible_tenants(tech)) == {world.alpha, world.beta}


def test_visible_tenants_is_one_query(world, make_tech, django_assert_num_queries):
    tech = make_tech("reader", "groups", groups=[world.group])
    access.permissions_of(tech)  # profile load, cached on the user object
    with django_assert_num_queries(1):
        list(access.visible_tenants(tech))
    with django_assert_num_queries(1):
        assert access.can(tech, "users.view", world.beta)
    with django_assert_num_queries(0):
        assert access.can(tech, "users.export", world.beta)


def test_no_profile_superuser_inactive_anonymous(world, make_tech):
    from django.contrib.auth.models import AnonymousUser

    bare = make_tech(None)
    assert not access.visible_tenants(bare).exists()
    assert access.can(bare, "users.view")  # a Reader without tenants: pages work, and show nothing
    assert not access.can(bare, "users.view", world.alpha)
    boss = make_tech(None, superuser=True)
    assert set(access.visible_tenants(boss)) == set(world.tenants)
    assert all(access.can(boss, perm, world.gamma) for perm in ALL_PERMS)
    gone = make_tech("admin", "all", active=False)
    assert not access.visible_tenants(gone).exists() and not access.can(gone, "users.view")
    anonymous = AnonymousUser()
    assert not access.can(anonymous, "users.view") and not access.visible_tenants(anonymous).exists()


def test_require_404_for_out_of_scope_before_403(world, make_tech):
    reader = make_tech("reader", "only", [world.alpha])
    with pytest.raises(Http404):
        access.require(reader, "users.edit", world.beta)  # outside scope: 404 even though 403 also applies
    with pytest.raises(Http404):
        access.require(reader, "users.view", world.gamma)  # disabled: invisible to a non-admin
    with pytest.raises(PermissionDenied):
        access.require(reader, "users.edit", world.alpha)
    access.require(reader, "users.view", world.alpha)
    with pytest.raises(ValueError):
        access.can(reader, "users.fly")


def test_privileged_targets_need_admin(world, make_tech):
    helpdesk = make_tech("helpdesk", "all")
    admin = make_tech("admin", "all")
    assert access.can_act_on(helpdesk, "users.actions.helpdesk", world.alpha, privileged=False)
    assert not access.can_act_on(helpdesk, "users.actions.helpdesk", world.alpha, privileged=True)
    assert access.can_act_on(admin, "users.actions.helpdesk", world.alpha, privileged=True)


def test_require_for_task_rechecks_at_run_time(world, make_tech):
    tech = make_tech("editor", "only", [world.alpha])
    user, tenant = access.require_for_task(tech.pk, "users.edit", world.alpha.tenant_id)
    assert user == tech and tenant == world.alpha
    tech.technician.role = "reader"
    tech.technician.save()
    with pytest.raises(PermissionDenied):
        access.require_for_task(tech.pk, "users.edit", str(world.alpha.tenant_id))
    with pytest.raises(PermissionDenied):
        access.require_for_task(tech.pk, "users.view", world.beta.pk)  # out of scope: no 404 in a task
    tech.is_active = False
    tech.save()
    with pytest.raises(PermissionDenied):
        access.require_for_task(tech.pk, "users.view", world.alpha.tenant_id)
    with pytest.raises(PermissionDenied):
        access.require_for_task(999_999, "users.view")


def test_scope_description(world, make_tech):
    assert access.scope_description(make_tech("reader", "all")) == "All tenants"
    assert (
        access.scope_description(make_tech("reader", "only", [world.alpha]))
        == "Only: Zephyralpha Ltd (zephyralpha.example)"
    )
    assert access.scope_description(make_tech("admin", "except", [world.beta])).endswith(
        "including disabled tenants"
    )
    assert "Beta customers" in access.scope_description(make_tech("editor", "groups", groups=[world.group]))
    assert access.scope_description(make_tech(None)).startswith("No tenants")


def test_decorator_resolves_tenant_by_domain_and_hides_out_of_scope(world, make_tech, rf):
    @access.permission_required_for("users.view", tenant_kwarg="tenant")
    def view(request, tenant):
        return tenant

    request = rf.get("/")
    request.user = make_tech("reader", "only", [world.alpha])
    assert view(request, tenant="ZEPHYRALPHA.example") == world.alpha
    assert view(request, tenant=str(world.alpha.tenant_id)) == world.alpha
    for hidden in ("quokkabeta.example", str(world.beta.tenant_id), "nonexistent.example", "not a guid"):
        with pytest.raises(Http404):
            view(request, tenant=hidden)
