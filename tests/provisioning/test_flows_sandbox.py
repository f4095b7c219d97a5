"""Add user, Edit user, Invite guest and the address check against the sandbox tenant: the state Graph and
Exchange are left in (users, licences, proxy addresses, group memberships of every kind, manager), not just
what the flows report."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.hashers import check_password

from graph.sandbox.models import SandboxGroup, SandboxGroupMember, SandboxMailbox, SandboxSku, SandboxUser
from tests.conftest import portal_tenants
from users.actions.runner import build_context
from users.models import AuditEntry, DirectoryUser
from users.provisioning import steps
from users.provisioning.availability import address_problems
from users.provisioning.create import provision_user
from users.provisioning.edit import apply_edit
from users.provisioning.invite import invite_guest
from users.provisioning.types import LicenceChoice, NewUser, UserEdit


@pytest.fixture
def world(sandbox_world, sandbox_connection, django_user_model):
    by_id = portal_tenants(sandbox_world, sandbox_connection)
    tenants = {tenant.display_name: tenant for tenant in by_id.values()}
    admin = django_user_model.objects.create_superuser(username="boss", password="x")
    return SimpleNamespace(tenants=tenants, admin=admin, sandbox={t.display_name: t for t in sandbox_world})


def ctx_for(world, name="Northwind Traders"):
    return build_context(world.tenants[name], world.admin)


def group_named(name, tenant="Northwind Traders"):
    return SandboxGroup.objects.get(tenant__display_name=tenant, display_name=name)


def sku(part, tenant="Northwind Traders"):
    return SandboxSku.objects.get(tenant__display_name=tenant, sku_part_number=part)


def members(tenant="Northwind Traders", **filters):
    return (
        SandboxUser.objects.filter(tenant__display_name=tenant, deleted_datetime__isnull=True, user_type="Member",
                                   account_enabled=True, role_memberships__isnull=True, **filters)
        .exclude(properties__assignedLicenses=[])
        .order_by("created_datetime", "id")
    )  # fmt: skip


def cloud_mailbox_user(tenant="Northwind Traders", skip=0):
    boxes = SandboxMailbox.objects.filter(user__tenant__display_name=tenant, recipient_type_details="UserMailbox",
                                          user__account_enabled=True, user__role_memberships__isnull=True)  # fmt: skip
    users = [b.user for b in boxes.select_related("user").order_by("user__display_name")
             if not b.user.properties.get("onPremisesSyncEnabled")]  # fmt: skip
    return users[skip]


def record(user: SandboxUser) -> dict:
    user.refresh_from_db()
    return {**user.properties, "id": str(user.pk)}


def test_add_user_creates_the_user_with_licences_aliases_groups_and_manager(world):
    ctx = ctx_for(world)
    manager = members().first()
    source = members().filter(pk__in=SandboxGroupMember.objects.filter(group=group_named("Finance Approvers"))
                              .values("user")).first()  # fmt: skip
    groups = [group_named(n) for n in ("SG-VPN-Users", "Sales Team", "All Company", "All Sales (dynamic)")]
    spb = sku("SPB")
    new = NewUser(
        display_name="Nina New", username="nina.new", domain="northwindtraders.com", given_name="Nina",
        surname="New", aliases=["nina@northwindtraders.com", "nn@northwind.co.uk"], usage_location="",
        licences=[LicenceChoice(str(spb.sku_id))], job_title="Buyer", department="Purchasing",
        business_phone="+44 161 496 0000", manager_id=str(manager.pk), group_ids=[str(g.pk) for g in groups],
        copy_groups_from=str(source.pk),
    )  # fmt: skip
    result = provision_user(ctx, new)
    assert result.created, result.steps
    failed = [(s.step, s.message) for s in result.failed_steps]
    assert not failed, failed

    user = SandboxUser.objects.get(pk=result.user_id)
    props = user.properties
    assert props["userPrincipalName"] == "nina.new@northwindtraders.com" and props["usageLocation"] == "GB"
    assert props["jobTitle"] == "Buyer" and props["businessPhones"] == ["+44 161 496 0000"]
    assert check_password(result.password, user.password_hash)  # the password shown is the one set
    assert user.licenses.filter(sku=spb).exists()
    proxies = props["proxyAddresses"]
    assert "SMTP:nina.new@northwindtraders.com" in proxies  # the UPN primary again after the mail trick
    assert {"smtp:nina@northwindtraders.com", "smtp:nn@northwind.co.uk"} <= set(proxies)
    joined = set(SandboxGroupMember.objects.filter(user=user).values_list("group__display_name", flat=True))
    assert {
        "SG-VPN-Users",
        "Sales Team",
        "All Company",
        "Finance Approvers",
    } <= joined  # DL + MESG via Exchange
    assert "All Sales (dynamic)" not in joined
    assert user.manager_id == manager.pk
    by_step = {(s.step, s.details.get("group_name")): s for s in result.steps}
    assert by_step[("groups", "All Sales (dynamic)")].status == "skipped"
    assert by_step[("copy-groups", "Finance Approvers")].status == "success"
    # Cached at once with its licence; audited per step.
    row = DirectoryUser.objects.get(tenant=ctx.tenant, user_id=result.user_id)
    assert row.is_licensed and "nn@northwind.co.uk" in row.proxy_search
    assert (
        AuditEntry.objects.filter(action="add-user", result="success", target_user_id=result.user_id).count()
        == 1
    )
    assert AuditEntry.objects.filter(action__startswith="add-user:").count() == len(result.steps) - 1


def test_add_user_refuses_a_licence_without_units_and_creates_nothing(world):
    ctx = ctx_for(world, "Tailspin Toys")
    full = sku("O365_BUSINESS_PREMIUM", "Tailspin Toys")
    before = SandboxUser.objects.count()
    new = NewUser(display_name="No Seat", username="no.seat", domain="tailspintoys.com",
                  licences=[LicenceChoice(str(full.sku_id))])  # fmt: skip
    result = provision_user(ctx, new)
    assert not result.created and "Not enough" in result.steps[0].message
    assert SandboxUser.objects.count() == before


def test_add_user_with_a_taken_alias_still_reports_the_user(world):
    ctx = ctx_for(world)
    taken = members().first().properties["userPrincipalName"]
    result = provision_user(ctx, NewUser(display_name="Al Ias", username="al.ias", domain="northwindtraders.com",
                                         aliases=[taken]))  # fmt: skip
    assert result.created and result.user_id
    [aliases] = [s for s in result.steps if s.step == "aliases"]
    assert aliases.status == "failed" and "already exists" in aliases.message
    user = SandboxUser.objects.get(pk=result.user_id)
    assert user.properties.get("mail") in (None, "", "al.ias@northwindtraders.com")


def test_edit_user_changes_only_what_was_asked(world):
    ctx = ctx_for(world)
    user = cloud_mailbox_user()
    source = cloud_mailbox_user(skip=1)
    manager = cloud_mailbox_user(skip=2)
    props = record(user)
    current_groups = set(SandboxGroupMember.objects.filter(user=user).values_list("group_id", flat=True))
    leave = next(g for g in SandboxGroup.objects.filter(pk__in=current_groups)
                 if not g.membership_rule and not g.on_premises_sync_enabled)  # fmt: skip
    join = [
        g for g in (group_named("IT Alerts"), group_named("SG-Intune-Pilot")) if g.pk not in current_groups
    ]
    pbi = sku("POWER_BI_STANDARD")
    secondary = next((p for p in props.get("proxyAddresses") or [] if p.startswith("smtp:")), None)
    edit = UserEdit(
        user_id=str(user.pk), user_principal_name=props["userPrincipalName"],
        changes={"jobTitle": "Head Buyer", "department": None},
        add_licences=[LicenceChoice(str(pbi.sku_id))] if not user.licenses.filter(sku=pbi).exists() else [],
        remove_licences=[] if not user.licenses.filter(sku=pbi).exists() else [str(pbi.sku_id)],
        add_group_ids=[str(g.pk) for g in join], remove_group_ids=[str(leave.pk)], copy_groups_from=str(source.pk),
        add_aliases=["head.buyer@northwind.co.uk"], remove_aliases=[secondary[5:]] if secondary else [],
        manager_id=str(manager.pk),
    )  # fmt: skip
    results = apply_edit(ctx, edit)
    assert not [r for r in results if r.status == "failed"], [(r.step, r.message) for r in results]

    after = record(user)
    assert after["jobTitle"] == "Head Buyer" and after.get("department") is None
    assert after["displayName"] == props["displayName"]  # untouched: not in the diff
    assert user.licenses.filter(sku=pbi).exists() == bool(edit.add_licences)
    groups = set(SandboxGroupMember.objects.filter(user=user).values_list("group_id", flat=True))
    assert leave.pk not in groups and all(g.pk in groups for g in join)
    copied = set(SandboxGroupMember.objects.filter(user=source).values_list("group_id", flat=True))
    writable = {g.pk for g in SandboxGroup.objects.filter(pk__in=copied)
                if not g.membership_rule and not g.on_premises_sync_enabled}  # fmt: skip
    assert writable - {leave.pk} <= groups
    assert "smtp:head.buyer@northwind.co.uk" in after["proxyAddresses"]
    if secondary:
        assert secondary not in after["proxyAddresses"]
    user.refresh_from_db()
    assert user.manager_id == manager.pk
    row = DirectoryUser.objects.get(tenant=ctx.tenant, user_id=user.pk)
    assert row.job_title == "Head Buyer"

    # Removing the manager, then removing it again: the second time is a skip.
    [removed] = apply_edit(ctx, UserEdit(user_id=str(user.pk), user_principal_name=props["userPrincipalName"],
                                         manager_id=None))  # fmt: skip
    assert removed.status == "success"
    [again] = apply_edit(ctx, UserEdit(user_id=str(user.pk), user_principal_name=props["userPrincipalName"],
                                       manager_id=None))  # fmt: skip
    assert again.status == "skipped"


def test_edit_refuses_dynamic_and_synced_groups_without_sending(world):
    ctx = ctx_for(world)
    user = cloud_mailbox_user()
    dynamic = group_named("All Sales (dynamic)")
    synced = SandboxGroup.objects.filter(
        tenant__display_name="Northwind Traders", on_premises_sync_enabled=True
    ).first()
    ids = [str(dynamic.pk)] + ([str(synced.pk)] if synced else [])
    before = set(SandboxGroupMember.objects.filter(user=user).values_list("group_id", flat=True))
    results = apply_edit(ctx, UserEdit(user_id=str(user.pk), user_principal_name=user.properties["userPrincipalName"],
                                       add_group_ids=ids))  # fmt: skip
    assert [r.status for r in results] == ["skipped"] * len(ids)
    assert "dynamic" in results[0].message
    assert set(SandboxGroupMember.objects.filter(user=user).values_list("group_id", flat=True)) == before


def test_copy_group_memberships_lists_every_skip(world):
    ctx = ctx_for(world)
    source = members().filter(pk__in=SandboxGroupMember.objects.filter(group=group_named("All Sales (dynamic)"))
                              .values("user")).first()  # fmt: skip
    target = cloud_mailbox_user()
    results = steps.copy_group_memberships(ctx, str(source.pk), record(target))
    by_name = {r.details.get("group_name"): r for r in results}
    assert by_name["All Sales (dynamic)"].status == "skipped"
    assert "dynamic" in by_name["All Sales (dynamic)"].message
    assert all(r.status in ("success", "skipped") for r in results), [(r.message, r.status) for r in results]
    source_groups = set(
        SandboxGroupMember.objects.filter(user=source).values_list("group__display_name", flat=True)
    )
    assert set(by_name) == source_groups


def test_invite_guest_then_again_then_a_member(world):
    ctx = ctx_for(world)
    step = invite_guest(
        ctx, display_name="Pat External", email="pat@external-partner.example", send_email=False
    )
    assert step.status == "success", step.message
    guest = SandboxUser.objects.get(pk=step.details["user_id"])
    assert guest.user_type == "Guest"
    assert step.details["invite_redeem_url"].startswith("https://")
    assert DirectoryUser.objects.filter(tenant=ctx.tenant, user_id=guest.pk, user_type="Guest").exists()
    again = invite_guest(ctx, display_name="Pat External", email="pat@external-partner.example")
    assert again.status == "success" and "already a guest" in again.message
    assert again.details["user_id"] == str(guest.pk)
    assert (
        SandboxUser.objects.filter(tenant=guest.tenant, mail_lower="pat@external-partner.example").count()
        == 1
    )
    member = members().first().properties["userPrincipalName"]
    refused = invite_guest(ctx, display_name="Member", email=member)
    assert refused.status == "failed" and "member of this tenant" in refused.message


def test_address_problems_against_the_sandbox(world):
    tenant = world.tenants["Northwind Traders"]
    member = members().first()
    upn = member.properties["userPrincipalName"]
    secondary = next(
        (p[5:] for p in member.properties.get("proxyAddresses") or [] if p.startswith("smtp:")), None
    )
    sales = group_named("Sales Team").properties.get("mail") or group_named("Sales Team").mail_lower
    free = "nobody.yet@northwindtraders.com"
    asked = [upn, free, sales, "x@not-ours.example"] + ([secondary] if secondary else [])
    DirectoryUser.objects.filter(tenant=tenant).delete()  # nothing cached: Graph has to answer
    problems = address_problems(tenant, asked)
    assert upn.lower() in problems and "in use by" in problems[upn.lower()]
    assert "group" in problems[sales.lower()]
    assert "not a verified domain" in problems["x@not-ours.example"]
    assert free not in problems
    if secondary:
        assert secondary.lower() in problems
    assert address_problems(tenant, [upn], exclude_user_id=str(member.pk)) == {}
