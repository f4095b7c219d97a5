"""One worked example per registered action, for the shared checks in test_every_action.py.

``EXAMPLES[key] = ActionExample(target=f(world) -> SandboxUser, data={form field: raw value})``; ``world`` is
the seeded sandbox (``sandbox_world``: a list of SandboxTenant). Optional:
  * ``check(sandbox_user)`` asserts the sandbox's state after a successful run on the target;
  * ``second(world)`` another user the action works on (the selection test uses target, second and a
    "ghost" user that is in the directory cache but unknown to Graph/Exchange).
Each action module's examples live in ``examples_<group>.py`` (``EXAMPLES`` dict of ActionExample or of
plain dicts with the same keys); this module merges them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ActionExample:
    target: Callable[[Any], Any]
    data: dict | Callable[[Any], dict] = field(default_factory=dict)  # or f(world) -> dict
    check: Callable[[Any], None] | None = None
    second: Callable[[Any], Any] | None = None


def tenant_named(world, name: str = "Northwind Traders"):
    tenants = world if isinstance(world, list | tuple) else getattr(world, "tenants", world)
    return next(t for t in tenants if getattr(t, "display_name", "") == name)


def plain_member(world, *, skip: int = 0, name: str = "Northwind Traders", **filters):
    """An enabled, licensed, non-admin member (the ``skip``-th such)."""
    from graph.sandbox.models import SandboxUser

    users = (
        SandboxUser.objects.filter(tenant=tenant_named(world, name), deleted_datetime__isnull=True,
                                   account_enabled=True, user_type="Member", role_memberships__isnull=True,
                                   **filters)
        .exclude(properties__assignedLicenses=[])
        .order_by("created_datetime", "id")
    )  # fmt: skip
    found = list(users[skip : skip + 1])
    assert found, f"the seed has no such member {filters}"
    return found[0]


def synced_member(world, *, skip: int = 0):
    return plain_member(world, skip=skip, name="Fabrikam Inc", properties__onPremisesSyncEnabled=True)


def cloud_member(world, *, skip: int = 0):
    from graph.sandbox.models import SandboxUser

    users = [u for u in SandboxUser.objects.filter(
        tenant=tenant_named(world), deleted_datetime__isnull=True, account_enabled=True, user_type="Member",
        role_memberships__isnull=True).order_by("created_datetime", "id")
        if not u.properties.get("onPremisesSyncEnabled") and u.properties.get("assignedLicenses")]  # fmt: skip
    return users[skip]


def blocked_member(world, *, skip: int = 0):
    from graph.sandbox.models import SandboxUser

    users = SandboxUser.objects.filter(tenant=tenant_named(world), deleted_datetime__isnull=True,
                                       account_enabled=False, user_type="Member",
                                       role_memberships__isnull=True).order_by("created_datetime", "id")  # fmt: skip
    found = list(users[skip : skip + 1])
    assert found, "the seed has no blocked member"
    return found[0]


def unsynced_with_immutable_id(world, *, skip: int = 0):
    """A former synced user (sync turned off, immutable id kept): what Clear immutable ID is for."""
    from graph.sandbox import directory

    user = synced_member(world, skip=10 + skip)
    return directory.set_directory_managed(user, {"onPremisesSyncEnabled": None})


def _reload(user):
    user.refresh_from_db()
    return user


def _check_deleted(user):
    assert _reload(user).deleted_datetime is not None


def _check_blocked(user):
    assert _reload(user).account_enabled is False


def _check_enabled(user):
    assert _reload(user).account_enabled is True


def _check_sessions(user):
    assert _reload(user).sessions_valid_after is not None


def _check_immutable(user):
    assert _reload(user).properties.get("onPremisesImmutableId") is None


def _check_password_changed(user):
    before = user.password_hash
    assert _reload(user).password_hash != before


OWN = {
    "delete-user": ActionExample(cloud_member, check=_check_deleted,
                                 second=lambda w: cloud_member(w, skip=1)),
    "block-sign-in": ActionExample(plain_member, check=_check_blocked, second=lambda w: plain_member(w, skip=1)),
    "unblock-sign-in": ActionExample(blocked_member, check=_check_enabled,
                                     second=lambda w: blocked_member(w, skip=1)),
    "revoke-sessions": ActionExample(plain_member, check=_check_sessions, second=lambda w: plain_member(w, skip=1)),
    "clear-immutable-id": ActionExample(unsynced_with_immutable_id, check=_check_immutable,
                                        second=lambda w: unsynced_with_immutable_id(w, skip=1)),
    "reset-password": ActionExample(cloud_member, {"style": "random", "length": "16"},
                                    check=_check_password_changed, second=lambda w: cloud_member(w, skip=1)),
    "reset-password-must-change": ActionExample(cloud_member, {"style": "passphrase", "length": "16"},
                                                check=_check_password_changed,
                                                second=lambda w: cloud_member(w, skip=1)),
}  # fmt: skip


def _as_example(value) -> ActionExample:
    if isinstance(value, ActionExample):
        return value
    data = value.get("data") or {}
    return ActionExample(target=value["target"], data=data if callable(data) else dict(data),
                         check=value.get("check"), second=value.get("second"))  # fmt: skip


def _merged() -> dict[str, ActionExample]:
    merged = dict(OWN)
    folder = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda i: i.name):
        if not info.name.startswith("examples_"):
            continue
        module = importlib.import_module(f"tests.actions.{info.name}")
        for key, value in getattr(module, "EXAMPLES", {}).items():
            merged[key] = _as_example(value)
    return merged


EXAMPLES: dict[str, ActionExample] = _merged()
