"""Account-level writes on one user: delete, block/unblock sign-in, revoke sessions, clear the immutable
id, reset the password (cloud or writeback). (A user's directory roles: graph/services/roles.py.)

Writes that fit a $batch are offered as ``*_request`` builders returning a :class:`BatchRequest` (the
action runner batches them across users, 20 per call); each also has a direct function for a single call.
Passwords travel only in request bodies: nothing here logs or returns them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from graph.batch import BatchRequest
from graph.client import GraphClient

# The fixed id of every user's password authentication method (Graph: passwordAuthenticationMethod).
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"


def _user(user_id: str) -> str:
    return f"/users/{quote(str(user_id), safe='@')}"


# --- batchable writes ----------------------------------------------------------------------------------


def delete_user_request(user_id: str, request_id: str = "delete") -> BatchRequest:
    """DELETE /users/{id}: the user moves to deleted items and can be restored for 30 days."""
    return BatchRequest(request_id, "DELETE", _user(user_id))


def set_account_enabled_request(
    user_id: str, enabled: bool, request_id: str = "accountEnabled"
) -> BatchRequest:
    return BatchRequest(request_id, "PATCH", _user(user_id), body={"accountEnabled": bool(enabled)})


def revoke_sessions_request(user_id: str, request_id: str = "revoke") -> BatchRequest:
    """POST /users/{id}/revokeSignInSessions: refresh tokens and session cookies become invalid."""
    return BatchRequest(request_id, "POST", f"{_user(user_id)}/revokeSignInSessions")


def clear_immutable_id_request(user_id: str, request_id: str = "immutableId") -> BatchRequest:
    return BatchRequest(request_id, "PATCH", _user(user_id), body={"onPremisesImmutableId": None})


# --- direct calls ----------------------------------------------------------------------------------------


def delete_user(client: GraphClient, user_id: str) -> None:
    client.delete(_user(user_id))


def set_account_enabled(client: GraphClient, user_id: str, enabled: bool) -> None:
    client.patch(_user(user_id), {"accountEnabled": bool(enabled)})


def revoke_sessions(client: GraphClient, user_id: str) -> bool:
    return bool(client.post(f"{_user(user_id)}/revokeSignInSessions").get("value", True))


def clear_immutable_id(client: GraphClient, user_id: str) -> None:
    client.patch(_user(user_id), {"onPremisesImmutableId": None})


def reset_password_cloud(client: GraphClient, user_id: str, password: str, *, force_change: bool) -> None:
    """Cloud-only users: PATCH passwordProfile (Graph answers 204)."""
    client.patch(
        _user(user_id),
        {"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": bool(force_change)}},
    )


@dataclass
class WritebackResult:
    """What Graph said to a password writeback request. 202: the on-premises change is pending."""

    status: int
    operation_url: str
    request_id: str


def reset_password_writeback(client: GraphClient, user_id: str, password: str) -> WritebackResult:
    """Hybrid (synced) users: the password method's resetPassword, which Entra writes back to on-premises
    AD (needs password writeback). Graph answers 202 Accepted with a Location header naming a long-running
    operation; success on-premises is not known at that point."""
    path = f"{_user(user_id)}/authentication/methods/{PASSWORD_METHOD_ID}/resetPassword"
    if client.dry_run:
        client.post(path, {"newPassword": password})  # recorded, not sent
        return WritebackResult(202, "", "")
    response = client.request("POST", path, json={"newPassword": password})
    return WritebackResult(
        response.status_code, response.headers.get("Location", ""), response.headers.get("request-id", "")
    )


def password_operation_status(client: GraphClient, operation_url: str) -> str:
    """The long-running operation's status: notStarted / running / succeeded / failed."""
    return str(client.get(operation_url).get("status") or "")


# --- password options ---------------------------------------------------------------------------------------


def force_change_request(user_id: str, request_id: str = "forceChange") -> BatchRequest:
    """PATCH passwordProfile with only ``forceChangePasswordNextSignIn``: the password stays as it is
    (every passwordProfile property is optional on update; only a create needs the password)."""
    return BatchRequest(
        request_id, "PATCH", _user(user_id), body={"passwordProfile": {"forceChangePasswordNextSignIn": True}}
    )


def get_password_policies(client: GraphClient, user_id: str) -> str:
    """The user's passwordPolicies ("" when none): returned only on $select."""
    found = client.get(_user(user_id), params={"$select": "id,passwordPolicies"})
    return str(found.get("passwordPolicies") or "")


def set_password_policies(client: GraphClient, user_id: str, policies: str) -> None:
    client.patch(_user(user_id), {"passwordPolicies": policies})
