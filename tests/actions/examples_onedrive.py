"""Examples of the OneDrive actions for the shared per-action test class.

Shape: plain dicts with ActionExample's keys (tests/actions/examples.py merges them):
``EXAMPLES[key] = {"target": f(world) -> SandboxUser, "data": {form field: raw value}, "check": f(SandboxUser),
"second": f(world) -> SandboxUser}`` where ``world`` is
the seeded sandbox (``sandbox_world``: a list of SandboxTenant) or an object with ``.tenants``. Targets
come from the demo seed of Northwind Traders: a licensed member without a OneDrive (about one in eight
licensed users is seeded that way) for pre-provisioning, a member with one for the shortcut, which points
at the seeded Finance site's Budgets folder.
"""

from __future__ import annotations

BUDGETS_URL = "https://northwindtraders.sharepoint.com/sites/Finance/Shared%20Documents/Budgets"


def _tenant(world, name: str = "Northwind Traders"):
    tenants = world if isinstance(world, list | tuple) else getattr(world, "tenants", world)
    return next(t for t in tenants if getattr(t, "display_name", "") == name)


def licensed_without_onedrive(world):
    from graph.sandbox.models import SandboxUser
    from graph.sandbox.sharepoint import has_sharepoint_licence

    users = SandboxUser.objects.filter(tenant=_tenant(world), user_type="Member", account_enabled=True,
                                       deleted_datetime__isnull=True, drive__isnull=True)  # fmt: skip
    for user in users.order_by("display_name", "id"):
        if has_sharepoint_licence(user) and user.properties.get("assignedLicenses"):
            return user
    raise AssertionError("the seed has no licensed member without a OneDrive")


def member_with_onedrive(world):
    from graph.sandbox.models import SandboxUser

    user = (SandboxUser.objects.filter(tenant=_tenant(world), user_type="Member", account_enabled=True,
                                       deleted_datetime__isnull=True, drive__isnull=False)
            .order_by("display_name", "id").first())  # fmt: skip
    assert user is not None, "the seed has no member with a OneDrive"
    return user


def second_without_onedrive(world):
    first = licensed_without_onedrive(world)
    from graph.sandbox.models import SandboxUser
    from graph.sandbox.sharepoint import has_sharepoint_licence

    users = SandboxUser.objects.filter(tenant=first.tenant, user_type="Member", account_enabled=True,
                                       deleted_datetime__isnull=True, drive__isnull=True).exclude(pk=first.pk)  # fmt: skip
    return next(u for u in users.order_by("display_name", "id")
                if has_sharepoint_licence(u) and u.properties.get("assignedLicenses"))  # fmt: skip


def second_with_onedrive(world):
    from graph.sandbox.models import SandboxUser

    first = member_with_onedrive(world)
    return (SandboxUser.objects.filter(tenant=first.tenant, user_type="Member", account_enabled=True,
                                       deleted_datetime__isnull=True, drive__isnull=False)
            .exclude(pk=first.pk).order_by("display_name", "id").first())  # fmt: skip


def check_requested(user) -> None:
    from graph.sandbox.models import SandboxPersonalSiteRequest

    assert SandboxPersonalSiteRequest.objects.filter(user=user, completed_at__isnull=True).exists()


def check_shortcut(user) -> None:
    from graph.sandbox.models import SandboxDriveItem

    item = SandboxDriveItem.objects.get(user=user, remote_item__isnull=False)
    assert item.remote_item.url_key.endswith("/sites/finance/shared documents/budgets")


EXAMPLES = {
    "onedrive-provision": {"target": licensed_without_onedrive, "data": {}, "check": check_requested,
                           "second": second_without_onedrive},
    "onedrive-shortcut": {"target": member_with_onedrive, "data": {"url": BUDGETS_URL, "name": ""},
                          "check": check_shortcut, "second": second_with_onedrive},
}  # fmt: skip
