"""Add to group: the picker (kinds, dynamic/synced disabled), the planned Graph requests, and runs against
the sandbox for a security group (Graph $batch) and a distribution list (Exchange), incl. "already a member"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from graph.sandbox.models import SandboxGroup, SandboxGroupMember
from graph.services import groups as group_service
from users.actions import registry
from users.actions.mail_forms import AddToGroupForm

from . import examples_mail as ex


def test_classify_kinds_and_refusals():
    assert group_service.classify({"id": "1", "groupTypes": ["Unified"], "mailEnabled": True}).via == "graph"
    assert group_service.classify({"id": "2", "securityEnabled": True}).kind == "Security"
    dl = group_service.classify({"id": "3", "mailEnabled": True, "securityEnabled": False})
    assert (dl.kind, dl.via) == ("Distribution", "exchange")
    mes = group_service.classify({"id": "4", "mailEnabled": True, "securityEnabled": True})
    assert (mes.kind, mes.via) == ("Mail-enabled security", "exchange")
    dynamic = group_service.classify(
        {"id": "5", "groupTypes": ["DynamicMembership"], "securityEnabled": True}
    )
    assert dynamic.via == "" and "dynamic" in dynamic.why_not
    synced = group_service.classify({"id": "6", "securityEnabled": True, "onPremisesSyncEnabled": True})
    assert synced.via == "" and "on-premises" in synced.why_not


def test_plan_posts_a_reference_for_graph_groups_and_reads_the_group_for_exchange_ones():
    action = registry.get("add-to-group")
    target = SimpleNamespace(user=SimpleNamespace(user_id="u-1"))
    graph_choice = {"id": "g-1", "via": "graph", "name": "G", "kind": "Security"}
    [request] = action.plan(None, target, {"group": "g-1", "group_choice": graph_choice})
    assert (request.method, request.url) == ("POST", "/groups/g-1/members/$ref")
    assert request.body == {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/u-1"}
    dl_choice = {**graph_choice, "via": "exchange", "kind": "Distribution"}
    [request] = action.plan(None, target, {"group": "g-1", "group_choice": dl_choice})
    assert request.method == "GET" and request.url.startswith("/groups/g-1?$select=")


@pytest.fixture
def group_world(sandbox_connection, django_user_model):
    from graph.sandbox.models import SandboxTenant
    from tenants.models import Tenant

    cache = {}
    for sandbox_tenant in SandboxTenant.objects.filter(is_partner=False):
        cache[sandbox_tenant.display_name] = Tenant.objects.create(
            tenant_id=sandbox_tenant.pk, connection=sandbox_connection, display_name=sandbox_tenant.display_name,
            default_domain=sandbox_tenant.domains.get(is_default=True).name, has_exchange=True,
        )  # fmt: skip
    admin = django_user_model.objects.create_superuser(username="boss", password="x")
    return SimpleNamespace(tenants=list(SandboxTenant.objects.all()), cache=cache, admin=admin)


def _target(world, sandbox_user):
    from users.models import DirectoryUser

    props = sandbox_user.properties
    row, _ = DirectoryUser.objects.get_or_create(
        tenant=world.cache[sandbox_user.tenant.display_name], user_id=sandbox_user.pk,
        defaults={"user_principal_name": props["userPrincipalName"], "mail": props.get("mail") or "",
                  "display_name": props.get("displayName", "")},
    )  # fmt: skip
    return registry.Target(row.tenant, row)


def _add(world, users, group_name):
    from users.actions.runner import run_action

    targets = [_target(world, user) for user in users]
    tenant = targets[0].tenant
    form = AddToGroupForm(ex.group_data(world, group_name), tenant=tenant)
    assert form.is_valid(), form.errors
    results = run_action(registry.get("add-to-group"), targets, form.cleaned_data, technician=world.admin)
    return [r.outcome for r in results]


def _non_member(world, group_name, count=1):
    group = SandboxGroup.objects.get(tenant__display_name="Northwind Traders", display_name=group_name)
    from graph.sandbox.models import SandboxMailbox

    boxes = SandboxMailbox.objects.filter(user__tenant=group.tenant, recipient_type_details="UserMailbox")
    users = [b.user for b in boxes.select_related("user").order_by("user__display_name")
             if not SandboxGroupMember.objects.filter(group=group, user=b.user).exists()]  # fmt: skip
    return group, users[:count]


def test_picker_lists_kinds_and_disables_dynamic_groups(group_world):
    form = AddToGroupForm(tenant=group_world.cache["Northwind Traders"])
    labels = dict(form.fields["group"].choices)
    dynamic = SandboxGroup.objects.get(
        tenant__display_name="Northwind Traders", display_name="All Sales (dynamic)"
    )
    assert "Distribution" in " ".join(labels.values()) and "Microsoft 365" in " ".join(labels.values())
    assert "not here: dynamic" in labels[str(dynamic.pk)]
    assert 'disabled' in str(form["group"]) and not AddToGroupForm({"group": str(dynamic.pk)},
                                                                   tenant=group_world.cache["Northwind Traders"]).is_valid()  # fmt: skip
    assert not AddToGroupForm({"group": str(dynamic.pk)}).is_valid()  # no tenant: nothing to choose from


def test_security_group_through_graph_batch_then_already_a_member(group_world):
    group, users = _non_member(group_world, "SG-VPN-Users", count=2)
    outcomes = _add(group_world, users, "SG-VPN-Users")
    assert [o.status for o in outcomes] == ["success", "success"]
    assert SandboxGroupMember.objects.filter(group=group, user__in=users).count() == 2
    again = _add(group_world, users[:1], "SG-VPN-Users")
    assert again[0].status == "skipped" and again[0].message == "Already a member."


def test_distribution_list_through_exchange_then_already_a_member(group_world):
    group, [user] = _non_member(group_world, "Sales Team")
    [outcome] = _add(group_world, [user], "Sales Team")
    assert outcome.status == "success" and "Distribution" in outcome.message
    assert SandboxGroupMember.objects.filter(group=group, user=user).exists()
    [again] = _add(group_world, [user], "Sales Team")
    assert again.status == "skipped" and again.message == "Already a member."


def test_mail_enabled_security_group_through_exchange(group_world):
    group, [user] = _non_member(group_world, "Finance Approvers")
    [outcome] = _add(group_world, [user], "Finance Approvers")
    assert outcome.status == "success" and "Mail-enabled security" in outcome.message
    assert SandboxGroupMember.objects.filter(group=group, user=user).exists()
