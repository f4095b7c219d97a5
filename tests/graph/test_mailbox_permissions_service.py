"""Mailbox access (Full Access, Send As, Send on Behalf, calendar): the exact Exchange requests, the
readers keeping only explicit grants, and Add- falling back to Set- for a trustee who already has a
calendar entry (UserAlreadyExistsInPermissionEntryException)."""

from __future__ import annotations

import pytest
import responses

from graph.errors import GraphError
from graph.services import mailbox_permissions as perms
from tests.exchange_kit import EXO
from tests.exchange_kit import sent as _sent


@responses.activate
def test_exact_write_requests(exchange):
    responses.post(EXO, json={"value": []})
    perms.grant_full_access(exchange, "a@x.com", "b@x.com", automapping=False)
    perms.remove_full_access(exchange, "a@x.com", "b@x.com")
    perms.grant_send_as(exchange, "a@x.com", "b@x.com")
    perms.remove_send_as(exchange, "a@x.com", "b@x.com")
    perms.set_send_on_behalf(exchange, "a@x.com", "b@x.com", grant=True)
    perms.set_send_on_behalf(exchange, "a@x.com", "b@x.com", grant=False)
    perms.remove_calendar_permission(exchange, "a@x.com", "b@x.com")
    sent = [_sent(call) for call in responses.calls]
    anchor = "UPN:a@x.com"
    assert sent == [
        ("Add-MailboxPermission",
         {"Identity": "a@x.com", "User": "b@x.com", "AccessRights": ["FullAccess"], "AutoMapping": False}, anchor),
        ("Remove-MailboxPermission",
         {"Identity": "a@x.com", "User": "b@x.com", "AccessRights": ["FullAccess"], "Confirm": False}, anchor),
        ("Add-RecipientPermission",
         {"Identity": "a@x.com", "Trustee": "b@x.com", "AccessRights": ["SendAs"], "Confirm": False}, anchor),
        ("Remove-RecipientPermission",
         {"Identity": "a@x.com", "Trustee": "b@x.com", "AccessRights": ["SendAs"], "Confirm": False}, anchor),
        ("Set-Mailbox", {"Identity": "a@x.com", "GrantSendOnBehalfTo": {
            "@odata.type": "#Exchange.GenericHashTable", "add": "b@x.com"}}, anchor),
        ("Set-Mailbox", {"Identity": "a@x.com", "GrantSendOnBehalfTo": {
            "@odata.type": "#Exchange.GenericHashTable", "remove": "b@x.com"}}, anchor),
        ("Remove-MailboxFolderPermission",
         {"Identity": "a@x.com:\\Calendar", "User": "b@x.com", "Confirm": False}, anchor),
    ]  # fmt: skip


@responses.activate
def test_readers_keep_only_explicit_grants(exchange):
    responses.post(EXO, json={"value": [
        {"User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess"], "IsInherited": False, "Deny": False},
        {"User": "b@x.com", "AccessRights": ["FullAccess"], "IsInherited": False, "Deny": False},
        {"User": "c@x.com", "AccessRights": ["FullAccess"], "IsInherited": False, "Deny": True},
        {"User": "d@x.com", "AccessRights": ["FullAccess"], "IsInherited": True, "Deny": False},
    ]})  # fmt: skip
    responses.post(EXO, json={"value": [
        {"Trustee": "NT AUTHORITY\\SELF", "AccessRights": ["SendAs"]},
        {"Trustee": "e@x.com", "AccessRights": ["SendAs"]},
    ]})  # fmt: skip
    responses.post(
        EXO, json={"value": [{"UserPrincipalName": "a@x.com", "GrantSendOnBehalfTo": ["f@x.com"]}]}
    )
    assert [row["User"] for row in perms.full_access(exchange, "a@x.com")] == ["b@x.com"]
    assert [row["Trustee"] for row in perms.send_as(exchange, "a@x.com")] == ["e@x.com"]
    assert perms.send_on_behalf(exchange, "a@x.com") == ["f@x.com"]
    assert _sent(responses.calls[0])[0:2] == ("Get-MailboxPermission", {"Identity": "a@x.com"})
    assert _sent(responses.calls[1])[0:2] == ("Get-RecipientPermission", {"Identity": "a@x.com"})
    assert "GrantSendOnBehalfTo" in responses.calls[2].request.url


@responses.activate
def test_calendar_add_falls_back_to_set_for_an_existing_entry(exchange):
    already = {"error": {"code": "BadRequest", "message": (
        "|Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException|"
        "An existing permission entry was found for user: Bob.")}}  # fmt: skip
    responses.post(EXO, status=400, json=already)
    responses.post(EXO, json={"value": []})
    perms.set_calendar_permission(
        exchange, "a@x.com", "b@x.com", "Editor", ("Delegate", "CanViewPrivateItems")
    )
    sent = [_sent(call) for call in responses.calls]
    params = {"Identity": "a@x.com:\\Calendar", "User": "b@x.com", "AccessRights": ["Editor"],
              "SharingPermissionFlags": "Delegate,CanViewPrivateItems"}  # fmt: skip
    assert sent == [("Add-MailboxFolderPermission", params, "UPN:a@x.com"),
                    ("Set-MailboxFolderPermission", params, "UPN:a@x.com")]  # fmt: skip


@responses.activate
def test_calendar_other_errors_and_default_entry(exchange):
    responses.post(EXO, status=400, json={"error": {"code": "BadRequest", "message": (
        "|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|"
        "The operation couldn't be performed because object 'zz@x.com' couldn't be found.")}})  # fmt: skip
    with pytest.raises(GraphError):
        perms.set_calendar_permission(exchange, "a@x.com", "zz@x.com", "Reviewer")
    assert len(responses.calls) == 1
    responses.post(EXO, json={"value": []})
    perms.set_calendar_permission(exchange, "a@x.com", "Default", "AvailabilityOnly")
    assert _sent(responses.calls[-1])[0] == "Set-MailboxFolderPermission"


def test_calendar_validation():
    with pytest.raises(ValueError):
        perms.set_calendar_permission(None, "a@x.com", "b@x.com", "Boss")
    with pytest.raises(ValueError):
        perms.set_calendar_permission(None, "a@x.com", "b@x.com", "Reviewer", ("Delegate",))
    with pytest.raises(ValueError):
        perms.remove_calendar_permission(None, "a@x.com", "Anonymous")
