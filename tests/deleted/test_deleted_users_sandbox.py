"""Deleted users against the sandbox's demo world: the list per tenant and across tenants (a tenant that
cannot be read is named), search, restore (written into the users cache at once; a UPN clash reported with
Graph's message), delete permanently with the typed confirmation, roles, scope and the privileged guard.
Each change is checked in the sandbox state and in the audit log."""

from __future__ import annotations

import uuid

import pytest

from graph.sandbox import directory
from graph.sandbox.models import SandboxGroupMember, SandboxRoleMember, SandboxUser
from graph.sandbox.seed_deleted import CLASH_DAYS
from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR
from tenants.models import TechnicianProfile, Tenant
from tests.provisioning.test_edit_views import technician, world  # noqa: F401
from users.models import AuditEntry, DirectoryUser

pytestmark = pytest.mark.django_db
Role = TechnicianProfile.Role
NORTHWIND = "Northwind Traders"


def _deleted(world, name=NORTHWIND):  # noqa: F811
    return SandboxUser.objects.filter(tenant=world.sandbox[name], deleted_datetime__isnull=False)


def _value(world, user, name=NORTHWIND):  # noqa: F811
    return f"{world.tenants[name].tenant_id}:{user.id}"


def _clash(world, name=NORTHWIND):  # noqa: F811
    live = SandboxUser.objects.filter(tenant=world.sandbox[name], deleted_datetime__isnull=True)
    return _deleted(world, name).get(upn_lower__in=live.values("upn_lower"))


def test_seeded_deleted_users_listed_with_days_left_and_searchable(world, django_user_model):  # noqa: F811
    reader = technician(django_user_model, Role.READER)
    tenant = world.tenants[NORTHWIND]
    response = reader.get("/users/deleted/", {"tenant": tenant.default_domain})
    assert response.status_code == 200
    rows = response.context["listing"].rows
    assert {r.user_id for r in rows} == {str(u.id) for u in _deleted(world)} and len(rows) == 3
    assert sorted(r.days_left for r in rows) == sorted([30 - 2 - 1, 30 - 11 - 1, 30 - CLASH_DAYS - 1])
    page = response.content.decode()
    assert "quinn.leftover@" in page and "Restore" not in page  # a Reader may look, not restore
    # tenantFilter= is CIPP's name for the same parameter; q searches names and UPNs without case
    found = reader.get("/users/deleted/", {"tenantFilter": str(tenant.tenant_id), "q": "ROBIN"})
    assert [r.upn.split("@")[0] for r in found.context["listing"].rows] == ["robin.departed"]


def test_all_tenants_lists_every_tenant_and_names_one_that_cannot_be_read(
    world,  # noqa: F811
    django_user_model,
    sandbox_connection,
    settings,
):
    # One thread: the in-process sandbox shares this test's SQLite transaction (parallel reads: unit test).
    settings.DELETED_USERS_CONCURRENCY = 1
    broken = Tenant.objects.create(tenant_id=uuid.uuid4(), connection=sandbox_connection,
                                   display_name="Gone Customer", default_domain="gone.example")  # fmt: skip
    admin = technician(django_user_model, Role.ADMIN)
    response = admin.get("/users/deleted/", {"tenant": "all"})
    assert response.status_code == 200
    listing = response.context["listing"]
    assert {r.tenant.display_name for r in listing.rows} == set(world.tenants)
    assert len(listing.rows) == 3 * len(world.tenants)
    assert [f.tenant.pk for f in listing.failures] == [broken.pk]
    assert "Gone Customer</strong>: the deleted users could not be read" in response.content.decode()


def _drop_group_roles(world, name=NORTHWIND):  # noqa: F811
    """The demo tenants' role-assignable group holds Password Administrator; without it an Editor may restore."""
    from graph.sandbox.models import SandboxGroupRoleMember

    SandboxGroupRoleMember.objects.filter(role__tenant=world.sandbox[name]).delete()


def test_editor_is_refused_while_a_role_assignable_group_holds_a_privileged_role(world, django_user_model):  # noqa: F811
    editor = technician(django_user_model, Role.EDITOR)
    quinn = _deleted(world).get(upn_lower__startswith="quinn.leftover@")
    done = editor.post("/users/deleted/restore/", {"selected": [_value(world, quinn)], "go": "1"})
    [(_, result)] = done.context["results"]
    assert result.status == "refused"
    assert "(Password Administrator) holds an administrator role" in result.message
    assert "does not show which groups a deleted user belonged to" in result.message
    quinn.refresh_from_db()
    assert quinn.deleted_datetime is not None


def test_editor_restores_user_back_in_table_with_group_and_audit(world, django_user_model):  # noqa: F811
    _drop_group_roles(world)
    editor = technician(django_user_model, Role.EDITOR)
    quinn = _deleted(world).get(upn_lower__startswith="quinn.leftover@")
    group = SandboxGroupMember.objects.get(user=quinn).group
    confirm = editor.post("/users/deleted/restore/", {"selected": [_value(world, quinn)]})
    assert confirm.status_code == 200 and quinn.upn_lower in confirm.content.decode()
    quinn.refresh_from_db()
    assert quinn.deleted_datetime is not None  # the confirmation changes nothing
    done = editor.post("/users/deleted/restore/", {"selected": [_value(world, quinn)], "go": "1"})
    assert done.status_code == 200
    [(tenant, result)] = done.context["results"]
    assert result.status == "success", result.message
    quinn.refresh_from_db()
    assert (
        quinn.deleted_datetime is None and SandboxGroupMember.objects.filter(group=group, user=quinn).exists()
    )
    cached = DirectoryUser.objects.get(tenant=world.tenants[NORTHWIND], user_id=quinn.id)
    assert cached.user_principal_name == quinn.properties["userPrincipalName"]
    table = editor.get("/users/", {"tenant": str(tenant.tenant_id), "q": "quinn.leftover"})
    assert [r["user"].user_id for r in table.context["rows"]] == [quinn.id]
    assert "Quinn Leftover" in table.content.decode()
    entry = AuditEntry.objects.get(action="restore-deleted-user", target_user_id=quinn.id)
    assert entry.result == "success" and entry.tenant_id == tenant.tenant_id


def test_restore_clash_reports_graphs_message(world, django_user_model):  # noqa: F811
    editor = technician(django_user_model, Role.ADMIN)
    clash = _clash(world)
    done = editor.post("/users/deleted/restore/", {"selected": [_value(world, clash)], "go": "1"})
    [(_, result)] = done.context["results"]
    assert result.status == "failed"
    assert (
        "Another object with the same value for property userPrincipalName already exists." in result.message
    )
    clash.refresh_from_db()
    assert clash.deleted_datetime is not None
    assert AuditEntry.objects.get(action="restore-deleted-user", target_user_id=clash.id).result == "failed"


def test_privileged_deleted_user_needs_an_admin(world, django_user_model):  # noqa: F811
    holder = SandboxRoleMember.objects.get(
        role__tenant=world.sandbox[NORTHWIND], role__role_template_id=DOMAIN_NAME_ADMINISTRATOR
    ).user
    directory.soft_delete_user(holder)
    _drop_group_roles(world)  # the refusal must come from the user's own role assignment
    editor = technician(django_user_model, Role.EDITOR)
    done = editor.post("/users/deleted/restore/", {"selected": [_value(world, holder)], "go": "1"})
    [(_, result)] = done.context["results"]
    assert result.status == "refused" and "held Domain Name Administrator" in result.message
    holder.refresh_from_db()
    assert holder.deleted_datetime is not None
    assert AuditEntry.objects.get(target_user_id=holder.id).result == "skipped"
    admin = technician(django_user_model, Role.ADMIN)
    done = admin.post("/users/deleted/restore/", {"selected": [_value(world, holder)], "go": "1"})
    assert done.context["results"][0][1].status == "success"
    holder.refresh_from_db()
    assert holder.deleted_datetime is None


def test_delete_permanently_needs_admin_and_the_typed_upn(world, django_user_model):  # noqa: F811
    robin = _deleted(world).get(upn_lower__startswith="robin.departed@")
    data = {"selected": [_value(world, robin)], "go": "1", "typed": robin.upn_lower}
    editor = technician(django_user_model, Role.EDITOR)
    assert editor.post("/users/deleted/purge/", data).status_code == 403
    admin = technician(django_user_model, Role.ADMIN)
    wrong = admin.post("/users/deleted/purge/", {**data, "typed": "yes"})
    assert wrong.status_code == 400 and f"Type {robin.upn_lower} exactly" in wrong.content.decode()
    assert SandboxUser.objects.filter(pk=robin.pk).exists()
    done = admin.post("/users/deleted/purge/", data)
    assert done.context["results"][0][1].status == "success"
    assert not SandboxUser.objects.filter(pk=robin.pk).exists()
    assert AuditEntry.objects.get(action="purge-deleted-user", target_user_id=robin.id).result == "success"


def test_several_users_need_the_count_phrase(world, django_user_model):  # noqa: F811
    users = list(_deleted(world).exclude(pk=_clash(world).pk))
    admin = technician(django_user_model, Role.ADMIN)
    data = {"selected": [_value(world, u) for u in users], "go": "1"}
    page = admin.post("/users/deleted/purge/", {**data, "go": ""})
    assert "DELETE 2 USERS" in page.content.decode()
    assert admin.post("/users/deleted/purge/", {**data, "typed": "delete 2 users"}).status_code == 200
    assert not SandboxUser.objects.filter(pk__in=[u.pk for u in users]).exists()


@pytest.mark.parametrize("role", [Role.READER, Role.HELPDESK])
def test_restore_refused_below_editor(world, django_user_model, role):  # noqa: F811
    quinn = _deleted(world).get(upn_lower__startswith="quinn.leftover@")
    client = technician(django_user_model, role)
    assert (
        client.post("/users/deleted/restore/", {"selected": [_value(world, quinn)], "go": "1"}).status_code
        == 403
    )
    quinn.refresh_from_db()
    assert quinn.deleted_datetime is not None


def test_out_of_scope_tenant_answers_404(world, django_user_model):  # noqa: F811
    other = next(name for name in world.tenants if name != NORTHWIND)
    quinn = _deleted(world, other).get(upn_lower__startswith="quinn.leftover@")
    editor = technician(django_user_model, Role.EDITOR, tenants=[world.tenants[NORTHWIND]])
    value = _value(world, quinn, other)
    assert editor.post("/users/deleted/restore/", {"selected": [value], "go": "1"}).status_code == 404
    assert editor.get("/users/deleted/", {"tenant": str(world.tenants[other].tenant_id)}).status_code == 404
    listing = editor.get("/users/deleted/", {"tenant": "all"}).context["listing"]
    assert {r.tenant.display_name for r in listing.rows} == {NORTHWIND}
