"""graph.services for the View user page, against `responses`: the exact requests sent and the shaping."""

from __future__ import annotations

import json

import pytest
import responses

from graph.errors import AuthError
from graph.exchange import ExchangeClient
from graph.services import auth_methods, devices, mailbox, memberships, onedrive, signins
from graph.services import users as graph_users
from tests.graph.conftest import CUSTOMER, EXCHANGE, GRAPH

USER = "6a1f3e2d-1c0b-4a9f-8e7d-6c5b4a3f2e1d"
query = responses.matchers.query_param_matcher


def test_authentication_methods_are_listed_and_labelled(graph_client, mocked):
    mocked.get(
        f"{GRAPH}/v1.0/users/{USER}/authentication/methods",
        json={
            "value": [
                {
                    "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
                    "id": "3179e48a-750b-4051-897c-87b9720928f7",
                    "phoneNumber": "+44 7700 900123",
                    "phoneType": "mobile",
                    "smsSignInState": "notEnabled",
                },
                {
                    "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                    "id": "28c10230-6103-485e-b985-444c60001490",
                    "password": None,
                    "createdDateTime": "2025-01-02T03:04:05Z",
                },
            ]
        },  # fmt: skip
        match=[query({})],
    )
    methods = auth_methods.list_authentication_methods(graph_client, USER)
    assert [m["label"] for m in methods] == ["Password", "Phone"]
    assert methods[1]["detail"] == "+44 7700 900123 · mobile" and methods[1]["strong"]
    assert not methods[0]["strong"]


def test_per_user_mfa_state_needs_a_beta_client(connection, tokens, mocked, graph_client):
    from graph.client import GraphClient

    with pytest.raises(ValueError):
        auth_methods.get_per_user_mfa_state(graph_client, USER)
    beta = GraphClient(connection, CUSTOMER, version="beta", token_provider=tokens)
    mocked.get(f"{GRAPH}/beta/users/{USER}/authentication/requirements", json={"perUserMfaState": "enforced"})
    assert auth_methods.get_per_user_mfa_state(beta, USER) == "enforced"


def test_devices_merge_owned_and_registered(graph_client, mocked):
    device = {"@odata.type": "#microsoft.graph.device", "id": "d1", "displayName": "LT-1", "trustType": "AzureAd",
              "operatingSystem": "Windows", "approximateLastSignInDateTime": "2026-01-01T00:00:00Z"}  # fmt: skip
    phone = {"@odata.type": "#microsoft.graph.device", "id": "d2", "displayName": "Ada's iPhone",
             "trustType": "Workplace", "approximateLastSignInDateTime": "2026-02-01T00:00:00Z"}  # fmt: skip
    for relation, items in (("ownedDevices", [device]), ("registeredDevices", [device, phone])):
        mocked.get(f"{GRAPH}/v1.0/users/{USER}/{relation}", json={"value": items},
                   match=[query({"$select": devices.DEVICE_SELECT})])  # fmt: skip
    rows = devices.list_user_devices(graph_client, USER)
    assert [r["name"] for r in rows] == ["Ada's iPhone", "LT-1"]
    assert rows[1]["owner"] and rows[1]["registered_user"] and rows[1]["trust"] == "Entra joined"
    assert not rows[0]["owner"] and rows[0]["trust"] == "Registered"


@pytest.mark.parametrize(
    ("group", "kind"),
    [
        ({"groupTypes": ["Unified"], "mailEnabled": True, "securityEnabled": False}, "Microsoft 365"),
        ({"groupTypes": [], "mailEnabled": False, "securityEnabled": True}, "Security"),
        ({"groupTypes": [], "mailEnabled": True, "securityEnabled": True}, "Mail-enabled security"),
        ({"groupTypes": [], "mailEnabled": True, "securityEnabled": False}, "Distribution"),
        ({"groupTypes": ["DynamicMembership"], "mailEnabled": False, "securityEnabled": True}, "Security"),
    ],
)
def test_group_kinds(group, kind):
    assert memberships.group_kind(group) == kind


def test_memberships_split_groups_roles_and_flags(graph_client, mocked):
    mocked.get(
        f"{GRAPH}/v1.0/users/{USER}/memberOf",
        json={
            "value": [
                {
                    "@odata.type": "#microsoft.graph.directoryRole",
                    "id": "r1",
                    "displayName": "Helpdesk Administrator",
                },
                {
                    "@odata.type": "#microsoft.graph.group",
                    "id": "g1",
                    "displayName": "Sales (dynamic)",
                    "groupTypes": ["DynamicMembership"],
                    "securityEnabled": True,
                    "onPremisesSyncEnabled": None,
                },
                {
                    "@odata.type": "#microsoft.graph.group",
                    "id": "g2",
                    "displayName": "GG-Finance",
                    "groupTypes": [],
                    "securityEnabled": True,
                    "onPremisesSyncEnabled": True,
                },
                {"@odata.type": "#microsoft.graph.administrativeUnit", "id": "a1"},
            ]
        },  # fmt: skip
        match=[query({"$select": memberships.MEMBER_OF_SELECT, "$top": "999"})],
    )
    found = memberships.list_memberships(graph_client, USER)
    assert [r["name"] for r in found["roles"]] == ["Helpdesk Administrator"]
    assert [(g["name"], g["dynamic"], g["synced"]) for g in found["groups"]] == [
        ("GG-Finance", False, True),
        ("Sales (dynamic)", True, False),
    ]
    assert found["other"] == 1


def test_sign_ins_filter_by_user_id_and_top(graph_client, mocked):
    mocked.get(
        f"{GRAPH}/v1.0/auditLogs/signIns",
        json={
            "value": [
                {
                    "id": "s1",
                    "createdDateTime": "2026-03-01T10:00:00Z",
                    "appDisplayName": "Microsoft Teams",
                    "status": {"errorCode": 50126, "failureReason": "Invalid password"},
                    "location": {"city": "Lagos", "countryOrRegion": "NG"},
                }
            ]
        },  # fmt: skip
        match=[query({"$filter": f"userId eq '{USER}'", "$top": "50"})],
    )
    rows = signins.list_recent_sign_ins(graph_client, USER)
    assert rows[0]["app"] == "Microsoft Teams" and not rows[0]["ok"] and rows[0]["error_code"] == 50126
    assert rows[0]["location"] == "Lagos, NG"


def test_sign_ins_refuse_anything_but_a_guid_in_the_filter(graph_client):
    with pytest.raises(ValueError):
        signins.sign_ins_params("x' or true or userId eq 'y")


def test_onedrive_provisioned_and_missing(graph_client, mocked):
    url = f"{GRAPH}/v1.0/users/{USER}/drive"
    mocked.get(url, json={"id": "b!x", "quota": {"used": 250, "total": 1000, "state": "normal"}},
               match=[query({"$select": onedrive.DRIVE_SELECT})])  # fmt: skip
    status = onedrive.get_onedrive_status(graph_client, USER)
    assert status["provisioned"] and status["percent"] == 25.0 and status["remaining"] == 750
    mocked.replace(
        responses.GET, url, status=404, json={"error": {"code": "itemNotFound", "message": "not found"}}
    )
    assert onedrive.get_onedrive_status(graph_client, USER) == {"provisioned": False}


def test_onedrive_other_errors_propagate(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/users/{USER}/drive", status=403,
               json={"error": {"code": "accessDenied", "message": "Access denied"}})  # fmt: skip
    with pytest.raises(AuthError):
        onedrive.get_onedrive_status(graph_client, USER)


def test_get_user_selects_the_profile_properties(graph_client, mocked):
    mocked.get(f"{GRAPH}/v1.0/users/{USER}", json={"id": USER},
               match=[query({"$select": ",".join(graph_users.PROFILE_SELECT)})])  # fmt: skip
    assert graph_users.get_user(graph_client, USER) == {"id": USER}


def test_mailbox_summary_runs_three_cmdlets_anchored_on_the_user(connection, tokens, mocked):
    endpoint = f"{EXCHANGE}/adminapi/beta/{CUSTOMER}/InvokeCommand"
    answers = {
        "Get-Mailbox": [{"PrimarySmtpAddress": "ada@contoso.com", "RecipientTypeDetails": "SharedMailbox",
                         "ArchiveGuid": "00000000-0000-0000-0000-000000000000",
                         "ForwardingSmtpAddress": "smtp:x@gmail.com", "DeliverToMailboxAndForward": True,
                         "ProhibitSendReceiveQuota": "50 GB (53,687,091,200 bytes)"}],
        "Get-MailboxStatistics": [{"TotalItemSize": "1.5 GB (1,610,612,736 bytes)", "ItemCount": 10}],
        "Get-MailboxAutoReplyConfiguration": [{"AutoReplyState": "Enabled",
                                               "InternalMessage": "<html><body>Away</body></html>"}],
    }  # fmt: skip
    sent = []

    def reply(request):
        body = json.loads(request.body)
        sent.append((body["CmdletInput"], request.headers["X-AnchorMailbox"]))
        return 200, {}, json.dumps({"value": answers[body["CmdletInput"]["CmdletName"]]})

    mocked.add_callback(responses.POST, endpoint, callback=reply)
    exchange = ExchangeClient(connection, CUSTOMER, token_provider=tokens)
    summary = mailbox.get_mailbox_summary(exchange, USER, "ada@contoso.com")
    assert [s[0]["CmdletName"] for s in sent] == ["Get-Mailbox", "Get-MailboxStatistics",
                                                  "Get-MailboxAutoReplyConfiguration"]  # fmt: skip
    assert sent[0][0]["Parameters"] == {"Identity": USER}
    assert {s[1] for s in sent} == {"UPN:ada@contoso.com"}
    assert summary["type_label"] == "Shared mailbox" and not summary["archive"]
    assert summary["forwarding_smtp"] == "x@gmail.com" and summary["forwarding_keeps_copy"]
    assert summary["size"] == 1_610_612_736 and summary["percent"] == 3.0
    assert summary["auto_reply_on"] and summary["auto_reply_internal"] == "Away"


def test_mailbox_summary_without_a_mailbox(connection, tokens, mocked):
    body = {"error": {"code": "NotFound", "message": "x", "details": [{"message":
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."}]}}  # fmt: skip
    mocked.post(f"{EXCHANGE}/adminapi/beta/{CUSTOMER}/InvokeCommand", status=404, json=body)
    exchange = ExchangeClient(connection, CUSTOMER, token_provider=tokens)
    assert mailbox.get_mailbox_summary(exchange, USER, "ada@contoso.com") == {"exists": False}
