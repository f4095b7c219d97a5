"""Examples of the Security actions for the shared per-action test class.

Shape (until tests/actions/examples.py defines its own type): ``EXAMPLES[key] = {"target": f(world) ->
SandboxUser, "data": {form field: raw value}}`` where ``world`` is the seeded sandbox (``sandbox_world``, a
list of SandboxTenant). Targets are non-admin licensed members of Northwind Traders (TAP policy on), so the
privileged-target guard does not refuse them.
"""

from __future__ import annotations


def _tenant(world, name: str = "Northwind Traders"):
    tenants = world if isinstance(world, list | tuple) else getattr(world, "tenants", world)
    return next(t for t in tenants if getattr(t, "display_name", "") == name)


def member(world, **filters):
    from graph.sandbox.models import SandboxUser

    user = (
        SandboxUser.objects.filter(tenant=_tenant(world), deleted_datetime__isnull=True, account_enabled=True,
                                   user_type="Member", role_memberships__isnull=True, **filters)
        .exclude(properties__assignedLicenses=[])
        .order_by("created_datetime", "id")
        .first()
    )  # fmt: skip
    assert user is not None, f"the seed has no Northwind member matching {filters}"
    return user


def member_with_methods(world):
    return member(world, auth_methods__method_type="microsoftAuthenticatorAuthenticationMethod")


EXAMPLES = {
    "create-tap": {"target": member, "data": {"lifetime_minutes": "120", "one_time": "on"}},
    "reset-mfa": {"target": member_with_methods, "data": {}},
    "set-per-user-mfa": {"target": member, "data": {"state": "enforced"}},
    "send-mfa-push": {"target": member_with_methods, "data": {}},
}
