"""Privileged targets in the access matrix (issue 13): every registry action and Edit user, on the seeded
sandbox users who hold each privileged role (the classic admin seats, Domain Name Administrator held
directly, Password Administrator held only through a role-assignable group), by Helpdesk and Editor
(refused, the role named, nothing changed in the sandbox) and by Admin (allowed: the action runs).

Each (role, action) group runs in a savepoint rolled back afterwards, so the next starts from the seed. An
action that does not apply to the seeded holder as it is (unblock on an enabled user, convert a mailbox
that is not shared, a group the holder is not in...) runs instead on the action's example target, given the
same seeded role (the tenant's directory role, or membership of the role-assignable group): a target the
action applies to, holding exactly that role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from .access_matrix import ACTION_NEEDS, PRINCIPALS, PRIVILEGED_ROLE_CHECKERS, expected

RESULT_RE = re.compile(r'data-result="(\w+)"')
NORTHWIND = "Northwind Traders"


@dataclass
class PrivilegedTally:
    refused: int = 0  # cells that must be refused
    refused_ok: int = 0  # ... that were, with the role named and the sandbox unchanged
    allowed: int = 0
    allowed_ok: int = 0
    on_holder: int = 0  # (role, action) groups run on the seeded holder itself
    role_granted: int = 0  # ... run on the example target given the seeded role
    problems: list = field(default_factory=list)


@dataclass(frozen=True)
class Holding:
    role: str  # display name, as the refusal must name it
    user: object  # the seeded SandboxUser holding it
    role_row: object  # SandboxDirectoryRole
    group: object | None = None  # the role-assignable group it comes through


def holdings(world) -> list[Holding]:
    """One seeded holder per privileged role of Northwind (first by creation), direct or via a group."""
    from graph.sandbox.models import SandboxGroupRoleMember, SandboxRoleMember

    found: dict[str, Holding] = {}
    direct = (
        SandboxRoleMember.objects.filter(role__tenant__display_name=NORTHWIND, user__deleted_datetime__isnull=True)
        .select_related("role", "user").order_by("user__created_datetime", "user_id")
    )  # fmt: skip
    for member in direct:
        found.setdefault(
            member.role.display_name, Holding(member.role.display_name, member.user, member.role)
        )
    for grant in SandboxGroupRoleMember.objects.filter(role__tenant__display_name=NORTHWIND).select_related(
        "role", "group"
    ):
        member = grant.group.memberships.select_related("user").order_by("user_id").first()
        if member is not None:
            found[f"{grant.role.display_name} (group)"] = Holding(grant.role.display_name, member.user,
                                                                  grant.role, grant.group)  # fmt: skip
    return list(found.values())


def _sandbox_state(user) -> tuple:
    """The target's whole sandbox record (every row that names it) and the tenants' change counters."""
    from django.apps import apps

    from graph.sandbox.models import SandboxTenant, SandboxUser

    state = [tuple(SandboxUser.objects.filter(pk=user.pk).values_list()),
             sum(SandboxTenant.objects.values_list("change_counter", flat=True))]  # fmt: skip
    for model in apps.get_app_config("sandbox").get_models():
        names = {f.name for f in model._meta.fields}
        if "user" in names and model is not SandboxUser:
            relation = model._meta.get_field("user")
            if getattr(relation, "related_model", None) is SandboxUser:
                state.append(tuple(sorted(map(repr, model.objects.filter(user=user).values_list()))))
    return tuple(state)


def _names(text: str, role: str) -> bool:
    """The refusal names ``role`` ("... because x@y holds User Administrator, Exchange Administrator.")."""
    return re.search(r"holds [^<]*" + re.escape(role), text) is not None


def _grant(holding: Holding, user) -> None:
    from graph.sandbox.models import SandboxGroupMember, SandboxRoleMember

    if holding.group is not None:
        SandboxGroupMember.objects.get_or_create(group=holding.group, user=user)
    else:
        SandboxRoleMember.objects.get_or_create(role=holding.role_row, user=user)


def _run_action(m, client, action, row, data):
    url = reverse("users:action", args=[action.key])
    payload = {"user": m.actions.value(row), "confirmed": "1", "expected_count": "1", **data}
    return client.post(url, payload, HTTP_X_CSRFTOKEN=client.token)


def _try_group(m, tally, holding, action, target, data, *, final: bool) -> bool:
    """Helpdesk/Editor then Admin on ``target`` holding ``holding.role``, in a savepoint rolled back.
    Returns False (recording nothing) when the Admin's run did not apply and ``final`` is not set."""
    need = ACTION_NEEDS[action.key]
    cells: list[tuple[str, bool, str]] = []  # (where, ok, problem)
    with transaction.atomic():
        if target.pk != holding.user.pk:
            _grant(holding, target)
        row = m.target(target)
        if action.key == "unblock-sign-in" and row.account_enabled:
            from graph.sandbox.directory import update_user

            update_user(target, {"accountEnabled": False})
            row = m.actions.cache(target)
        admin_ok = not action.why_not(row)
        for key in PRIVILEGED_ROLE_CHECKERS:
            principal = next(p for p in PRINCIPALS if p.key == key)
            if not expected((need,), principal, "own"):
                continue  # refused for its role already (the main matrix): not a guard cell
            before = _sandbox_state(target)
            response = _run_action(m, m.clients[key], action, row, dict(data))
            text = response.content.decode(errors="replace") if response.status_code == 200 else ""
            where = f"{action.key} {key} on {holding.role} ({'holder' if target.pk == holding.user.pk else 'granted'})"
            results = RESULT_RE.findall(text)
            named = _names(text, holding.role)
            problem = ""
            if results != ["skipped"] or "Needs the Admin role" not in text:
                problem = f"{where}: not refused by the guard ({response.status_code}, {results})"
            elif not named:
                problem = f"{where}: refused without naming {holding.role}"
            if _sandbox_state(target) != before:
                problem = problem or f"{where}: the sandbox changed"
            cells.append((where, not problem, problem))
        response = _run_action(m, m.clients["admin-all"], action, row, dict(data))
        results = (
            RESULT_RE.findall(response.content.decode(errors="replace"))
            if response.status_code == 200
            else []
        )
        ran = results in (["success"], ["accepted"])
        transaction.set_rollback(True)
    if not (ran and admin_ok) and not final:
        return False
    for _where, ok, problem in cells:
        tally.refused += 1
        tally.refused_ok += ok
        if problem:
            tally.problems.append(problem)
    tally.allowed += 1
    tally.allowed_ok += ran
    if not ran:
        tally.problems.append(f"{action.key} admin-all on {holding.role}: {response.status_code} {results}")
    return True


def _edit_user(m, tally, holding) -> None:
    """Edit user: Helpdesk has no users.edit (403); Editor is refused at open, review and a forged save,
    with the role named; the Admin reviews and saves a job title."""
    from tests.provisioning.test_edit_views import browser_data

    tenant = m.tenant["own"]
    url = reverse("users:edit", args=[tenant.slug, holding.user.pk])
    with transaction.atomic():
        before = _sandbox_state(holding.user)
        for key in PRIVILEGED_ROLE_CHECKERS:
            client = m.clients[key]
            opened = client.get(url)
            where = f"edit-user {key} on {holding.role}"
            tally.refused += 1
            if key == "helpdesk":
                ok = opened.status_code == 403
                problem = "" if ok else f"{where}: GET answered {opened.status_code}"
            else:
                data = browser_data(opened) if opened.status_code == 200 else {}
                review = client.post(url, {**data, "job_title": "Taken over", "step": "review"},
                                     HTTP_X_CSRFTOKEN=client.token)  # fmt: skip
                forged = client.post(url, {**data, "job_title": "Taken over", "step": "apply", "reviewed": "x"},
                                     HTTP_X_CSRFTOKEN=client.token)  # fmt: skip
                texts = [r.content.decode(errors="replace") for r in (opened, review, forged)]
                ok = review.status_code == forged.status_code == 403 and all(
                    _names(t, holding.role) for t in texts)  # fmt: skip
                problem = "" if ok else f"{where}: {review.status_code}/{forged.status_code}, role named: " + str(
                    [_names(t, holding.role) for t in texts])  # fmt: skip
            if _sandbox_state(holding.user) != before:
                ok, problem = False, problem or f"{where}: the sandbox changed"
            tally.refused_ok += ok
            if problem:
                tally.problems.append(problem)
        admin = m.clients["admin-all"]
        data = browser_data(admin.get(url))
        review = admin.post(
            url, {**data, "job_title": "Matrix lead", "step": "review"}, HTTP_X_CSRFTOKEN=admin.token
        )
        saved = None
        if review.status_code == 200 and review.context and review.context.get("digest"):
            saved = admin.post(url, {**data, "job_title": "Matrix lead", "step": "apply",
                                     "reviewed": review.context["digest"]}, HTTP_X_CSRFTOKEN=admin.token)  # fmt: skip
        holding.user.refresh_from_db()
        ran = saved is not None and holding.user.properties.get("jobTitle") == "Matrix lead"
        transaction.set_rollback(True)
    holding.user.refresh_from_db()
    tally.allowed += 1
    tally.allowed_ok += ran
    if not ran:
        tally.problems.append(f"edit-user admin-all on {holding.role}: review {review.status_code}")


def walk_privileged(m, world) -> tuple[PrivilegedTally, list[Holding]]:
    from tests.actions.examples import EXAMPLES
    from users.actions import registry

    tally = PrivilegedTally()
    found = holdings(world)
    sandbox = m.actions.sandbox
    for holding in found:
        for action in registry.all_actions():
            example = EXAMPLES[action.key]
            data = example.data(sandbox) if callable(example.data) else dict(example.data)
            if _try_group(m, tally, holding, action, holding.user, data, final=False):
                tally.on_holder += 1
                continue
            _try_group(m, tally, holding, action, example.target(sandbox), data, final=True)
            tally.role_granted += 1
        _edit_user(m, tally, holding)
    return tally, found
