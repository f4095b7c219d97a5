"""Who may do what, on which tenant: the ONE place that decides it.

Every view, export, action and Celery task asks here: ``can`` / ``require`` for a permission (optionally
on a tenant), ``visible_tenants`` for the tenants a technician may see at all. Nothing else reads
``TechnicianProfile`` to make an access decision.

Rules
* A permission is a plain string (``"users.view"`` ...). A role grants a fixed set of them (``ROLES``),
  each role including everything the one before it may do.
* A technician's scope limits the tenants: all, only these, all except these, or the tenants in these
  tenant groups. Disabled tenants are invisible to everyone except Admins (who may re-enable them).
* Superusers are Admins over all tenants. A signed-in account without a ``TechnicianProfile`` is a Reader
  with no tenants: it sees nothing until an Admin grants a scope. Inactive and anonymous users get nothing.
* A tenant outside a technician's scope answers 404, not 403, so its existence is not revealed.
* Objects above tenants (partner connections, adding/enabling tenants, technicians, tenant groups) have
  their own rule in ``access_global`` (re-exported here): only an Admin over *all* tenants (or a
  superuser) manages connections and tenants, so ``tenants.manage`` is granted to no other Admin; an Admin
  scoped to some tenants keeps ``technicians.manage`` only for technicians and groups wholly inside that
  scope.

Decisions are cached on the user object (one request / one task run), so a page asks many questions for
the price of one profile load and one query per tenant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from .models import TechnicianProfile, Tenant, TenantGroup

Role = TechnicianProfile.Role
Scope = TechnicianProfile.Scope

# --- permissions and roles -----------------------------------------------------------------------------

PERMISSIONS: dict[str, str] = {
    "users.view": "See tenants' users, their details and the users table",
    "users.export": "Export the users table as CSV or Excel",
    "sync.run": "Refresh a tenant's directory cache now",
    "users.actions.helpdesk": (
        "Reset passwords, unblock sign-in, revoke sessions, issue Temporary Access Passes and require "
        "MFA re-registration for ordinary (non-privileged) users"
    ),
    "users.edit": (
        "Create and edit users, assign licences and group memberships, mailbox actions, and bulk changes"
    ),
    "users.actions.admin": "Act on privileged users (administrators, break-glass accounts)",
    "tenants.manage": (
        "Add, discover, enable and disable tenants; edit partner connections and sync settings "
        "(Admins over all tenants only)"
    ),
    "technicians.manage": (
        "Create technicians, set their role and tenant scope, manage tenant groups (an Admin scoped to "
        "some tenants: only technicians and groups wholly inside that scope)"
    ),
    "audit.view": "Read and export the audit log",
}


@dataclass(frozen=True)
class RoleInfo:
    key: str
    label: str
    summary: str
    permissions: frozenset[str]

    @property
    def permission_list(self) -> list[tuple[str, str]]:
        """(permission, plain description) in the order of ``PERMISSIONS`` (for the role page)."""
        return [(name, text) for name, text in PERMISSIONS.items() if name in self.permissions]


_READER = frozenset({"users.view", "users.export"})
_HELPDESK = _READER | {"sync.run", "users.actions.helpdesk"}
_EDITOR = _HELPDESK | {"users.edit"}
_ADMIN = frozenset(PERMISSIONS)
# Permissions over objects above tenants that only an Admin scoped to all tenants (or a superuser) holds:
# a partner connection's credentials and endpoints open every customer tenant.
ALL_TENANTS_ONLY = frozenset({"tenants.manage"})

ROLES: dict[str, RoleInfo] = {
    Role.READER: RoleInfo(
        Role.READER, "Reader", "Looks things up: sees users and exports lists, changes nothing.", _READER
    ),
    Role.HELPDESK: RoleInfo(
        Role.HELPDESK,
        "Helpdesk",
        "Everyday support for ordinary users: password resets, unblocking, sessions and MFA.",
        _HELPDESK,
    ),
    Role.EDITOR: RoleInfo(
        Role.EDITOR,
        "Editor",
        "Manages ordinary users: creates and edits them, licences, groups, mailboxes and bulk changes.",
        _EDITOR,
    ),
    Role.ADMIN: RoleInfo(
        Role.ADMIN,
        "Admin",
        "Everything, including privileged users, tenants, technicians, sync settings and the audit log.",
        _ADMIN,
    ),
}

# --- the per-user decision cache ---------------------------------------------------------------------------

_CACHE_ATTR = "_tenant_access"


@dataclass
class _Access:
    active: bool
    superuser: bool
    profile: TechnicianProfile | None
    tenant_verdicts: dict

    @property
    def role(self) -> str:
        if self.superuser:
            return Role.ADMIN
        return self.profile.role if self.profile else Role.READER

    @property
    def all_tenants(self) -> bool:
        """Superuser, or a profile whose scope is every tenant (now and to come)."""
        return self.active and (self.superuser or bool(self.profile and self.profile.scope == Scope.ALL))

    @property
    def permissions(self) -> frozenset[str]:
        if not self.active:
            return frozenset()
        granted = ROLES[self.role].permissions if self.role in ROLES else frozenset()
        return granted if self.all_tenants else granted - ALL_TENANTS_ONLY


def _access(user) -> _Access:
    cached = getattr(user, _CACHE_ATTR, None) if user is not None else None
    if cached is not None:
        return cached
    active = bool(user is not None and user.is_authenticated and user.is_active)
    profile = None
    if active and not user.is_superuser:
        profile = TechnicianProfile.objects.filter(user_id=user.pk).first()
    access = _Access(
        active=active, superuser=active and user.is_superuser, profile=profile, tenant_verdicts={}
    )
    if user is not None:
        try:
            setattr(user, _CACHE_ATTR, access)
        except AttributeError:  # AnonymousUser-like objects without a __dict__
            pass
    return access


def forget(user) -> None:
    """Drop the cached decisions (after changing the user's profile within the same request)."""
    if user is not None and hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def role_of(user) -> RoleInfo:
    return ROLES[_access(user).role]


def permissions_of(user) -> frozenset[str]:
    return _access(user).permissions


# --- tenants ----------------------------------------------------------------------------------------------


def visible_tenants(user) -> QuerySet[Tenant]:
    """The tenants ``user`` may see, as one lazy query (scope lists become subqueries)."""
    access = _access(user)
    tenants = scope_tenants(user)
    if access.profile is not None and access.profile.role != Role.ADMIN:
        tenants = tenants.filter(enabled=True)
    return tenants


def scope_tenants(user) -> QuerySet[Tenant]:
    """The tenants inside ``user``'s scope, enabled or not (whether a tenant group lies wholly inside it)."""
    access = _access(user)
    tenants = Tenant.objects.all()
    if not access.active:
        return tenants.none()
    if access.superuser:
        return tenants
    profile = access.profile
    if profile is None:
        return tenants.none()
    chosen = TechnicianProfile.tenants.through.objects.filter(technicianprofile_id=profile.pk).values(
        "tenant_id"
    )
    if profile.scope == Scope.ALL:
        return tenants
    if profile.scope == Scope.ONLY:
        return tenants.filter(pk__in=chosen)
    if profile.scope == Scope.EXCEPT:
        return tenants.exclude(pk__in=chosen)
    if profile.scope == Scope.GROUPS:
        groups = TechnicianProfile.tenant_groups.through.objects.filter(technicianprofile_id=profile.pk)
        members = TenantGroup.tenants.through.objects.filter(
            tenantgroup_id__in=groups.values("tenantgroup_id")
        )
        return tenants.filter(pk__in=members.values("tenant_id"))
    return tenants.none()  # an unknown scope value grants nothing


def sees_every_tenant(user) -> bool:
    """True when nothing is hidden from ``user``: superusers and Admins scoped to all tenants. Lets the
    audit log also show entries of tenants that were deleted since. The same people manage everything
    above tenants (``access_global.manages_global``)."""
    access = _access(user)
    return access.all_tenants and access.role == Role.ADMIN


def _tenant_key(tenant) -> tuple[str, object] | None:
    """Normalise what callers pass: a Tenant, its GUID (UUID or text) or its primary key (int)."""
    if isinstance(tenant, Tenant):
        return ("pk", tenant.pk)
    if isinstance(tenant, bool):
        return None
    if isinstance(tenant, int):
        return ("pk", tenant)
    try:
        return ("tenant_id", tenant if isinstance(tenant, uuid.UUID) else uuid.UUID(str(tenant).strip()))
    except (ValueError, TypeError, AttributeError):
        return None


def sees_tenant(user, tenant) -> bool:
    key = _tenant_key(tenant)
    if key is None:
        return False
    access = _access(user)
    if key not in access.tenant_verdicts:
        access.tenant_verdicts[key] = visible_tenants(user).filter(**{key[0]: key[1]}).exists()
    return access.tenant_verdicts[key]


# --- decisions ----------------------------------------------------------------------------------------------


def can(user, perm: str, tenant=None) -> bool:
    """May ``user`` do ``perm`` (on ``tenant`` when given)? Unknown permission names are a programming
    error, so they raise instead of silently answering no."""
    if perm not in PERMISSIONS:
        raise ValueError(f"unknown permission {perm!r}")
    if perm not in permissions_of(user):
        return False
    return tenant is None or sees_tenant(user, tenant)


def can_act_on(user, perm: str, tenant=None, *, privileged: bool) -> bool:
    """An action on a target user: privileged targets (admins, break-glass) also need users.actions.admin."""
    return can(user, perm, tenant) and (not privileged or can(user, "users.actions.admin", tenant))


def require(user, perm: str, tenant=None) -> None:
    """Raise Http404 when ``tenant`` is outside the user's scope (its existence is not revealed), else
    PermissionDenied when the role lacks ``perm``."""
    if perm not in PERMISSIONS:
        raise ValueError(f"unknown permission {perm!r}")
    if tenant is not None and not sees_tenant(user, tenant):
        raise Http404("No such tenant.")
    if perm not in permissions_of(user):
        what = f"{PERMISSIONS[perm][0].lower()}{PERMISSIONS[perm][1:]}"
        if perm in ROLES[_access(user).role].permissions:  # the role has it; the scope does not
            raise PermissionDenied(f"Your tenant scope is not all tenants, so you may not: {what}.")
        raise PermissionDenied(f"Your role may not: {what}.")


def require_for_task(user_id, perm: str, tenant_id=None):
    """Re-check at run time, inside a Celery task, that the technician who queued the work still may do
    it (the account or its role may have changed since). ``tenant_id`` is a Tenant, its GUID or its pk.
    Returns ``(user, tenant)``; raises PermissionDenied (never 404: there is no page to hide it from)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise PermissionDenied("The technician who started this no longer exists.")
    tenant = None
    if tenant_id is not None:
        key = _tenant_key(tenant_id)
        tenant = Tenant.objects.filter(**{key[0]: key[1]}).first() if key else None
        if tenant is None:
            raise PermissionDenied("The tenant no longer exists.")
    if not can(user, perm, tenant):
        raise PermissionDenied(f"{user.get_username()} is no longer allowed to do this ({perm}).")
    return user, tenant


def permission_required_for(perm: str, tenant_kwarg: str | None = None):
    """Decorator for function views. With ``tenant_kwarg``, that URL kwarg (GUID or any verified domain)
    is resolved to a Tenant and handed to the view in its place; unknown and out-of-scope tenants are
    both 404."""
    if perm not in PERMISSIONS:
        raise ValueError(f"unknown permission {perm!r}")

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            tenant = None
            if tenant_kwarg is not None:
                from .lookup import resolve_tenant

                tenant = resolve_tenant(kwargs.get(tenant_kwarg))
                if tenant is None:
                    raise Http404("No such tenant.")
                kwargs[tenant_kwarg] = tenant
            require(user, perm, tenant)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- words for pages ------------------------------------------------------------------------------------------


def _names(rows, limit: int = 5) -> str:
    names = [str(row) for row in rows[: limit + 1]]
    if not names:
        return "none chosen"
    text = ", ".join(names[:limit])
    return text + (", …" if len(names) > limit else "")


def scope_description(user) -> str:
    """The tenant scope in words, e.g. "Only: Contoso, Fabrikam" (the header, technician list)."""
    access = _access(user)
    if not access.active:
        return "No tenants"
    if access.superuser:
        return "All tenants (superuser)"
    profile = access.profile
    if profile is None:
        return "No tenants (no role assigned yet)"
    suffix = ", including disabled tenants" if profile.role == Role.ADMIN else ""
    if profile.scope == Scope.ALL:
        return f"All tenants{suffix}"
    if profile.scope == Scope.ONLY:
        return f"Only: {_names(profile.tenants.order_by('display_name'))}{suffix}"
    if profile.scope == Scope.EXCEPT:
        return f"All except: {_names(profile.tenants.order_by('display_name'))}{suffix}"
    if profile.scope == Scope.GROUPS:
        return f"Tenants in groups: {_names(profile.tenant_groups.order_by('name'))}{suffix}"
    return "No tenants"


# --- objects above tenants (written once in access_global, asked through here) -----------------------------

_GLOBAL_NAMES = frozenset({
    "ROLE_RANK", "can_manage_group", "can_manage_technician", "groups_within_scope", "manageable_groups",
    "manageable_technician_or_404", "manageable_technicians", "manages_global", "scope_refusal",
})  # fmt: skip


def __getattr__(name: str):
    # Resolved on first use, so either module may be imported first (access_global builds on this one).
    if name in _GLOBAL_NAMES:
        from . import access_global

        return getattr(access_global, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
