"""What Add user / Edit user need from the sandbox, as Microsoft documents it: the manager reference, the
"mail trick" and proxyAddresses conflicts, Graph's field limits, on-premises mastered properties, the
"is this address free" filters, Set-Mailbox -EmailAddresses, mailbox provisioning on licensing,
Get-/Remove-DistributionGroupMember and the seeded demo material.

Normal flows go through ``ContractGraph`` (the contract-checking transport of tests/contract_transport, so
requests and responses are validated against Microsoft's OpenAPI); deliberately malformed requests use
``GraphCaller`` (responses checked only)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from graph.sandbox import directory
from graph.sandbox.models import (
    SandboxDomain,
    SandboxGroupMember,
    SandboxMailbox,
    SandboxSku,
    SandboxUser,
)
from tests.contract_transport import ContractCheckingSandboxAdapter, checked_counts

from .factories import (
    E3_SKU,
    EXCHANGE_PLAN,
    GraphCaller,
    make_group,
    make_sku,
    make_tenant,
    make_user,
    token_for,
)
from .identity_factories import make_mailbox
from .test_exchange_invoke import _detail, invoke

pytestmark = pytest.mark.django_db

ROOT = "https://sandbox.test/sandbox/graph/v1.0"
UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists."
PROXY_TAKEN = "Another object with the same value for property proxyAddresses already exists."
NO_MANAGER = (
    "Resource 'manager' does not exist or one of its queried reference-property objects are not present."
)
SYNCED = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
    "currently undergoing migration."
)


class ContractGraph:
    """Graph calls through the in-process sandbox transport that validates every exchange against the
    contract; a violation fails the test (tests/conftest.py guard)."""

    def __init__(self, tenant):
        self.session = requests.Session()
        self.session.mount("https://sandbox.test/", ContractCheckingSandboxAdapter())
        self.headers = {"Authorization": f"Bearer {token_for(tenant)}"}

    def __call__(
        self, method: str, path: str, body=None, *, headers: dict | None = None
    ) -> requests.Response:
        return self.session.request(
            method, f"{ROOT}/{path}", json=body, headers={**self.headers, **(headers or {})}
        )

    def get(self, path: str, **kw) -> requests.Response:
        return self("GET", path, **kw)


def error_of(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


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


def _ref(user, kind: str = "users") -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/{kind}/{user.id}"}


# --- manager -----------------------------------------------------------------------------------------------


def test_manager_set_read_expand_and_remove(graph, tenant):
    adele, megan = make_user(tenant, "adele"), make_user(tenant, "megan", jobTitle="Director")
    counts = checked_counts()
    assert error_of(graph.get(f"users/{adele.id}/manager")) == (404, "Request_ResourceNotFound", NO_MANAGER)
    before = SandboxUser.objects.get(pk=adele.pk).version
    response = graph("PUT", f"users/{adele.id}/manager/$ref", _ref(megan))
    assert response.status_code == 204 and response.content == b""
    assert SandboxUser.objects.get(pk=adele.pk).version > before  # a user change: users/delta reports it
    body = graph.get(f"users/{adele.id}/manager").json()
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity"
    assert (body["@odata.type"], body["id"], body["jobTitle"]) == (
        "#microsoft.graph.user",
        str(megan.id),
        "Director",
    )
    expanded = graph.get(f"users/{adele.id}?$expand=manager").json()
    assert expanded["manager"]["id"] == str(megan.id) and expanded["id"] == str(adele.id)
    narrow = graph.get(f"users/{adele.id}?$select=displayName&$expand=manager($select=displayName)").json()
    assert narrow["manager"] == {
        "@odata.type": "#microsoft.graph.user",
        "id": str(megan.id),
        "displayName": "Megan",
    }
    assert "manager" not in graph.get(f"users/{megan.id}?$expand=manager").json()
    reference = graph.get(f"users/{adele.id}/manager/$ref").json()
    assert reference["@odata.id"].endswith(f"/directoryObjects/{megan.id}/Microsoft.DirectoryServices.User")
    assert graph("DELETE", f"users/{adele.id}/manager/$ref").status_code == 204
    assert error_of(graph("DELETE", f"users/{adele.id}/manager/$ref")) == (
        404, "Request_ResourceNotFound", NO_MANAGER,
    )  # fmt: skip
    assert graph.get(f"users/{adele.id}/manager").status_code == 404
    # the exchanges really went through the contract checks
    assert checked_counts()["responses"] >= counts["responses"] + 8
    assert checked_counts()["requests"] > counts["requests"]  # GET /users/{id} is a described operation


def test_manager_reference_forms_and_delta(graph, tenant):
    adele, megan, nestor = (make_user(tenant, n) for n in ("adele", "megan", "nestor"))
    delta = graph.get("users/delta?$select=displayName").json()
    while "@odata.nextLink" in delta:
        delta = graph.session.get(delta["@odata.nextLink"], headers=graph.headers).json()
    assert graph("PUT", f"users/{adele.id}/manager/$ref", _ref(megan, "directoryObjects")).status_code == 204
    # CIPP sends the manager's UPN, on the beta root.
    by_upn = {"@odata.id": "https://graph.microsoft.com/beta/users/nestor@contoso.onmicrosoft.com"}
    assert graph("PUT", f"users/{adele.upn_lower}/manager/$ref", by_upn).status_code == 204
    assert SandboxUser.objects.get(pk=adele.pk).manager_id == nestor.id
    changes = graph.session.get(delta["@odata.deltaLink"], headers=graph.headers).json()["value"]
    assert [item["id"] for item in changes] == [str(adele.id)]


def test_manager_refusals(loose, tenant):
    adele = make_user(tenant, "adele")
    assert error_of(loose("PUT", f"users/{adele.id}/manager/$ref", _ref(adele))) == (
        400, "Request_BadRequest", "Invalid value specified for property 'manager' of resource 'User'.",
    )  # fmt: skip
    stranger = make_user(make_tenant("Fabrikam"), "sam")
    status, code, _ = error_of(loose("PUT", f"users/{adele.id}/manager/$ref", _ref(stranger)))
    assert (status, code) == (404, "Request_ResourceNotFound")
    assert loose("PUT", f"users/{adele.id}/manager/$ref", {"@odata.id": "nonsense"}).status_code == 400
    assert loose("PUT", f"users/{adele.id}/manager/$ref", {}).status_code == 400
    assert loose("POST", f"users/{adele.id}/manager/$ref", _ref(adele)).status_code == 405
    synced = make_user(tenant, "synced")
    directory.set_directory_managed(synced, {"onPremisesSyncEnabled": True})
    assert error_of(loose("PUT", f"users/{synced.id}/manager/$ref", _ref(adele)))[2] == SYNCED


def test_deleted_manager_is_no_manager(graph, tenant):
    adele, megan = make_user(tenant, "adele"), make_user(tenant, "megan")
    graph("PUT", f"users/{adele.id}/manager/$ref", _ref(megan))
    graph("DELETE", f"users/{megan.id}")
    assert graph.get(f"users/{adele.id}/manager").status_code == 404


def test_manager_in_batch(graph, tenant):
    adele, megan = make_user(tenant, "adele"), make_user(tenant, "megan")
    body = {"requests": [
        {"id": "1", "method": "PUT", "url": f"/users/{adele.id}/manager/$ref", "body": _ref(megan),
         "headers": {"Content-Type": "application/json"}},
        {"id": "2", "method": "GET", "url": f"/users/{adele.id}/manager?$select=displayName", "dependsOn": ["1"]},
    ]}  # fmt: skip
    responses = {r["id"]: r for r in graph("POST", "$batch", body).json()["responses"]}
    assert responses["1"]["status"] == 204
    assert responses["2"]["status"] == 200 and responses["2"]["body"]["displayName"] == "Megan"


# --- mail, proxyAddresses and conflicts ---------------------------------------------------------------------


def test_mail_trick_adds_aliases_and_keeps_the_upn_primary(graph, tenant):
    """CIPP's Add-CIPPAlias: PATCH mail=<alias> for each alias, then mail=<UPN>."""
    adele = make_user(tenant, "adele")
    upn = "adele@contoso.onmicrosoft.com"
    for alias in ("a.vance@contoso.com", "sales@contoso.com", upn):
        assert graph("PATCH", f"users/{adele.id}", {"mail": alias}).status_code == 204
    body = graph.get(f"users/{adele.id}?$select=mail,proxyAddresses").json()
    assert body["mail"] == upn
    assert body["proxyAddresses"][0] == f"SMTP:{upn}"
    assert sorted(body["proxyAddresses"][1:]) == ["smtp:a.vance@contoso.com", "smtp:sales@contoso.com"]
    # an address the user already has just becomes primary again, whatever its case
    assert graph("PATCH", f"users/{adele.id}", {"mail": "Sales@Contoso.com"}).status_code == 204
    proxies = graph.get(f"users/{adele.id}?$select=proxyAddresses").json()["proxyAddresses"]
    assert proxies[0] == "SMTP:Sales@Contoso.com" and f"smtp:{upn}" in proxies and len(proxies) == 3


def test_create_with_mail_sets_the_primary_address(graph, tenant):
    body = {"accountEnabled": True, "displayName": "Lee", "mailNickname": "lee",
            "userPrincipalName": "lee@contoso.com", "mail": "lee@contoso.com",
            "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}  # fmt: skip
    response = graph("POST", "users", body)
    assert response.status_code == 201
    row = SandboxUser.objects.get(pk=response.json()["id"])
    assert (
        row.properties["proxyAddresses"] == ["SMTP:lee@contoso.com"] and row.mail_lower == "lee@contoso.com"
    )


def test_taken_addresses_are_refused_with_graphs_400(loose, tenant):
    adele = make_user(tenant, "adele")
    directory.set_directory_managed(
        adele, {"mail": "adele@contoso.com",
                "proxyAddresses": ["SMTP:adele@contoso.com", "smtp:av@contoso.com"]},
    )  # fmt: skip
    make_group(tenant, "Sales Team", "distribution")  # mail salesteam@contoso.onmicrosoft.com
    megan = make_user(tenant, "megan")
    for taken in ("AV@contoso.com", "adele@contoso.com", "adele@contoso.onmicrosoft.com",
                  "salesteam@contoso.onmicrosoft.com"):  # fmt: skip
        assert error_of(loose("PATCH", f"users/{megan.id}", {"mail": taken})) == (
            400,
            "Request_BadRequest",
            PROXY_TAKEN,
        )
        assert error_of(loose("PATCH", f"users/{megan.id}", {"userPrincipalName": taken})) == (
            400, "Request_BadRequest", UPN_TAKEN,
        )  # fmt: skip
    new = {"accountEnabled": True, "displayName": "X", "mailNickname": "x", "userPrincipalName": "av@contoso.com",
           "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}  # fmt: skip
    assert error_of(loose("POST", "users", new))[2] == UPN_TAKEN
    new.update(userPrincipalName="x@contoso.com", mail="av@contoso.com")
    assert error_of(loose("POST", "users", new))[2] == PROXY_TAKEN
    assert not SandboxUser.objects.filter(upn_lower="x@contoso.com").exists()
    megan.refresh_from_db()
    assert megan.properties["proxyAddresses"] == [] and megan.properties.get("mail") is None
    assert error_of(loose("PATCH", f"users/{megan.id}", {"mail": "rené@contoso.com"}))[2] == (
        "Invalid value specified for property 'mail' of resource 'User'."
    )
    assert error_of(loose("PATCH", f"users/{megan.id}", {"mail": "not an address"}))[2] == (
        "Invalid value specified for property 'mail' of resource 'User'."
    )


def test_deleted_users_keep_their_addresses(loose, tenant):
    adele = make_user(tenant, "adele", mail="adele@contoso.com")
    loose("DELETE", f"users/{adele.id}")
    megan = make_user(tenant, "megan")
    assert error_of(loose("PATCH", f"users/{megan.id}", {"mail": "adele@contoso.com"}))[2] == PROXY_TAKEN


# --- field limits and on-premises mastered properties ------------------------------------------------------


def test_length_limits_match_the_portals_rules():
    from users.provisioning.rules import MAX_LENGTH as PORTAL

    shared = set(PORTAL) & set(directory.MAX_LENGTH)
    assert shared >= {"givenName", "surname", "displayName", "jobTitle", "department", "companyName", "city"}
    assert {name: PORTAL[name] for name in shared} == {name: directory.MAX_LENGTH[name] for name in shared}


@pytest.mark.parametrize("name", sorted(directory.MAX_LENGTH))
def test_over_long_values_are_refused_on_create_and_patch(loose, tenant, name):
    limit = directory.MAX_LENGTH[name]
    adele = make_user(tenant, "adele")
    assert loose("PATCH", f"users/{adele.id}", {name: "x" * limit}).status_code == 204
    message = f"Invalid value specified for property '{name}' of resource 'User'."
    assert error_of(loose("PATCH", f"users/{adele.id}", {name: "x" * (limit + 1)})) == (
        400, "Request_BadRequest", message,
    )  # fmt: skip
    body = {"accountEnabled": True, "displayName": "New", "mailNickname": "new",
            "userPrincipalName": "new@contoso.com", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"},
            name: "y" * (limit + 1)}  # fmt: skip
    assert error_of(loose("POST", "users", body))[2] == message


def test_business_phones_take_one_number_and_upn_pattern(loose, tenant):
    adele = make_user(tenant, "adele")
    status, _, message = error_of(loose("PATCH", f"users/{adele.id}", {"businessPhones": ["+1 1", "+1 2"]}))
    assert status == 400 and "'businessPhones'" in message
    assert loose("PATCH", f"users/{adele.id}", {"businessPhones": ["+44 20 7946 0000"]}).status_code == 204
    for bad in (f"{'a' * 65}@contoso.com", "a+b@contoso.com", ".adele@contoso.com", "a..b@contoso.com",
                "adele.@contoso.com", "a b@contoso.com"):  # fmt: skip
        assert error_of(loose("PATCH", f"users/{adele.id}", {"userPrincipalName": bad}))[2] == (
            "Invalid value specified for property 'userPrincipalName' of resource 'User'."
        ), bad
    assert (
        loose(
            "PATCH", f"users/{adele.id}", {"userPrincipalName": "o'neil_a-b!c#d^e~f@contoso.com"}
        ).status_code
        == 204
    )


def test_synced_users_refuse_on_premises_mastered_properties(loose, tenant):
    user = make_user(tenant, "hybrid", usageLocation="GB")
    directory.set_directory_managed(user, {"onPremisesSyncEnabled": True, "onPremisesImmutableId": "abc="})
    for change in ({"jobTitle": "Boss"}, {"displayName": "H"}, {"mail": "h@contoso.com"},
                   {"userPrincipalName": "h@contoso.com"}, {"businessPhones": []}, {"onPremisesImmutableId": None}):  # fmt: skip
        assert error_of(loose("PATCH", f"users/{user.id}", change)) == (400, "Request_BadRequest", SYNCED), (
            change
        )
    # cloud-mastered properties stay writable
    assert (
        loose("PATCH", f"users/{user.id}", {"usageLocation": "US", "accountEnabled": False}).status_code
        == 204
    )


# --- filters used by the live "is this address free" checks ------------------------------------------------


def test_address_filters_are_case_insensitive_and_combine_with_or(graph, tenant):
    adele = make_user(tenant, "adele")
    directory.set_directory_managed(
        adele,
        {"mail": "Adele@Contoso.com", "proxyAddresses": ["SMTP:Adele@Contoso.com", "smtp:av@contoso.com"]},
    )
    make_user(tenant, "megan")

    def ids(expression: str) -> list[str]:
        response = graph.get(f"users?$filter={quote(expression)}&$select=id")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["value"]]

    assert ids("userPrincipalName eq 'ADELE@contoso.onmicrosoft.com'") == [str(adele.id)]
    assert ids("mail eq 'adele@CONTOSO.com'") == [str(adele.id)]
    assert ids("proxyAddresses/any(p:p eq 'SMTP:AV@contoso.com')") == [str(adele.id)]
    assert ids("proxyAddresses/any(p:p eq 'smtp:adele@contoso.com')") == [str(adele.id)]
    assert ids("proxyAddresses/any(p:p eq 'smtp:a@contoso.com')") == []  # whole addresses only
    free = "userPrincipalName eq 'new@contoso.com' or mail eq 'new@contoso.com' or proxyAddresses/any(p:p eq 'smtp:new@contoso.com')"
    assert ids(free) == []
    taken = free.replace("new@", "av@")
    assert ids(taken) == [str(adele.id)]


# --- Exchange: Set-Mailbox -EmailAddresses -----------------------------------------------------------------


@pytest.fixture
def mailbox_user(tenant):
    adele = make_user(tenant, "adele")
    directory.set_directory_managed(
        adele, {"mail": "adele@contoso.com",
                "proxyAddresses": ["SMTP:adele@contoso.com", "smtp:adele@contoso.onmicrosoft.com"]},
    )  # fmt: skip
    make_mailbox(adele)
    return adele


def _table(**entries) -> dict:
    return {"@odata.type": "#Exchange.GenericHashTable", **entries}


def _proxies(user) -> list[str]:
    return SandboxUser.objects.get(pk=user.pk).properties["proxyAddresses"]


def test_email_addresses_add_and_remove(tenant, mailbox_user, graph):
    response = invoke(tenant, "Set-Mailbox", {"Identity": "adele@contoso.com",
                                              "EmailAddresses": _table(Add=["smtp:a.vance@contoso.com", "av@contoso.com"])})  # fmt: skip
    assert response.status_code == 200 and response.json()["value"] == []
    assert _proxies(mailbox_user)[-2:] == ["smtp:a.vance@contoso.com", "smtp:av@contoso.com"]
    shown = graph.get(f"users/{mailbox_user.id}?$select=proxyAddresses").json()["proxyAddresses"]
    assert "smtp:av@contoso.com" in shown
    invoke(
        tenant, "Set-Mailbox", {"Identity": "adele", "EmailAddresses": _table(remove="smtp:av@contoso.com")}
    )
    assert "smtp:av@contoso.com" not in _proxies(mailbox_user)
    # SMTP: makes the address primary; the old primary stays as a secondary and mail follows
    invoke(
        tenant, "Set-Mailbox", {"Identity": "adele", "EmailAddresses": _table(add="SMTP:a.vance@contoso.com")}
    )
    row = SandboxUser.objects.get(pk=mailbox_user.pk)
    assert row.properties["proxyAddresses"][0] == "SMTP:a.vance@contoso.com"
    assert (
        "smtp:adele@contoso.com" in row.properties["proxyAddresses"]
        and row.mail_lower == "a.vance@contoso.com"
    )
    got = invoke(tenant, "Get-Mailbox", {"Identity": "adele"}).json()["value"][0]
    assert got["PrimarySmtpAddress"] == "a.vance@contoso.com"
    again = invoke(
        tenant, "Set-Mailbox", {"Identity": "adele", "EmailAddresses": _table(Add="a.vance@contoso.com")}
    )
    assert "have been modified" in again.json()["@adminapi.warnings"][0]


def test_email_addresses_replace_all(tenant, mailbox_user):
    invoke(tenant, "Set-Mailbox", {"Identity": "adele", "EmailAddresses": ["adele@contoso.com", "smtp:x@contoso.com",
                                                                          "X500:/o=Legacy/cn=adele"]})  # fmt: skip
    assert _proxies(mailbox_user) == [
        "SMTP:adele@contoso.com",
        "smtp:x@contoso.com",
        "X500:/o=Legacy/cn=adele",
    ]


@pytest.mark.parametrize(
    ("value", "kind", "fragment"),
    [
        (
            _table(Remove="adele@contoso.com"),
            "DataValidationException",
            "The primary SMTP address 'adele@contoso.com' can't be removed.",
        ),
        (
            _table(Add="megan@contoso.com"),
            "ADObjectAlreadyExistsException",
            'The proxy address "SMTP:megan@contoso.com" is already being used by the proxy addresses or LegacyExchangeDN of "Megan".',
        ),
        (
            _table(Add="a@fabrikam.com"),
            "DataValidationException",
            "You can't use the domain fabrikam.com because it's not an accepted domain for your organization.",
        ),
        ({"Add": "a@contoso.com"}, "ParameterBindingException", "GenericHashTable"),
        (_table(Add="not an address"), "ParameterBindingException", "is not a valid SMTP address"),
        (["SMTP:a@contoso.com", "SMTP:b@contoso.com"], "ParameterBindingException", "Only one address"),
    ],
)
def test_email_addresses_refusals_change_nothing(tenant, mailbox_user, value, kind, fragment):
    megan = make_user(tenant, "megan")
    directory.set_directory_managed(
        megan, {"mail": "megan@contoso.com", "proxyAddresses": ["SMTP:megan@contoso.com"]}
    )
    before = _proxies(mailbox_user)
    exception_type, message = _detail(
        invoke(tenant, "Set-Mailbox", {"Identity": "adele", "EmailAddresses": value}), 400
    )
    assert exception_type.endswith(kind) and fragment in message
    assert _proxies(mailbox_user) == before


def test_email_addresses_of_synced_mailboxes_are_read_only(tenant, mailbox_user):
    directory.set_directory_managed(mailbox_user, {"onPremisesSyncEnabled": True})
    _, message = _detail(
        invoke(tenant, "Set-Mailbox", {"Identity": "adele", "EmailAddresses": _table(Add="z@contoso.com")}),
        400,
    )
    assert "being synchronized from your on-premises organization" in message


# --- licensing creates the mailbox; distribution-group membership through Exchange -------------------------


def test_exchange_licence_provisions_the_mailbox(graph, tenant):
    make_sku(tenant, units=5)
    user = make_user(tenant, "newstarter", usageLocation="GB")
    body = {"addLicenses": [{"skuId": str(E3_SKU), "disabledPlans": []}], "removeLicenses": []}
    assert graph("POST", f"users/{user.id}/assignLicense", body).status_code == 200
    row = SandboxUser.objects.get(pk=user.pk)
    assert SandboxMailbox.objects.filter(user=row, recipient_type_details="UserMailbox").exists()
    assert row.properties["mail"] == "newstarter@contoso.onmicrosoft.com"
    assert row.properties["proxyAddresses"][0] == "SMTP:newstarter@contoso.onmicrosoft.com"
    dl = make_group(tenant, "Sales Team", "distribution")
    params = {"Identity": str(dl.id), "Member": "newstarter@contoso.onmicrosoft.com",
              "BypassSecurityGroupManagerCheck": True}  # fmt: skip
    assert invoke(tenant, "Add-DistributionGroupMember", params).status_code == 200
    assert SandboxGroupMember.objects.filter(group=dl, user=row).exists()


def test_disabled_exchange_plan_gives_no_mailbox(graph, tenant):
    make_sku(tenant, units=5)
    user = make_user(tenant, "nomail", usageLocation="GB")
    body = {"addLicenses": [{"skuId": str(E3_SKU), "disabledPlans": [EXCHANGE_PLAN]}], "removeLicenses": []}
    assert graph("POST", f"users/{user.id}/assignLicense", body).status_code == 200
    assert not SandboxMailbox.objects.filter(user=user).exists()


@pytest.fixture
def dl_world(tenant, mailbox_user):
    dl = make_group(tenant, "Sales Team", "distribution")
    megan = make_user(tenant, "megan", mail="megan@contoso.com")
    return dl, mailbox_user, megan


def _member(dl, who: str, **extra) -> dict:
    return {"Identity": str(dl.id), "Member": who, "BypassSecurityGroupManagerCheck": True, **extra}


def test_get_and_remove_distribution_group_member(tenant, dl_world):
    dl, adele, megan = dl_world
    for who in ("adele@contoso.com", "megan@contoso.com"):
        assert invoke(tenant, "Add-DistributionGroupMember", _member(dl, who)).status_code == 200
    rows = invoke(
        tenant, "Get-DistributionGroupMember", {"Identity": "salesteam@contoso.onmicrosoft.com"}
    ).json()["value"]
    assert [(r["DisplayName"], r["RecipientTypeDetails"]) for r in rows] == [
        ("Adele", "UserMailbox"),
        ("Megan", "MailUser"),
    ]
    assert (
        rows[0]["ExternalDirectoryObjectId"] == str(adele.id)
        and rows[0]["PrimarySmtpAddress"] == "adele@contoso.com"
    )
    response = invoke(tenant, "Remove-DistributionGroupMember", _member(dl, "adele@contoso.com"))
    assert response.status_code == 200 and response.json()["value"] == []
    assert not SandboxGroupMember.objects.filter(group=dl, user=adele).exists()
    exception_type, message = _detail(
        invoke(tenant, "Remove-DistributionGroupMember", _member(dl, "adele@contoso.com")), 400
    )
    assert exception_type.endswith("MemberNotFoundException")
    assert message == 'The recipient "adele@contoso.com" isn\'t a member of the group "Sales Team".'


def test_remove_distribution_group_member_refusals(tenant, dl_world):
    dl, _, _ = dl_world
    _, message = _detail(invoke(tenant, "Remove-DistributionGroupMember",
                                {"Identity": str(dl.id), "Member": "adele@contoso.com"}), 400)  # fmt: skip
    assert "manager of the group" in message
    synced = make_group(tenant, "Synced DL", "distribution", on_premises_sync_enabled=True)
    _, message = _detail(
        invoke(tenant, "Remove-DistributionGroupMember", _member(synced, "adele@contoso.com")), 400
    )
    assert "'Remove-DistributionGroupMember', 'Members'" in message and "on-premises" in message
    unified = make_group(tenant, "Marketing", "microsoft365")
    assert _detail(
        invoke(tenant, "Remove-DistributionGroupMember", _member(unified, "adele@contoso.com")), 404
    )
    assert _detail(invoke(tenant, "Remove-DistributionGroupMember", _member(dl, "ghost@contoso.com")), 404)
    assert _detail(invoke(tenant, "Get-DistributionGroupMember", {"Identity": "Nope"}), 404)


def test_graph_refuses_member_removal_on_dl_dynamic_and_synced_groups(loose, tenant, mailbox_user):
    expected = {
        "distribution": "Cannot Update a mail-enabled security groups and or distribution list.",
        "mailEnabledSecurity": "Cannot Update a mail-enabled security groups and or distribution list.",
        "dynamic": "Members of a dynamic group cannot be added or removed.",
        "synced": SYNCED,
    }
    for kind, fragment in expected.items():
        group = make_group(tenant, f"{kind} group", kind)
        SandboxGroupMember.objects.create(group=group, user=mailbox_user)
        status, code, message = error_of(loose("DELETE", f"groups/{group.id}/members/{mailbox_user.id}/$ref"))
        assert (status, code) == (400, "Request_BadRequest") and fragment in message
        assert SandboxGroupMember.objects.filter(group=group, user=mailbox_user).exists()


# --- the seeded demo customers -----------------------------------------------------------------------------


def test_every_demo_customer_has_what_the_forms_handle(sandbox_world):
    from django.db.models import Count

    for tenant in sandbox_world[1:]:
        users = SandboxUser.objects.filter(tenant=tenant)
        synced = users.filter(properties__onPremisesSyncEnabled=True)
        assert synced.exists() and all(u.properties["onPremisesImmutableId"] for u in synced), tenant
        assert users.filter(user_type="Guest", properties__creationType="Invitation").exists()
        assert users.filter(manager__isnull=False).count() >= 3
        groups = tenant.groups.all()
        assert groups.filter(on_premises_sync_enabled=True, memberships__isnull=False).exists()
        assert any("DynamicMembership" in g.group_types and g.security_enabled for g in groups)
        assert {directory.group_kind(g) for g in groups} == {
            "microsoft365", "security", "mailEnabledSecurity", "distribution",
        }  # fmt: skip
        skus = SandboxSku.objects.filter(tenant=tenant).annotate(used=Count("assignments"))
        assert any(sku.prepaid_enabled - sku.used == 0 for sku in skus), tenant
