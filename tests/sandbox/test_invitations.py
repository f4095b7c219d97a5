"""POST /invitations as Microsoft documents and operates it: the guest it creates, the invitation resource
(with a redeem URL in Microsoft's form), validation, re-inviting an existing guest, refusing the tenant's own
verified domains and addresses members already hold, resetRedemption, and $batch.

Successful calls go through the contract-checking transport (request and response validated against the
invitation schema of Microsoft's OpenAPI); malformed ones through ``GraphCaller``."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from graph.sandbox import directory
from graph.sandbox.models import SandboxDomain, SandboxUser

from .factories import GraphCaller, make_tenant, make_user
from .test_provisioning_endpoints import ContractGraph, error_of

pytestmark = pytest.mark.django_db

MY_APPS = "https://myapps.microsoft.com"
VERIFIED = (
    "This user cannot be invited because the domain of the user's email address is a verified domain of "
    "this directory."
)


@pytest.fixture
def tenant():
    tenant = make_tenant("Contoso")
    SandboxDomain.objects.create(tenant=tenant, name="contoso.com")
    return tenant


@pytest.fixture
def graph(tenant):
    return ContractGraph(tenant)


@pytest.fixture
def loose(client, tenant):
    return GraphCaller(client, tenant)


def _invite(graph, address="Sam.Lee@fabrikam.com", **extra):
    return graph(
        "POST", "invitations", {"invitedUserEmailAddress": address, "inviteRedirectUrl": MY_APPS, **extra}
    )


def _redeem_parts(url: str) -> dict[str, str]:
    outer = urlsplit(url)
    assert (outer.scheme, outer.netloc, outer.path) == ("https", "login.microsoftonline.com", "/redeem")
    inner = urlsplit(parse_qs(outer.query)["rd"][0])
    assert (inner.netloc, inner.path) == ("invitations.microsoft.com", "/redeem/")
    return {key: values[0] for key, values in parse_qs(inner.query).items()}


def test_invitation_creates_a_pending_guest(graph, tenant):
    response = _invite(graph, invitedUserDisplayName="Sam Lee")
    assert response.status_code == 201
    body = response.json()
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#invitations/$entity"
    assert {k: body[k] for k in ("invitedUserDisplayName", "invitedUserEmailAddress", "invitedUserType",
                                 "sendInvitationMessage", "resetRedemption", "inviteRedirectUrl", "status")} == {
        "invitedUserDisplayName": "Sam Lee", "invitedUserEmailAddress": "Sam.Lee@fabrikam.com",
        "invitedUserType": "Guest", "sendInvitationMessage": False, "resetRedemption": False,
        "inviteRedirectUrl": MY_APPS, "status": "PendingAcceptance",
    }  # fmt: skip
    assert body["invitedUserMessageInfo"] == {
        "messageLanguage": None, "customizedMessageBody": None,
        "ccRecipients": [{"emailAddress": {"name": None, "address": None}}],
    }  # fmt: skip
    guest = SandboxUser.objects.get(pk=body["invitedUser"]["id"])
    assert body["id"] != str(guest.id)
    props = guest.properties
    assert props["userPrincipalName"] == "Sam.Lee_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    assert guest.upn_lower == "sam.lee_fabrikam.com#ext#@contoso.onmicrosoft.com"
    assert (props["userType"], props["creationType"], props["externalUserState"]) == (
        "Guest", "Invitation", "PendingAcceptance",
    )  # fmt: skip
    assert props["mail"] == "Sam.Lee@fabrikam.com" and props["proxyAddresses"] == [
        "SMTP:Sam.Lee@fabrikam.com"
    ]
    assert props["displayName"] == "Sam Lee" and props["mailNickname"] == "Sam.Lee_fabrikam.com#EXT#"
    assert guest.account_enabled and guest.user_type == "Guest"
    parts = _redeem_parts(body["inviteRedeemUrl"])
    assert (parts["tenant"], parts["user"], parts["ver"]) == (str(tenant.id), str(guest.id), "2.0")
    assert len(parts["ticket"]) > 20
    # the guest is an ordinary directory object now
    found = graph.get(f"users/{quote(props['userPrincipalName'])}?$select=userType,externalUserState").json()
    assert (found["userType"], found["externalUserState"]) == ("Guest", "PendingAcceptance")
    expression = quote("mail eq 'sam.lee@FABRIKAM.com' and userType eq 'Guest'")
    listed = graph.get(f"users?$filter={expression}").json()
    assert [u["id"] for u in listed["value"]] == [str(guest.id)]


def test_defaults_member_type_and_message(graph, tenant):
    body = _invite(graph, "kim@example.org", invitedUserType="Member", sendInvitationMessage=True,
                   invitedUserMessageInfo={"customizedMessageBody": "Welcome to Contoso"}).json()  # fmt: skip
    assert body["invitedUserType"] == "Member" and body["sendInvitationMessage"] is True
    assert body["invitedUserMessageInfo"]["customizedMessageBody"] == "Welcome to Contoso"
    guest = SandboxUser.objects.get(pk=body["invitedUser"]["id"])
    assert guest.user_type == "Member" and guest.display_name == "kim"  # the address's user name by default


def test_reinviting_returns_the_same_guest_with_a_new_ticket(graph, tenant):
    first = _invite(graph).json()
    second = _invite(graph, "sam.lee@FABRIKAM.com").json()
    assert second["invitedUser"]["id"] == first["invitedUser"]["id"]
    assert second["inviteRedeemUrl"] != first["inviteRedeemUrl"] and second["id"] != first["id"]
    assert SandboxUser.objects.filter(tenant=tenant, user_type="Guest").count() == 1
    guest = SandboxUser.objects.get(pk=first["invitedUser"]["id"])
    directory.set_directory_managed(guest, {"externalUserState": "Accepted"})
    third = _invite(graph).json()
    assert third["status"] == "Completed" and third["invitedUser"]["id"] == first["invitedUser"]["id"]


def test_a_taken_guest_upn_is_numbered(graph, tenant):
    make_user(tenant, "a_b.com#EXT#", display_name="Imported")  # an object that already holds that UPN
    guest = SandboxUser.objects.get(pk=_invite(graph, "a@b.com").json()["invitedUser"]["id"])
    assert guest.properties["userPrincipalName"] == "a_b.com1#EXT#@contoso.onmicrosoft.com"
    assert guest.properties["mail"] == "a@b.com"


def test_the_tenants_own_addresses_are_refused(loose, tenant):
    assert error_of(_invite(loose, "newcomer@contoso.com")) == (400, "BadRequest", VERIFIED)
    assert error_of(_invite(loose, "X@CONTOSO.onmicrosoft.com"))[2] == VERIFIED
    member = make_user(tenant, "adele")
    directory.set_directory_managed(member, {"otherMails": [], "proxyAddresses": ["SMTP:adele@contoso.com",
                                                                                  "smtp:adele@personal.example"]})  # fmt: skip
    status, code, message = error_of(_invite(loose, "Adele@Personal.example"))
    assert (status, code) == (400, "BadRequest")
    assert message == (
        f"The invited user already exists in the directory as objectID: {member.id}. They can use that account to "
        "sign in to shared apps and resources."
    )
    assert not SandboxUser.objects.filter(user_type="Guest").exists()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"inviteRedirectUrl": MY_APPS}, "'invitedUserEmailAddress' is missing"),
        ({"invitedUserEmailAddress": "sam@fabrikam.com"}, "'inviteRedirectUrl' is missing"),
        (
            {"invitedUserEmailAddress": "sam@fabrikam.com", "inviteRedirectUrl": "myapps"},
            "not a valid absolute URL",
        ),
        (
            {
                "invitedUserEmailAddress": "sam@fabrikam.com",
                "inviteRedirectUrl": MY_APPS,
                "invitedUserType": "Boss",
            },
            "invitedUserType",
        ),
        (
            {
                "invitedUserEmailAddress": "sam@fabrikam.com",
                "inviteRedirectUrl": MY_APPS,
                "sendInvitationMessage": "yes",
            },
            "boolean",
        ),
    ],
)
def test_validation(loose, body, fragment):
    status, code, message = error_of(loose("POST", "invitations", body, validate=False))
    assert (status, code) == (400, "BadRequest") and fragment in message
    assert not SandboxUser.objects.exists()


@pytest.mark.parametrize(
    "address", ["sam", "sam@", "@fabrikam.com", "sam@fabrikam", ".sam@fabrikam.com", "sam-@fabrikam.com",
                "sa m@fabrikam.com", "sam+x@fabrikam.com", "sam#x@fabrikam.com", "sam@fab_rikam.com", 42],
)  # fmt: skip
def test_invalid_addresses(loose, address):
    status, code, message = error_of(loose("POST", "invitations", {"invitedUserEmailAddress": address,
                                                                   "inviteRedirectUrl": MY_APPS}, validate=False))  # fmt: skip
    assert (status, code) == (400, "BadRequest") and "is not valid" in message


def test_underscores_anywhere_and_inner_dots_are_allowed(graph):
    for address in ("_sam_@fabrikam.com", "s.a-m@mail.fabrikam.co.uk"):
        assert _invite(graph, address).status_code == 201


def test_reset_redemption_keeps_the_guest(graph, loose, tenant):
    guest_id = _invite(graph).json()["invitedUser"]["id"]
    guest = SandboxUser.objects.get(pk=guest_id)
    directory.set_directory_managed(guest, {"externalUserState": "Accepted"})
    body = _invite(graph, "sam@newfabrikam.com", resetRedemption=True, invitedUser={"id": guest_id}).json()
    assert body["invitedUser"]["id"] == guest_id and body["status"] == "PendingAcceptance"
    guest.refresh_from_db()
    assert guest.mail_lower == "sam@newfabrikam.com" and guest.properties["proxyAddresses"] == [
        "SMTP:sam@newfabrikam.com"
    ]
    assert guest.properties["externalUserState"] == "PendingAcceptance"
    missing = _invite(loose, "x@fabrikam.com", resetRedemption=True)
    assert missing.status_code == 400


def test_invitation_inside_batch(graph, tenant):
    body = {"requests": [
        {"id": "invite", "method": "POST", "url": "/invitations", "headers": {"Content-Type": "application/json"},
         "body": {"invitedUserEmailAddress": "pat@example.net", "inviteRedirectUrl": MY_APPS}},
        {"id": "check", "method": "GET", "dependsOn": ["invite"],
         "url": "/users?$filter=" + quote("mail eq 'pat@example.net'") + "&$select=id,userType"},
        {"id": "own", "method": "POST", "url": "/invitations", "headers": {"Content-Type": "application/json"},
         "body": {"invitedUserEmailAddress": "pat@contoso.com", "inviteRedirectUrl": MY_APPS}},
    ]}  # fmt: skip
    responses = {r["id"]: r for r in graph("POST", "$batch", body).json()["responses"]}
    assert responses["invite"]["status"] == 201
    guest_id = responses["invite"]["body"]["invitedUser"]["id"]
    assert responses["check"]["status"] == 200
    assert responses["check"]["body"]["value"] == [{"id": guest_id, "userType": "Guest"}]
    assert responses["own"]["status"] == 400 and responses["own"]["body"]["error"]["message"] == VERIFIED
