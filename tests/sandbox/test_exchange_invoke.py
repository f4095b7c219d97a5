"""InvokeCommand: authentication and tenant checks, body validation, Get-Mailbox (identity forms,
filters, paging, $select), Get-MailboxStatistics and the error shapes clients parse."""

from __future__ import annotations

import uuid

import pytest

from graph.sandbox.switches import set_switches
from graph.sandbox.tokens import EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, issue_access_token

from .identity_factories import BASE, domain_of, make_mailbox, make_tenant, make_user, sandbox_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    tenant = make_tenant("contoso")
    adele = make_user(tenant, "adele", display_name="Adele Vance")
    adele.properties["proxyAddresses"] = ["SMTP:adele@contoso.onmicrosoft.com", "smtp:av@contoso.com"]
    adele.save()
    make_mailbox(
        adele,
        archive_guid=uuid.uuid4(),
        forwarding_smtp_address="x@fabrikam.com",
        deliver_to_mailbox_and_forward=True,
        total_item_size_bytes=1_325_000_000,
    )
    make_mailbox(make_user(tenant, "info", display_name="Info"), recipient_type_details="SharedMailbox")
    make_mailbox(make_user(tenant, "room1", display_name="Room 1"), recipient_type_details="RoomMailbox")
    make_user(tenant, "nomailbox")
    return tenant


def _token(tenant_id, audience=EXCHANGE_AUDIENCE):
    return issue_access_token(
        tenant_id=str(tenant_id), audience=audience, app_id="app", roles=("Exchange.ManageAsApp",)
    )[0]


def invoke(tenant, cmdlet, parameters=None, *, segment=None, token=None, query="", headers=None, body=None):
    url = f"{BASE}/exchange/adminapi/beta/{segment or tenant.pk}/InvokeCommand{query}"
    payload = (
        body if body is not None else {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}}
    )
    auth = {"Authorization": f"Bearer {token or _token(tenant.pk)}"}
    return sandbox_session().post(url, json=payload, headers=auth | (headers or {}))


def _detail(response, status):
    assert response.status_code == status, response.text
    error_id, exception_type, message = response.json()["error"]["details"][0]["message"].split("|")
    assert error_id.startswith("Ex") and len(error_id) == 8
    return exception_type, message


def test_get_mailbox_all_with_properties(tenant):
    response = invoke(tenant, "Get-Mailbox")
    assert response.status_code == 200
    body = response.json()
    assert "@odata.nextLink" not in body and len(body["value"]) == 3
    adele = next(m for m in body["value"] if m["Alias"] == "adele")
    assert adele["UserPrincipalName"] == "adele@contoso.onmicrosoft.com"
    assert adele["EmailAddresses"] == ["SMTP:adele@contoso.onmicrosoft.com", "smtp:av@contoso.com"]
    assert (
        adele["ForwardingSmtpAddress"] == "smtp:x@fabrikam.com"
        and adele["DeliverToMailboxAndForward"] is True
    )
    assert adele["ArchiveStatus"] == "Active" and adele["RecipientType"] == "UserMailbox"
    info = next(m for m in body["value"] if m["Alias"] == "info")
    assert (
        info["ArchiveGuid"] == "00000000-0000-0000-0000-000000000000"
        and info["ForwardingSmtpAddress"] is None
    )
    assert info["RecipientTypeDetails"] == "SharedMailbox"


@pytest.mark.parametrize(
    "identity",
    [
        "adele@contoso.onmicrosoft.com",
        "ADELE@contoso.onmicrosoft.com",
        "av@contoso.com",
        "adele",
        "Adele Vance",
    ],
)
def test_get_mailbox_identity_forms(tenant, identity):
    value = invoke(tenant, "get-mailbox", {"identity": identity}).json()["value"]
    assert [m["Alias"] for m in value] == ["adele"]


def test_get_mailbox_by_guids(tenant):
    adele = tenant.users.get(upn_lower__startswith="adele")
    for identity in (str(adele.pk), str(adele.mailbox.exchange_guid)):
        assert invoke(tenant, "Get-Mailbox", {"Identity": identity}).json()["value"][0]["Alias"] == "adele"


def test_recipient_type_filter_and_select(tenant):
    response = invoke(
        tenant, "Get-Mailbox", {"RecipientTypeDetails": ["SharedMailbox", "RoomMailbox"]},
        query="?$select=UserPrincipalName,primarysmtpaddress",
    )  # fmt: skip
    value = response.json()["value"]
    assert sorted(m["UserPrincipalName"] for m in value) == [
        "info@contoso.onmicrosoft.com",
        "room1@contoso.onmicrosoft.com",
    ]
    assert all(set(m) == {"UserPrincipalName", "PrimarySmtpAddress"} for m in value)
    assert len(invoke(tenant, "Get-Mailbox", {"Archive": True}).json()["value"]) == 1


def test_paging_follows_next_link_with_the_same_body(tenant):
    for index in range(4):
        make_mailbox(make_user(tenant, f"user{index}"))
    session = sandbox_session()
    url = f"{BASE}/exchange/adminapi/beta/{domain_of(tenant)}/InvokeCommand?$select=Alias"
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": "Unlimited"}}}
    headers = {"Authorization": f"Bearer {_token(tenant.pk)}", "Prefer": "odata.maxpagesize=3"}
    seen, pages = [], 0
    while url:
        response = session.post(url, json=body, headers=headers)
        assert response.status_code == 200 and response.headers["Preference-Applied"] == "odata.maxpagesize=3"
        page = response.json()
        seen += [m["Alias"] for m in page["value"]]
        url, pages = page.get("@odata.nextLink"), pages + 1
    assert pages == 3 and len(seen) == len(set(seen)) == 7


def test_result_size_caps_and_warns(tenant):
    assert len(invoke(tenant, "Get-Mailbox", {"ResultSize": 2}).json()["value"]) == 2
    assert "@adminapi.warnings" not in invoke(tenant, "Get-Mailbox").json()
    exception_type, _ = _detail(invoke(tenant, "Get-Mailbox", {"ResultSize": "lots"}), 400)
    assert exception_type.endswith("ParameterBindingException")


def test_mailbox_statistics(tenant):
    stats = invoke(tenant, "Get-MailboxStatistics", {"Identity": "adele"}).json()["value"][0]
    assert stats["TotalItemSize"] == "1.234 GB (1,325,000,000 bytes)" and stats["ItemCount"] > 0
    exception_type, message = _detail(invoke(tenant, "Get-MailboxStatistics", {}), 400)
    assert "missing mandatory parameters: Identity" in message


def test_unknown_cmdlet_identity_and_parameter(tenant):
    exception_type, message = _detail(invoke(tenant, "Get-Nothing"), 400)
    assert exception_type == "System.Management.Automation.CommandNotFoundException"
    assert message.startswith("The term 'Get-Nothing' is not recognized as a name of a cmdlet")
    response = invoke(tenant, "Get-Mailbox", {"Identity": "ghost@contoso.com"})
    exception_type, message = _detail(response, 404)
    assert response.json()["error"]["details"][0]["message"].startswith("Ex6F9304|")
    assert message.startswith(
        "The operation couldn't be performed because object 'ghost@contoso.com' couldn't be found"
    )
    assert response.headers["X-ExceptionType"] == "ManagementObjectNotFoundException"
    _detail(invoke(tenant, "Get-Mailbox", {"Identity": "nomailbox"}), 404)
    _, message = _detail(invoke(tenant, "Get-Mailbox", {"Colour": "red"}), 400)
    assert "parameter name 'Colour'" in message


@pytest.mark.parametrize(
    "body", [{}, {"CmdletInput": "Get-Mailbox"}, {"CmdletInput": {"Parameters": {}}}, []]
)
def test_malformed_bodies_are_400(tenant, body):
    assert invoke(tenant, None, body=body).status_code == 400


def test_token_checks(tenant):
    other = make_tenant("other")
    assert invoke(tenant, "Get-Mailbox", token="garbage").status_code == 401
    graph_token = _token(tenant.pk, audience=GRAPH_AUDIENCE)
    response = invoke(tenant, "Get-Mailbox", token=graph_token)
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    assert invoke(tenant, "Get-Mailbox", token=_token(other.pk)).status_code == 403
    assert invoke(tenant, "Get-Mailbox", segment="unknown.example").status_code == 403
    get = sandbox_session().get(f"{BASE}/exchange/adminapi/beta/{tenant.pk}/InvokeCommand")
    assert get.status_code == 405


def test_switches_apply_to_exchange(tenant):
    set_switches(tenant.pk, throttle_probability=1.0)
    response = invoke(tenant, "Get-Mailbox")
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "TooManyRequests"


def test_v1_route_and_domain_segment(tenant):
    url = f"{BASE}/exchange/adminapi/v1.0/{domain_of(tenant)}/InvokeCommand"
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "info"}}}
    response = sandbox_session().post(
        url, json=body, headers={"Authorization": f"Bearer {_token(tenant.pk)}"}
    )
    assert response.status_code == 200 and response.json()["value"][0]["IsShared"] is True
