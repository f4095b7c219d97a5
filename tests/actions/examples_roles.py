"""Example of Remove directory role for the shared per-action tests: Northwind's seeded Domain Name
Administrator (a role held directly; only an Admin may remove it)."""

from __future__ import annotations

from tests.actions.examples import ActionExample, tenant_named


def domain_admin(world):
    from graph.sandbox.models import SandboxUser
    from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR

    return SandboxUser.objects.get(
        tenant=tenant_named(world), role_memberships__role__role_template_id=DOMAIN_NAME_ADMINISTRATOR
    )


def _data(world) -> dict:
    from graph.sandbox.graph_views.role_management import assignment_id
    from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR

    return {"assignment": assignment_id(DOMAIN_NAME_ADMINISTRATOR, domain_admin(world).id)}


def _check_removed(user):
    from graph.sandbox.seed_roles import DOMAIN_NAME_ADMINISTRATOR

    assert not user.role_memberships.filter(role__role_template_id=DOMAIN_NAME_ADMINISTRATOR).exists()


EXAMPLES = {
    "remove-directory-role": ActionExample(domain_admin, _data, check=_check_removed),
}
