"""Objects above tenants in the access matrix (issue 13): Admins scoped to only some tenants, to all but
one and to a tenant group try every path of the review (partner connections field by field, consent,
Discover, Add tenant, enabling tenants, technicians wider than themselves, themselves into a wider scope,
tenant groups naming another tenant, group names by id, the audit log, its export and filters).

Each refused cell must answer as access_matrix.ABOVE_TENANTS declares, change nothing (access_matrix.
fingerprint and every partner connection's row, secrets included) and name nothing outside the Admin's
scope: every answer is scanned for the out-of-scope tenant, technicians, groups and their ids. An Admin over
all tenants runs the same writes (in a savepoint rolled back after each) as the control that they work.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import reverse

from .access_matrix import (
    ABOVE_TENANTS,
    CONNECTION_CHANGES,
    FORM_422,
    KIND_403,
    NO_LEAK,
    OUT_OF_REACH_TECHNICIANS,
    SCOPED_ADMIN_SCOPES,
    UNKNOWN_404,
    fingerprint,
)

OWN_NAMES, OTHER_NAME = ("Northwind Traders", "Fabrikam Inc"), "Tailspin Toys"
STRONG = "Matrix-Passw0rd-long!"
# The control's connection has no credentials; a save needs a secret (and a certificate its thumbprint).
CONTROL_CREDENTIALS = {"client_secret": "matrix-secret", "certificate_thumbprint": "AB" * 20}
# The control moves endpoints to a national cloud: hosts outside Microsoft's are refused to everyone.
CONTROL_ENDPOINTS = {"login_url": "https://login.microsoftonline.us", "graph_url": "https://graph.microsoft.us",
                     "exchange_url": "https://outlook.office365.us",
                     "sharepoint_url_template": "https://{name}-admin.sharepoint.us"}  # fmt: skip


@dataclass
class AboveTally:
    cells: int = 0
    refused: int = 0
    controls: int = 0
    wrong: list = field(default_factory=list)  # answered otherwise than declared
    changed: list = field(default_factory=list)  # a refused request changed state
    leaks: list = field(default_factory=list)  # an out-of-scope name or id in an answer
    control_failed: list = field(default_factory=list)  # the all-tenant Admin could not do it


def _client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.token = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = client.token
    client.force_login(user)
    return client


def _post(client, url, data=None):
    return client.post(url, data or {}, HTTP_X_CSRFTOKEN=client.token)


def _connections() -> list[dict]:
    from tenants.models import PartnerConnection

    return list(PartnerConnection.objects.order_by("pk").values())


class AboveWorld:
    """The scoped Admins, the technicians and groups out of their reach, and what must never leak."""

    def __init__(self, m, user_model):
        from tenants.models import TechnicianProfile, Tenant, TenantGroup

        self.m = m
        tenants = {t.display_name: t for t in Tenant.objects.all()}
        self.own = [tenants[n] for n in OWN_NAMES]
        self.other = tenants[OTHER_NAME]
        self.scope_group = TenantGroup.objects.create(name="Matrix scope NF")
        self.scope_group.tenants.set(self.own)
        self.inside_group = TenantGroup.objects.create(name="Matrix inside N")
        self.inside_group.tenants.set(self.own[:1])
        self.mixed_group = TenantGroup.objects.create(name="Matrix mixed NT")
        self.mixed_group.tenants.set([self.own[0], self.other])
        self.other_group = TenantGroup.objects.create(name="Matrix other T")
        self.other_group.tenants.set([self.other])
        self.out_groups = [self.mixed_group, self.other_group]

        def technician(name, role, scope, tenant_names=(), groups=()):
            if role == "superuser":
                return user_model.objects.create_user(username=name, password="x", is_superuser=True)
            user = user_model.objects.create_user(username=name, password="x")
            profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
            profile.tenants.set([tenants[n] for n in tenant_names])
            profile.tenant_groups.set(groups)
            return user

        self.admins = {
            "only": technician("matrix-above-only", "admin", "only", OWN_NAMES),
            "except": technician("matrix-above-except", "admin", "except", (OTHER_NAME,)),
            "groups": technician("matrix-above-groups", "admin", "groups", groups=[self.scope_group]),
        }
        assert set(self.admins) == set(SCOPED_ADMIN_SCOPES)
        self.clients = {key: _client(user) for key, user in self.admins.items()}
        self.out_of_reach = {
            key: technician(f"matrix-oor-{key}", role, scope, names)
            for key, (role, scope, names) in OUT_OF_REACH_TECHNICIANS.items()
        }
        self.inside = technician("matrix-inside-reader", "reader", "only", OWN_NAMES[:1])
        self.boss = m.users["admin-all"]
        self.boss_client = m.clients["admin-all"]
        self.partners = list(m.connection.__class__.objects.order_by("pk"))

    # -- what must never appear in a scoped Admin's answers --------------------------------------------------

    def secrets(self) -> dict[str, str]:
        from users.models import AuditEntry

        found = {
            OTHER_NAME: "out-of-scope tenant name",
            str(self.other.tenant_id): "out-of-scope tenant id",
            f'group:{self.other_group.pk}"': "out-of-scope group id",
        }
        for user in self.out_of_reach.values():
            found[user.username] = "out-of-reach technician"
            found[f"/technicians/{user.pk}/"] = "out-of-reach technician id"
        for group in self.out_groups:
            found[group.name] = "out-of-scope group"
            found[f"/tenant-groups/{group.pk}/"] = "out-of-scope group id"
        upns = AuditEntry.objects.filter(tenant_id=self.other.tenant_id).exclude(target_upn="")
        for upn in upns.values_list("target_upn", flat=True).distinct()[:20]:
            found[upn] = "out-of-scope user"
        return found

    def scan(self, tally: AboveTally, where: str, response, typed=()) -> None:
        """Every out-of-scope name and id in the answer, except what the request itself typed (a filter's
        own value echoed back in its box reveals nothing)."""
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode(errors="replace")
        for needle, what in self.secrets_cache.items():
            if needle in text and needle not in typed:
                tally.leaks.append(f"{where}: {what} {needle!r}")


def _judge(w, tally, where, want, response, before, *, connections=None, typed=()):
    """One cell of a scoped Admin: the declared status (a refusal, or 200 for a page it may read), nothing
    changed, nothing out of its scope named."""
    tally.cells += 1
    status = response.status_code
    expected = {KIND_403: 403, UNKNOWN_404: 404, FORM_422: 422, NO_LEAK: 200}[want]
    if status != expected:
        tally.wrong.append(f"{where}: {status}, declared {expected}")
    if want != NO_LEAK:
        tally.refused += 1
    if before is not None and fingerprint() != before:
        tally.changed.append(f"{where}: state changed")
    if connections is not None and _connections() != connections:
        tally.changed.append(f"{where}: a partner connection changed")
    w.scan(tally, where, response, typed)


def _control(tally, where, ok: bool, response) -> None:
    """The all-tenant Admin's run of the same write, rolled back afterwards."""
    tally.controls += 1
    if not ok:
        tally.control_failed.append(f"{where}: {response.status_code}")


def _connection_form(connection, **change) -> dict:
    """What the connection form posts for ``connection`` as stored (secrets are never shown, so not
    posted), with ``change`` applied."""
    kept = [name for name in CONNECTION_CHANGES if name not in ("client_secret", "certificate_pem")]
    data = {
        name: "" if getattr(connection, name) is None else str(getattr(connection, name)) for name in kept
    }
    return {**data, **change}


def _connections_cells(w: AboveWorld, tally: AboveTally, key: str, client) -> None:
    for connection in w.partners:
        pk = connection.pk
        before, rows, session = fingerprint(), _connections(), set(client.session.keys())
        for name in ("tenants:connections", "tenants:connection-create", "tenants:consent-callback"):
            _judge(w, tally, f"{key} GET {name}", KIND_403, client.get(reverse(name)), before)
        edit = reverse("tenants:connection-edit", args=[pk])
        _judge(w, tally, f"{key} GET connection-edit {pk}", KIND_403, client.get(edit), before)
        for field_name, value in CONNECTION_CHANGES.items():
            response = _post(client, edit, _connection_form(connection, **{field_name: value}))
            _judge(w, tally, f"{key} POST connection-edit {pk} {field_name}", ABOVE_TENANTS["connection-edit"],
                   response, before, connections=rows)  # fmt: skip
        response = _post(
            client, reverse("tenants:connection-create"), _connection_form(connection, name="New")
        )
        _judge(w, tally, f"{key} POST connection-create", KIND_403, response, before, connections=rows)
        for case, name in (("consent-start", "tenants:connection-consent"), ("discover", "tenants:discover")):
            response = _post(client, reverse(name, args=[pk]))
            _judge(
                w, tally, f"{key} POST {name} {pk}", ABOVE_TENANTS[case], response, before, connections=rows
            )
        if set(client.session.keys()) != session:  # a refused consent must not leave a sign-in state
            tally.changed.append(f"{key} POST connection-consent {pk}: the session changed")


def _tenant_cells(w: AboveWorld, tally: AboveTally, key: str, client) -> None:
    from tenants.models import PartnerConnection

    before = fingerprint()
    _judge(w, tally, f"{key} GET tenants:add", ABOVE_TENANTS["add-tenant"], client.get(reverse("tenants:add")),
           before)  # fmt: skip
    connection = PartnerConnection.objects.order_by("pk").first()
    for typed in (str(w.other.tenant_id), w.other.default_domain or "tailspin.example", str(uuid.uuid4())):
        response = _post(client, reverse("tenants:add"), {"connection": connection.pk, "tenant": typed})
        _judge(w, tally, f"{key} POST tenants:add {typed}", ABOVE_TENANTS["add-tenant"], response, before)
    for tenant, case in ((w.own[0], "toggle-own-tenant"), (w.other, "toggle-other-tenant")):
        response = _post(client, reverse("tenants:toggle-enabled", args=[tenant.tenant_id]))
        _judge(w, tally, f"{key} POST toggle-enabled {tenant.display_name}", ABOVE_TENANTS[case], response,
               before)  # fmt: skip


def _technician_data(user, **change) -> dict:
    profile = getattr(user, "technician", None)
    data = {"first_name": "Taken", "last_name": "Over", "email": "",
            "role": profile.role if profile else "admin", "scope": profile.scope if profile else "all",
            "tenants": [t.pk for t in profile.tenants.all()] if profile else [],
            "tenant_groups": [g.pk for g in profile.tenant_groups.all()] if profile else []}  # fmt: skip
    return {**data, **change}


def _technician_cells(w: AboveWorld, tally: AboveTally, key: str, client) -> None:
    admin = w.admins[key]
    other, own = w.other.pk, [t.pk for t in w.own]
    before = fingerprint()
    for name, target in w.out_of_reach.items():
        edit = reverse("technicians:edit", args=[target.pk])
        want = ABOVE_TENANTS["technician-out-of-reach"]
        _judge(w, tally, f"{key} GET technicians:edit {name}", want, client.get(edit), before)
        response = _post(client, edit, _technician_data(target, scope="only", tenants=own))
        _judge(w, tally, f"{key} POST technicians:edit {name}", want, response, before)
        for active in ("0", "1"):
            response = _post(client, reverse("technicians:set-active", args=[target.pk]), {"active": active})
            _judge(w, tally, f"{key} POST set-active={active} {name}", want, response, before)
    widen = {"all tenants": {"scope": "all"}, "all but": {"scope": "except", "tenants": [other]},
             "another tenant": {"scope": "only", "tenants": [*own, other]},
             "a group naming another tenant": {"scope": "groups", "tenant_groups": [w.mixed_group.pk]}}  # fmt: skip
    create = reverse("technicians:create")
    for label, change in widen.items():
        data = {"username": f"matrix-new-{key}", "password1": STRONG, "password2": STRONG, "role": "reader",
                "tenants": own, **change}  # fmt: skip
        response = _post(client, create, data)
        _judge(w, tally, f"{key} POST technicians:create {label}", ABOVE_TENANTS["technician-create-wider"],
               response, before)  # fmt: skip
        for target, case in ((w.inside, "technician-widen-inside"), (admin, "technician-widen-self")):
            response = _post(
                client, reverse("technicians:edit", args=[target.pk]), _technician_data(target, **change)
            )
            _judge(
                w,
                tally,
                f"{key} POST technicians:edit {case} to {label}",
                ABOVE_TENANTS[case],
                response,
                before,
            )


def _comparable(response) -> str:
    """An answer without what differs between any two renders (CSRF tokens)."""
    text = response.content.decode(errors="replace")
    return re.sub(r'(csrfmiddlewaretoken" value=|csrf-token" content=|X-CSRFToken": )"[^"]*"', r"\1", text)


def _group_cells(w: AboveWorld, tally: AboveTally, key: str, client) -> None:
    other, own = w.other.pk, [t.pk for t in w.own]
    before = fingerprint()
    want = ABOVE_TENANTS["group-out-of-reach"]
    for group in w.out_groups:
        edit = reverse("technicians:group-edit", args=[group.pk])
        _judge(w, tally, f"{key} GET group-edit {group.name}", want, client.get(edit), before)
        response = _post(client, edit, {"name": "Taken over", "tenants": own})
        _judge(w, tally, f"{key} POST group-edit {group.name}", want, response, before)
        response = _post(client, reverse("technicians:group-delete", args=[group.pk]))
        _judge(w, tally, f"{key} POST group-delete {group.name}", want, response, before)
        response = client.get(reverse("users:list"), {"tenant": f"group:{group.pk}"})
        unknown_pk = group.pk + 700_000  # its digits appear nowhere else in the page
        unknown = client.get(reverse("users:list"), {"tenant": f"group:{unknown_pk}"})
        _judge(w, tally, f"{key} GET users?tenant=group:{group.name}", ABOVE_TENANTS["group-by-id"], response,
               before)  # fmt: skip
        if _comparable(response) != _comparable(unknown).replace(str(unknown_pk), str(group.pk)):
            tally.leaks.append(f"{key} users?tenant=group:{group.pk}: answered unlike an unknown group")
    response = _post(client, reverse("technicians:group-create"), {"name": f"Matrix new {key}",
                                                                   "tenants": [*own, other]})  # fmt: skip
    _judge(w, tally, f"{key} POST group-create with another tenant", ABOVE_TENANTS["group-create-wider"],
           response, before)  # fmt: skip
    response = _post(client, reverse("technicians:group-edit", args=[w.inside_group.pk]),
                     {"name": w.inside_group.name, "tenants": [*own, other]})  # fmt: skip
    _judge(w, tally, f"{key} POST group-edit inside + another tenant", ABOVE_TENANTS["group-widen-inside"],
           response, before)  # fmt: skip


def _read_cells(w: AboveWorld, tally: AboveTally, key: str, client) -> None:
    """Pages the scoped Admin may read, and the audit log's every filter aimed at another scope."""
    from users.models import AuditEntry

    before = fingerprint()
    for case, name in (("technician-list", "technicians:list"), ("group-list", "technicians:groups")):
        _judge(w, tally, f"{key} GET {name}", ABOVE_TENANTS[case], client.get(reverse(name)), before)
    foreign = AuditEntry.objects.filter(tenant_id=w.other.tenant_id).exclude(target_upn="").first()
    filters = [{}, {"tenant": str(w.other.tenant_id)}, {"action": "technician.update"},
               {"action": "tenant_group.update"}, {"action": "connection.update"}, {"action": "tenant.disable"},
               *({"technician": str(u.pk)} for u in (*w.out_of_reach.values(), w.boss)),
               {"user": foreign.target_upn if foreign else "tailspin"}]  # fmt: skip
    for query in filters:
        for case, name in (("audit-list", "audit:list"), ("audit-export", "audit:export-csv")):
            response = client.get(reverse(name), query)
            _judge(w, tally, f"{key} GET {name} {query}", ABOVE_TENANTS[case], response, before,
                   typed=set(query.values()))  # fmt: skip


def _controls(w: AboveWorld, tally: AboveTally) -> None:
    """The Admin over all tenants makes the changes the scoped Admins were refused (each rolled back), and
    leaves audit entries naming the out-of-scope tenant, technicians and groups for the audit cells."""
    client, connection = w.boss_client, w.partners[-1]

    def check(where, response, ok=lambda r: r.status_code in (200, 302)):
        _control(tally, where, ok(response), response)

    for field_name, value in CONNECTION_CHANGES.items():
        with transaction.atomic():
            response = _post(client, reverse("tenants:connection-edit", args=[connection.pk]),
                             _connection_form(connection, **{**CONTROL_CREDENTIALS,
                                                           field_name: CONTROL_ENDPOINTS.get(field_name, value)}))  # fmt: skip
            check(
                f"connection-edit {field_name}",
                response,
                lambda r: r.status_code == 302,
            )
            transaction.set_rollback(True)
    # Kept (not rolled back): the audit log then names the other tenant, the technicians and the groups.
    for _ in range(2):
        check("toggle Tailspin", _post(client, reverse("tenants:toggle-enabled", args=[w.other.tenant_id])))
    for target in w.out_of_reach.values():
        if target.is_superuser:
            continue
        response = _post(client, reverse("technicians:edit", args=[target.pk]),
                         _technician_data(target, first_name="Renamed"))  # fmt: skip
        check(f"technicians:edit {target.username}", response, lambda r: r.status_code == 302)
    for group in w.out_groups:
        response = _post(client, reverse("technicians:group-edit", args=[group.pk]),
                         {"name": group.name, "description": "Edited", "tenants": [t.pk for t in group.tenants.all()]})  # fmt: skip
        check(f"group-edit {group.name}", response, lambda r: r.status_code == 302)
    with transaction.atomic():
        response = _post(client, reverse("technicians:group-delete", args=[w.mixed_group.pk]))
        check("group-delete", response, lambda r: r.status_code == 302)
        transaction.set_rollback(True)
    with transaction.atomic():
        target = w.out_of_reach["all-tenants-admin"]
        response = _post(client, reverse("technicians:set-active", args=[target.pk]), {"active": "0"})
        check("deactivate the all-tenant Admin", response, lambda r: r.status_code == 302)
        transaction.set_rollback(True)


def walk_above_tenants(m, user_model) -> AboveTally:
    w = AboveWorld(m, user_model)
    tally = AboveTally()
    _controls(w, tally)
    w.secrets_cache = w.secrets()
    for key in SCOPED_ADMIN_SCOPES:
        client = w.clients[key]
        _connections_cells(w, tally, key, client)
        _tenant_cells(w, tally, key, client)
        _technician_cells(w, tally, key, client)
        _group_cells(w, tally, key, client)
        _read_cells(w, tally, key, client)
    return tally
