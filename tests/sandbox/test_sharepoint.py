"""The sandbox's SharePoint: the admin site's CSOM endpoint (token audience, XML parsing, CSOM's error
shape, RequestPersonalSites and the provisioning lifecycle) and the Graph views that resolve library URLs
and create OneDrive shortcuts."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from graph.sandbox.models import (
    SandboxDrive,
    SandboxDriveItem,
    SandboxPersonalSiteRequest,
    SandboxTenant,
    SandboxUser,
)
from graph.sandbox.sharepoint import complete_due_provisioning, has_sharepoint_licence
from graph.services.sharepoint import request_personal_sites_xml

from .factories import GraphCaller, token_for

CSOM_URL = "/sandbox/sharepoint/northwindtraders-admin/_vti_bin/client.svc/ProcessQuery"
ADMIN_AUDIENCE = "https://northwindtraders-admin.sharepoint.com"
BUDGETS = "https://northwindtraders.sharepoint.com/sites/Finance/Shared%20Documents/Budgets"


@pytest.fixture
def northwind(sandbox_world):
    return SandboxTenant.objects.get(display_name="Northwind Traders")


@pytest.fixture
def admin(northwind):
    """The delegated caller (any user of the tenant stands for the partner's GDAP SharePoint admin)."""
    return SandboxUser.objects.filter(tenant=northwind, user_type="Member").order_by("upn_lower").first()


def licensed_without_drive(tenant) -> SandboxUser:
    for user in SandboxUser.objects.filter(tenant=tenant, user_type="Member", drive__isnull=True).order_by(
        "upn_lower"
    ):
        if has_sharepoint_licence(user):
            return user
    raise AssertionError("the seed has no licensed user without a OneDrive")


def with_drive(tenant) -> SandboxUser:
    return SandboxUser.objects.filter(tenant=tenant, drive__isnull=False).order_by("upn_lower").first()


def csom(client, body, *, token, content_type="text/xml", url=CSOM_URL):
    return client.generic("POST", url, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


def share_id(url: str) -> str:
    return "u!" + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


# --- CSOM: authentication ----------------------------------------------------------------------------------


def test_graph_token_is_refused_with_sharepoints_401(client, northwind, admin):
    response = csom(client, request_personal_sites_xml(["x@y"]), token=token_for(northwind, user=admin))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="')
    assert 'client_id="00000003-0000-0ff1-ce00-000000000000"' in response["WWW-Authenticate"]
    assert "Invalid audience" in response["x-ms-diagnostics"]
    assert "Invalid audience" in response.json()["error_description"]


def test_token_for_another_tenants_admin_site_is_refused(client, sandbox_world, admin):
    fabrikam = SandboxTenant.objects.get(display_name="Fabrikam Inc")
    token = token_for(fabrikam, audience=ADMIN_AUDIENCE, user=admin)  # tid = Fabrikam, host = Northwind
    response = csom(client, request_personal_sites_xml(["x@y"]), token=token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith(f'Bearer realm="{fabrikam.id}"')


def test_missing_token(client, northwind):
    response = client.generic("POST", CSOM_URL, "<Request/>", content_type="text/xml")
    assert response.status_code == 401


def test_only_admin_sites_and_post(client, northwind, admin):
    token = token_for(northwind, audience=ADMIN_AUDIENCE, user=admin)
    assert client.get(CSOM_URL, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405
    other = CSOM_URL.replace("northwindtraders-admin", "northwindtraders")
    assert csom(client, "<Request/>", token=token, url=other).status_code == 404


# --- CSOM: errors come as ErrorInfo in an HTTP 200 ----------------------------------------------------------


def error_info(response) -> dict:
    assert response.status_code == 200
    payload = response.json()
    assert isinstance(payload, list) and len(payload) == 1
    header = payload[0]
    assert header["SchemaVersion"] == "15.0.0.0" and header["TraceCorrelationId"] == response["SPRequestGuid"]
    info = header["ErrorInfo"]
    assert set(info) == {"ErrorMessage", "ErrorValue", "TraceCorrelationId", "ErrorCode", "ErrorTypeName"}
    return info


@pytest.mark.parametrize(
    "body",
    ["<Request", "not xml at all", "<Other xmlns='x'/>"],
)
def test_malformed_requests_answer_invalid_client_query(client, northwind, admin, body):
    token = token_for(northwind, audience=ADMIN_AUDIENCE, user=admin)
    info = error_info(csom(client, body, token=token))
    assert info["ErrorTypeName"] == "Microsoft.SharePoint.Client.InvalidClientQueryException"


def test_json_body_is_refused(client, northwind, admin):
    token = token_for(northwind, audience=ADMIN_AUDIENCE, user=admin)
    info = error_info(csom(client, json.dumps({"a": 1}), token=token, content_type="application/json"))
    assert "text/xml" in info["ErrorMessage"]


def test_unknown_method_and_type(client, northwind, admin):
    token = token_for(northwind, audience=ADMIN_AUDIENCE, user=admin)
    body = request_personal_sites_xml(["a@b"])
    info = error_info(csom(client, body.replace("RequestPersonalSites", "RemoveSite"), token=token))
    assert 'Method "RemoveSite" does not exist' in info["ErrorMessage"]
    info = error_info(csom(client, body.replace("268004ae", "11111111"), token=token))
    assert "Cannot find stub for type" in info["ErrorMessage"]


def test_app_only_token_is_refused_like_sharepoint_does(client, northwind):
    token = token_for(northwind, audience=ADMIN_AUDIENCE)  # no user: client credentials
    info = error_info(csom(client, request_personal_sites_xml(["a@b"]), token=token))
    assert info["ErrorTypeName"] == "System.UnauthorizedAccessException"
    assert info["ErrorMessage"] == "Attempted to perform an unauthorized operation."


def test_empty_or_oversized_user_list_is_an_argument_error(client, northwind, admin):
    token = token_for(northwind, audience=ADMIN_AUDIENCE, user=admin)
    for names in ([], [f"u{i}@x" for i in range(201)]):
        info = error_info(csom(client, request_personal_sites_xml(names), token=token))
        assert info["ErrorTypeName"] == "System.ArgumentException"


# --- RequestPersonalSites and the provisioning lifecycle ----------------------------------------------------


def test_request_personal_sites_queues_and_completes_later(client, northwind, admin):
    user = licensed_without_drive(northwind)
    token = token_for(northwind, audience=ADMIN_AUDIENCE, user=admin)
    response = csom(client, request_personal_sites_xml([user.upn_lower.upper()]), token=token)
    assert response.status_code == 200
    header, *rest = response.json()
    assert header["ErrorInfo"] is None
    results = dict(zip(rest[::2], rest[1::2], strict=True))
    assert results[4] == {"IsNull": False} and results[6] == {"IsNull": False}
    assert results[7]["IsComplete"] is True
    assert results[7]["_ObjectType_"] == "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation"
    pending = SandboxPersonalSiteRequest.objects.get(user=user)
    assert pending.completed_at is None and pending.ready_at > timezone.now()

    graph = GraphCaller(client, northwind)
    assert graph("GET", f"users/{user.id}/drive").status_code == 404  # still provisioning, as in Graph

    # A second request while provisioning changes nothing.
    csom(client, request_personal_sites_xml([user.upn_lower]), token=token)
    assert SandboxPersonalSiteRequest.objects.filter(user=user).count() == 1

    SandboxPersonalSiteRequest.objects.filter(user=user).update(
        ready_at=timezone.now() - timedelta(seconds=1)
    )
    drive = graph("GET", f"users/{user.id}/drive")
    assert drive.status_code == 200
    assert drive.json()["webUrl"].startswith("https://northwindtraders-my.sharepoint.com/personal/")
    assert SandboxPersonalSiteRequest.objects.get(user=user).completed_at is not None


def test_unknown_unlicensed_and_provisioned_users_are_accepted_silently(client, northwind, admin):
    unlicensed = next(
        u
        for u in SandboxUser.objects.filter(tenant=northwind, drive__isnull=True)
        if not has_sharepoint_licence(u)
    )
    provisioned = with_drive(northwind)
    names = ["nobody@northwindtraders.onmicrosoft.com", unlicensed.upn_lower, provisioned.upn_lower]
    token = token_for(northwind, audience=ADMIN_AUDIENCE, user=admin)
    header, *_ = csom(client, request_personal_sites_xml(names), token=token).json()
    assert header["ErrorInfo"] is None
    assert not SandboxPersonalSiteRequest.objects.filter(user__tenant=northwind).exists()


def test_tenant_setting_zero_delay_makes_the_drive_appear_on_next_read(northwind):
    from graph.sandbox.sharepoint import request_personal_sites

    northwind.settings = {**northwind.settings, "onedrive_provisioning_seconds": 0}
    northwind.save()
    user = licensed_without_drive(northwind)
    assert request_personal_sites(northwind, [user.upn_lower]) == 1
    assert complete_due_provisioning(tenant=northwind) == 1
    assert SandboxDrive.objects.filter(user=user).exists()


# --- Graph: /shares, /sites, drive root children ------------------------------------------------------------


def test_shares_resolves_a_pasted_folder_url(client, northwind):
    graph = GraphCaller(client, northwind)
    response = graph("GET", f"shares/{share_id(BUDGETS)}/driveItem")
    assert response.status_code == 200
    item = response.json()
    assert item["name"] == "Budgets" and item["folder"] == {"childCount": 0}
    assert item["parentReference"]["driveId"].startswith("b!")
    library = graph("GET", f"shares/{share_id(BUDGETS.rsplit('/', 1)[0] + '/')}/driveItem").json()
    assert "root" in library and library["name"] == "root"
    assert library["parentReference"]["driveId"] == item["parentReference"]["driveId"]


def test_shares_errors(client, northwind):
    graph = GraphCaller(client, northwind)
    assert graph("GET", "shares/u!@@@/driveItem").json()["error"]["code"] == "invalidRequest"
    assert graph("GET", "shares/abc/driveItem").status_code == 400
    foreign = BUDGETS.replace("northwindtraders", "fabrikaminc")
    missing = graph("GET", f"shares/{share_id(foreign)}/driveItem")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"


def test_sites_root_by_path_and_default_library(client, northwind):
    graph = GraphCaller(client, northwind)
    root = graph("GET", "sites/root").json()
    assert root["siteCollection"]["hostname"] == "northwindtraders.sharepoint.com"
    finance = graph("GET", "sites/northwindtraders.sharepoint.com:/sites/Finance").json()
    assert finance["displayName"] == "Finance" and finance["id"].startswith(
        "northwindtraders.sharepoint.com,"
    )
    library = graph("GET", f"sites/{finance['id']}/drive/root").json()
    assert "root" in library
    assert graph("GET", "sites/northwindtraders.sharepoint.com:/sites/Nope").status_code == 404


def test_shortcut_creation_conflicts_and_listing(client, northwind):
    graph = GraphCaller(client, northwind)
    user = with_drive(northwind)
    folder = graph("GET", f"shares/{share_id(BUDGETS)}/driveItem").json()
    body = {"name": "Budgets", "remoteItem": {"id": folder["id"],
            "parentReference": {"driveId": folder["parentReference"]["driveId"]}}}  # fmt: skip
    created = graph("POST", f"users/{user.id}/drive/root/children", body)
    assert created.status_code == 201
    item = created.json()
    assert item["remoteItem"]["id"] == folder["id"] and item["name"] == "Budgets"
    clash = graph("POST", f"users/{user.id}/drive/root/children", body)  # default conflictBehavior: fail
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "nameAlreadyExists"
    renamed = graph("POST", f"users/{user.id}/drive/root/children",
                    {**body, "@microsoft.graph.conflictBehavior": "rename"})  # fmt: skip
    assert renamed.json()["name"] == "Budgets 1"
    replaced = graph("POST", f"users/{user.id}/drive/root/children",
                     {**body, "@microsoft.graph.conflictBehavior": "replace"})  # fmt: skip
    assert replaced.status_code == 201
    listing = graph("GET", f"users/{user.id}/drive/root/children").json()["value"]
    assert sorted(i["name"] for i in listing) == ["Budgets", "Budgets 1"]
    assert SandboxDriveItem.objects.filter(user=user, remote_item_id=folder["id"]).count() == 2


def test_shortcut_validation_and_missing_targets(client, northwind):
    graph = GraphCaller(client, northwind)
    user = with_drive(northwind)
    url = f"users/{user.id}/drive/root/children"
    assert graph("POST", url, {"name": "x"}).status_code == 400  # neither folder nor remoteItem
    assert graph("POST", url, {"name": "x", "remoteItem": {"id": "01ABC"}}).status_code == 400
    assert graph("POST", url, {"name": "a:b", "folder": {}}).status_code == 400
    missing = graph(
        "POST", url, {"name": "x", "remoteItem": {"id": "01NOPE", "parentReference": {"driveId": "b!x"}}}
    )
    assert missing.status_code == 404 and "remote item" in missing.json()["error"]["message"]


def test_no_onedrive_answers_404(client, northwind):
    graph = GraphCaller(client, northwind)
    user = licensed_without_drive(northwind)
    response = graph("POST", f"users/{user.id}/drive/root/children", {"name": "x", "folder": {}})
    assert response.status_code == 404 and response.json()["error"]["code"] == "itemNotFound"


def test_graph_audience_still_required_on_graph_views(client, northwind):
    token = token_for(northwind, audience=ADMIN_AUDIENCE)
    response = client.get("/sandbox/graph/v1.0/sites/root", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401  # the Graph views accept only the Graph audience
