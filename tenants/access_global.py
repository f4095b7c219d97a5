"""Who may change the objects above tenants: partner connections, tenants themselves, technicians and
tenant groups. Asked through ``tenants.access`` (which re-exports these names); nothing else decides it.

Rules
* Partner connections (every field, endpoints and credentials), partner consent, discovery, adding and
  enabling/disabling tenants: only an Admin whose scope is *all tenants*, or a superuser
  (``manages_global``). ``tenants.access`` grants ``tenants.manage`` to nobody else, so every view that
  requires it refuses the rest.
* Technicians: an Admin over all tenants manages every account (a superuser's only when a superuser
  asks). An Admin scoped to some tenants manages only technicians whose role is not above its own and whose
  whole scope lies inside its own, now and as tenants are added: an "all tenants" or "all except" scope
  grows with every new tenant, so it lies inside only an "all except" scope that excludes no more. The
  same test applies to the scope it hands out (``scope_refusal``), to itself included: nobody widens their
  own reach. Superusers and accounts without a profile are outside every scoped Admin's reach.
* Tenant groups: an Admin scoped to some tenants manages only groups with at least one tenant and none
  outside its scope (an empty group names no tenant of its own, and its name may name a customer).

How a refusal answers: a page whose whole kind is out of reach (the connection pages, Add tenant,
discovery for a scoped Admin; every technician page for a Reader) answers 403 before any object is looked
up, so a real and an unknown id get the same answer. Where the technician may manage some objects of the
kind but not this one (a technician, a tenant group, a tenant outside the scope), the object is looked up
among the manageable ones only: out of reach and unknown are the same 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404

from . import access
from .models import TechnicianProfile, TenantGroup

Role = TechnicianProfile.Role
Scope = TechnicianProfile.Scope
ROLE_RANK = {Role.READER: 0, Role.HELPDESK: 1, Role.EDITOR: 2, Role.ADMIN: 3}
MANAGE_TECHNICIANS = "technicians.manage"
NO_TECHNICIAN = "No such technician."


def manages_global(user) -> bool:
    """May ``user`` change what sits above tenants (connections, tenants, any technician or group)?"""
    return access.sees_every_tenant(user)


# --- scopes as tenant sets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeSpec:
    scope: str
    tenants: frozenset[int]  # tenant pks of "only" / "except"
    groups: frozenset[int]  # tenant group pks of "groups"

    @classmethod
    def of(cls, profile: TechnicianProfile) -> ScopeSpec:
        return cls(
            profile.scope,
            frozenset(t.pk for t in profile.tenants.all()),
            frozenset(g.pk for g in profile.tenant_groups.all()),
        )

    @classmethod
    def build(cls, scope: str, tenants: Iterable = (), groups: Iterable = ()) -> ScopeSpec:
        return cls(scope, frozenset(_pk(t) for t in tenants), frozenset(_pk(g) for g in groups))


def _pk(value) -> int:
    return value if isinstance(value, int) else value.pk


class _Members:
    """Tenant pks of each tenant group, read once per decision batch."""

    def __init__(self):
        self._map: dict[int, frozenset[int]] | None = None

    def of(self, group_pks: Iterable[int]) -> frozenset[int]:
        if self._map is None:
            rows: dict[int, set[int]] = {}
            for group_id, tenant_id in TenantGroup.tenants.through.objects.values_list(
                "tenantgroup_id", "tenant_id"
            ):
                rows.setdefault(group_id, set()).add(tenant_id)
            self._map = {g: frozenset(t) for g, t in rows.items()}
        found: set[int] = set()
        for pk in group_pks:
            found |= self._map.get(pk, frozenset())
        return frozenset(found)


def _explicit(spec: ScopeSpec, members: _Members) -> frozenset[int]:
    return spec.tenants if spec.scope == Scope.ONLY else members.of(spec.groups)


def contained(inner: ScopeSpec, outer: ScopeSpec, members: _Members | None = None) -> bool:
    """Does every tenant ``inner`` reaches, now and as tenants are added, lie inside ``outer``?"""
    members = members or _Members()
    if outer.scope == Scope.ALL:
        return True
    if inner.scope == Scope.ALL:
        return False  # only "all tenants" contains "all tenants", whatever an "all except" excludes
    if inner.scope == Scope.EXCEPT:
        # Both grow with every new tenant; inner reaches no more when it excludes all outer excludes.
        return outer.scope == Scope.EXCEPT and outer.tenants <= inner.tenants
    if inner.scope not in (Scope.ONLY, Scope.GROUPS) or outer.scope not in (Scope.ONLY, Scope.GROUPS,
                                                                            Scope.EXCEPT):  # fmt: skip
        return False  # an unknown scope value reaches nothing and contains nothing
    reached = _explicit(inner, members)
    if outer.scope == Scope.EXCEPT:
        return not (reached & outer.tenants)
    return reached <= _explicit(outer, members)


def _editor_spec(editor) -> ScopeSpec | None:
    profile = access._access(editor).profile
    return ScopeSpec.of(profile) if profile is not None else None


# --- technicians --------------------------------------------------------------------------------------------


def _reachable(editor, editor_spec: ScopeSpec, target_user, profile, members: _Members) -> bool:
    if target_user.is_superuser or profile is None:
        return False
    if ROLE_RANK.get(profile.role, 99) > ROLE_RANK.get(access.role_of(editor).key, -1):
        return False
    return contained(ScopeSpec.of(profile), editor_spec, members)


def can_manage_technician(editor, target_user) -> bool:
    """May ``editor`` edit, re-scope, deactivate or reactivate ``target_user``'s account?"""
    if not access.can(editor, MANAGE_TECHNICIANS):
        return False
    if manages_global(editor):
        return not target_user.is_superuser or editor.is_superuser
    editor_spec = _editor_spec(editor)
    profile = TechnicianProfile.objects.filter(user_id=target_user.pk).first()
    return editor_spec is not None and _reachable(editor, editor_spec, target_user, profile, _Members())


def manageable_technicians(editor) -> QuerySet:
    """The accounts ``editor`` may manage, as a user queryset (none without ``technicians.manage``)."""
    users = get_user_model().objects.all()
    if not access.can(editor, MANAGE_TECHNICIANS):
        return users.none()
    if manages_global(editor):
        return users if editor.is_superuser else users.filter(is_superuser=False)
    editor_spec = _editor_spec(editor)
    if editor_spec is None:
        return users.none()
    members = _Members()
    profiles = TechnicianProfile.objects.select_related("user").prefetch_related("tenants", "tenant_groups")
    allowed = [p.user_id for p in profiles if _reachable(editor, editor_spec, p.user, p, members)]
    return users.filter(pk__in=allowed)


def manageable_technician_or_404(editor, pk):
    """The account ``pk`` if ``editor`` may manage it; an unknown and an out-of-reach id answer alike."""
    user = get_user_model().objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if user is None or not can_manage_technician(editor, user):
        raise Http404(NO_TECHNICIAN)
    return user


def scope_refusal(editor, role: str, scope: str, tenants=(), groups=()) -> str | None:
    """Why ``editor`` may not hand out this role and scope (to anybody, themself included), or None."""
    if not access.can(editor, MANAGE_TECHNICIANS):
        return "Your role may not manage technicians."
    if manages_global(editor):
        return None
    if ROLE_RANK.get(role, 99) > ROLE_RANK.get(access.role_of(editor).key, -1):
        return "You cannot grant a role above your own."
    editor_spec = _editor_spec(editor)
    if editor_spec is None or not contained(ScopeSpec.build(scope, tenants, groups), editor_spec):
        return "This scope reaches tenants outside your own scope; choose tenants or groups you manage."
    return None


# --- tenant groups ------------------------------------------------------------------------------------------


def groups_within_scope(user) -> QuerySet[TenantGroup]:
    """Tenant groups lying wholly inside ``user``'s scope: those with at least one tenant and none
    outside it (what a technician may see named; an empty group names no tenant of theirs)."""
    access_ = access._access(user)
    if not access_.active:
        return TenantGroup.objects.none()
    members = TenantGroup.tenants.through.objects
    groups = TenantGroup.objects.filter(pk__in=members.values("tenantgroup_id"))
    if access_.all_tenants:
        return groups
    outside = access.Tenant.objects.exclude(pk__in=access.scope_tenants(user).values("pk"))
    return groups.exclude(pk__in=members.filter(tenant_id__in=outside.values("pk")).values("tenantgroup_id"))


def manageable_groups(editor) -> QuerySet[TenantGroup]:
    """The tenant groups ``editor`` may see on the group pages, edit and delete."""
    if not access.can(editor, MANAGE_TECHNICIANS):
        return TenantGroup.objects.none()
    return TenantGroup.objects.all() if manages_global(editor) else groups_within_scope(editor)


def can_manage_group(editor, group: TenantGroup) -> bool:
    return manageable_groups(editor).filter(pk=group.pk).exists()
