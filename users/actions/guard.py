"""Guard on privileged targets: EVERY write on a user who holds a role that can take over accounts or the
tenant needs the Admin role (``users.actions.admin``) on that tenant. Helpdesk and Editor are refused; the
refusal names the role ("Needs the Admin role because x@y holds Domain Name Administrator.").

Which roles count: those Microsoft flags ``isPrivileged`` in the tenant's own role definitions (read once per
tenant and cached for ``PRIVILEGED_ROLES_CACHE_SECONDS``), always together with the shipped list
(users.actions.privileged_roles), which alone applies when the definitions cannot be read (e.g. 403).

Which roles a target holds is read live (the users cache can be minutes old and a role grant is exactly what
an attacker would make first): one ``transitiveMemberOf/microsoft.graph.directoryRole`` read per target,
which includes roles held through a role-assignable group, sent in $batch calls of 20 for a selection. A
target whose roles cannot be read is refused too (fail closed), with the reason. Technicians who hold the
Admin role on the tenant skip the lookup entirely.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

from graph.errors import GraphError
from graph.services import roles as role_service
from tenants.access import can

from .privileged_roles import SHIPPED
from .registry import ActionContext, Target

logger = logging.getLogger(__name__)

CACHE_PREFIX = "privileged-roles:v1:"
FALLBACK_CACHE_SECONDS = 300  # a tenant whose definitions could not be read is asked again after this


def needs_check(technician, tenant) -> bool:
    """Whether the guard must look: only for technicians without the Admin role on the tenant."""
    return not can(technician, "users.actions.admin", tenant)


def cache_seconds() -> int:
    return int(getattr(settings, "PRIVILEGED_ROLES_CACHE_SECONDS", 3600))


def privileged_templates(ctx: ActionContext) -> dict[str, str]:
    """{role template id: name} of the roles that make a target privileged in ``ctx.tenant``."""
    key = f"{CACHE_PREFIX}{ctx.tenant.pk}"
    try:
        cached = cache.get(key)
    except Exception:  # the cache backend is down: read the definitions, never skip the guard
        logger.warning("privileged roles: cache unavailable", exc_info=True)
        cached = None
    if isinstance(cached, dict):
        return cached
    templates, ttl = dict(SHIPPED), cache_seconds()
    beta = ctx.graph_beta
    try:
        if beta is None:
            raise GraphError("no beta client for role definitions", code="noClient")
        for definition in role_service.privileged_definitions(beta):
            templates.setdefault(definition.template_id, definition.display_name)
    except GraphError as error:
        # The shipped list still holds every role Microsoft marked privileged when it was written.
        logger.info("privileged roles of %s: definitions unreadable (%s); shipped list used",
                    ctx.tenant.pk, error.message)  # fmt: skip
        ttl = FALLBACK_CACHE_SECONDS
    try:
        cache.set(key, templates, ttl)
    except Exception:
        logger.warning("privileged roles: cache unavailable", exc_info=True)
    return templates


def privileged_role_names(roles: Iterable[dict], templates: dict[str, str]) -> list[str]:
    names = []
    for role in roles:
        template = str(role.get("roleTemplateId") or "").lower()
        if template in templates:
            names.append(role.get("displayName") or templates[template])
    return sorted(set(names))


def refusal(target: Target, roles: list[str]) -> str:
    who = target.user.user_principal_name or str(target.user.user_id)
    return f"Needs the Admin role because {who} holds {', '.join(roles)}."


def check_targets(ctx: ActionContext, targets: list[Target]) -> dict[str, str]:
    """{user id: why refused} for the targets the acting technician may not touch. Empty when every
    target is fine (or the technician is an Admin on the tenant)."""
    if not targets or not needs_check(ctx.technician, ctx.tenant):
        return {}
    requests_ = [role_service.user_roles_request(str(t.user.user_id), f"r{i}") for i, t in enumerate(targets)]
    try:
        results = ctx.graph.batch(requests_)
    except GraphError as error:  # the whole call failed: nobody is known to be safe
        return {str(t.user.user_id): _unknown(error) for t in targets}
    templates: dict[str, str] | None = None  # read only when some target holds a role at all
    refused: dict[str, str] = {}
    for index, target in enumerate(targets):
        result = results.get(f"r{index}")
        user_id = str(target.user.user_id)
        if result is None or not result.ok:
            if result is not None and result.status == 404:
                continue  # the user is gone: the action itself will report that
            refused[user_id] = _unknown(result.error if result is not None else None)
            continue
        body = result.body if isinstance(result.body, dict) else {}
        held = body.get("value") or []
        if held and templates is None:
            templates = privileged_templates(ctx)
        roles = privileged_role_names(held, templates or {})
        if roles:
            refused[user_id] = refusal(target, roles)
        elif body.get("@odata.nextLink"):  # more roles than one page: not all of them were seen
            refused[user_id] = _unknown(None, "more roles than one read returns")
    return refused


def _unknown(error: GraphError | None, reason: str = "") -> str:
    reason = reason or (error.message if error is not None else "no answer")
    return (
        "Refused: could not check whether this user holds an administrator role "
        f"({reason}); only a technician with the Admin role may go ahead."
    )
