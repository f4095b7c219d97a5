"""Manage licences and Remove from group on a selection: the exact batched requests (``responses``), the
form's refusals before anything is sent, and runs against the sandbox for every group kind."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
import responses
from django.http import QueryDict

from graph.sandbox.models import (
    SandboxGroup,
    SandboxGroupMember,
    SandboxLicenseAssignment,
    SandboxMailbox,
    SandboxSku,
)
from tests.actions.unitkit import (
    BATCH_URL,
    batch_answer,
    context,
    graph_error,
    make_tenant,
    make_user,
    targets,
)
from users.actions import registry, runner
from users.actions.licence_forms import ManageLicencesForm, RemoveFromGroupForm
from users.models import DirectoryUserLicense

E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
VISIO = "c5928f49-12ba-48f7-ada3-0d743a3601d5"


@pytest.fixture
def admin(django_user_model, db):
    return django_user_model.objects.create_superuser(username="boss", password="x")


def _holding(tenant, n, skus):
    user = make_user(tenant, n, license_sku_ids=list(skus),
                     graph={"assignedLicenses": [{"skuId": s, "disabledPlans": ["p"]} for s in skus]})  # fmt: skip
    for sku in skus:
        DirectoryUserLicense.objects.create(user=user, tenant=tenant, sku_id=uuid.UUID(sku))
    return user


def _items():
    return [item for call in responses.calls for item in json.loads(call.request.body)["requests"]]


@pytest.mark.django_db
@responses.activate
def test_licences_sends_one_assign_licence_per_user_with_only_what_changes(settings, admin):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    lacks_e3 = _holding(tenant, 1, [VISIO])
    has_both = _holding(tenant, 2, [E3, VISIO])
    done_already = _holding(tenant, 3, [E3])
    responses.add_callback(
        responses.POST, BATCH_URL, callback=batch_answer(lambda item: 200, lambda item: {})
    )
    data = {
        "add_skus": [E3],
        "remove_skus": [VISIO],
        "sku_names": {E3: "Microsoft 365 E3", VISIO: "Visio Plan 2"},
    }
    results = runner.run_action(registry.get("licences"), targets(tenant, [lacks_e3, has_both, done_already]), data,
                                technician=admin, contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert len(responses.calls) == 1  # both users' requests in one $batch
    sent = {item["url"]: item["body"] for item in _items()}
    assert sent == {
        f"/users/{lacks_e3.user_id}/assignLicense": {"addLicenses": [{"disabledPlans": [], "skuId": E3}],
                                                     "removeLicenses": [VISIO]},
        f"/users/{has_both.user_id}/assignLicense": {"addLicenses": [], "removeLicenses": [VISIO]},
    }  # fmt: skip
    outcomes = [(r.outcome.status, r.outcome.message) for r in results]
    assert outcomes == [
        ("success", "Added Microsoft 365 E3; removed Visio Plan 2."),
        ("success", "Removed Visio Plan 2."),
        ("skipped", "Nothing to change for this user."),
    ]
    lacks_e3.refresh_from_db()
    assert set(lacks_e3.license_sku_ids) == {E3}  # written through to the cache


@pytest.mark.django_db
@responses.activate
def test_licences_failure_is_graphs_message_with_the_usage_location_hint(settings, admin):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    user = _holding(tenant, 1, [])
    error = graph_error(
        "Request_BadRequest", "License assignment cannot be done for user with invalid usage location."
    )
    responses.add_callback(
        responses.POST, BATCH_URL, callback=batch_answer(lambda item: 400, lambda item: error)
    )
    [result] = runner.run_action(registry.get("licences"), targets(tenant, [user]), {"add_skus": [E3]},
                                 technician=admin, contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert result.outcome.status == "failed"
    assert (
        "invalid usage location" in result.outcome.message
        and "usage location (country) first" in result.outcome.message
    )
    assert "err-rid" in result.outcome.request_ids


@pytest.mark.django_db
@responses.activate
def test_remove_from_group_batches_deletes_and_treats_not_a_member_as_a_skip(settings, admin):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    tenant = make_tenant()
    users = [make_user(tenant, n) for n in range(25)]
    not_member = str(users[3].user_id)
    gone = graph_error("Request_ResourceNotFound", f"Resource '{not_member}' does not exist or one of its queried "
                       "reference-property objects are not present.")  # fmt: skip

    def status(item):
        return 404 if not_member in item["url"] else 204

    responses.add_callback(
        responses.POST, BATCH_URL, callback=batch_answer(status, lambda i: gone if status(i) == 404 else None)
    )
    choice = {"id": "g-1", "name": "SG-VPN", "kind": "Security", "mail": "", "via": "graph", "why_not": ""}
    results = runner.run_action(registry.get("remove-from-group"), targets(tenant, users), {"group": "g-1", "group_choice": choice},
                                technician=admin, contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert len(responses.calls) == 2  # 25 users: $batch calls of 20 + 5
    items = _items()
    assert {(i["method"], i["url"]) for i in items} == {
        ("DELETE", f"/groups/g-1/members/{u.user_id}/$ref") for u in users
    }
    assert all("body" not in i for i in items)
    statuses = {str(r.target.user.user_id): (r.outcome.status, r.outcome.message) for r in results}
    assert statuses[not_member] == ("skipped", "Not a member.")
    assert {s for uid, s in statuses.items() if uid != not_member} == {
        ("success", "Removed from SG-VPN (Security).")
    }


def test_licence_form_needs_one_tenant_and_a_choice(db):
    assert ManageLicencesForm({"add_skus": [E3]}).is_valid() is False
    form = ManageLicencesForm({"add_skus": [E3]})
    form.is_valid()
    assert "Select users of one tenant" in str(form.non_field_errors())
    assert "Select users of one tenant to remove" in str(_errors(RemoveFromGroupForm({"group": "x"})))


def _errors(form):
    form.is_valid()
    return form.non_field_errors()


# --- against the sandbox ------------------------------------------------------------------------------------


@pytest.fixture
def world(sandbox_world, sandbox_connection, django_user_model):
    from tenants.models import Tenant
    from users.sync import sync_tenant

    tenants = {}
    for sandbox_tenant in sandbox_world:
        if sandbox_tenant.is_partner or sandbox_tenant.display_name not in (
            "Northwind Traders",
            "Tailspin Toys",
        ):
            continue
        tenants[sandbox_tenant.display_name] = Tenant.objects.create(
            tenant_id=sandbox_tenant.pk, connection=sandbox_connection, display_name=sandbox_tenant.display_name,
            default_domain=sandbox_tenant.domains.get(is_default=True).name, has_exchange=True,
        )  # fmt: skip
        sync_tenant(tenants[sandbox_tenant.display_name], full=True)  # the directory cache, as in production
    admin = django_user_model.objects.create_superuser(username="boss", password="x")
    return SimpleNamespace(tenants=tenants, admin=admin)


def _rows(tenant, sandbox_users):
    from users.models import DirectoryUser

    return list(DirectoryUser.objects.filter(tenant=tenant, user_id__in=[u.pk for u in sandbox_users]))


def _post(rows, **fields) -> QueryDict:
    data = QueryDict(mutable=True)
    data.setlist("user", [f"{r.tenant.tenant_id}/{r.user_id}" for r in rows])
    for name, value in fields.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


def test_licence_form_refuses_more_adds_than_units_across_the_selection(world):
    tenant = world.tenants["Tailspin Toys"]
    full = SandboxSku.objects.get(
        tenant__display_name="Tailspin Toys", sku_part_number="O365_BUSINESS_PREMIUM"
    )
    holders = set(SandboxLicenseAssignment.objects.filter(sku=full).values_list("user_id", flat=True))
    rows = [
        r
        for r in _rows(tenant, full.tenant.users.filter(deleted_datetime__isnull=True))
        if r.user_id not in holders
    ][:2]
    assert rows, "the seed should have Tailspin users without Business Premium"
    form = ManageLicencesForm(_post(rows, add_skus=str(full.sku_id)), tenant=tenant)
    assert "none left" in dict(form.fields["add_skus"].choices)[str(full.sku_id)]
    assert not form.is_valid()
    # O365_BUSINESS_PREMIUM is "Microsoft 365 Business Standard" in Microsoft's catalogue.
    assert f"Not enough Microsoft 365 Business Standard licences: {len(rows)} needed, 0 available" in str(
        form.non_field_errors()
    )
    # Removing needs no units; and the users who already hold it need none either.
    holder_rows = _rows(tenant, full.tenant.users.filter(pk__in=holders))[:2]
    assert ManageLicencesForm(_post(holder_rows, add_skus=str(full.sku_id)), tenant=tenant).is_valid()
    # "All matching" selections are counted from the table's query.
    query = QueryDict(mutable=True)
    query.update({"query": f"tenant={tenant.slug}", "add_skus": str(full.sku_id)})
    form = ManageLicencesForm(query, tenant=tenant)
    assert not form.is_valid() and "available" in str(form.non_field_errors())


def test_licences_and_back_in_the_sandbox(world):
    tenant = world.tenants["Northwind Traders"]
    pbi = SandboxSku.objects.get(
        tenant__display_name="Northwind Traders", sku_part_number="POWER_BI_STANDARD"
    )
    holders = set(SandboxLicenseAssignment.objects.filter(sku=pbi).values_list("user_id", flat=True))
    candidates = [u for u in pbi.tenant.users.filter(deleted_datetime__isnull=True, user_type="Member")
                  if u.pk not in holders and u.properties.get("usageLocation")][:3]  # fmt: skip
    rows = _rows(tenant, candidates)
    form = ManageLicencesForm(_post(rows, add_skus=str(pbi.sku_id)), tenant=tenant)
    assert form.is_valid(), form.errors
    action = registry.get("licences")
    results = runner.run_action(
        action, [registry.Target(tenant, r) for r in rows], form.cleaned_data, technician=world.admin
    )
    assert {r.outcome.status for r in results} == {"success"}
    assert SandboxLicenseAssignment.objects.filter(sku=pbi, user__in=candidates).count() == len(candidates)
    rows = _rows(tenant, candidates)  # the cache was written through
    assert all(str(pbi.sku_id) in r.license_sku_ids for r in rows)
    form = ManageLicencesForm(_post(rows, remove_skus=str(pbi.sku_id)), tenant=tenant)
    assert form.is_valid(), form.errors
    back = runner.run_action(
        action, [registry.Target(tenant, r) for r in rows], form.cleaned_data, technician=world.admin
    )
    assert {r.outcome.message for r in back} == {"Removed Power BI Pro."} or {
        r.outcome.status for r in back
    } == {"success"}
    assert not SandboxLicenseAssignment.objects.filter(sku=pbi, user__in=candidates).exists()


@pytest.mark.parametrize("group_name, kind", [("SG-VPN-Users", "Security"), ("Sales Team", "Distribution"),
                                              ("Finance Approvers", "Mail-enabled security"), ("All Company", "Microsoft 365")])  # fmt: skip
def test_remove_from_group_every_kind_in_the_sandbox(world, group_name, kind):
    tenant = world.tenants["Northwind Traders"]
    group = SandboxGroup.objects.get(tenant__display_name="Northwind Traders", display_name=group_name)
    with_mailbox = set(SandboxMailbox.objects.values_list("user_id", flat=True))
    member_ids = [
        m.user_id for m in SandboxGroupMember.objects.filter(group=group) if m.user_id in with_mailbox
    ][:2]
    assert member_ids, f"the seed has no member of {group_name} with a mailbox"
    rows = _rows(tenant, group.tenant.users.filter(pk__in=member_ids))
    form = RemoveFromGroupForm(_post(rows, group=str(group.pk)), tenant=tenant)
    assert form.is_valid(), form.errors
    action = registry.get("remove-from-group")
    results = runner.run_action(
        action, [registry.Target(tenant, r) for r in rows], form.cleaned_data, technician=world.admin
    )
    assert [r.outcome.message for r in results] == [f"Removed from {group_name} ({kind})."] * len(rows)
    assert not SandboxGroupMember.objects.filter(group=group, user_id__in=member_ids).exists()
    again = runner.run_action(
        action, [registry.Target(tenant, rows[0])], form.cleaned_data, technician=world.admin
    )
    assert (again[0].outcome.status, again[0].outcome.message) == ("skipped", "Not a member.")


def test_dynamic_groups_cannot_be_chosen_for_removal(world):
    tenant = world.tenants["Northwind Traders"]
    dynamic = SandboxGroup.objects.get(
        tenant__display_name="Northwind Traders", display_name="All Sales (dynamic)"
    )
    form = RemoveFromGroupForm({"group": str(dynamic.pk)}, tenant=tenant)
    assert not form.is_valid() and "dynamic membership" in str(form.errors["group"])
