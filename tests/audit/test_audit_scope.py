"""A scoped Admin's audit log, filters and export (issue 13, part 5): entries of its own tenants, and of the
entries about no tenant only its own and those about technicians and groups it may manage, never one that
names another scope's tenant, group or technician."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tenants.models import TenantGroup
from users.audit import record


def _entry(actor, tenant=None, target=None, action="user.update", **parameters):
    return record(actor, tenant=tenant, target=target, action=action, parameters=parameters, result="success")


@pytest.fixture
def log(world, make_tech):
    boss = make_tech("admin", "all", username="boss")
    betahelper = make_tech("helpdesk", "only", [world.beta], username="betahelper")
    insider = make_tech("reader", "only", [world.alpha], username="insider")
    make_tech("reader", "only", [world.beta], username="outsider")
    alpha_group = TenantGroup.objects.create(name="Alpha group")
    alpha_group.tenants.add(world.alpha)
    alpha, beta = str(world.alpha.tenant_id), str(world.beta.tenant_id)
    _entry(boss, world.alpha, (uuid.uuid4(), "ann@zephyralpha.example"))
    _entry(betahelper, world.beta, (uuid.uuid4(), "cy@quokkabeta.example"))
    _entry(
        boss,
        None,
        (None, "insider"),
        "technician.update",
        scope="only",
        tenants=[alpha],
        marker="insider-now",
    )
    _entry(
        boss, None, (None, "insider"), "technician.update", scope="only", tenants=[beta], marker="insider-old"
    )
    _entry(
        boss, None, (None, "outsider"), "technician.update", scope="only", tenants=[beta], marker="outsider"
    )
    _entry(boss, None, (None, "boss"), "technician.update", scope="all", tenants=[], marker="boss-self")
    _entry(
        boss, None, (None, "group:Alpha group"), "tenant_group.update", tenants=[alpha], marker="grp-alpha"
    )
    _entry(
        boss, None, (None, "group:Beta customers"), "tenant_group.update", tenants=[beta], marker="grp-beta"
    )
    _entry(boss, None, (None, "connection:Access test partner"), "connection.update", marker="mk-conn")
    _entry(boss, None, None, "technician.login_locked", username="outsider", marker="mk-locked")
    _entry(boss, None, None, "technician.update", note=f"about {beta}", marker="guid-inside")
    return {"insider": insider, "betahelper": betahelper}


@pytest.mark.parametrize("scope", ["only", "except", "groups"])
def test_scoped_admin_reads_only_its_own_scope(client, world, make_tech, log, scope):
    group = TenantGroup.objects.get(name="Alpha group")
    tenants = {"only": [world.alpha], "except": [world.beta], "groups": []}[scope]
    viewer = make_tech("admin", scope, tenants, [group] if scope == "groups" else [], username="viewer")
    _entry(viewer, None, (None, "viewer"), "technician.update", marker="own-entry")
    client.force_login(viewer)
    html = client.get("/audit/").content.decode()
    for shown in ("ann@zephyralpha.example", "insider-now", "grp-alpha", "own-entry"):
        assert shown in html, shown
    hidden = ("quokkabeta", str(world.beta.tenant_id), "insider-old", "outsider", "boss-self", "grp-beta",
              "Beta customers", "mk-conn", "mk-locked", "guid-inside", "betahelper")  # fmt: skip
    for marker in hidden:
        assert marker not in html, marker
    export = client.get("/audit/export.csv")
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and not any(marker in text for marker in hidden)
    # Filtering on a hidden technician is a filter error, exactly as for an unknown one.
    by_hidden = client.get("/audit/", {"technician": log["betahelper"].pk}).content.decode()
    by_unknown = client.get("/audit/", {"technician": 999_999}).content.decode()
    assert "0 entries" in by_hidden and "0 entries" in by_unknown and "betahelper" not in by_hidden


def test_all_tenant_admin_reads_everything(client, make_tech, log):
    client.force_login(make_tech("admin", "all", username="root"))
    html = client.get("/audit/").content.decode()
    for marker in ("insider-old", "outsider", "grp-beta", "mk-conn", "mk-locked", "cy@quokkabeta.example"):
        assert marker in html, marker
