"""Directory sync benchmarks against the sandbox over real HTTP (gunicorn on loopback, 50 ms added per
Graph request on the customer tenant).

sync_full — one full sync of a 100,000-user tenant (``--size small``: 5,000), measured in a child process
  so ``ru_maxrss`` starts from a clean baseline (nothing seeded or benchmarked before in that process):
    * Graph requests (a response hook on the client's session) against the floor ceil(users / 999);
    * wall time, and its ratio to a bare loop that only downloads the same pages (same $select,
      $top=999, same token, same session, JSON decoded to follow the nextLink);
    * peak memory: the peak-RSS delta of the timed run (VmHWM reset at its start, see util.PeakRss; the
      ``resource.getrusage`` delta is printed beside it but a vfork+exec child inherits its parent's
      ru_maxrss, so it can read 0) and the tracemalloc peak of a second, traced run (tracemalloc slows
      allocation down, so it never runs during the timing). DEBUG is off, as in production: with it on,
      Django keeps every query's parameters (each page's JSON) in memory;
    * the same crawl with Microsoft's msgraph-sdk as the peer (bench/bench_sync_peer.py).
  The timed run is a first sync (the tenant's cache emptied first); the traced run re-syncs over it.
  Sign-in activity (a separate query, P1/P2 tenants only) is not part of these figures: sign_ins=False.

sync_delta — the incremental round after 100 changes made in the sandbox (90 updates, 5 soft deletes,
  5 creates): requests and time.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import tracemalloc
import uuid

from .harness import ROOT, BenchContext, benchmark, emit
from .util import (
    PeakRss,
    RequestCounter,
    add_latency,
    child_env,
    customer_tenant,
    ensure_sandbox_world,
    log,
    rounded,
    sandbox_server,
)

FULL_USERS, SMALL_USERS = 100_000, 5_000
PAGE_SIZE = 999
RESULT_PREFIX = "BENCH-RESULT "


def _users(context: BenchContext) -> int:
    return FULL_USERS if context.full else SMALL_USERS


def _client(tenant):
    """A GraphClient on its own session, with a hook counting the Graph requests it sends."""
    from graph.client import GraphClient
    from graph.http import build_session

    session = build_session()
    client = GraphClient.for_tenant(tenant, priority="low", session=session)
    counter = RequestCounter(client.version_root).install(session)
    return client, counter


def _token(client) -> str:
    return client.tokens.get_token(client.connection, client.tenant_id, client.resource, client.mode)


def bare_download(client) -> tuple[int, int, float]:
    """Download the full sync's pages and nothing else: (pages, users, seconds)."""
    from users.sync import USER_SELECT

    session, headers = (
        client.session,
        {"Authorization": f"Bearer {_token(client)}", "Accept": "application/json"},
    )
    url = f"{client.version_root}/users"
    params: dict | None = {"$select": ",".join(USER_SELECT), "$top": PAGE_SIZE}
    pages = users = 0
    started = time.perf_counter()
    while url:
        response = session.get(url, params=params, headers=headers, timeout=60)
        response.raise_for_status()
        body = response.json()
        pages += 1
        users += len(body.get("value") or [])
        url, params = body.get("@odata.nextLink"), None
    return pages, users, time.perf_counter() - started


def _empty_cache(tenant) -> None:
    """Forget the tenant's cached users, so the timed run is a first full sync."""
    from users.models import DirectorySyncState, DirectoryUser, DirectoryUserLicense

    DirectoryUserLicense.objects.filter(tenant=tenant)._raw_delete("default")
    DirectoryUser.objects.filter(tenant=tenant)._raw_delete("default")
    DirectorySyncState.objects.filter(tenant=tenant).update(delta_link="", delta_select="")


def measure_full_sync(tenant_pk: int) -> dict:
    """In the child process: timed first sync (requests, time, RSS), bare download, traced re-sync."""
    from tenants.models import Tenant
    from users.sync import sync_tenant

    tenant = Tenant.objects.select_related("connection").get(pk=tenant_pk)
    client, counter = _client(tenant)
    _token(client)  # the token request is the identity platform's, not part of the crawl
    _empty_cache(tenant)
    with PeakRss() as rss:
        started = time.perf_counter()
        result = sync_tenant(tenant, full=True, client=client, sign_ins=False)
        sync_seconds = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError(f"the full sync failed: {result.error}")
    sync_requests = counter.count
    pages, listed, bare_seconds = bare_download(client)
    tracemalloc.start()
    traced = sync_tenant(tenant, full=True, client=client, sign_ins=False)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "users": result.users,
        "requests": sync_requests,
        "result_requests": result.requests,
        "sync_seconds": sync_seconds,
        "rss_before_mb": rss.start_mb,
        "rss_delta_mb": rss.delta_mb,
        "rusage_maxrss_delta_mb": rss.rusage_delta_mb,
        "bare_pages": pages,
        "bare_users": listed,
        "bare_seconds": bare_seconds,
        "traced_ok": traced.ok,
        "tracemalloc_peak_mb": traced_peak / 2**20,
    }


def _run_child(tenant_pk: int) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_sync", "measure", str(tenant_pk)],
        cwd=ROOT,
        env=child_env(),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError("the measuring process printed no result")


@benchmark("sync_full")
def sync_full(context: BenchContext) -> None:
    from .bench_sync_peer import PeerUnavailable, crawl_with_msgraph_sdk

    size = _users(context)
    (row,) = ensure_sandbox_world(1, size)
    with sandbox_server() as server:
        tenant = customer_tenant(row["tenant_id"])
        add_latency(row["tenant_id"])
        log(f"full sync of {row['user_count']:,} users ({row['display_name']}), measured in a child process")
        figures = _run_child(tenant.pk)
        users = figures["users"]
        extra = {"users": users, "size": context.size, "latency_ms": 50}
        emit("sync_full", "graph_requests", figures["requests"], "requests", **extra,
             includes="1 /subscribedSkus + 1 /users/delta?$deltatoken=latest + the /users pages")  # fmt: skip
        emit("sync_full", "graph_requests_floor", math.ceil(users / PAGE_SIZE), "requests", **extra)
        emit("sync_full", "wall_time", rounded(figures["sync_seconds"], 2), "s", **extra)
        emit("sync_full", "bare_download_time", rounded(figures["bare_seconds"], 2), "s",
             pages=figures["bare_pages"], **extra)  # fmt: skip
        ratio = figures["sync_seconds"] / figures["bare_seconds"]
        emit("sync_full", "ratio_to_bare_download", rounded(ratio, 2), "x", target="<= 1.5", **extra)
        emit("sync_full", "peak_rss_delta", rounded(figures["rss_delta_mb"]), "MB", target="<= 300",
             baseline_mb=rounded(figures["rss_before_mb"]), how="VmHWM reset at the start, minus VmRSS then",
             rusage_maxrss_delta_mb=rounded(figures["rusage_maxrss_delta_mb"]), **extra)  # fmt: skip
        emit("sync_full", "tracemalloc_peak", rounded(figures["tracemalloc_peak_mb"]), "MB",
             target="<= 300", run="re-sync over the cached rows, traced", **extra)  # fmt: skip
        token = customer_token(tenant)
        try:
            log("the same crawl with msgraph-sdk (peer)")
            pages, listed, peer_seconds = crawl_with_msgraph_sdk(server.base_url, token, PAGE_SIZE)
        except PeerUnavailable as exc:
            emit("sync_full", "peer_msgraph_sdk_wall_time", None, "s", reason=str(exc), **extra)
            return
        emit("sync_full", "peer_msgraph_sdk_wall_time", rounded(peer_seconds, 2), "s",
             pages=pages, users_listed=listed, **extra)  # fmt: skip
        emit("sync_full", "ratio_ours_to_peer", rounded(figures["sync_seconds"] / peer_seconds, 2), "x",
             ours="full sync incl. database writes", peer="download + model parsing only", **extra)  # fmt: skip


def customer_token(tenant) -> str:
    from graph.client import GraphClient

    return _token(GraphClient.for_tenant(tenant))


# --- delta -------------------------------------------------------------------------------------------

CHANGES_UPDATED, CHANGES_DELETED, CHANGES_CREATED = 90, 5, 5


def make_changes(sandbox_tenant_id: str, domain: str) -> int:
    """100 directory changes through graph.sandbox.directory (the sandbox's only writers)."""
    from graph.sandbox import directory
    from graph.sandbox.models import SandboxTenant, SandboxUser

    sandbox = SandboxTenant.objects.get(pk=sandbox_tenant_id)
    live = SandboxUser.objects.filter(tenant=sandbox, deleted_datetime__isnull=True, user_type="Member")
    picked = list(live.order_by("?")[: CHANGES_UPDATED + CHANGES_DELETED])
    stamp = time.strftime("%H%M%S")
    for user in picked[:CHANGES_UPDATED]:
        directory.update_user(user, {"jobTitle": f"Bench {stamp}", "department": "Benchmarks"})
    for user in picked[CHANGES_UPDATED:]:
        directory.soft_delete_user(user)
    for _ in range(CHANGES_CREATED):
        alias = f"bench-{uuid.uuid4().hex[:12]}"
        directory.create_user(
            sandbox,
            {"accountEnabled": True, "displayName": f"Bench {alias}", "mailNickname": alias,
             "userPrincipalName": f"{alias}@{domain}", "passwordProfile": {}},
            password=f"Bench-{uuid.uuid4().hex[:10]}!A1",
        )  # fmt: skip
    return len(picked) + CHANGES_CREATED


@benchmark("sync_delta")
def sync_delta(context: BenchContext) -> None:
    from django.test.utils import override_settings

    from users.models import DirectorySyncState
    from users.sync import sync_tenant
    from users.sync.service import SELECT_FINGERPRINT

    (row,) = ensure_sandbox_world(1, _users(context))
    with sandbox_server(), override_settings(DEBUG=False):
        tenant = customer_tenant(row["tenant_id"])
        add_latency(row["tenant_id"])
        client, counter = _client(tenant)
        state = DirectorySyncState.objects.filter(tenant=tenant).first()
        # A deltaLink names the server that issued it, and every bench run serves on a new port.
        usable = (
            state is not None
            and state.delta_link.startswith(client.version_root)
            and state.delta_select == SELECT_FINGERPRINT
        )
        if not usable:
            log("no deltaLink for this server yet: running a full sync first (not measured)")
            sync_tenant(tenant, full=True, client=client, sign_ins=False)
        sync_tenant(tenant, client=client, sign_ins=False)  # drain anything pending (not measured)
        changes = make_changes(row["tenant_id"], row["default_domain"])
        counter.count = 0
        started = time.perf_counter()
        result = sync_tenant(tenant, client=client, sign_ins=False)
        seconds = time.perf_counter() - started
        if not result.ok or result.kind != "delta":
            raise RuntimeError(f"the delta sync did not run as a delta round: {result}")
        extra = {"users": result.users, "changes": changes, "size": context.size, "latency_ms": 50}
        emit("sync_delta", "graph_requests", counter.count, "requests", target="<= 3",
             includes="1 /subscribedSkus + the delta pages", **extra)  # fmt: skip
        emit("sync_delta", "wall_time", rounded(seconds * 1000), "ms", changed=result.changed,
             removed=result.removed, **extra)  # fmt: skip


def _child_main(argv: list[str]) -> int:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")
    django.setup()
    if argv[:1] != ["measure"] or len(argv) != 2:
        print("usage: python -m bench.bench_sync measure TENANT_PK", file=sys.stderr)
        return 2
    from django.test.utils import override_settings

    # As in production: with DEBUG on, Django keeps every query and its parameters (each page's JSON).
    with override_settings(DEBUG=False):
        figures = measure_full_sync(int(argv[1]))
    print(RESULT_PREFIX + json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
