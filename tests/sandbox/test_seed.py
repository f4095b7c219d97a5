"""The sandbox seed: determinism, idempotency, the demo features later issues rely on, the scale path."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max

from graph.sandbox import seed as seeding
from graph.sandbox.models import (
    SandboxDirectoryRole,
    SandboxGdapRelationship,
    SandboxGroup,
    SandboxGroupMember,
    SandboxLicenseAssignment,
    SandboxMailbox,
    SandboxSku,
    SandboxTenant,
    SandboxUser,
)
from graph.sandbox.skus import AAD_PREMIUM_P2_PLAN, AAD_PREMIUM_PLAN, catalogue, sku

pytestmark = pytest.mark.django_db

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


def _counts() -> dict[str, int]:
    models = (SandboxTenant, SandboxUser, SandboxGroup, SandboxGroupMember, SandboxLicenseAssignment,
              SandboxMailbox, SandboxSku, SandboxDirectoryRole, SandboxGdapRelationship)  # fmt: skip
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def world() -> dict[str, SandboxTenant]:
    tenants = seeding.seed_demo()
    return {t.display_name: t for t in tenants}


def _tenant(name: str) -> SandboxTenant:
    return SandboxTenant.objects.get(display_name=name)


def test_partner_first_then_three_customers_with_active_gdap(world):
    tenants = list(world.values())
    assert tenants[0].is_partner and tenants[0].display_name == "Contoso MSP (sandbox partner)"
    assert set(world) == {
        "Contoso MSP (sandbox partner)",
        "Northwind Traders",
        "Fabrikam Inc",
        "Tailspin Toys",
    }
    gdap = SandboxGdapRelationship.objects.filter(partner=tenants[0], status="active")
    assert {g.customer.display_name for g in gdap} == {"Northwind Traders", "Fabrikam Inc", "Tailspin Toys"}


def test_same_seed_same_ids_and_rerun_is_idempotent(world):
    first_users = set(SandboxUser.objects.values_list("id", "upn_lower"))
    first_groups = set(SandboxGroup.objects.values_list("id", flat=True))
    first_counts = _counts()
    again = seeding.seed_demo()
    assert [t.pk for t in again] == [t.pk for t in world.values()]
    assert set(SandboxUser.objects.values_list("id", "upn_lower")) == first_users
    assert set(SandboxGroup.objects.values_list("id", flat=True)) == first_groups
    assert _counts() == first_counts


def test_another_seed_gives_other_ids_and_replaces_the_world(world):
    other = seeding.seed_demo(seed=2)
    assert {t.pk for t in other}.isdisjoint({t.pk for t in world.values()})
    # the seed-1 tenants held the same domains, so they were replaced rather than duplicated
    assert set(SandboxTenant.objects.values_list("pk", flat=True)) == {t.pk for t in other}


def test_partner_admin_is_global_admin_with_the_demo_password(world, monkeypatch):
    admin = seeding.partner_admin()
    assert admin.upn_lower == "admin@contosomsp.onmicrosoft.com"
    assert admin.tenant == seeding.partner_tenant()
    assert admin.role_memberships.filter(role__role_template_id=GLOBAL_ADMIN).exists()
    assert admin.password_hash and seeding.DEFAULT_ADMIN_PASSWORD not in admin.password_hash
    from django.contrib.auth.hashers import check_password

    assert check_password(seeding.DEFAULT_ADMIN_PASSWORD, admin.password_hash)
    other = SandboxUser.objects.exclude(pk=admin.pk).first()
    assert not check_password(seeding.DEFAULT_ADMIN_PASSWORD, other.password_hash)


def test_columns_mirror_properties_and_versions_are_distinct(world):
    for tenant in world.values():
        users = list(SandboxUser.objects.filter(tenant=tenant))
        versions = [u.version for u in users]
        assert len(set(versions)) == len(versions) and min(versions) >= 1
        tenant.refresh_from_db()
        assert tenant.change_counter == max(versions)
        for user in users:
            p = user.properties
            assert p["id"] == str(user.id)
            assert user.upn_lower == p["userPrincipalName"].lower()
            assert user.display_name == p["displayName"]
            assert user.mail_lower == (p["mail"] or "").lower()
            assert user.account_enabled is p["accountEnabled"]
            assert user.user_type == p["userType"]
            assert p["createdDateTime"].endswith("Z")
            assert set(p["signInActivity"]) == {
                "lastSignInDateTime", "lastNonInteractiveSignInDateTime", "lastSuccessfulSignInDateTime"}  # fmt: skip
            held = {str(a.sku.sku_id) for a in user.licenses.select_related("sku")}
            assert {lic["skuId"] for lic in p["assignedLicenses"]} == held


def test_hybrid_guests_disabled_and_admins(world):
    fabrikam = _tenant("Fabrikam Inc")
    synced = SandboxUser.objects.filter(tenant=fabrikam, properties__onPremisesSyncEnabled=True)
    assert synced.count() > 150
    assert all(u.properties["onPremisesImmutableId"] for u in synced)
    for tenant in world.values():
        if tenant.is_partner:
            continue
        guests = SandboxUser.objects.filter(tenant=tenant, user_type="Guest")
        assert guests.exists()
        initial = tenant.domains.get(is_initial=True).name
        for guest in guests:
            assert guest.upn_lower.endswith(f"#ext#@{initial}")
            assert guest.properties["creationType"] == "Invitation"
            assert guest.properties["externalUserState"] in {"Accepted", "PendingAcceptance"}
        disabled_people = SandboxUser.objects.filter(tenant=tenant, user_type="Member", account_enabled=False)
        assert disabled_people.exclude(mailbox__recipient_type_details="SharedMailbox").exists()
        roles = dict(SandboxDirectoryRole.objects.filter(tenant=tenant).annotate(n=Count("memberships"))
                     .values_list("display_name", "n"))  # fmt: skip
        by_group = dict(SandboxDirectoryRole.objects.filter(tenant=tenant).annotate(n=Count("group_memberships"))
                        .values_list("display_name", "n"))  # fmt: skip
        assert roles["Global Administrator"] >= 2 and all(n + by_group[r] >= 1 for r, n in roles.items())
        # The seven classic seats, Domain Name Administrator held directly and Password Administrator held
        # only through a role-assignable group (graph/sandbox/seed_roles.py).
        assert len(roles) == 9
        assert roles["Domain Name Administrator"] == 1
        assert roles["Password Administrator"] == 0 and by_group["Password Administrator"] == 1


def test_four_group_kinds_dynamic_and_synced_groups(world):
    for tenant in world.values():
        groups = list(SandboxGroup.objects.filter(tenant=tenant))
        unified = [g for g in groups if "Unified" in g.group_types]
        assert unified and all(g.mail_enabled and not g.security_enabled for g in unified)
        assert any(not g.mail_enabled and g.security_enabled and not g.group_types for g in groups)
        assert any(g.mail_enabled and g.security_enabled for g in groups)
        assert any(g.mail_enabled and not g.security_enabled and not g.group_types for g in groups)
        dynamic = [g for g in groups if "DynamicMembership" in g.group_types]
        assert len(dynamic) == 1 and dynamic[0].membership_rule
        assert dynamic[0].properties["membershipRule"] == dynamic[0].membership_rule
    fabrikam_synced = SandboxGroup.objects.filter(
        tenant=_tenant("Fabrikam Inc"), on_premises_sync_enabled=True
    )
    assert fabrikam_synced.exists()
    assert SandboxGroupMember.objects.filter(group__tenant=_tenant("Fabrikam Inc")).count() > 250


def test_mailboxes_shared_forwarding_auto_reply_and_large(world):
    shared = SandboxMailbox.objects.filter(recipient_type_details="SharedMailbox")
    assert shared.exists()
    for box in shared.select_related("user"):
        assert box.user.account_enabled is False and not box.user.licenses.exists()
    forwarding = SandboxMailbox.objects.get(forwarding_smtp_address="smtp:someone@gmail.com")
    assert forwarding.user.tenant.display_name == "Northwind Traders"
    assert SandboxMailbox.objects.filter(auto_reply__AutoReplyState="Enabled").count() == 1
    assert SandboxMailbox.objects.filter(total_item_size_bytes__gt=49 * 10**9).exists()
    assert SandboxMailbox.objects.exclude(archive_guid=None).exists()
    for box in SandboxMailbox.objects.filter(recipient_type_details="UserMailbox").select_related("user")[
        :50
    ]:
        assert any(
            sku(s.sku_part_number).has_exchange for s in SandboxSku.objects.filter(assignments__user=box.user)
        )


def test_licences_real_ids_units_and_p1_detection(world):
    names = catalogue()
    for row in SandboxSku.objects.annotate(consumed=Count("assignments")):
        assert str(row.sku_id) == names[row.sku_part_number].sku_id
        assert row.prepaid_enabled >= row.consumed
    tailspin = SandboxSku.objects.annotate(consumed=Count("assignments")).get(
        tenant=_tenant("Tailspin Toys"), sku_part_number="O365_BUSINESS_PREMIUM"
    )
    assert tailspin.consumed > 0 and tailspin.prepaid_enabled == tailspin.consumed  # no units left

    def plan_ids(name):
        return {
            p["servicePlanId"]
            for s in SandboxSku.objects.filter(tenant=_tenant(name))
            for p in s.service_plans
        }

    assert AAD_PREMIUM_PLAN in plan_ids("Northwind Traders")
    assert AAD_PREMIUM_P2_PLAN in plan_ids("Fabrikam Inc")
    assert AAD_PREMIUM_PLAN not in plan_ids("Tailspin Toys")
    assert SandboxUser.objects.filter(tenant=_tenant("Northwind Traders"), user_type="Member",
                                      licenses__isnull=True).exists()  # fmt: skip


def test_tenant_settings_tap_and_password_policy(world):
    assert _tenant("Northwind Traders").settings["tapPolicy"]["state"] == "enabled"
    assert _tenant("Tailspin Toys").settings["tapPolicy"]["state"] == "disabled"
    assert all(t.settings["passwordPolicy"]["minimumLength"] >= 8 for t in world.values())


def test_list_prints_summary_json_and_changes_nothing(world):
    before = _counts()
    out = StringIO()
    call_command("sandbox_seed", "--list", "--skip-checks", stdout=out)
    rows = json.loads(out.getvalue())
    assert _counts() == before
    assert rows[0]["is_partner"] is True
    assert set(rows[0]) == {"tenant_id", "display_name", "default_domain", "user_count", "is_partner"}
    northwind = next(r for r in rows if r["display_name"] == "Northwind Traders")
    assert northwind["default_domain"] == "northwindtraders.com"
    live = SandboxUser.objects.filter(tenant_id=northwind["tenant_id"], deleted_datetime__isnull=True)
    assert northwind["user_count"] == live.count()  # users in deleted items are not counted


def test_scale_path_via_command_and_reset():
    seeding.seed_demo()
    out = StringIO()
    call_command("sandbox_seed", "--tenants", "3", "--users", "50", "--reset", "--skip-checks", stdout=out)
    assert "Seeded 4 tenants" in out.getvalue()
    customers = SandboxTenant.objects.filter(is_partner=False)
    assert customers.count() == 3  # --reset removed the demo customers
    partner = SandboxTenant.objects.get(is_partner=True)
    assert SandboxGdapRelationship.objects.filter(partner=partner).count() == 3
    for tenant in customers:
        users = SandboxUser.objects.filter(tenant=tenant)
        assert users.filter(mailbox__recipient_type_details="SharedMailbox").count() == 2
        assert users.count() == 52
        assert users.aggregate(Max("version"))["version__max"] == tenant.change_counter == 52
        assert users.values("version").distinct().count() == 52


def test_command_rejects_half_or_bad_scale_arguments():
    with pytest.raises(CommandError, match="go together"):
        call_command("sandbox_seed", "--tenants", "2", "--skip-checks")
    with pytest.raises(CommandError, match="between 1"):
        call_command("sandbox_seed", "--tenants", "0", "--users", "5", "--skip-checks")
    assert not SandboxTenant.objects.exists()


def test_wipe_removes_everything_including_tokens(world):
    from django.utils import timezone

    from graph.sandbox.models import SandboxRefreshToken

    SandboxRefreshToken.objects.create(token_hash="x" * 64, client_id="c", user=seeding.partner_admin(),
                                       issued_at=timezone.now())  # fmt: skip
    seeding.wipe_tenants()
    assert all(n == 0 for n in _counts().values())
    assert not SandboxRefreshToken.objects.exists()
