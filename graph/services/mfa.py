"""Writes on a user's sign-in security: Temporary Access Pass (and the tenant policy that governs it),
deleting registered authentication methods per type, and the beta per-user MFA state.

Reads of the methods list live in ``graph.services.auth_methods``; the legacy MFA push is in
``graph.services.mfa_push``. Nothing here logs a pass: ``create_temporary_access_pass`` returns it to its
caller and that is the only place it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from graph.batch import BatchRequest
from graph.client import GraphClient
from graph.errors import GraphError

from .auth_methods import MFA_STATES, list_authentication_methods, parse_methods

TAP_POLICY_PATH = (
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
)
# Method type (``@odata.type`` without the namespace) → its collection under /users/{id}/authentication.
METHOD_COLLECTIONS = {
    "phoneAuthenticationMethod": "phoneMethods",
    "microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorMethods",
    "fido2AuthenticationMethod": "fido2Methods",
    "softwareOathAuthenticationMethod": "softwareOathMethods",
    "emailAuthenticationMethod": "emailMethods",
    "temporaryAccessPassAuthenticationMethod": "temporaryAccessPassMethods",
    "windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusinessMethods",
}
PASSWORD_TYPE = "passwordAuthenticationMethod"
TAP_LIFETIME_LIMITS = (10, 43200)  # what Graph accepts for lifetimeInMinutes, whatever the policy says


# --- Temporary Access Pass ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TapPolicy:
    enabled: bool
    default_lifetime: int
    minimum_lifetime: int
    maximum_lifetime: int
    usable_once: bool
    default_length: int

    @classmethod
    def from_graph(cls, body: dict) -> TapPolicy:
        low, high = TAP_LIFETIME_LIMITS

        def minutes(key: str, fallback: int) -> int:
            value = body.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else fallback

        return cls(
            enabled=str(body.get("state") or "").lower() == "enabled",
            default_lifetime=minutes("defaultLifetimeInMinutes", 60),
            minimum_lifetime=max(low, minutes("minimumLifetimeInMinutes", 60)),
            maximum_lifetime=min(high, minutes("maximumLifetimeInMinutes", 480)),
            usable_once=bool(body.get("isUsableOnce")),
            default_length=minutes("defaultLength", 8),
        )


def get_tap_policy(client: GraphClient) -> TapPolicy:
    return TapPolicy.from_graph(client.get(TAP_POLICY_PATH))


@dataclass(frozen=True)
class TemporaryAccessPass:
    """A created pass. ``secret`` is the pass itself: show it once, never store or log it."""

    method_id: str
    secret: str
    lifetime_minutes: int
    usable_once: bool
    start: str | None
    usable: bool | None

    def __repr__(self) -> str:  # keep the pass out of tracebacks and debug output
        return f"TemporaryAccessPass(method_id={self.method_id!r}, lifetime_minutes={self.lifetime_minutes})"


def tap_request_body(lifetime_minutes: int, usable_once: bool, start: datetime | None) -> dict:
    body: dict = {"lifetimeInMinutes": int(lifetime_minutes), "isUsableOnce": bool(usable_once)}
    if start is not None:
        body["startDateTime"] = start.isoformat().replace("+00:00", "Z")
    return body


def create_temporary_access_pass(
    client: GraphClient,
    user_id: str,
    *,
    lifetime_minutes: int,
    usable_once: bool,
    start: datetime | None = None,
) -> TemporaryAccessPass:
    body = client.post(
        f"/users/{user_id}/authentication/temporaryAccessPassMethods",
        tap_request_body(lifetime_minutes, usable_once, start),
    )
    secret = body.get("temporaryAccessPass")
    if not secret:
        raise GraphError("Graph created the pass but returned no temporaryAccessPass", code="invalidResponse")
    return TemporaryAccessPass(
        method_id=str(body.get("id") or ""),
        secret=str(secret),
        lifetime_minutes=int(body.get("lifetimeInMinutes") or lifetime_minutes),
        usable_once=bool(body.get("isUsableOnce", usable_once)),
        start=body.get("startDateTime"),
        usable=body.get("isUsable"),
    )


# --- authentication methods ---------------------------------------------------------------------------------


def method_path(user_id: str, method_type: str, method_id: str) -> str:
    try:
        collection = METHOD_COLLECTIONS[method_type]
    except KeyError:
        raise ValueError(f"no delete endpoint is known for {method_type!r}") from None
    return f"/users/{user_id}/authentication/{collection}/{method_id}"


def _deletion_order(method: dict) -> tuple[int, str]:
    # Graph refuses to delete a mobile number while an alternateMobile exists: other phones go first.
    if method["type"] == "phoneAuthenticationMethod":
        return (1 if method.get("phone_type") == "mobile" else 0, method["id"])
    return (0, method["id"])


def removable_methods(client: GraphClient, user_id: str) -> list[dict]:
    """Every registered method except the password, in an order Graph accepts deleting them."""
    items: list[dict] = []
    for page in client.iter_pages(f"/users/{user_id}/authentication/methods"):
        items.extend(page)
    parsed = {m["id"]: m for m in list_methods_from(items)}
    return sorted((m for m in parsed.values() if m["type"] != PASSWORD_TYPE), key=_deletion_order)


def list_methods_from(items: list[dict]) -> list[dict]:
    """parse_methods plus each phone method's phoneType (the delete order depends on it)."""
    phone_types = {i.get("id"): i.get("phoneType") for i in items}
    methods = parse_methods(items)
    for method in methods:
        method["phone_type"] = phone_types.get(method["id"])
    return methods


def delete_method(client: GraphClient, user_id: str, method_type: str, method_id: str) -> None:
    client.delete(method_path(user_id, method_type, method_id))


def delete_method_request(request_id: str, user_id: str, method_type: str, method_id: str) -> BatchRequest:
    return BatchRequest(request_id, "DELETE", method_path(user_id, method_type, method_id))


# --- per-user MFA (beta) -------------------------------------------------------------------------------------


def _require_beta(client: GraphClient) -> None:
    if client.version != "beta":
        raise ValueError("per-user MFA is a beta API: pass a GraphClient(version='beta')")


def set_per_user_mfa_state(client: GraphClient, user_id: str, state: str) -> None:
    _require_beta(client)
    if state not in MFA_STATES:
        raise ValueError(f"per-user MFA state must be one of {MFA_STATES}, not {state!r}")
    client.patch(f"/users/{user_id}/authentication/requirements", {"perUserMfaState": state})


__all__ = [
    "METHOD_COLLECTIONS",
    "TAP_POLICY_PATH",
    "TapPolicy",
    "TemporaryAccessPass",
    "create_temporary_access_pass",
    "delete_method",
    "delete_method_request",
    "get_tap_policy",
    "list_authentication_methods",
    "method_path",
    "removable_methods",
    "set_per_user_mfa_state",
]
