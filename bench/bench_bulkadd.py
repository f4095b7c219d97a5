"""Bulk add benchmark against the sandbox over real HTTP (gunicorn on loopback, 50 ms added per Graph
request — the sandbox adds it to every $batch item too, as each item is dispatched on its own).

bulkadd — N new users with one licence and one group each (N = 1,000; ``--size small``: 100):
  * ours: a bulk import run as its Job would run it (``users.bulkadd.service.work``, in a child process):
    Graph HTTP requests made against the floor ceil(3 N / 20) (every sub-request in a full $batch), wall time;
  * the peer — the reference product's way: one user at a time, create, then licence, then group, each a
    request of its own, in sequence;
  * the same import with the sandbox throttling 10 % of requests (429 + Retry-After) and the worker killed
    with SIGKILL mid-run, then a new worker started (it finds the job stale and resumes): users created
    (must be exactly N), duplicates (0) and lost rows (0), counted in the sandbox itself.
Every user made is deleted again afterwards, so the shared load-test world keeps its size.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid

from .harness import ROOT, BenchContext, SandboxServer, benchmark, emit, tree_cpu_seconds
from .util import (
    LATENCY_MS,
    RequestCounter,
    add_latency,
    child_env,
    customer_tenant,
    ensure_sandbox_world,
    log,
    migrate,
    rounded,
)

FULL_USERS, SMALL_USERS = 1_000, 100
RESULT_PREFIX = "BENCH-RESULT "
KILL_AT = 0.4  # share of the rows created when the worker is killed
STALE_SECONDS = 3  # the restarted worker's stale limit (production: ACTIONS_JOB_STALE_SECONDS, 180 s)


BENCH_TENANT = "Bulk Add Bench"
BENCH_TENANT_USERS = 300  # a small business: the sandbox's per-create address check scans the tenant


def _world() -> dict:
    """A customer of its own for this benchmark (seeded once, linked to the partner of whatever world is
    there), so the sync benchmarks' load-test tenant keeps its size and the import runs in a tenant of a
    realistic small-business size."""
    from django.contrib.auth.hashers import make_password

    from graph.sandbox import seed, seed_data
    from graph.sandbox.models import SandboxTenant

    migrate()
    if seed.partner_tenant() is None:
        ensure_sandbox_world(1, 5_000)  # the partner comes with the sync benchmarks' world
    partner = seed.partner_tenant()
    if not SandboxTenant.objects.filter(display_name=BENCH_TENANT).exists():
        log(f"seeding the {BENCH_TENANT!r} tenant ({BENCH_TENANT_USERS} users, once)")
        spec = {**seed_data.scale_customer(99, BENCH_TENANT_USERS), "key": "bulkadd-bench", "display_name": BENCH_TENANT,
                "initial_domain": "bulkaddbench.onmicrosoft.com", "custom_domains": ["bulkaddbench.example.com"],
                "hybrid_share": 0.0}  # fmt: skip
        seed._seed_tenant(spec, seed=1, as_of=seed._today(), unusable=make_password(None))
    seed.link_partner(partner, seed._today())  # again: a reseeded partner lost its links
    row = next(r for r in seed.demo_summary() if r["display_name"] == BENCH_TENANT)
    return row


def _technician():
    from django.contrib.auth import get_user_model

    from tenants.models import TechnicianProfile

    user, _ = get_user_model().objects.get_or_create(username="bench-bulkadd")
    TechnicianProfile.objects.update_or_create(
        user=user, defaults={"role": TechnicianProfile.Role.ADMIN, "scope": TechnicianProfile.Scope.ALL}
    )
    return user


def _stock(sandbox_id: str, count: int):
    """A SKU with ``count`` more free units and a security group (what the import assigns)."""
    from graph.sandbox.models import SandboxGroup, SandboxSku

    sku = SandboxSku.objects.filter(tenant_id=sandbox_id, sku_part_number="SPE_E3").first()
    sku.prepaid_enabled += count
    sku.save(update_fields=["prepaid_enabled"])
    group = SandboxGroup.objects.filter(tenant_id=sandbox_id, security_enabled=True, mail_enabled=False,
                                        group_types=[], on_premises_sync_enabled__isnull=True).first()  # fmt: skip
    return sku, group


def _csv(prefix: str, domain: str, count: int, sku, group) -> bytes:
    lines = ["givenName,surname,username,domain,usageLocation,licences,groups"]
    lines += [
        f"Bench{i},{prefix},{prefix}.{i},{domain},US,{sku.sku_part_number},{group.display_name}"
        for i in range(count)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _import(tenant, technician, prefix: str, domain: str, count: int, sku, group):
    from users.bulkadd.intake import create_import
    from users.bulkadd.parse import parse_upload
    from users.bulkadd.validate import validate_import

    parsed = parse_upload("users", f"{prefix}.csv", _csv(prefix, domain, count, sku, group))
    bulk_import, _ = create_import(
        tenant, technician, parsed, file_name=f"{prefix}.csv", source_ip="127.0.0.1"
    )
    started = time.perf_counter()
    summary = validate_import(bulk_import, refresh=True)
    seconds = time.perf_counter() - started
    if summary["with_problems"] or summary["file_problems"]:
        raise RuntimeError(f"the bench file did not validate: {summary}")
    return bulk_import, seconds


def _server_cpu(server) -> float:
    """CPU seconds (user + system) the gunicorn serving the sandbox has used so far: its workers' and its own."""
    return tree_cpu_seconds(server.process.pid)


class _Request:
    def __init__(self, user):
        self.user, self.META = user, {"REMOTE_ADDR": "127.0.0.1"}


def _queue(bulk_import, technician):
    from unittest import mock

    from users.bulkadd import service

    with mock.patch("django.db.transaction.on_commit"):  # the bench starts the worker itself
        return service.start(bulk_import, _Request(technician))


def _child(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.bench_bulkadd", *args], cwd=ROOT, env=child_env(),
                            stdout=subprocess.PIPE, text=True)  # fmt: skip


def _result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"the bench worker exited with {process.returncode}")
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError("the bench worker printed no result")


def _peer(tenant, prefix: str, domain: str, count: int, sku, group) -> tuple[float, int]:
    """The reference product's way: per user, create, then licence, then group, one request each."""
    from graph.client import GraphClient
    from graph.http import build_session

    session = build_session()
    client = GraphClient.for_tenant(tenant, priority="low", session=session)
    counter = RequestCounter(client.version_root).install(session)
    client.tokens.get_token(client.connection, client.tenant_id, client.resource, client.mode)
    started = time.perf_counter()
    for i in range(count):
        upn = f"{prefix}.{i}@{domain}"
        user = client.post("/users", {
            "accountEnabled": True, "displayName": f"Bench{i} {prefix}", "mailNickname": f"{prefix}.{i}",
            "userPrincipalName": upn, "usageLocation": "US",
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": f"Peer-{uuid.uuid4().hex[:10]}!A1"},
        })  # fmt: skip
        client.post(f"/users/{user['id']}/assignLicense",
                    {"addLicenses": [{"skuId": str(sku.sku_id), "disabledPlans": []}], "removeLicenses": []})  # fmt: skip
        client.post(f"/groups/{group.id}/members/$ref",
                    {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user['id']}"})  # fmt: skip
    return time.perf_counter() - started, counter.count


def _census(sandbox_id: str, bulk_import, group) -> dict:
    """What the sandbox holds for an import: users by UPN, with the marker, licensed, in the group."""
    from django.db.models import Count

    from graph.sandbox.models import SandboxGroupMember, SandboxUser
    from users.bulkadd import plan

    upns = list(bulk_import.rows.values_list("upn", flat=True))
    users = SandboxUser.objects.filter(
        tenant_id=sandbox_id, upn_lower__in=upns, deleted_datetime__isnull=True
    )
    marker = {plan.marker_attribute(): plan.marker_value(bulk_import.marker)}
    per_upn = users.values("upn_lower").annotate(n=Count("id"))
    return {
        "rows": len(upns),
        "users": users.count(),
        "with_marker": users.filter(properties__onPremisesExtensionAttributes=marker).count(),
        "duplicates": sum(row["n"] - 1 for row in per_upn if row["n"] > 1),
        "lost": len(set(upns) - set(users.values_list("upn_lower", flat=True))),
        "licensed": users.exclude(properties__assignedLicenses=[]).count(),
        "in_group": SandboxGroupMember.objects.filter(group=group, user__in=users).count(),
        "rows_succeeded": bulk_import.rows.filter(status="success").count(),
    }


def _clean(sandbox_id: str, tenant, prefixes: list[str]) -> None:
    from django.db.models import Q

    from graph.sandbox import directory
    from graph.sandbox.models import SandboxUser
    from users.models import DirectoryUser

    condition = Q()
    for prefix in prefixes:
        condition |= Q(upn_lower__startswith=f"{prefix}.")
    for user in SandboxUser.objects.filter(condition, tenant_id=sandbox_id):
        directory.hard_delete_user(user)
    cached = Q()
    for prefix in prefixes:
        cached |= Q(user_principal_name__istartswith=f"{prefix}.")
    DirectoryUser.objects.filter(cached, tenant=tenant).delete()


@benchmark("bulkadd")
def bulkadd(context: BenchContext) -> None:
    from django.test.utils import override_settings

    count = FULL_USERS if context.full else SMALL_USERS
    world = _world()
    sandbox_id, domain = world["tenant_id"], world["default_domain"]
    run = uuid.uuid4().hex[:6]
    prefixes = [f"bk{run}", f"pr{run}", f"ft{run}"]
    # More gunicorn threads than the default harness (the import keeps several $batch calls in flight), and
    # cheap password hashing in the sandbox (bench/sandbox_settings.py says why).
    server_env = {**child_env(), "DJANGO_SETTINGS_MODULE": "bench.sandbox_settings", "DEBUG": "false"}
    with SandboxServer(server_env, workers=2, threads=16) as server, override_settings(DEBUG=False):
        from graph.sandbox.demo import wire_sandbox_connection

        wire_sandbox_connection(f"{server.base_url}/sandbox")
        tenant = customer_tenant(sandbox_id)
        add_latency(sandbox_id)
        technician = _technician()
        sku, group = _stock(sandbox_id, 3 * count)
        extra = {"users": count, "size": context.size, "latency_ms": LATENCY_MS,
                 "sandbox_password_hash": "md5 (see bench/sandbox_settings.py)"}  # fmt: skip
        try:
            bulk_import, check_seconds = _import(tenant, technician, prefixes[0], domain, count, sku, group)
            emit("bulkadd", "validation_time", rounded(check_seconds, 2), "s", **extra,
                 includes="organization, subscribedSkus, groups, every UPN checked in the cache and Graph")  # fmt: skip
            _queue(bulk_import, technician)
            log(f"ours: {count:,} users with one licence and one group")
            cpu_before = _server_cpu(server)
            ours = _result(_child("work", str(bulk_import.pk)))
            ours_cpu = _server_cpu(server) - cpu_before
            floor = math.ceil(3 * count / 20)
            census = _census(sandbox_id, bulk_import, group)
            if census["users"] != count or census["licensed"] != count or census["in_group"] != count:
                raise RuntimeError(f"the import did not do everything: {census}")
            emit("bulkadd", "graph_requests", ours["requests"], "requests", floor=floor,
                 ratio_to_floor=rounded(ours["requests"] / floor, 3), target="<= 1.1x floor", **extra)  # fmt: skip
            emit("bulkadd", "wall_time", rounded(ours["seconds"], 2), "s", concurrency=ours["concurrency"],
                 throughput_users_per_s=rounded(count / ours["seconds"], 1), sandbox_cpu_s=rounded(ours_cpu, 1),
                 **extra)  # fmt: skip
            log(f"peer: the same {count:,} users one at a time (create, licence, group)")
            cpu_before = _server_cpu(server)
            peer_seconds, peer_requests = _peer(tenant, prefixes[1], domain, count, sku, group)
            peer_cpu = _server_cpu(server) - cpu_before
            emit("bulkadd", "peer_wall_time", rounded(peer_seconds, 2), "s", requests=peer_requests,
                 sandbox_cpu_s=rounded(peer_cpu, 1),
                 peer="one user at a time: create, then licence, then group (the reference product's way)", **extra)  # fmt: skip
            # The sandbox spends CPU on every item (ours and the peer's alike); on this machine's cores that CPU
            # alone bounds how fast any client could go. The ceiling says how close ours gets to it.
            ceiling = peer_seconds / max(ours_cpu / (os.cpu_count() or 1), 1e-9)
            emit("bulkadd", "speedup_over_peer", rounded(peer_seconds / ours["seconds"], 1), "x", target=">= 10",
                 ceiling_from_sandbox_cpu=rounded(ceiling, 1), cores=os.cpu_count(), **extra)  # fmt: skip
            _faults(sandbox_id, tenant, technician, prefixes[2], domain, count, sku, group, extra)
        finally:
            from graph.sandbox.switches import set_switches

            set_switches(sandbox_id, throttle_probability=0, fault_probability=0)
            log("removing the users the benchmark created")
            _clean(sandbox_id, tenant, prefixes)
            sku.refresh_from_db()
            sku.prepaid_enabled = max(0, sku.prepaid_enabled - 3 * count)
            sku.save(update_fields=["prepaid_enabled"])


def _faults(sandbox_id, tenant, technician, prefix, domain, count, sku, group, extra) -> None:
    from graph.sandbox.switches import set_switches
    from users.models import BulkImportRow

    bulk_import, _ = _import(tenant, technician, prefix, domain, count, sku, group)
    _queue(bulk_import, technician)
    set_switches(sandbox_id, throttle_probability=0.1)
    log(f"faults: the same import with 10 % throttled and the worker killed at {int(KILL_AT * 100)} %")
    started = time.perf_counter()
    first = _child("work", str(bulk_import.pk))
    created = 0
    while first.poll() is None:
        created = bulk_import.rows.filter(user_id__isnull=False).count()
        if created >= KILL_AT * count:
            os.kill(first.pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    first.wait()
    killed = first.returncode == -signal.SIGKILL
    in_flight = bulk_import.rows.filter(status=BulkImportRow.Status.SENDING).count()
    time.sleep(STALE_SECONDS + 0.5)  # the heartbeat goes stale, as beat would find it
    second = _result(_child("work", str(bulk_import.pk), "--stale", str(STALE_SECONDS)))
    seconds = time.perf_counter() - started
    census = _census(sandbox_id, bulk_import, group)
    emit("bulkadd_faults", "users_created", census["users"], "users", expected=count,
         with_this_imports_marker=census["with_marker"], **extra)  # fmt: skip
    emit("bulkadd_faults", "duplicates", census["duplicates"], "users", target=0, **extra)
    emit(
        "bulkadd_faults",
        "lost",
        census["lost"],
        "rows",
        target=0,
        rows_succeeded=census["rows_succeeded"],
        **extra,
    )
    emit("bulkadd_faults", "exactly_once", census["users"] == count and not census["duplicates"] and not census["lost"]
         and census["licensed"] == count and census["in_group"] == count, "bool",
         worker_killed=killed, killed_after_users=created, rows_in_flight_at_kill=in_flight,
         resumed_requests=second["requests"], throttled_items=second["throttled"], confirmed_by_marker=second["confirmed"],
         wall_time_s=rounded(seconds, 1), throttle_probability=0.1, **extra)  # fmt: skip


# --- the worker (a child process, so it can be killed like a real one) ------------------------------------


def _child_main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")
    django.setup()
    if len(argv) < 2 or argv[0] != "work":
        print("usage: python -m bench.bench_bulkadd work IMPORT_ID [--stale SECONDS]", file=sys.stderr)
        return 2
    from datetime import timedelta

    from django.test.utils import override_settings

    from graph.client import GraphClient
    from graph.http import build_session
    from users.bulkadd import runner, service
    from users.models import BulkImport

    bulk_import = BulkImport.objects.select_related("tenant", "tenant__connection").get(pk=int(argv[1]))
    stale = timedelta(seconds=float(argv[3])) if argv[2:3] == ["--stale"] else None
    session = build_session()
    client = GraphClient.for_tenant(bulk_import.tenant, priority="low", session=session)
    counter = RequestCounter(client.version_root).install(session)
    outcomes = []
    original = runner.Runner.run

    def run(self):  # keep the runner's own counters for the result line
        outcomes.append(self.outcome)
        return original(self)

    runner.Runner.run = run
    with override_settings(DEBUG=False):
        started = time.perf_counter()
        status = service.work(bulk_import.pk, client=client, stale=stale)
        seconds = time.perf_counter() - started
    outcome = outcomes[0] if outcomes else runner.Outcome()
    print(RESULT_PREFIX + json.dumps({
        "status": status, "seconds": seconds, "requests": counter.count, "batches": outcome.batches,
        "throttled": outcome.throttled, "confirmed": outcome.confirmed_by_marker, "concurrency": runner.concurrency(),
    }), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
