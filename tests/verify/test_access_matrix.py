"""Access matrix (issue 8, part "access"): every URL and every action × every role × own / other tenant ×
anonymous, answered exactly as tests/verify/access_matrix.py declares, and CSRF enforced on every request
that can change state.

One test builds the world once (seeded sandbox, portal tenants, cached users, one technician per role) and
walks every cell with the test client (force_login, a real CSRF cookie + header on every POST). A cell is
"allowed" when the answer is not 401/403/404 or the sign-in redirect, "refused" otherwise; a refused POST
must also leave every table and the sandbox directory untouched (access_matrix.fingerprint). Celery is
switched from eager to queue-only for the walk: the matrix judges who may start a sync or a job, and the
queued work itself is covered by its own tests.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.access.url_walker import all_routes, build_url
from tests.conftest import portal_tenants

from .access_above import walk_above_tenants
from .access_matrix import (
    ACTION_NEEDS,
    ACTIONS,
    PRINCIPALS,
    PRIVILEGED_GUARDED,
    URL_RULES,
    expected,
    fingerprint,
    verdict,
)
from .access_privileged import walk_privileged

OWN, OTHER = "Northwind Traders", "Tailspin Toys"  # principals are scoped to Northwind + Fabrikam
ALSO_OWN = "Fabrikam Inc"
GLOBAL_ADMIN = uuid.UUID("62e90394-69f5-4237-9190-012177145e10")  # Global Administrator role template
GUARD_REFUSAL = re.compile(r'data-result="skipped"')
SESSION_TENANT = "tenant"  # tenants.selection.SESSION_KEY
pytestmark = pytest.mark.django_db


@dataclass
class Tally:
    cells: int = 0
    allowed: int = 0
    forbidden_allowed: list = field(default_factory=list)
    allowed_denied: list = field(default_factory=list)
    server_errors: list = field(default_factory=list)
    scope_revealed: list = field(default_factory=list)  # out-of-scope tenant answered 403, not 404
    get_changes: list = field(default_factory=list)  # a GET of a form that changed state

    def judge(self, where: str, principal, want: bool, response, *, extra=frozenset(), changed=False,
              column=None, refused_override=None) -> None:  # fmt: skip
        self.cells += 1
        got = refused_override or verdict(response, refused_extra=extra)
        status = response.status_code
        if got == "error":
            self.server_errors.append(f"{where}: {status}")
            return
        if want:
            self.allowed += 1
            if got != "allowed":
                self.allowed_denied.append(f"{where}: {status}")
            return
        if got == "allowed" or changed:
            self.forbidden_allowed.append(f"{where}: {status}{' (changed state)' if changed else ''}")
        elif principal.anonymous and got != "login":
            self.forbidden_allowed.append(f"{where}: anonymous got {status}, not the sign-in redirect")
        elif column == "other" and not principal.anonymous and status == 403:
            self.scope_revealed.append(f"{where}: 403")


class Matrix:
    """The world of the walk and the per-cell sample objects."""

    def __init__(self, sandbox_world, connection, user_model):
        from graph.sandbox.models import SandboxUser
        from tenants.models import PartnerConnection, TechnicianProfile
        from tests.actions.conftest import ActionWorld
        from tests.actions.examples import plain_member
        from users.models import CompromiseReport

        tenants = portal_tenants(sandbox_world, connection)
        by_name = {t.display_name: t for t in tenants.values()}
        self.connection = connection
        self.tenant = {"own": by_name[OWN], "other": by_name[OTHER]}
        self.actions = ActionWorld(list(sandbox_world), tenants, connection)
        self.sandbox_user = {
            "own": plain_member(sandbox_world),
            "other": plain_member(sandbox_world, name=OTHER),
        }
        self.row = {col: self.actions.cache(u) for col, u in self.sandbox_user.items()}
        self.admin_target = (
            SandboxUser.objects.filter(tenant__display_name=OWN, deleted_datetime__isnull=True,
                                       role_memberships__role__role_template_id=GLOBAL_ADMIN)
            .order_by("created_datetime").first()
        )  # fmt: skip
        assert self.admin_target is not None, "the seed has no Global Administrator in Northwind"
        for row in self.row.values():  # a gathered report, so the report's CSVs and Remediate have one
            CompromiseReport.objects.create(tenant=row.tenant, user_id=row.user_id, gathered_at=timezone.now(),
                                            user_principal_name=row.user_principal_name)  # fmt: skip
        # Connection pages and discovery work on a partner connection of their own without credentials, so an
        # allowed discovery answers at once ("could not list customers") instead of re-reading every tenant.
        self.partner = PartnerConnection.objects.create(
            name="Matrix partner", partner_tenant_id=uuid.uuid4(), client_id=uuid.uuid4(),
            login_url=connection.login_url, graph_url=connection.graph_url, exchange_url=connection.exchange_url,
        )  # fmt: skip
        self.boss = user_model.objects.create_user(username="matrix-boss", password="x", is_superuser=True)
        self.victim = user_model.objects.create_user(username="matrix-victim", password="x")
        TechnicianProfile.objects.create(user=self.victim, role="reader", scope="all")
        self.users, self.clients, self.last = {}, {}, None
        own_tenants = [self.tenant["own"], by_name[ALSO_OWN]]
        for principal in PRINCIPALS:
            client = Client(enforce_csrf_checks=True)
            client.token = _get_new_csrf_string()
            client.cookies[settings.CSRF_COOKIE_NAME] = client.token
            if not principal.anonymous:
                user = user_model.objects.create_user(username=f"matrix-{principal.key}", password="x")
                if principal.role:
                    profile = TechnicianProfile.objects.create(user=user, role=principal.role,
                                                               scope=principal.scope)  # fmt: skip
                    if principal.scope == "only":
                        profile.tenants.set(own_tenants)
                client.force_login(user)
                self.users[principal.key] = user
            self.clients[principal.key] = client

    # -- per-cell samples ----------------------------------------------------------------------------------

    def owner(self, principal):
        return self.users.get(principal.key, self.boss)

    def samples(self, rule, principal, column) -> dict:
        from tenants.models import TenantGroup

        tenant = self.tenant[column or "own"]
        samples = {
            "tenant": tenant.slug, "tenant_id": tenant.tenant_id, "user_id": self.row[column or "own"].user_id,
            "fmt": "csv", "section": "sign_ins", "users/actions/|key": "block-sign-in",
            "tenants/connections/|pk": self.partner.pk, "technicians/tenant-groups/|pk": 0,
            "technicians/|pk": self.victim.pk,  # after tenant-groups/: build_url takes the first prefix that fits
        }  # fmt: skip
        if rule.obj:
            self.last = None  # a fresh object: the previous state reading is out of date
        if rule.obj == "group":
            group = TenantGroup.objects.create(name=f"Matrix {uuid.uuid4().hex[:8]}")
            group.tenants.set([tenant])
            samples["technicians/tenant-groups/|pk"] = group.pk
        elif rule.obj == "job":
            samples["jobs/|pk"] = self.job(tenant).pk
        elif rule.obj in ("draft", "run"):
            bulk_import, row = self.bulk_import(tenant, self.owner(principal), run=rule.obj == "run")
            samples["users/bulk-add/|pk"], samples["users/bulk-add/|row_id"] = bulk_import.pk, row.pk
        return samples

    def job(self, tenant, **fields):
        from users.models import Job

        return Job.objects.create(label="Matrix job", tenant=tenant, created_by=self.boss,
                                  action_key="block-sign-in", **fields)  # fmt: skip

    def bulk_import(self, tenant, owner, *, run: bool):
        from users.models import BulkImport, BulkImportRow, Job

        job = None
        if run:
            job = self.job(tenant, kind=Job.Kind.BULK_ADD, status=Job.Status.SUCCEEDED,
                           finished_at=timezone.now())  # fmt: skip
        bulk_import = BulkImport.objects.create(tenant=tenant, created_by=owner, marker=uuid.uuid4().hex,
                                                file_name="matrix.csv", job=job)  # fmt: skip
        row = BulkImportRow.objects.create(bulk_import=bulk_import, key="r1", position=2,
                                           data={"username": "matrix.row"})  # fmt: skip
        return bulk_import, row

    def params(self, route, rule, column) -> dict:
        tenant = self.tenant[column or "own"]
        if rule.bind == "query":
            return {"tenant": str(tenant.tenant_id)}
        if rule.bind == "user":
            return {"user": self.actions.value(self.row[column])}
        return {}

    def restore(self, name: str, client) -> None:
        """Undo what an allowed POST changed that later cells depend on (a disabled tenant, a deactivated
        technician, the header's chosen tenant)."""
        from tenants.models import Tenant

        if name == "tenants:toggle-enabled":
            Tenant.objects.update(enabled=True)
        elif name == "technicians:set-active":
            type(self.victim).objects.filter(pk=self.victim.pk).update(is_active=True)
        elif name == "tenants:select" and SESSION_TENANT in client.session:
            session = client.session
            session.pop(SESSION_TENANT)
            session.save()

    def target(self, sandbox_user):
        """The directory-cache row of ``sandbox_user`` as the sync would write it now; a user an earlier
        cell deleted is restored from the deleted items first, so every cell acts on a live user."""
        from graph.sandbox.directory import restore_user

        sandbox_user.refresh_from_db()
        if sandbox_user.deleted_datetime is not None:
            restore_user(sandbox_user)
        return self.actions.cache(sandbox_user)

    def admin_row(self, action_key: str):
        """The Global Administrator, live, and blocked only for Unblock sign-in (which needs a blocked user):
        an earlier Admin cell may have blocked or deleted them, and the next cell must still apply."""
        from graph.sandbox.directory import update_user

        row = self.target(self.admin_target)
        enabled = action_key != "unblock-sign-in"
        if self.admin_target.properties.get("accountEnabled") != enabled:
            update_user(self.admin_target, {"accountEnabled": enabled})
            row = self.actions.cache(self.admin_target)
        return row

    def check_state(self, want: bool):
        """The state reading before a request that must not change anything (None for allowed cells);
        reuses the last reading while nothing was allowed in between (forbidden cells come in runs)."""
        if want:
            self.last = None
            return None
        return self.last if self.last is not None else fingerprint()

    def changed(self, before) -> bool:
        if before is None:
            return False
        self.last = fingerprint()
        return self.last != before


def post(client, url, data=None, *, token=True, **extra):
    headers = {"HTTP_X_CSRFTOKEN": client.token} if token else {}
    return client.post(url, data or {}, **headers, **extra)


@pytest.fixture
def queue_only():
    """Celery tasks are queued (in memory), not run inside the request, while the matrix walks."""
    from cippusers.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


def _url_matrix(m: Matrix, tally: Tally, routes) -> None:
    for route in routes:
        rule = URL_RULES[route.name]
        if rule == ACTIONS:
            continue
        columns = ("own", "other") if rule.bind else (None,)
        for principal in PRINCIPALS:
            client = m.clients[principal.key]
            for column in columns:
                want = expected(rule.needs, principal, column)
                where = f"{route.name} {principal.key}/{column or '-'}"
                if rule.gets:
                    url = build_url(route, m.samples(rule, principal, column))
                    # Opening a form (GET of a URL that also takes POST) changes nothing, whoever asks.
                    before = (m.last if m.last is not None else fingerprint()) if rule.posts else None
                    response = client.get(url, m.params(route, rule, column))
                    m.last = fingerprint() if before is not None else None
                    if before is not None and m.last != before:
                        tally.get_changes.append(f"GET {where}: {response.status_code}")
                    override = None
                    if rule.as_unknown and column == "other" and response.status_code < 300:
                        unknown = client.get(url, {"tenant": str(uuid.uuid4())})
                        same = (unknown.status_code, unknown.content) == (
                            response.status_code,
                            response.content,
                        )
                        override = "refused" if same else None
                    tally.judge(f"GET {where}", principal, want, response, extra=rule.refused, column=column,
                                refused_override=override)  # fmt: skip
                if rule.posts:
                    url = build_url(route, m.samples(rule, principal, column))
                    before = m.check_state(want)
                    response = post(client, url, m.params(route, rule, column))
                    override = None
                    if route.name == "tenants:select" and verdict(response) == "allowed":
                        chosen = client.session.get(SESSION_TENANT) == str(m.tenant[column].tenant_id)
                        override = "allowed" if chosen else "refused"
                    tally.judge(f"POST {where}", principal, want, response, extra=rule.refused,
                                changed=m.changed(before), column=column, refused_override=override)  # fmt: skip
                    if want:
                        m.restore(route.name, client)


def _action_matrix(m: Matrix, tally: Tally) -> tuple[int, int]:
    """Every action: open the modal and run it, per principal × own / other tenant, and run the privileged-
    guarded ones on a Global Administrator. Returns (admin-target cells, admin-target cells not applicable)."""
    from graph.sandbox.models import SandboxTenant
    from tests.actions.examples import EXAMPLES
    from users.actions import registry

    sandbox = m.actions.sandbox
    guard_cells = not_applicable = 0
    for action in registry.all_actions():
        need = ACTION_NEEDS[action.key]
        example = EXAMPLES[action.key]
        own_target = example.target(sandbox)
        data = example.data(sandbox) if callable(example.data) else dict(example.data)
        url = reverse("users:action", args=[action.key])
        for principal in PRINCIPALS:
            client = m.clients[principal.key]
            for column, target in (("own", own_target), ("other", m.sandbox_user["other"])):
                value = m.actions.value(m.target(target))  # (may restore a deleted user: read afresh)
                want = expected((need,), principal, column)
                where = f"{action.key} {principal.key}/{column}"
                before = fingerprint()
                response = client.get(url, {"user": value})
                m.last = fingerprint()
                if m.last != before:  # opening the modal never changes anything
                    tally.get_changes.append(f"GET action {where}: {response.status_code}")
                tally.judge(f"GET action {where}", principal, want, response, column=column)
                before = m.check_state(want)
                response = post(client, url, {"user": value, "confirmed": "1", "expected_count": "1", **data})
                tally.judge(f"POST action {where}", principal, want, response, changed=m.changed(before),
                            column=column)  # fmt: skip
            if action.key not in PRIVILEGED_GUARDED or principal.anonymous:
                continue
            row = m.admin_row(action.key)
            m.last = None
            if action.why_not(row):  # e.g. unblock on an enabled admin: nothing to guard
                not_applicable += 1
                continue
            guard_cells += 1
            want = expected((need, "users.actions.admin"), principal, "own")
            counter = sum(SandboxTenant.objects.values_list("change_counter", flat=True))
            response = post(client, url, {"user": m.actions.value(row), "confirmed": "1", "expected_count": "1",
                                          **data})  # fmt: skip
            text = response.content.decode(errors="replace") if response.status_code == 200 else ""
            guarded = bool(GUARD_REFUSAL.search(text)) and "Needs the Admin role" in text
            changed = (
                not want and sum(SandboxTenant.objects.values_list("change_counter", flat=True)) != counter
            )
            tally.judge(f"POST action {action.key} {principal.key}/admin-target", principal, want, response,
                        changed=changed, refused_override="refused" if guarded else None)  # fmt: skip
    return guard_cells, not_applicable


def _csrf_and_methods(m: Matrix, routes) -> dict:
    """As admin-all (nothing refused for lack of rights): every POST-accepting URL refuses a POST without the
    CSRF token (and changes nothing); GET-only URLs answer POST with 405; GET on a POST-only URL answers 405
    or renders, never changes state."""
    from users.actions import registry

    client = m.clients["admin-all"]
    out = {"checked": 0, "missing": [], "methods": [], "get_changes": []}
    for route in routes:
        rule = URL_RULES[route.name]
        keys = [a.key for a in registry.all_actions()] if rule == ACTIONS else [None]
        for key in keys:
            samples = (
                m.samples(rule, PRINCIPALS[-1], "own") if rule != ACTIONS else {"users/actions/|key": key}
            )
            url = build_url(route, samples)
            name = f"{route.name}{'/' + key if key else ''}"
            params = (
                m.params(route, rule, "own") if rule != ACTIONS else {"user": m.actions.value(m.row["own"])}
            )
            accepts_post = rule == ACTIONS or rule.posts or rule.methods == "G+"
            if accepts_post:
                before = fingerprint()
                response = post(client, url, {**params, "confirmed": "1"}, token=False)
                out["checked"] += 1
                if response.status_code != 403 or b"CSRF" not in response.content or fingerprint() != before:
                    out["missing"].append(f"POST {name} without token: {response.status_code}")
                m.last = None
            if rule != ACTIONS and rule.methods == "G":
                response = post(client, url, params)
                if response.status_code != 405:
                    out["methods"].append(f"POST {name} (declared GET-only): {response.status_code}")
            if rule != ACTIONS and rule.methods in ("P", "G+"):  # a GET (or read-only POST) changes nothing
                method = client.get if rule.methods == "P" else (lambda u, p: post(client, u, p))
                before = fingerprint()
                response = method(url, params)
                if rule.methods == "P" and response.status_code not in (405,) and response.status_code >= 300:
                    out["methods"].append(f"GET {name} (POST-only): {response.status_code}")
                if fingerprint() != before:
                    out["get_changes"].append(f"{name}: {response.status_code}")
    return out


def test_access_matrix(sandbox_world, sandbox_connection, django_user_model, queue_only, figure):
    started = time.monotonic()
    routes = all_routes()
    names = {r.name for r in routes}
    assert names == set(URL_RULES), (
        f"URLs without a declared rule: {sorted(names - set(URL_RULES))}; "
        f"rules for URLs that do not exist: {sorted(set(URL_RULES) - names)}"
    )
    from users.actions import registry

    keys = {a.key for a in registry.all_actions()}
    assert keys == set(ACTION_NEEDS), (
        f"actions without a declared permission: {sorted(keys ^ set(ACTION_NEEDS))}"
    )

    m = Matrix(sandbox_world, sandbox_connection, django_user_model)
    tally = Tally()
    # Privileged targets first, on the sandbox as seeded (each group runs in a savepoint rolled back).
    privileged_started = time.monotonic()
    privileged, holdings = walk_privileged(m, sandbox_world)
    privileged_seconds = time.monotonic() - privileged_started
    _url_matrix(m, tally, routes)
    url_seconds = time.monotonic() - started - privileged_seconds
    guard_cells, not_applicable = _action_matrix(m, tally)
    checks = _csrf_and_methods(m, routes)
    above_started = time.monotonic()
    above = walk_above_tenants(m, django_user_model)
    above_seconds = time.monotonic() - above_started
    elapsed = time.monotonic() - started
    print(f"access matrix: {tally.cells} cells ({url_seconds:.0f}s URLs, {elapsed:.0f}s in all), "
          f"{guard_cells} admin-target cells, {not_applicable} not applicable", file=sys.stderr)  # fmt: skip

    detail = "every URL and action x 7 principals x own/other tenant"
    figure("access.cells", tally.cells, "cells", at_least=1, detail=detail)
    figure("access.allowed_cells", tally.allowed, "cells", at_least=1, detail="cells the table says succeed")
    figure("access.forbidden_allowed", len(tally.forbidden_allowed), must_be=0,
           detail="forbidden cells answered 2xx/3xx or changed state")  # fmt: skip
    figure("access.allowed_denied", len(tally.allowed_denied), must_be=0, detail="allowed cells refused")
    figure("access.server_errors", len(tally.server_errors), must_be=0, detail="5xx answers in the matrix")
    figure("access.scope_revealed", len(tally.scope_revealed), must_be=0,
           detail="out-of-scope tenant answered 403 instead of 404")  # fmt: skip
    figure("access.csrf_checked", checks["checked"], "URLs", at_least=1, detail="POST-accepting URLs")
    figure("access.csrf_missing", len(checks["missing"]), must_be=0, detail="POST without token not refused")
    checks["get_changes"] += tally.get_changes
    figure("access.method_or_get_changes", len(checks["methods"]) + len(checks["get_changes"]), must_be=0,
           detail="GET-only URLs taking POST, GETs that changed state")  # fmt: skip

    _above_figures(figure, above, privileged, holdings)
    figure("access.seconds", round(elapsed), "s", detail=f"the walk, after the world is built "
           f"({privileged_seconds:.0f}s privileged targets, {above_seconds:.0f}s objects above tenants)")  # fmt: skip
    assert tally.cells and tally.allowed and checks["checked"], "the matrix walked nothing"

    problems = {
        "above tenants: answered otherwise than declared": above.wrong, "above tenants: changed": above.changed,
        "above tenants: leaked": above.leaks, "above tenants: all-tenant Admin refused": above.control_failed,
        "privileged targets": privileged.problems,
        "forbidden but allowed": tally.forbidden_allowed, "allowed but denied": tally.allowed_denied,
        "server errors": tally.server_errors, "out-of-scope answered 403": tally.scope_revealed,
        "CSRF not enforced": checks["missing"], "methods": checks["methods"], "GET changed state": checks["get_changes"],
    }  # fmt: skip
    report = "\n".join(f"{k} ({len(v)}):\n  " + "\n  ".join(v[:60]) for k, v in problems.items() if v)
    assert not report, report


def _above_figures(figure, above, privileged, holdings) -> None:
    """Figures of the scoped-Admin walk above tenants and of the privileged-target walk."""
    figure("access.above_cells", above.cells, "cells", at_least=1,
           detail="scoped Admins (only / all but / groups) x objects above tenants")  # fmt: skip
    figure("access.above_refused", above.refused, "cells", at_least=1, detail="of which must be refused")
    figure(
        "access.above_wrong_answer", len(above.wrong), must_be=0, detail="not the declared 403/404/422/200"
    )
    figure("access.above_changed", len(above.changed), must_be=0,
           detail="refused requests that changed a table, a connection or the session")  # fmt: skip
    figure("access.leaks", len(above.leaks), must_be=0,
           detail="answers naming another scope's tenant, technician, group or id")  # fmt: skip
    figure("access.above_controls_failed", len(above.control_failed), must_be=0,
           detail=f"of {above.controls} same writes by the all-tenant Admin")  # fmt: skip
    roles = sorted({h.role + (" (via group)" if h.group else "") for h in holdings})
    figure("access.privileged_roles", len(roles), "roles", at_least=9, detail=", ".join(roles))
    figure("access.privileged_targets_refused", f"{privileged.refused_ok} / {privileged.refused}",
           detail="Helpdesk/Editor on every action and Edit user: refused, role named, sandbox unchanged")  # fmt: skip
    figure("access.privileged_refused_missed", privileged.refused - privileged.refused_ok, must_be=0,
           detail="privileged-target cells not refused, role unnamed, or the sandbox changed")  # fmt: skip
    figure("access.privileged_admin_allowed", f"{privileged.allowed_ok} / {privileged.allowed}",
           detail=f"Admin ran it ({privileged.on_holder} on the seeded holder, "
           f"{privileged.role_granted} on the example target given the seeded role)")  # fmt: skip
    figure("access.privileged_admin_denied", privileged.allowed - privileged.allowed_ok, must_be=0,
           detail="Admin runs on privileged targets that did not succeed")  # fmt: skip
