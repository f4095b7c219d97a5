"""Words for confirmations: who the action is about and where, shared by every action module."""

from __future__ import annotations

from .registry import Target

NAMED_MAX = 3


def who(targets: list[Target]) -> str:
    """ "Adele Vance (adele@contoso.com)", "Adele Vance and Alex Wilber", or "12 users"."""
    if not targets:
        return "no users"
    if len(targets) == 1:
        user = targets[0].user
        name = user.display_name or user.user_principal_name
        return f"{name} ({user.user_principal_name})" if user.display_name else name
    if len(targets) <= NAMED_MAX:
        names = [t.user.display_name or t.user.user_principal_name for t in targets]
        return ", ".join(names[:-1]) + f" and {names[-1]}"
    return f"{len(targets)} users"


def where(targets: list[Target], tenant) -> str:
    if tenant is not None:
        return tenant.display_name
    tenants = {t.tenant.pk: t.tenant.display_name for t in targets}
    return next(iter(tenants.values())) if len(tenants) == 1 else f"{len(tenants)} tenants"


def in_tenant(targets: list[Target], tenant) -> str:
    """ "in Contoso" / "in 3 tenants": the place phrase of a confirmation."""
    return f"in {where(targets, tenant)}"


def synced(targets: list[Target]) -> list[Target]:
    return [t for t in targets if t.user.on_premises_sync_enabled]
