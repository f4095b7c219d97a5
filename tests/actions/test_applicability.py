"""Actions offered only where they can work: the OneDrive licence check from the cache, greyed-out menu
entries with their reason (row menu, More info, View user), and the runner and the modal refusing a
posted action with that same reason."""

from __future__ import annotations

import uuid

import pytest
import responses
from django.urls import reverse

from tests.actions.unitkit import context, make_tenant, make_user, targets
from users.actions import menus, registry, runner
from users.actions.applicability import HIDDEN_WHEN_INAPPLICABLE, for_user
from users.actions.onedrive_licences import assigned_licences, gives_onedrive, onedrive_why_not
from users.actions.registry import Status
from users.actions.selection import user_value
from users.models import AuditEntry, TenantSku

pytestmark = pytest.mark.django_db

E3 = str(uuid.uuid5(uuid.NAMESPACE_DNS, "SPE_E3"))
EXCHANGE = str(uuid.uuid5(uuid.NAMESPACE_DNS, "EXCHANGESTANDARD"))
MYSTERY = str(uuid.uuid5(uuid.NAMESPACE_DNS, "MYSTERY"))
SP_ENTERPRISE = "5dbe027f-2339-4123-9542-606e4d348a72"
SP_WAC = "e95bec33-7c88-4a70-8e19-b10bd9d0c014"


def plan(plan_id: str, name: str) -> dict:
    return {
        "servicePlanId": plan_id,
        "servicePlanName": name,
        "provisioningStatus": "Success",
        "appliesTo": "User",
    }


@pytest.fixture
def tenant():
    tenant = make_tenant()
    TenantSku.objects.create(tenant=tenant, sku_id=E3, part_number="SPE_E3", product_name="Microsoft 365 E3",
                             service_plans=[plan(SP_ENTERPRISE, "SHAREPOINTENTERPRISE"), plan(SP_WAC, "SHAREPOINTWAC"),
                                            plan(str(uuid.uuid4()), "EXCHANGE_S_ENTERPRISE")])  # fmt: skip
    TenantSku.objects.create(tenant=tenant, sku_id=EXCHANGE, part_number="EXCHANGESTANDARD",
                             product_name="Exchange Online (Plan 1)",
                             service_plans=[plan(str(uuid.uuid4()), "EXCHANGE_S_STANDARD")])  # fmt: skip
    TenantSku.objects.create(tenant=tenant, sku_id=MYSTERY, part_number="MYSTERY", product_name="Mystery",
                             service_plans=[])  # fmt: skip
    return tenant


def licensed(tenant, n: int, *licences, **fields):
    """A cached member holding ``licences``: sku id, or (sku id, [disabled plan ids])."""
    items = [{"skuId": s, "disabledPlans": []} if isinstance(s, str) else {"skuId": s[0], "disabledPlans": s[1]}
             for s in licences]  # fmt: skip
    return make_user(tenant, n, mail=f"u{n}@contoso.com", is_licensed=bool(items),
                     license_sku_ids=[i["skuId"] for i in items], graph={"assignedLicenses": items}, **fields)  # fmt: skip


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser(username="boss", password="x")


def test_onedrive_plans_are_recognised_by_name():
    for name in ("SHAREPOINTSTANDARD", "SHAREPOINTENTERPRISE", "SHAREPOINTDESKLESS", "SHAREPOINTENTERPRISE_EDU",
                 "ONEDRIVESTANDARD", "ONEDRIVE_BASIC", "sharepointstandard"):  # fmt: skip
        assert gives_onedrive(name), name
    for name in ("SHAREPOINTWAC", "SHAREPOINTWAC_EDU", "SHAREPOINT_PROJECT", "SHAREPOINTSTORAGE", "EXCHANGE_S_STANDARD",
                 "", None):  # fmt: skip
        assert not gives_onedrive(name), name


def test_pre_provision_onedrive_needs_a_sharepoint_plan_that_is_switched_on(tenant):
    provision = registry.get("onedrive-provision")
    assert provision.why_not(licensed(tenant, 1, E3)) is None
    assert provision.why_not(licensed(tenant, 2, EXCHANGE, E3)) is None  # any licence with the plan will do
    why = provision.why_not(licensed(tenant, 3, EXCHANGE))
    assert why == ("No licence of this user includes SharePoint Online or OneDrive (Exchange Online (Plan 1)), "
                   "so there is no OneDrive to create.")  # fmt: skip
    off = provision.why_not(licensed(tenant, 4, (E3, [SP_ENTERPRISE])))
    assert "SharePoint Online plan of Microsoft 365 E3 is switched off" in off
    # Office for the web switched off leaves the OneDrive.
    assert provision.why_not(licensed(tenant, 5, (E3, [SP_WAC]))) is None
    assert "No licence" in provision.why_not(licensed(tenant, 6))
    assert "Guests" in provision.why_not(licensed(tenant, 7, E3, user_type="Guest"))


def test_when_the_cache_cannot_tell_the_action_is_offered(tenant):
    provision = registry.get("onedrive-provision")
    assert provision.why_not(licensed(tenant, 1, MYSTERY)) is None  # subscribed, plans not cached
    assert provision.why_not(licensed(tenant, 2, str(uuid.uuid4()))) is None  # not among the tenant's SKUs
    # A row without the Graph record falls back on its SKU id column.
    bare = make_user(tenant, 3, is_licensed=True, license_sku_ids=[EXCHANGE])
    assert assigned_licences(bare) == {EXCHANGE: set()}
    assert "Exchange Online (Plan 1)" in onedrive_why_not(bare)


def test_menus_grey_out_what_does_not_apply_with_the_reason(tenant, admin):
    synced = licensed(tenant, 1, EXCHANGE, on_premises_sync_enabled=True, on_premises_immutable_id="abc==",
                      account_enabled=False)  # fmt: skip
    entries = {e.key: e for _, group in menus.user_menu(admin, synced) for e in group}
    assert (
        entries["onedrive-provision"].disabled
        and "Exchange Online (Plan 1)" in entries["onedrive-provision"].why_not
    )
    assert entries["clear-immutable-id"].disabled and "Still synced" in entries["clear-immutable-id"].why_not
    assert not entries["unblock-sign-in"].disabled and not entries["reset-password"].disabled
    assert "block-sign-in" not in entries  # its opposite, Unblock, is offered instead
    # Every other action is listed, enabled or greyed out: nothing left for the technician to guess.
    listed = {a.key for a in registry.all_actions()} - HIDDEN_WHEN_INAPPLICABLE
    assert listed <= set(entries)
    assert [a.action.key for a in for_user(registry.all_actions(), synced)] == [
        a.key for a in registry.all_actions() if a.key in entries
    ]


@responses.activate
def test_the_runner_refuses_with_the_menu_reason_and_sends_nothing(tenant, admin):
    provision = registry.get("onedrive-provision")
    without, cloud_synced = licensed(tenant, 1, EXCHANGE), licensed(tenant, 2, E3, on_premises_sync_enabled=True,
                                                                     on_premises_immutable_id="abc==")  # fmt: skip
    results = runner.run_action(provision, targets(tenant, [without]), {}, technician=admin,
                                contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert [(r.outcome.status, r.outcome.message) for r in results] == [
        (Status.SKIPPED, provision.why_not(without))
    ]
    clear = registry.get("clear-immutable-id")
    results = runner.run_action(clear, targets(tenant, [cloud_synced]), {}, technician=admin,
                                contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert results[0].outcome.status == Status.SKIPPED and "Still synced" in results[0].outcome.message
    assert len(responses.calls) == 0  # nothing reached Graph or SharePoint
    audited = list(AuditEntry.objects.order_by("pk").values_list("action", "result"))
    assert audited == [("onedrive-provision", "skipped"), ("clear-immutable-id", "skipped")]


def test_posting_an_action_that_does_not_apply_is_refused_with_the_reason(tenant, admin, client):
    client.force_login(admin)
    row = licensed(tenant, 1, EXCHANGE)
    response = client.post(reverse("users:action", args=["onedrive-provision"]),
                           {"user": user_value(row), "confirmed": "1"})  # fmt: skip
    assert response.status_code == 409
    assert "no OneDrive to create" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_row_menu_more_info_and_view_user_show_the_greyed_out_entry(tenant, admin, client):
    client.force_login(admin)
    row = licensed(tenant, 1, EXCHANGE, on_premises_sync_enabled=True, on_premises_immutable_id="abc==")
    menu = client.get(reverse("users:action-menu"), {"user": user_value(row)}, HTTP_HX_REQUEST="true")
    panel = client.get(reverse("users:panel", args=[tenant.slug, row.user_id]), HTTP_HX_REQUEST="true")
    detail = client.get(reverse("users:detail", args=[tenant.slug, row.user_id]))
    for response in (menu, panel, detail):
        page = response.content.decode()
        assert response.status_code == 200
        for key in ("clear-immutable-id", "onedrive-provision"):
            assert f'data-action-off="{key}"' in page and f'data-action-link="{key}"' not in page
        assert "Still synced from on-premises AD" in page and "no OneDrive to create" in page
        assert 'aria-disabled="true"' in page
        assert 'data-action-link="reset-password"' in page
