"""A user's registered authentication methods (v1.0) and per-user (legacy) MFA state (beta only)."""

from __future__ import annotations

from graph.batch import BatchRequest
from graph.client import GraphClient

# @odata.type suffix → what technicians call it.
METHOD_LABELS = {
    "passwordAuthenticationMethod": "Password",
    "phoneAuthenticationMethod": "Phone",
    "emailAuthenticationMethod": "Email (SSPR)",
    "fido2AuthenticationMethod": "FIDO2 security key",
    "microsoftAuthenticatorAuthenticationMethod": "Microsoft Authenticator",
    "softwareOathAuthenticationMethod": "Software OATH token",
    "temporaryAccessPassAuthenticationMethod": "Temporary Access Pass",
    "windowsHelloForBusinessAuthenticationMethod": "Windows Hello for Business",
    "platformCredentialAuthenticationMethod": "Platform credential (passkey)",
}
# Methods that satisfy a second factor (everything but the password and the SSPR-only email method).
STRONG_METHODS = set(METHOD_LABELS) - {"passwordAuthenticationMethod", "emailAuthenticationMethod"}
MFA_STATES = ("disabled", "enabled", "enforced")


def methods_path(user_id: str) -> str:
    return f"/users/{user_id}/authentication/methods"


def methods_request(user_id: str, request_id: str = "authMethods") -> BatchRequest:
    return BatchRequest(request_id, "GET", methods_path(user_id))


def _detail(kind: str, item: dict) -> str:
    """The one identifying detail of a method: phone number, e-mail, key model, app version."""
    if kind == "phoneAuthenticationMethod":
        return " · ".join(x for x in (item.get("phoneNumber"), item.get("phoneType")) if x)
    if kind == "emailAuthenticationMethod":
        return item.get("emailAddress") or ""
    if kind == "fido2AuthenticationMethod":
        return item.get("model") or ""
    if kind == "microsoftAuthenticatorAuthenticationMethod":
        version = item.get("phoneAppVersion")
        return f"app {version}" if version else ""
    if kind == "temporaryAccessPassAuthenticationMethod":
        return "usable" if item.get("isUsable") else (item.get("methodUsabilityReason") or "not usable")
    return ""


def parse_methods(items: list[dict]) -> list[dict]:
    """``[{id, type, label, display_name, detail, created, strong}]``, password first, then by label."""
    methods = []
    for item in items:
        kind = str(item.get("@odata.type", "")).rsplit(".", 1)[-1]
        detail = _detail(kind, item)
        methods.append(
            {
                "id": item.get("id") or "",
                "type": kind,
                "label": METHOD_LABELS.get(kind, kind or "Unknown method"),
                "display_name": item.get("displayName") or "",
                "detail": "" if detail == item.get("displayName") else detail,
                "created": item.get("createdDateTime"),
                "strong": kind in STRONG_METHODS,
            }
        )
    methods.sort(key=lambda m: (m["type"] != "passwordAuthenticationMethod", m["label"], m["created"] or ""))
    return methods


def list_authentication_methods(client: GraphClient, user_id: str) -> list[dict]:
    items: list[dict] = []
    for page in client.iter_pages(methods_path(user_id)):
        items.extend(page)
    return parse_methods(items)


def get_per_user_mfa_state(client: GraphClient, user_id: str) -> str:
    """``disabled`` / ``enabled`` / ``enforced`` from beta ``/users/{id}/authentication/requirements``."""
    if client.version != "beta":
        raise ValueError("per-user MFA state is a beta API: pass a GraphClient(version='beta')")
    body = client.get(f"/users/{user_id}/authentication/requirements")
    state = str(body.get("perUserMfaState") or "disabled")
    return state if state in MFA_STATES else "unknown"
