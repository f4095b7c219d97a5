"""Writes behind the Security actions: the Temporary Access Pass policy and passes, deleting a user's
authentication methods per type, and the beta per-user MFA requirements PATCH.

Behaviour follows Microsoft's API reference where it speaks:
* creating a pass while the user has one replaces it ("the previous Temporary Access Pass will be deleted,
  and a new Temporary Access Pass will be created");
* ``lifetimeInMinutes`` is 10..43200 and must sit inside the tenant policy's minimum/maximum;
* the pass is returned by the create call only, and reads answer ``temporaryAccessPass: null``;
* a mobile phone method cannot be deleted while an alternateMobile exists.
Where the reference gives no wording (the policy disabled, a lifetime outside the policy) the error text is
the sandbox's own, with Graph's error shape and a 400 status.

The sandbox keeps only a SHA-256 of each pass (SandboxTapSecret), never the pass.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from ..auth import graph_endpoint
from ..directory import graph_now
from ..errors import GraphProblem, bad_request
from ..models import (
    SandboxAuthMethod,
    SandboxTapSecret,
    SandboxTenant,
    SandboxUser,
    SandboxUserAuthentication,
)
from ..seed_data import TAP_DISABLED
from ..tokens import hash_opaque
from . import auth_methods
from .common import collection_body, context_url, get_user, graph_json, no_content, read_json_body

TAP_TYPE = "temporaryAccessPassAuthenticationMethod"
# URL segment under /users/{id}/authentication/ → the method type it holds.
METHOD_SEGMENTS = {
    "phoneMethods": "phoneAuthenticationMethod",
    "microsoftAuthenticatorMethods": "microsoftAuthenticatorAuthenticationMethod",
    "fido2Methods": "fido2AuthenticationMethod",
    "softwareOathMethods": "softwareOathAuthenticationMethod",
    "emailMethods": "emailAuthenticationMethod",
    "temporaryAccessPassMethods": TAP_TYPE,
    "windowsHelloForBusinessMethods": "windowsHelloForBusinessAuthenticationMethod",
}
TAP_LIFETIME_RANGE = (10, 43200)  # minutes, as documented for lifetimeInMinutes
# Microsoft's pass alphabet mixes letters, digits and a few symbols; the sandbox uses a similar one.
TAP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!@#$%&*+="
MFA_WRITE_STATES = ("disabled", "enabled", "enforced")
STRONG_TYPES = set(METHOD_SEGMENTS.values()) - {"emailAuthenticationMethod"}


def tap_policy(tenant: SandboxTenant) -> dict:
    """The tenant's TAP method configuration; a tenant that never set one has Microsoft's default (off)."""
    return {**TAP_DISABLED, **((tenant.settings or {}).get("tapPolicy") or {})}


@graph_endpoint(methods=("GET",))
def tap_policy_configuration(request: HttpRequest) -> HttpResponse:
    policy = tap_policy(request.graph_tenant)
    return graph_json(
        {
            "@odata.context": context_url(
                request, "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity"
            ),
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": policy["state"],
            "defaultLifetimeInMinutes": policy["defaultLifetimeInMinutes"],
            "defaultLength": policy["defaultLength"],
            "minimumLifetimeInMinutes": policy["minimumLifetimeInMinutes"],
            "maximumLifetimeInMinutes": policy["maximumLifetimeInMinutes"],
            "isUsableOnce": policy["isUsableOnce"],
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}],
            "excludeTargets": [],
        }
    )


# --- Temporary Access Pass -----------------------------------------------------------------------------


def _parse_start(raw) -> datetime:
    if raw is None:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid value '{raw}' for property 'startDateTime'.", code="BadRequest") from None
    if moment.tzinfo is None:
        raise bad_request("startDateTime must include a time zone offset.", code="BadRequest")
    return moment


def _validated_tap_request(body: dict, policy: dict) -> tuple[int, bool, datetime]:
    unknown = sorted(set(body) - {"lifetimeInMinutes", "isUsableOnce", "startDateTime", "@odata.type"})
    if unknown:
        raise bad_request(
            f"Invalid property '{unknown[0]}' on temporaryAccessPassAuthenticationMethod.", code="BadRequest"
        )
    lifetime = body.get("lifetimeInMinutes", policy["defaultLifetimeInMinutes"])
    if isinstance(lifetime, bool) or not isinstance(lifetime, int):
        raise bad_request("lifetimeInMinutes must be an integer.", code="BadRequest")
    low, high = TAP_LIFETIME_RANGE
    if not low <= lifetime <= high:
        raise bad_request(f"lifetimeInMinutes must be between {low} and {high}.", code="BadRequest")
    minimum, maximum = policy["minimumLifetimeInMinutes"], policy["maximumLifetimeInMinutes"]
    if not minimum <= lifetime <= maximum:
        raise bad_request(
            f"The lifetime of {lifetime} minutes is outside the Temporary Access Pass policy's range of "
            f"{minimum} to {maximum} minutes.",
            code="BadRequest",
        )
    once = body.get("isUsableOnce", policy["isUsableOnce"])
    if not isinstance(once, bool):
        raise bad_request("isUsableOnce must be a boolean.", code="BadRequest")
    if policy["isUsableOnce"] and not once:
        raise bad_request(
            "The Temporary Access Pass policy only allows one-time passes (isUsableOnce must be true).",
            code="BadRequest",
        )
    return lifetime, once, _parse_start(body.get("startDateTime"))


def _usability(props: dict, now: datetime | None = None) -> tuple[bool, str]:
    now = now or timezone.now()
    start = datetime.fromisoformat(props["startDateTime"].replace("Z", "+00:00"))
    if now < start:
        return False, "NotYetValid"
    if now >= start + timedelta(minutes=int(props["lifetimeInMinutes"])):
        return False, "Expired"
    return True, "EnabledByPolicy"


def _tap_json(method: SandboxAuthMethod, secret: str | None = None) -> dict:
    props = dict(method.properties)
    props["isUsable"], props["methodUsabilityReason"] = _usability(props)
    return {
        "@odata.type": f"#microsoft.graph.{TAP_TYPE}",
        "id": str(method.id),
        **props,
        "temporaryAccessPass": secret,
    }


def _new_pass(length: int) -> str:
    return "".join(secrets.choice(TAP_ALPHABET) for _ in range(max(8, min(48, int(length)))))


def _create_tap(request: HttpRequest, user: SandboxUser) -> HttpResponse:
    policy = tap_policy(request.graph_tenant)
    body = read_json_body(request)
    if policy["state"] != "enabled":
        raise bad_request(
            "The Temporary Access Pass authentication method is disabled by the tenant's authentication "
            "methods policy.",
            code="BadRequest",
        )
    lifetime, once, start = _validated_tap_request(body, policy)
    created = timezone.now()
    secret = _new_pass(policy["defaultLength"])
    with transaction.atomic():
        # Documented: a new pass replaces the user's current one.
        SandboxAuthMethod.objects.filter(user=user, method_type=TAP_TYPE).delete()
        method = SandboxAuthMethod.objects.create(
            user=user,
            method_type=TAP_TYPE,
            created_datetime=created,
            properties={
                "createdDateTime": graph_now(created),
                "startDateTime": graph_now(start),
                "lifetimeInMinutes": lifetime,
                "isUsableOnce": once,
                "isUsable": start <= created,
                "methodUsabilityReason": "EnabledByPolicy" if start <= created else "NotYetValid",
                "temporaryAccessPass": None,  # reads answer null, as Graph documents
            },
        )
        SandboxTapSecret.objects.create(method=method, pass_hash=hash_opaque(secret))
    result = _tap_json(method, secret)
    result["@odata.context"] = context_url(
        request, f"users('{user.id}')/authentication/temporaryAccessPassMethods/$entity"
    )
    return graph_json(result, status=201)


@graph_endpoint(methods=("GET", "POST"))
def temporary_access_pass_methods(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    if request.method == "POST":
        return _create_tap(request, user)
    methods = SandboxAuthMethod.objects.filter(user=user, method_type=TAP_TYPE).order_by("created_datetime")
    return graph_json(
        collection_body(
            request,
            f"users('{user.id}')/authentication/temporaryAccessPassMethods",
            [_tap_json(m) for m in methods],
        )
    )


# --- deleting a method -----------------------------------------------------------------------------------


def _method_not_found(method_id: str) -> GraphProblem:
    return GraphProblem(404, "itemNotFound", f"The authentication method '{method_id}' was not found.")


def _refuse_mobile_with_alternate(user: SandboxUser, method: SandboxAuthMethod) -> None:
    props = method.properties or {}
    if method.method_type != "phoneAuthenticationMethod" or props.get("phoneType") != "mobile":
        return
    others = SandboxAuthMethod.objects.filter(user=user, method_type="phoneAuthenticationMethod").exclude(
        pk=method.pk
    )
    if any((m.properties or {}).get("phoneType") == "alternateMobile" for m in others):
        raise bad_request(
            "The mobile phone method cannot be deleted while an alternateMobile phone method exists. "
            "Delete the alternateMobile method first.",
            code="badRequest",
        )


@graph_endpoint(methods=("GET", "DELETE"))
def authentication_method_item(
    request: HttpRequest, user_key: str, segment: str, method_id: str
) -> HttpResponse:
    method_type = METHOD_SEGMENTS.get(segment)
    if method_type is None:
        raise bad_request(f"Resource not found for the segment '{segment}'.", code="BadRequest")
    user = get_user(request, user_key)
    method = SandboxAuthMethod.objects.filter(user=user, method_type=method_type, pk=_uuid_or_none(method_id))
    method = method.first()
    if method is None:
        raise _method_not_found(method_id)
    if request.method == "GET":
        body = _tap_json(method) if method_type == TAP_TYPE else auth_methods.method_json(method)
        return graph_json(body)
    _refuse_mobile_with_alternate(user, method)
    method.delete()
    return no_content()


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- per-user MFA (beta) -----------------------------------------------------------------------------------


@graph_endpoint(methods=("PATCH",))
def update_requirements(request: HttpRequest, user_key: str) -> HttpResponse:
    if request.graph_version != "beta":
        raise bad_request("Resource not found for the segment 'requirements'.", code="BadRequest")
    user = get_user(request, user_key)
    body = read_json_body(request)
    state = body.get("perUserMfaState")
    if set(body) - {"perUserMfaState"}:
        extra = sorted(set(body) - {"perUserMfaState"})[0]
        raise bad_request(
            f"Invalid property '{extra}' on strongAuthenticationRequirements.", code="BadRequest"
        )
    if state not in MFA_WRITE_STATES:
        raise bad_request(
            f"Requested value '{state}' was not found for perUserMfaState; expected one of "
            f"{', '.join(MFA_WRITE_STATES)}.",
            code="BadRequest",
        )
    # Documented: "enabled" on a user who already registered an MFA method becomes "enforced".
    if (
        state == "enabled"
        and SandboxAuthMethod.objects.filter(user=user, method_type__in=STRONG_TYPES).exists()
    ):
        state = "enforced"
    SandboxUserAuthentication.objects.update_or_create(user=user, defaults={"per_user_mfa_state": state})
    return no_content()


@csrf_exempt
@login_not_required
def requirements(request: HttpRequest, user_key: str, version: str) -> HttpResponse:
    """One URL, two owners: GET is the View user read (auth_methods), PATCH the Set per-user MFA write."""
    if request.method == "PATCH":
        return update_requirements(request, user_key=user_key, version=version)
    return auth_methods.authentication_requirements(request, user_key=user_key, version=version)
