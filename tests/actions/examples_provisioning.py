"""Examples of Manage licences and Remove from group for the shared per-action checks (test_every_action and
its browser twin). Ids depend on the seed, so targets and form data are looked up in the seeded world.

* licences: two Northwind members without Power BI (a free SKU with thousands of units) get it;
* remove-from-group: two members of the SG-VPN-Users security group (Graph ``members/$ref``) leave it.
"""

from __future__ import annotations

from tests.actions.examples import ActionExample, tenant_named


def _pbi(world):
    from graph.sandbox.models import SandboxSku

    return SandboxSku.objects.get(tenant=tenant_named(world), sku_part_number="POWER_BI_STANDARD")


def without_power_bi(world, *, skip: int = 0):
    from graph.sandbox.models import SandboxLicenseAssignment
    from tests.actions.examples import plain_member
    from tests.contract import _openapi

    # This action's modal reads /subscribedSkus, an operation the contract checker validates: its first use
    # in a process loads Microsoft's OpenAPI description (seconds). Load it here, before a browser test
    # waits a few seconds for the modal (cached for the rest of the process).
    _openapi("v1.0")

    holders = set(SandboxLicenseAssignment.objects.filter(sku=_pbi(world)).values_list("user_id", flat=True))
    index, found = 0, 0
    while True:
        user = plain_member(world, skip=index)
        if user.pk not in holders and not user.properties.get("onPremisesSyncEnabled"):
            if found == skip:
                return user
            found += 1
        index += 1


def _check_power_bi(user):
    assert user.licenses.filter(sku__sku_part_number="POWER_BI_STANDARD").exists()


def vpn_member(world, *, skip: int = 0):
    from graph.sandbox.models import SandboxGroup, SandboxGroupMember
    from tests.actions.examples import plain_member

    group = SandboxGroup.objects.get(tenant=tenant_named(world), display_name="SG-VPN-Users")
    ids = set(SandboxGroupMember.objects.filter(group=group).values_list("user_id", flat=True))
    index, found = 0, 0
    while True:
        user = plain_member(world, skip=index)
        if user.pk in ids:
            if found == skip:
                return user
            found += 1
        index += 1


def _check_left_vpn(user):
    from graph.sandbox.models import SandboxGroupMember

    assert not SandboxGroupMember.objects.filter(user=user, group__display_name="SG-VPN-Users").exists()


def _vpn_group(world) -> dict:
    from tests.actions.examples_mail import group_data

    return group_data(world, "SG-VPN-Users")


EXAMPLES = {
    "licences": ActionExample(
        without_power_bi, data=lambda world: {"add_skus": [str(_pbi(world).sku_id)]}, check=_check_power_bi,
        second=lambda world: without_power_bi(world, skip=1),
    ),
    "remove-from-group": ActionExample(
        vpn_member, data=_vpn_group, check=_check_left_vpn, second=lambda world: vpn_member(world, skip=1),
    ),
}  # fmt: skip
