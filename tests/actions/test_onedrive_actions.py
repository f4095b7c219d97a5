"""OneDrive actions: the exact CSOM and Graph requests (``responses``), then both actions run by the runner
against the seeded sandbox with the sandbox's state checked afterwards."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from graph.errors import AuthError, BadRequestError, ThrottledError
from graph.services import drive_shortcuts as shortcuts
from graph.services.sharepoint import SharePointAdminClient, request_personal_sites_xml, resolve_admin_host
from tests import contract
from tests.graph.conftest import CUSTOMER, GRAPH, connection, graph_client, mocked, sleeps, tokens  # noqa: F401
from users.actions import registry
from users.actions.onedrive_forms import OneDriveShortcutForm

from . import examples_onedrive as ex

CSOM = "https://northwind-admin.sharepoint.com/_vti_bin/client.svc/ProcessQuery"
OK_HEADER = {
    "SchemaVersion": "15.0.0.0",
    "LibraryVersion": "16.0.1",
    "ErrorInfo": None,
    "TraceCorrelationId": "t",
}
OPERATION = {
    "_ObjectType_": "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation",
    "IsComplete": True,
}
USER = "6a1f3e2d-1c0b-4a9f-8e7d-6c5b4a3f2e1d"


@pytest.fixture
def sharepoint(connection, tokens, sleeps):  # noqa: F811
    return SharePointAdminClient(connection, CUSTOMER, "northwind-admin.sharepoint.com", token_provider=tokens,
                                 sleep=sleeps.append, dry_run=False)  # fmt: skip


# --- CSOM, exactly ------------------------------------------------------------------------------------------


def test_request_personal_sites_sends_the_csom_request_exactly(sharepoint, mocked, tokens):  # noqa: F811
    mocked.post(CSOM, json=[OK_HEADER, 4, {"IsNull": False}, 6, {"IsNull": False}, 7, OPERATION])
    assert sharepoint.request_personal_sites(["adele@northwind.com", "o'b<r>&x@northwind.com"])["IsComplete"]
    [call] = mocked.calls
    assert call.request.headers["Content-Type"] == "text/xml"
    assert call.request.headers["Authorization"] == "Bearer token-1"
    assert call.request.headers["User-Agent"].startswith("NONISV|")
    assert tokens.calls == [(CUSTOMER, "https://northwind-admin.sharepoint.com", "delegated")]
    assert call.request.body.decode() == (
        '<Request xmlns="http://schemas.microsoft.com/sharepoint/clientquery/2009" AddExpandoFieldTypeSuffix="true" '
        'SchemaVersion="15.0.0.0" LibraryVersion="16.0.0.0" ApplicationName=".NET Library"><Actions>'
        '<ObjectPath Id="4" ObjectPathId="3" /><ObjectPath Id="6" ObjectPathId="5" />'
        '<Query Id="7" ObjectPathId="5"><Query SelectAllProperties="true"><Properties /></Query></Query></Actions>'
        '<ObjectPaths><Constructor Id="3" TypeId="{268004ae-ef6b-4e9b-8425-127220d84719}" />'
        '<Method Id="5" ParentId="3" Name="RequestPersonalSites"><Parameters><Parameter Type="Array">'
        '<Object Type="String">adele@northwind.com</Object>'
        '<Object Type="String">o\'b&lt;r&gt;&amp;x@northwind.com</Object>'
        "</Parameter></Parameters></Method></ObjectPaths></Request>"
    )
    names = [o.text for o in ET.fromstring(call.request.body).findall(".//{*}Object")]  # noqa: S314 - our own bytes
    assert names == ["adele@northwind.com", "o'b<r>&x@northwind.com"]


def test_csom_error_info_becomes_a_graph_error(sharepoint, mocked):  # noqa: F811
    info = {"ErrorMessage": "Access denied.", "ErrorValue": None, "TraceCorrelationId": "trace-1",
            "ErrorCode": -2147024891, "ErrorTypeName": "System.UnauthorizedAccessException"}  # fmt: skip
    mocked.post(CSOM, json=[{**OK_HEADER, "ErrorInfo": info}])
    with pytest.raises(AuthError) as caught:
        sharepoint.request_personal_sites(["a@b.com"])
    assert caught.value.message == "Access denied." and caught.value.request_id == "trace-1"
    mocked.replace(
        "POST", CSOM, json=[{**OK_HEADER, "ErrorInfo": {**info, "ErrorTypeName": "System.ArgumentException"}}]
    )
    with pytest.raises(BadRequestError):
        sharepoint.request_personal_sites(["a@b.com"])


def test_not_complete_is_not_reported_as_requested(sharepoint, mocked):  # noqa: F811
    mocked.post(CSOM, json=[OK_HEADER, 4, {"IsNull": False}, 6, {"IsNull": False}, 7, {"IsComplete": False}])
    with pytest.raises(Exception, match="did not confirm"):
        sharepoint.request_personal_sites(["a@b.com"])


def test_401_gets_a_new_token_once_and_429_waits(sharepoint, mocked, tokens, sleeps):  # noqa: F811
    mocked.post(
        CSOM, status=401, headers={"x-ms-diagnostics": '3000003;reason="Invalid audience Uri";category="x"'}
    )
    with pytest.raises(AuthError, match="Invalid audience Uri"):
        sharepoint.request_personal_sites(["a@b.com"])
    assert len(tokens.invalidated) == 1 and len(mocked.calls) == 2
    mocked.replace("POST", CSOM, status=429, headers={"Retry-After": "3"})
    with pytest.raises(ThrottledError):
        sharepoint.request_personal_sites(["a@b.com"])
    assert sleeps[0] >= 3


def test_limits_before_sending(sharepoint):
    with pytest.raises(ValueError):
        sharepoint.request_personal_sites([])
    with pytest.raises(ValueError):
        sharepoint.request_personal_sites([f"u{i}@x.com" for i in range(201)])


def test_admin_host_from_sites_root_then_initial_domain(graph_client, mocked):  # noqa: F811
    from tenants.models import Tenant

    tenant = Tenant.objects.create(tenant_id=CUSTOMER, connection=graph_client.connection, display_name="NW",
                                   initial_domain="nwt.onmicrosoft.com")  # fmt: skip
    mocked.get(f"{GRAPH}/v1.0/sites/root", json={"id": "northwind.sharepoint.com,1,2",
                                                 "siteCollection": {"hostname": "northwind.sharepoint.com"}})  # fmt: skip
    assert resolve_admin_host(tenant, graph_client) == "northwind-admin.sharepoint.com"
    tenant.refresh_from_db()
    assert tenant.sharepoint_admin_host == "northwind-admin.sharepoint.com"
    assert mocked.calls[0].request.url.endswith("/sites/root?%24select=id%2CsiteCollection%2CwebUrl")
    tenant.sharepoint_admin_host = ""
    mocked.replace("GET", f"{GRAPH}/v1.0/sites/root", status=404,
                   json={"error": {"code": "itemNotFound", "message": "x"}})  # fmt: skip
    assert resolve_admin_host(tenant, graph_client) == "nwt-admin.sharepoint.com"


def test_sandbox_connection_builds_the_sandbox_url_but_keeps_microsofts_audience(sandbox_connection):
    client = SharePointAdminClient(sandbox_connection, CUSTOMER, "northwindtraders-admin.sharepoint.com")
    assert client.endpoint == ("http://sandbox.test/sandbox/sharepoint/northwindtraders-admin"
                               "/_vti_bin/client.svc/ProcessQuery")  # fmt: skip
    assert client.resource == "https://northwindtraders-admin.sharepoint.com"
    assert request_personal_sites_xml(["a"]).count("<Object ") == 1


# --- shortcuts, exactly -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" https://nw.sharepoint.com/sites/Finance/Shared%20Documents/Budgets/ ",
         "https://nw.sharepoint.com/sites/Finance/Shared%20Documents/Budgets"),
        ("https://nw.sharepoint.com/sites/Finance/Shared%20Documents/Forms/AllItems.aspx?id=%2Fsites%2FFinance%2F"
         "Shared%20Documents%2FBudgets&viewid=1", "https://nw.sharepoint.com/sites/Finance/Shared%20Documents/Budgets"),
        ("https://NW.sharepoint.com/sites/HR#x", "https://nw.sharepoint.com/sites/HR"),
    ],
)  # fmt: skip
def test_check_url_normalises(raw, expected):
    assert shortcuts.check_url(raw, sharepoint_name="nw") == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("http://nw.sharepoint.com/sites/x", "https://"),
        ("https://evil.example.com/sites/x", "not a SharePoint Online address"),
        ("https://contoso.sharepoint.com/sites/x", "belongs to another organisation"),
        ("https://nw.sharepoint.com/_layouts/15/viewlsts.aspx", "SharePoint page"),
        ("", "Paste"),
    ],
)
def test_check_url_refuses(raw, reason):
    with pytest.raises(shortcuts.ShortcutError, match=reason):
        shortcuts.check_url(raw, sharepoint_name="nw")


def test_resolve_and_create_send_exactly_these_requests(graph_client, mocked):  # noqa: F811
    url = "https://nw.sharepoint.com/sites/Finance/Shared%20Documents/Budgets"
    share = shortcuts.encode_sharing_url(url)
    assert (
        share == "u!aHR0cHM6Ly9udy5zaGFyZXBvaW50LmNvbS9zaXRlcy9GaW5hbmNlL1NoYXJlZCUyMERvY3VtZW50cy9CdWRnZXRz"
    )
    mocked.get(f"{GRAPH}/v1.0/shares/{share}/driveItem", json={
        "id": "01ITEM", "name": "Budgets", "webUrl": url, "folder": {"childCount": 0},
        "parentReference": {"driveId": "b!drive"}})  # fmt: skip
    target = shortcuts.resolve_url(graph_client, url)
    assert target == shortcuts.ShortcutTarget("b!drive", "01ITEM", "Budgets", url)
    assert (
        "%24select=id%2Cname%2CwebUrl%2CparentReference%2Cfolder%2Cfile%2Croot" in mocked.calls[0].request.url
    )
    mocked.post(
        f"{GRAPH}/v1.0/users/{USER}/drive/root/children", status=201, json={"id": "01NEW", "name": "Budgets"}
    )
    shortcuts.create_shortcut(graph_client, USER, target, "My: budgets.")
    body = json.loads(mocked.calls[1].request.body)
    assert body == {"name": "My  budgets", "remoteItem": {"id": "01ITEM", "parentReference": {"driveId": "b!drive"}},
                    "@microsoft.graph.conflictBehavior": "rename"}  # fmt: skip
    graph_url = f"https://graph.microsoft.com/v1.0/users/{USER}/drive/root/children"
    assert contract.validate_request("POST", graph_url, body=body)


def test_site_url_resolves_to_its_default_library(graph_client, mocked):  # noqa: F811
    site_id = "nw.sharepoint.com,1,2"
    mocked.get(
        f"{GRAPH}/v1.0/sites/nw.sharepoint.com:/sites/Finance",
        json={"id": site_id, "displayName": "Finance", "webUrl": "https://nw.sharepoint.com/sites/Finance"},
    )
    mocked.get(f"{GRAPH}/v1.0/sites/{site_id}/drive/root",
               json={"id": "01ROOT", "name": "root", "root": {}, "parentReference": {"driveId": "b!d"}})  # fmt: skip
    target = shortcuts.resolve_url(graph_client, "https://nw.sharepoint.com/sites/Finance")
    assert (target.item_id, target.drive_id, target.name) == ("01ROOT", "b!d", "Finance")


def test_files_and_missing_items_are_refused(graph_client, mocked):  # noqa: F811
    url = "https://nw.sharepoint.com/sites/Finance/Shared%20Documents/a.xlsx"
    mocked.get(f"{GRAPH}/v1.0/shares/{shortcuts.encode_sharing_url(url)}/driveItem",
               json={"id": "01F", "name": "a.xlsx", "file": {}, "parentReference": {"driveId": "b!d"}})  # fmt: skip
    with pytest.raises(shortcuts.ShortcutError, match="is a file"):
        shortcuts.resolve_url(graph_client, url)
    mocked.get(
        f"{GRAPH}/v1.0/users/{USER}/drive",
        status=404,
        json={"error": {"code": "itemNotFound", "message": "x"}},
    )
    with pytest.raises(shortcuts.NoOneDriveError):
        shortcuts.require_onedrive(graph_client, USER)


def test_form_checks_shape_and_tenant_when_known():
    tenant = SimpleNamespace(sharepoint_admin_host="northwindtraders-admin.sharepoint.com")
    form = OneDriveShortcutForm({"url": ex.BUDGETS_URL.replace("northwindtraders", "contoso")}, tenant=tenant)
    assert not form.is_valid() and "another organisation" in form.errors["url"][0]
    form = OneDriveShortcutForm({"url": ex.BUDGETS_URL, "name": "  "}, tenant=tenant, unknown_kwarg=1)
    assert form.is_valid() and form.cleaned_data == {"url": ex.BUDGETS_URL, "name": ""}
    assert not OneDriveShortcutForm({"url": ex.BUDGETS_URL, "name": "???"}).is_valid()


# --- against the sandbox ------------------------------------------------------------------------------------


@pytest.fixture
def world(sandbox_connection, django_user_model):
    from graph.sandbox.models import SandboxTenant
    from tenants.models import Tenant

    cache = {}
    for sandbox_tenant in SandboxTenant.objects.filter(is_partner=False):
        cache[sandbox_tenant.display_name] = Tenant.objects.create(
            tenant_id=sandbox_tenant.pk, connection=sandbox_connection, display_name=sandbox_tenant.display_name,
            default_domain=sandbox_tenant.domains.get(is_default=True).name,
        )  # fmt: skip
    admin = django_user_model.objects.create_superuser(username="boss", password="x")
    return SimpleNamespace(tenants=list(SandboxTenant.objects.all()), cache=cache, admin=admin)


def cached(world, sandbox_user):
    from users.models import DirectoryUser

    props = sandbox_user.properties
    row, _ = DirectoryUser.objects.get_or_create(
        tenant=world.cache[sandbox_user.tenant.display_name], user_id=sandbox_user.pk,
        defaults={"user_principal_name": props["userPrincipalName"], "display_name": props.get("displayName", ""),
                  "user_type": props.get("userType", "Member"), "graph": props,
                  "is_licensed": bool(props.get("assignedLicenses"))},
    )  # fmt: skip
    return row


def run(world, key, sandbox_users, data=None, technician=None):
    from users.actions.runner import run_action

    rows = [cached(world, user) for user in sandbox_users]
    targets = [registry.Target(row.tenant, row) for row in rows]
    return run_action(registry.get(key), targets, data or {}, technician=technician or world.admin)


def test_pre_provision_is_accepted_then_appears_and_is_then_skipped(world):
    from graph.client import GraphClient
    from graph.sandbox.models import SandboxPersonalSiteRequest
    from graph.services.onedrive import get_onedrive_status
    from users.models import AuditEntry

    user = ex.licensed_without_onedrive(world)
    [result] = run(world, "onedrive-provision", [user])
    assert result.outcome.status == registry.Status.ACCEPTED
    assert result.outcome.message == "Requested; OneDrive provisioning completes later (minutes to hours)."
    tenant = world.cache["Northwind Traders"]
    tenant.refresh_from_db()
    assert tenant.sharepoint_admin_host == "northwindtraders-admin.sharepoint.com"
    pending = SandboxPersonalSiteRequest.objects.get(user=user)
    assert pending.completed_at is None and pending.requested_by  # a delegated (user) token was used
    client = GraphClient.for_tenant(tenant)
    assert get_onedrive_status(client, str(user.pk)) == {
        "provisioned": False
    }  # what View user shows meanwhile
    assert AuditEntry.objects.filter(action="onedrive-provision", target_user_id=user.pk).count() == 1

    SandboxPersonalSiteRequest.objects.filter(user=user).update(
        ready_at=timezone.now() - timedelta(seconds=1)
    )
    assert get_onedrive_status(client, str(user.pk))["provisioned"] is True
    [again] = run(world, "onedrive-provision", [user])
    assert (
        again.outcome.status == registry.Status.SKIPPED and "Already has a OneDrive" in again.outcome.message
    )


def test_pre_provision_skips_unlicensed_users_without_calling(world):
    from graph.sandbox.models import SandboxPersonalSiteRequest, SandboxUser

    user = next(u for u in SandboxUser.objects.filter(tenant=ex._tenant(world), user_type="Member")
                if not u.properties.get("assignedLicenses"))  # fmt: skip
    [result] = run(world, "onedrive-provision", [user])
    assert result.outcome.status == registry.Status.SKIPPED and "licence" in result.outcome.message
    assert not SandboxPersonalSiteRequest.objects.filter(user=user).exists()


def test_shortcut_for_a_selection_with_and_without_onedrive(world):
    from graph.sandbox.models import SandboxDriveItem

    has, lacks = ex.member_with_onedrive(world), ex.licensed_without_onedrive(world)
    results = run(world, "onedrive-shortcut", [has, lacks], {"url": ex.BUDGETS_URL, "name": ""})
    assert [r.outcome.status for r in results] == [registry.Status.SUCCESS, registry.Status.SKIPPED]
    assert "Budgets" in results[0].outcome.message
    assert "no OneDrive" in results[1].outcome.message
    shortcut = SandboxDriveItem.objects.get(user=has)
    assert shortcut.name == "Budgets" and shortcut.remote_item.url_key.endswith(
        "/finance/shared documents/budgets"
    )
    [renamed] = run(world, "onedrive-shortcut", [has], {"url": ex.BUDGETS_URL, "name": ""})
    assert renamed.outcome.details["name"] == "Budgets 1"  # conflictBehavior rename


def test_shortcut_to_another_tenants_site_or_a_missing_folder_fails_clearly(world):
    from graph.sandbox.models import SandboxDriveItem

    user = ex.member_with_onedrive(world)
    foreign = ex.BUDGETS_URL.replace("northwindtraders", "fabrikaminc")
    [result] = run(world, "onedrive-shortcut", [user], {"url": foreign})
    assert result.outcome.status == registry.Status.FAILED
    assert (
        "another organisation" in result.outcome.message
        and "northwindtraders.sharepoint.com" in result.outcome.message
    )
    [missing] = run(world, "onedrive-shortcut", [user], {"url": ex.BUDGETS_URL + "/Nope"})
    assert missing.outcome.status == registry.Status.FAILED and "Nothing was found" in missing.outcome.message
    assert not SandboxDriveItem.objects.filter(user=user).exists()


def test_a_reader_is_refused(world, django_user_model):
    from graph.sandbox.models import SandboxDriveItem
    from tenants.models import TechnicianProfile

    reader = django_user_model.objects.create_user(username="reader", password="x")
    TechnicianProfile.objects.create(
        user=reader, role=TechnicianProfile.Role.READER, scope=TechnicianProfile.Scope.ALL
    )
    user = ex.member_with_onedrive(world)
    [result] = run(world, "onedrive-shortcut", [user], {"url": ex.BUDGETS_URL}, technician=reader)
    assert result.outcome.status == registry.Status.SKIPPED and "role" in result.outcome.message
    assert not SandboxDriveItem.objects.filter(user=user).exists()


def test_actions_are_registered_in_the_onedrive_group():
    provision, shortcut = registry.get("onedrive-provision"), registry.get("onedrive-shortcut")
    assert provision.group == shortcut.group == registry.Group.ONEDRIVE
    assert provision.bulk and shortcut.bulk and shortcut.form_class is OneDriveShortcutForm
    assert set(ex.EXAMPLES) == {"onedrive-provision", "onedrive-shortcut"}
