"""The exact Graph and Exchange requests of Add user and Edit user (``responses``): method, URL and body of
every request, how they are grouped into ``$batch`` calls, and each step's truthful result."""

from __future__ import annotations

import logging

import pytest

from users.actions.passwords_gen import meets_entra_complexity
from users.actions.registry import Status
from users.models import AuditEntry, DirectoryUser
from users.provisioning.create import provision_user
from users.provisioning.edit import apply_edit
from users.provisioning.types import LicenceChoice, NewUser, UserEdit

NEW = "11111111-1111-4111-8111-111111111111"
USER = "22222222-2222-4222-8222-222222222222"
MANAGER = "33333333-3333-4333-8333-333333333333"
SOURCE = "44444444-4444-4444-8444-444444444444"
SEC, DL, DYN, M365, SYNCED, DL2 = (f"{n}aaaaaaa-0000-4000-8000-00000000000{n}" for n in range(1, 7))
E3, VISIO, PBI = (
    "05e9a617-0261-4cee-bb44-138d3ef5d965",
    "c5928f49-12ba-48f7-ada3-0d743a3601d5",
    "f8a1db68-be16-40ed-86d5-cb42ce701560",
)
PLAN = "efb87545-963c-4e0d-99df-69c6916d9eb0"
REF = "https://graph.microsoft.com/v1.0/directoryObjects/"


def group(gid, name, **flags):
    return {"@odata.type": "#microsoft.graph.group", "id": gid, "displayName": name, "groupTypes": [],
            "mailEnabled": False, "securityEnabled": True, "mail": None, "onPremisesSyncEnabled": None,
            "membershipRule": None, **flags}  # fmt: skip


GROUPS = {
    SEC: group(SEC, "SG-VPN"),
    DL: group(DL, "Sales Team", mailEnabled=True, securityEnabled=False, mail="sales@contoso.com"),
    DYN: group(
        DYN, "All Sales", groupTypes=["DynamicMembership"], membershipRule="user.department -eq 'Sales'"
    ),
    M365: group(M365, "Marketing", groupTypes=["Unified"], mailEnabled=True, mail="marketing@contoso.com"),
    SYNCED: group(SYNCED, "AD-Finance", onPremisesSyncEnabled=True),
    DL2: group(DL2, "IT Alerts", mailEnabled=True, securityEnabled=False, mail="it@contoso.com"),
}
SKUS = {"value": [
    {"skuId": E3, "skuPartNumber": "SPE_E3", "capabilityStatus": "Enabled", "appliesTo": "User",
     "prepaidUnits": {"enabled": 10, "warning": 0}, "consumedUnits": 3, "servicePlans": [{"servicePlanId": PLAN}]},
    {"skuId": VISIO, "skuPartNumber": "VISIOCLIENT", "capabilityStatus": "Enabled", "appliesTo": "User",
     "prepaidUnits": {"enabled": 5, "warning": 0}, "consumedUnits": 5, "servicePlans": []},
    {"skuId": PBI, "skuPartNumber": "POWER_BI_STANDARD", "capabilityStatus": "Enabled", "appliesTo": "User",
     "prepaidUnits": {"enabled": 10000, "warning": 0}, "consumedUnits": 4, "servicePlans": [{"servicePlanId": PLAN}]},
]}  # fmt: skip


def route_groups(host):
    for gid, body in GROUPS.items():
        host.on("GET", rf"/groups/{gid}\?\$select=", 200, body)


def new_user(**overrides) -> NewUser:
    values = dict(
        display_name="Jane Doe", username="jane.doe", domain="contoso.com", given_name="Jane", surname="Doe",
        aliases=["jd@contoso.com", "Jane.Doe@contoso.com", "jane@contoso.com"], must_change_password=True,
        licences=[LicenceChoice(E3, [PLAN])], job_title="Engineer", business_phone="+44 20 7946 0000",
        manager_id=MANAGER, group_ids=[SEC, DL, DYN], copy_groups_from=SOURCE,
    )  # fmt: skip
    values.update(overrides)
    return NewUser(**values)


def route_create(host, *, create_status=201, licence_status=200):
    host.on("GET", r"/organization\?", 200, {"value": [{"id": "org", "countryLetterCode": "GB"}]})
    host.on("GET", r"/subscribedSkus", 200, SKUS)
    route_groups(host)
    source_groups = [GROUPS[M365], GROUPS[SYNCED], GROUPS[SEC], {"@odata.type": "#microsoft.graph.directoryRole",
                                                                  "id": "role", "displayName": "Helpdesk"}]  # fmt: skip
    host.on("GET", rf"/users/{SOURCE}/memberOf\?", 200, {"value": source_groups})
    created = {
        "id": NEW,
        "userPrincipalName": "jane.doe@contoso.com",
        "displayName": "Jane Doe",
        "mail": None,
    }
    if create_status == 201:
        host.on("POST", r"/users$", 201, created)
    else:
        host.on("POST", r"/users$", create_status, {"error": {"code": "Request_BadRequest", "message":
                "Another object with the same value for property userPrincipalName already exists."}})  # fmt: skip
    host.on("POST", rf"/users/{NEW}/assignLicense$", licence_status,
            {} if licence_status == 200 else {"error": {"code": "Request_BadRequest",
                                                          "message": "License assignment failed for a test."}})  # fmt: skip
    host.on("PATCH", rf"/users/{NEW}$", 204, None)
    host.on("POST", r"/groups/[^/]+/members/\$ref$", 204, None)
    host.on("PUT", rf"/users/{NEW}/manager/\$ref$", 204, None)
    host.on("GET", rf"/users/{NEW}\?\$select=", 200, {**created, "mail": "jane.doe@contoso.com",
                                                      "proxyAddresses": ["SMTP:jane.doe@contoso.com"]})  # fmt: skip


def test_add_user_sends_exactly_these_requests(host, ctx, caplog):
    caplog.set_level(logging.DEBUG)
    route_create(host)
    result = provision_user(ctx, new_user(usage_location=""))

    assert result.created and result.user_id == NEW and result.user_principal_name == "jane.doe@contoso.com"
    assert meets_entra_complexity(result.password)
    # 1) one $batch of reads, 2) POST /users on its own, 3) one $batch of writes, 4) the alias clean-up and
    # the read-back for the cache.
    assert host.batch_calls == 2
    reads = [s for s in host.sent if s.batched and s.method == "GET"]
    assert [r.url.split("?")[0] for r in reads] == [
        "/organization", "/subscribedSkus", f"/groups/{SEC}", f"/groups/{DL}", f"/groups/{DYN}",
        f"/users/{SOURCE}/memberOf",
    ]  # fmt: skip
    writes = host.writes()
    assert (writes[0].method, writes[0].url, writes[0].batched) == ("POST", "/users", False)
    assert writes[0].body == {
        "accountEnabled": True, "displayName": "Jane Doe", "mailNickname": "jane.doe",
        "userPrincipalName": "jane.doe@contoso.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": result.password},
        "usageLocation": "GB", "givenName": "Jane", "surname": "Doe", "jobTitle": "Engineer",
        "businessPhones": ["+44 20 7946 0000"],
    }  # fmt: skip
    batched = [(w.method, w.url, w.body, w.depends_on) for w in writes if w.batched]
    assert batched == [
        ("POST", f"/users/{NEW}/assignLicense", {"addLicenses": [{"disabledPlans": [PLAN], "skuId": E3}],
                                                 "removeLicenses": []}, []),
        ("PATCH", f"/users/{NEW}", {"mail": "jd@contoso.com"}, []),
        ("PATCH", f"/users/{NEW}", {"mail": "jane@contoso.com"}, ["s1-alias-0"]),  # the UPN itself left out
        ("POST", f"/groups/{SEC}/members/$ref", {"@odata.id": REF + NEW}, []),
        ("POST", f"/groups/{M365}/members/$ref", {"@odata.id": REF + NEW}, []),
        ("PUT", f"/users/{NEW}/manager/$ref", {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{MANAGER}"}, []),
    ]  # fmt: skip
    after = [(w.method, w.url, w.body) for w in writes if not w.batched][1:]
    assert after == [("PATCH", f"/users/{NEW}", {"mail": "jane.doe@contoso.com"})]  # the UPN primary again
    assert host.cmdlets == [("Add-DistributionGroupMember", {"Identity": "sales@contoso.com",
                             "Member": "jane.doe@contoso.com", "BypassSecurityGroupManagerCheck": True})]  # fmt: skip
    assert host.find("GET", rf"/users/{NEW}\?\$select=id,userPrincipalName")  # read back into the cache

    steps = [(s.step, s.status) for s in result.steps]
    assert steps == [
        ("create", "success"), ("licences", "success"), ("aliases", "success"),
        ("groups", "success"), ("groups", "success"), ("groups", "skipped"),
        ("copy-groups", "skipped"), ("copy-groups", "success"), ("copy-groups", "skipped"),
        ("manager", "success"),
    ]  # fmt: skip
    messages = " | ".join(s.message for s in result.steps)
    assert "dynamic membership" in messages and "synced from on-premises" in messages
    assert "already chosen under groups to join" in messages
    # Audited step by step, never with the password; cached at once.
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "result"))
    assert actions[0] == ("add-user", "success") and len(actions) == len(result.steps)
    assert {a for a, _ in actions[1:]} == {"add-user:licences", "add-user:aliases", "add-user:groups",
                                           "add-user:copy-groups", "add-user:manager"}  # fmt: skip
    assert DirectoryUser.objects.filter(tenant=ctx.tenant, user_id=NEW).exists()
    assert result.password not in caplog.text
    for entry in AuditEntry.objects.all():
        assert result.password not in str(entry.parameters) + entry.message


def test_typed_usage_location_and_password_skip_the_organization_read(host, ctx):
    route_create(host)
    new = new_user(usage_location="fr", password="Typed-Passw0rd!", aliases=[], licences=[], group_ids=[],
                   copy_groups_from=None, manager_id=None)  # fmt: skip
    result = provision_user(ctx, new)
    assert result.created and result.password == "Typed-Passw0rd!"
    assert not host.find("GET", r"/organization") and host.batch_calls == 0
    create = host.find("POST", r"/users$")[0]
    assert (
        create.body["usageLocation"] == "FR"
        and create.body["passwordProfile"]["password"] == "Typed-Passw0rd!"
    )
    assert [s.step for s in result.steps] == ["create"]


def test_a_sku_without_units_is_refused_before_anything_is_sent(host, ctx):
    route_create(host)
    result = provision_user(ctx, new_user(licences=[LicenceChoice(VISIO)]))
    assert not result.created and result.user_id is None and result.password is None
    assert [(s.step, s.status) for s in result.steps] == [("create", "failed")]
    assert "Not enough Visio" in result.steps[0].message and "0 available" in result.steps[0].message
    assert host.writes() == []
    assert list(AuditEntry.objects.values_list("action", "result")) == [("add-user", "failed")]


def test_a_failed_creation_sends_nothing_else(host, ctx):
    route_create(host, create_status=400)
    result = provision_user(ctx, new_user())
    assert not result.created and result.password is None
    assert "already exists" in result.steps[0].message
    assert [(w.method, w.url) for w in host.writes()] == [("POST", "/users")]
    assert not DirectoryUser.objects.filter(tenant=ctx.tenant).exists()


def test_a_failed_later_step_never_hides_the_user(host, ctx):
    route_create(host, licence_status=400)
    result = provision_user(ctx, new_user())
    assert result.created and result.user_id == NEW and result.password
    licences = next(s for s in result.steps if s.step == "licences")
    assert licences.status == Status.FAILED and "License assignment failed for a test." in licences.message
    assert licences.request_ids  # Graph's request-id for a support ticket
    assert next(s for s in result.steps if s.step == "manager").status == Status.SUCCESS
    assert result.failed_steps == [licences]


# --- Edit user ------------------------------------------------------------------------------------------


def route_edit(host, *, mailbox=True, current=None):
    record = current or {"id": USER, "userPrincipalName": "u@contoso.com", "displayName": "U", "mail": "u@contoso.com",
                         "proxyAddresses": ["SMTP:u@contoso.com", "smtp:old@contoso.com"], "onPremisesSyncEnabled": None,
                         "assignedLicenses": [{"skuId": E3, "disabledPlans": []}, {"skuId": PBI, "disabledPlans": []}]}  # fmt: skip
    host.on("GET", rf"/users/{USER}\?\$select=", 200, record)
    host.on("GET", r"/subscribedSkus", 200, SKUS)
    route_groups(host)
    host.on("GET", rf"/users/{SOURCE}/memberOf\?", 200, {"value": [GROUPS[M365], GROUPS[DYN], GROUPS[SEC]],
                                                          "@odata.nextLink": f"https://graph.example.test/v1.0/users/{SOURCE}/memberOf?$skiptoken=p2"})  # fmt: skip
    host.on("GET", rf"/users/{SOURCE}/memberOf\?\$skiptoken=p2", 200, {"value": [GROUPS[DL2]]})
    host.on("GET", rf"/users/{USER}/memberOf\?", 200, {"value": [GROUPS[M365]]})
    host.on("PATCH", rf"/users/{USER}$", 204, None)
    host.on("POST", rf"/users/{USER}/assignLicense$", 200, {})
    host.on("POST", r"/groups/[^/]+/members/\$ref$", 204, None)
    host.on("DELETE", rf"/groups/[^/]+/members/{USER}/\$ref$", 204, None)
    host.on("DELETE", rf"/users/{USER}/manager/\$ref$", 204, None)
    host.on("PUT", rf"/users/{USER}/manager/\$ref$", 204, None)
    if mailbox:
        host.cmdlet("Get-Mailbox", 200, {"value": [{"UserPrincipalName": "u@contoso.com"}]})
    else:
        host.cmdlet("Get-Mailbox", 404, {"error": {"code": "NotFound", "message": "x", "details": [{"message":
                    "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|not found"}]}})  # fmt: skip


def test_edit_user_sends_exactly_the_changes(host, ctx):
    route_edit(host)
    edit = UserEdit(
        user_id=USER, user_principal_name="u@contoso.com", changes={"jobTitle": "Lead", "department": None},
        add_licences=[LicenceChoice(PBI, [PLAN]), LicenceChoice(E3)], remove_licences=[VISIO],
        add_group_ids=[SEC, DL], remove_group_ids=[M365, DL2, SYNCED], copy_groups_from=SOURCE,
        add_aliases=["new@contoso.com"], remove_aliases=["old@contoso.com"], manager_id=None,
    )  # fmt: skip
    results = apply_edit(ctx, edit)

    reads = [s.url.split("?")[0] for s in host.sent if s.batched and s.method == "GET"]
    assert reads == [f"/users/{USER}", "/subscribedSkus", f"/groups/{SEC}", f"/groups/{DL}", f"/groups/{M365}",
                     f"/groups/{DL2}", f"/groups/{SYNCED}", f"/users/{SOURCE}/memberOf", f"/users/{USER}/memberOf"]  # fmt: skip
    assert host.find("GET", rf"/users/{SOURCE}/memberOf\?\$skiptoken=p2")  # paging followed
    batched = [(w.method, w.url, w.body) for w in host.writes() if w.batched]
    assert batched == [
        ("PATCH", f"/users/{USER}", {"jobTitle": "Lead", "department": None}),  # exactly the diff
        # Both SKUs held: re-added with their (new) disabled plans, no unit needed; Visio not held: not sent.
        ("POST", f"/users/{USER}/assignLicense", {"addLicenses": [{"disabledPlans": [PLAN], "skuId": PBI},
                                                                   {"disabledPlans": [], "skuId": E3}],
                                                  "removeLicenses": []}),
        ("POST", f"/groups/{SEC}/members/$ref", {"@odata.id": REF + USER}),
        ("DELETE", f"/groups/{M365}/members/{USER}/$ref", None),
        ("DELETE", f"/users/{USER}/manager/$ref", None),
    ]  # fmt: skip
    assert host.cmdlets == [
        ("Get-Mailbox", {"Identity": "u@contoso.com"}),
        ("Add-DistributionGroupMember", {"Identity": "sales@contoso.com", "Member": "u@contoso.com",
                                         "BypassSecurityGroupManagerCheck": True}),
        ("Remove-DistributionGroupMember", {"Identity": "it@contoso.com", "Member": "u@contoso.com",
                                            "BypassSecurityGroupManagerCheck": True}),
        ("Set-Mailbox", {"Identity": "u@contoso.com", "EmailAddresses": {
            "@odata.type": "#Exchange.GenericHashTable", "Add": ["smtp:new@contoso.com"]}}),
        ("Set-Mailbox", {"Identity": "u@contoso.com", "EmailAddresses": {
            "@odata.type": "#Exchange.GenericHashTable", "Remove": ["smtp:old@contoso.com"]}}),
    ]  # fmt: skip
    by_step = [(r.step, r.status) for r in results]
    assert by_step == [
        ("profile", "success"), ("licences", "success"),
        ("groups", "success"), ("groups", "success"),  # SEC (Graph), DL (Exchange)
        ("groups", "success"), ("groups", "success"),  # M365 (Graph), DL2 (Exchange)
        ("groups", "skipped"),  # SYNCED: refused, never sent
        # copy, by name: All Sales (dynamic), IT Alerts (2nd page; being removed), Marketing (being removed),
        # SG-VPN (already chosen to join): nothing left to copy, each skip with its reason.
        ("copy-groups", "skipped"), ("copy-groups", "skipped"), ("copy-groups", "skipped"), ("copy-groups", "skipped"),
        ("aliases", "success"), ("aliases", "success"), ("manager", "success"),
    ]  # fmt: skip
    copies = [r.message for r in results if r.step == "copy-groups"]
    assert copies == ["All Sales: dynamic membership: its rule decides who is in it.",
                      "IT Alerts: being removed in this same change.", "Marketing: being removed in this same change.",
                      "SG-VPN: already chosen under groups to join."]  # fmt: skip
    licences = next(r for r in results if r.step == "licences").message
    assert licences.startswith("Changed the services of Power BI Pro, Microsoft 365 E3.")
    assert "Not removed (not assigned to the user): Visio" in licences
    assert AuditEntry.objects.count() == len(results)
    assert AuditEntry.objects.filter(action="edit-user", result="success").count() == 1


def test_edit_with_nothing_but_a_manager_sends_no_patch(host, ctx):
    route_edit(host)
    results = apply_edit(ctx, UserEdit(user_id=USER, user_principal_name="u@contoso.com", manager_id=MANAGER))
    assert [(w.method, w.url) for w in host.writes()] == [("PUT", f"/users/{USER}/manager/$ref")]
    assert [(r.step, r.status) for r in results] == [("manager", "success")]


def test_removing_a_manager_the_user_does_not_have_is_a_skip(host, ctx):
    route_edit(host)
    host.on("DELETE", rf"/users/{USER}/manager/\$ref$", 404, {"error": {"code": "Request_ResourceNotFound",
            "message": "Resource 'manager' does not exist or one of its queried reference-property objects are not present."}})  # fmt: skip
    [step] = apply_edit(ctx, UserEdit(user_id=USER, user_principal_name="u@contoso.com", manager_id=None))
    assert (step.status, step.message) == ("skipped", "The user had no manager.")


def test_aliases_without_a_mailbox_use_the_mail_trick_and_cannot_be_removed(host, ctx):
    route_edit(host, mailbox=False)
    edit = UserEdit(user_id=USER, user_principal_name="u@contoso.com", add_aliases=["a@contoso.com", "b@contoso.com"],
                    remove_aliases=["old@contoso.com"])  # fmt: skip
    results = apply_edit(ctx, edit)
    patches = [(w.body, w.depends_on, w.batched) for w in host.writes()]
    assert patches == [({"mail": "a@contoso.com"}, [], True), ({"mail": "b@contoso.com"}, ["s0-alias-0"], True),
                       ({"mail": "u@contoso.com"}, [], False)]  # fmt: skip
    assert [(r.step, r.status) for r in results] == [("aliases", "success"), ("aliases", "failed")]
    assert "Graph cannot remove" in results[1].message
    assert [name for name, _ in host.cmdlets] == ["Get-Mailbox"]


def test_an_alias_refused_by_graph_stops_the_chain_and_restores_the_primary(host, ctx):
    route_edit(host, mailbox=False)
    taken = {"error": {"code": "Request_BadRequest",
                       "message": "Another object with the same value for property proxyAddresses already exists."}}  # fmt: skip
    host.on(
        "PATCH", rf"/users/{USER}$", 400, taken, when=lambda sent: sent.body == {"mail": "taken@contoso.com"}
    )
    edit = UserEdit(user_id=USER, user_principal_name="u@contoso.com",
                    add_aliases=["a@contoso.com", "taken@contoso.com", "c@contoso.com"])  # fmt: skip
    [step] = apply_edit(ctx, edit)
    assert step.status == "failed"
    assert step.message.startswith("Added a@contoso.com. taken@contoso.com was not added: Another object")
    assert "(c@contoso.com not tried)" in step.message
    # c was never sent by Graph (424 in the real service); the primary address is restored afterwards.
    assert [w.body for w in host.writes()][-1] == {"mail": "u@contoso.com"}
    assert step.details == {"added": ["a@contoso.com"]}


def test_synced_user_addresses_are_refused_without_a_request(host, ctx):
    route_edit(host, current={"id": USER, "userPrincipalName": "u@contoso.com", "mail": "u@contoso.com",
                              "onPremisesSyncEnabled": True, "assignedLicenses": []})  # fmt: skip
    [step] = apply_edit(
        ctx, UserEdit(user_id=USER, user_principal_name="u@contoso.com", add_aliases=["a@contoso.com"])
    )
    assert step.status == "skipped" and "on-premises" in step.message
    assert host.writes() == [] and host.cmdlets == []


def test_a_user_that_cannot_be_read_is_not_changed(host, ctx):
    host.on("GET", rf"/users/{USER}\?\$select=", 404, {"error": {"code": "Request_ResourceNotFound",
                                                                 "message": "Resource 'x' does not exist."}})  # fmt: skip
    [step] = apply_edit(
        ctx, UserEdit(user_id=USER, user_principal_name="u@contoso.com", changes={"city": "Leeds"})
    )
    assert step.status == "failed" and "nothing was changed" in step.message
    assert host.writes() == []


@pytest.mark.parametrize("units, status", [(0, "failed"), (1, "success")])
def test_edit_adding_a_sku_checks_units_first(host, ctx, units, status):
    route_edit(host)
    skus = {"value": [{**SKUS["value"][1], "consumedUnits": 5 - units}]}
    host.on("GET", r"/subscribedSkus", 200, skus)
    [step] = apply_edit(ctx, UserEdit(user_id=USER, user_principal_name="u@contoso.com",
                                      add_licences=[LicenceChoice(VISIO)]))  # fmt: skip
    assert step.status == status
    sent = host.find("POST", rf"/users/{USER}/assignLicense")
    assert bool(sent) == (units > 0)


# --- Invite guest ----------------------------------------------------------------------------------------

GUEST = "55555555-5555-4555-8555-555555555555"


def route_invite(host, *, owners=()):
    host.on("GET", r"/users\?\$filter=", 200, {"value": list(owners)})
    answer = {"id": "inv-1", "inviteRedeemUrl": "https://login.microsoftonline.com/redeem?rd=secret-ish",
              "invitedUser": {"id": GUEST}, "status": "PendingAcceptance"}  # fmt: skip
    host.on("POST", r"/invitations$", 201, answer)
    host.on("GET", rf"/users/{GUEST}\?\$select=", 200, {"id": GUEST, "displayName": "Pat Guest", "userType": "Guest",
                                                       "mail": "pat@fabrikam.com",
                                                       "userPrincipalName": "pat_fabrikam.com#EXT#@contoso.onmicrosoft.com"})  # fmt: skip


def test_invite_guest_sends_the_documented_body_and_hands_back_the_redeem_link(host, ctx):
    from users.provisioning.invite import invite_guest

    route_invite(host)
    step = invite_guest(
        ctx, display_name="Pat Guest", email="pat@fabrikam.com", send_email=False, message=" "
    )
    [lookup] = host.find("GET", r"/users\?")
    assert (
        "mail eq 'pat@fabrikam.com'" in lookup.url
        and "proxyAddresses/any(p:p eq 'smtp:pat@fabrikam.com')" in lookup.url
    )
    [invite] = host.find("POST", r"/invitations")
    assert invite.body == {"invitedUserEmailAddress": "pat@fabrikam.com", "inviteRedirectUrl": "https://myapps.microsoft.com",
                           "sendInvitationMessage": False, "invitedUserDisplayName": "Pat Guest"}  # fmt: skip
    assert step.status == "success" and "no e-mail was sent" in step.message
    assert step.details["invite_redeem_url"].startswith("https://login.microsoftonline.com/redeem")
    assert step.details["user_id"] == GUEST
    entry = AuditEntry.objects.get()
    assert entry.action == "invite-guest" and "redeem" not in str(entry.parameters)
    assert DirectoryUser.objects.get(tenant=ctx.tenant, user_id=GUEST).user_type == "Guest"


def test_inviting_an_existing_guest_says_so_and_a_member_is_refused(host, ctx):
    from users.provisioning.invite import invite_guest

    route_invite(host, owners=[{"id": GUEST, "displayName": "Pat Guest", "mail": "pat@fabrikam.com", "userType": "Guest",
                                "userPrincipalName": "pat_fabrikam.com#EXT#@contoso.onmicrosoft.com"}])  # fmt: skip
    step = invite_guest(ctx, display_name="Pat", email="Pat@Fabrikam.com", message="Welcome aboard")
    assert (
        step.status == "success"
        and "already a guest in this tenant" in step.message
        and "sent again" in step.message
    )
    [invite] = host.find("POST", r"/invitations")
    assert invite.body["sendInvitationMessage"] is True
    assert invite.body["invitedUserMessageInfo"] == {"customizedMessageBody": "Welcome aboard"}
    assert "invite_redeem_url" not in step.details

    DirectoryUser.objects.all().delete()
    route_invite(host, owners=[{"id": USER, "displayName": "Member M", "mail": "m@contoso.com", "userType": "Member",
                                "userPrincipalName": "m@contoso.com"}])  # fmt: skip
    refused = invite_guest(ctx, display_name="M", email="m@contoso.com")
    assert refused.status == "failed" and "belongs to a member of this tenant" in refused.message
    assert len(host.find("POST", r"/invitations")) == 1  # nothing sent the second time


# --- Address availability -------------------------------------------------------------------------------


def test_address_problems_checks_cache_then_graph_in_one_batch(host, ctx, unit_tenant):
    from tests.actions.unitkit import make_user
    from users.provisioning.availability import address_problems

    make_user(unit_tenant, upn="taken@contoso.com", display_name="Jane Doe")
    make_user(
        unit_tenant,
        upn="x@contoso.com",
        display_name="X",
        proxy_search="smtp:x@contoso.com smtp:alias@contoso.com",
    )
    host.on("GET", r"/organization\?", 200, {"value": [{"id": "o", "verifiedDomains": [{"name": "contoso.com"},
                                                                                      {"name": "contoso.co.uk"}]}]})  # fmt: skip
    owner = {"id": USER, "displayName": "Graph Only", "userPrincipalName": "g@contoso.com", "mail": "g@contoso.com",
             "proxyAddresses": ["SMTP:g@contoso.com", "smtp:o'brien@contoso.co.uk"]}  # fmt: skip
    host.on("GET", r"/users\?\$filter=", 200, {"value": [owner]})
    host.on("GET", r"/groups\?\$filter=", 200, {"value": [{"id": DL, "displayName": "Sales Team", "mail": "sales@contoso.com",
                                                           "proxyAddresses": ["SMTP:sales@contoso.com"]}]})  # fmt: skip
    free = [f"free{i}@contoso.com" for i in range(4)]
    addresses = ["Taken@contoso.com", "alias@contoso.com", "not an address", "a@elsewhere.org", "O'Brien@contoso.co.uk",
                 "sales@contoso.com", *free]  # fmt: skip
    problems = address_problems(unit_tenant, addresses, graph=ctx.graph)
    assert problems == {
        "taken@contoso.com": "in use by Jane Doe (taken@contoso.com)",
        "alias@contoso.com": "in use by X (x@contoso.com)",
        "not an address": "not a valid e-mail address",
        "a@elsewhere.org": "elsewhere.org is not a verified domain of Contoso",
        "o'brien@contoso.co.uk": "in use by Graph Only (g@contoso.com)",
        "sales@contoso.com": "in use by the group Sales Team",
    }
    lookups = [s for s in host.sent if s.method == "GET" and s.url.startswith(("/users?", "/groups?"))]
    assert all(s.batched for s in lookups)
    users = [s.url for s in lookups if s.url.startswith("/users?")]
    # 6 addresses left for Graph, 5 per query (15 clauses): 2 queries; quotes doubled.
    assert len(users) == 2 and users[0].count(" or ") == 14 and "'o''brien@contoso.co.uk'" in users[0]
    # Excluding the user being edited: its own addresses are not a problem.
    DirectoryUser.objects.filter(user_principal_name="taken@contoso.com").update(user_id=USER)
    again = address_problems(
        unit_tenant, ["taken@contoso.com", "g@contoso.com"], graph=ctx.graph, exclude_user_id=USER
    )
    assert again == {}


def test_address_problems_says_when_graph_could_not_be_asked(host, ctx, unit_tenant):
    from tests.actions.unitkit import make_user
    from users.provisioning.availability import AvailabilityUnchecked, address_problems

    make_user(unit_tenant, upn="taken@contoso.com", display_name="Jane Doe")
    host.on(
        "GET",
        r"/users\?\$filter=",
        403,
        {"error": {"code": "Authorization_RequestDenied", "message": "Nope."}},
    )
    host.on("GET", r"/groups\?\$filter=", 200, {"value": []})
    with pytest.raises(AvailabilityUnchecked) as raised:
        address_problems(unit_tenant, ["taken@contoso.com", "new@contoso.com"], graph=ctx.graph)
    assert raised.value.partial == {"taken@contoso.com": "in use by Jane Doe (taken@contoso.com)"}


def test_writes_that_reach_a_replica_without_the_new_user_are_sent_once_more(host, ctx):
    route_create(host)
    seen = {"licence": 0, "alias": 0}
    gone = {"error": {"code": "Request_ResourceNotFound", "message": f"Resource '{NEW}' does not exist."}}

    def first_time(kind):
        def check(sent):
            seen[kind] += 1
            return seen[kind] == 1

        return check

    host.on("POST", rf"/users/{NEW}/assignLicense$", 404, gone, when=first_time("licence"))
    host.on(
        "PATCH",
        rf"/users/{NEW}$",
        404,
        gone,
        when=lambda s: s.body == {"mail": "jd@contoso.com"} and first_time("alias")(s),
    )
    result = provision_user(ctx, new_user(group_ids=[], copy_groups_from=None, manager_id=None))
    assert [(s.step, s.status) for s in result.steps] == [
        ("create", "success"),
        ("licences", "success"),
        ("aliases", "success"),
    ]
    assert len(host.find("POST", rf"/users/{NEW}/assignLicense")) == 2
    # The alias chain went again from its first item (its dependent had answered 424 the first time).
    alias_bodies = [w.body for w in host.writes() if w.method == "PATCH"]
    assert alias_bodies == [{"mail": "jd@contoso.com"}, {"mail": "jd@contoso.com"}, {"mail": "jane@contoso.com"},
                            {"mail": "jane.doe@contoso.com"}]  # fmt: skip
