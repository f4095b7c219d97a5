"""Example of Remove sign-in method for the shared per-action tests: a plain Northwind member's Microsoft
Authenticator (the data names that very method, read from the seeded sandbox)."""

from __future__ import annotations

from tests.actions.examples import ActionExample, plain_member

AUTHENTICATOR = "microsoftAuthenticatorAuthenticationMethod"


def authenticator_holder(world):
    return plain_member(world, auth_methods__method_type=AUTHENTICATOR)


def _authenticator_of(user):
    from graph.sandbox.models import SandboxAuthMethod

    return SandboxAuthMethod.objects.filter(user=user, method_type=AUTHENTICATOR).order_by("id").first()


_CHOSEN: dict[str, str] = {}  # user id → the method id the example's data named (for the check)


def _data(world) -> dict:
    user = authenticator_holder(world)
    method = _authenticator_of(user)
    _CHOSEN[str(user.id)] = str(method.id)
    return {"method": f"{AUTHENTICATOR}:{method.id}"}


def _check_removed(user):
    from graph.sandbox.models import SandboxAuthMethod

    assert str(user.id) in _CHOSEN, "the example's data names the method to remove"
    assert not SandboxAuthMethod.objects.filter(user=user, id=_CHOSEN[str(user.id)]).exists()


EXAMPLES = {
    "remove-auth-method": ActionExample(authenticator_holder, _data, check=_check_removed),
}
