"""``python -m verify.load``: many technicians at once against the production shape on loopback.

The stack: PostgreSQL (VERIFY_DATABASE_URL) and Redis (VERIFY_REDIS_URL: cache and Celery broker), a Celery
worker consuming every queue (concurrency 2), gunicorn serving the portal (DEBUG off, whitenoise's
manifest storage, the settings of verify/load_settings.py) and a second gunicorn standing in for
Microsoft: the sandbox answering Graph, Exchange and the identity platform. The portal reaches the sandbox
over HTTP exactly as it would reach Microsoft; keeping it out of the portal's own workers means a page
waiting on Graph never waits for a worker slot of the server it is itself holding.

The world: the sandbox's load-test tenants (bench/util.py ensure_sandbox_world: VERIFY_LOAD_TENANTS x
VERIFY_LOAD_USERS, default 3 x 1,000, reused when already seeded), discovered and synced into the
directory cache first, and VERIFY_LOAD_SESSIONS technicians (default 50; Reader, Helpdesk, Editor and Admin
with all-tenant and per-tenant scopes), each signing in through the login form.

Then for VERIFY_LOAD_SECONDS (default 60) every session loops verify/load_session.py's mix: users table
(one tenant and All tenants, with what the page loads on arrival), search, sort and filter, page 2, More
info, View user with its live sections and row menu, the audit log (Admins), the CSV export (streamed, read
to the end), and for acting roles block + unblock sign-in of a user of its own through the action modal
(htmx POST with CSRF) and a revoke-sessions Job on several users that the Celery worker runs while the
session polls its page. Afterwards every Job must have reached a final state and every user must be
unblocked again. Figures: load.* (verify/figures.py).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from bench.harness import process_cpu_seconds, tree_cpu_seconds

from .figures import ROOT, figure
from .load_session import THINK_MS, Plan, TechnicianSession
from .loadkit import RequestLog, kinds_p95, summarize
from .stack import verify_database_url, verify_redis_url

ROLE_CYCLE = ("reader", "helpdesk", "editor", "admin", "editor")  # per five: 1 R, 1 H, 2 E, 1 A
USERNAME = "verify-load-{:03d}"
TABLE_KINDS = ("table", "search", "sort_filter", "page2", "panel")
# At ~75 ms of server CPU per request (portal + sandbox), 50 sessions thinking 1-4 s keep two cores nearly
# busy, so latency includes queueing. The bound sits far below what a lock wait, a stuck worker or a
# timeout (60 s) produces. VERIFY_LOAD_P95_MS overrides it for other hardware.
P95_BOUND_MS = 5000
JOB_DRAIN_SECONDS = 60
STOP_SECONDS = 15


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def log(message: str) -> None:
    print(f"# load: {message}", file=sys.stderr, flush=True)


def _configure() -> None:
    """Point this process and its children at the verify database and Redis, production-like settings."""
    os.environ["DATABASE_URL"] = os.environ.get("VERIFY_DATABASE_URL") or verify_database_url(
        "cippusers_verify_load"
    )
    redis = os.environ.get("VERIFY_REDIS_URL") or verify_redis_url()
    if redis:
        os.environ["REDIS_URL"] = redis
    os.environ["DJANGO_SETTINGS_MODULE"] = "verify.load_settings"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no access log lines; warnings and tracebacks stay
    import django

    django.setup()


@contextmanager
def celery_worker(env: dict[str, str]):
    """``celery -A cippusers worker`` on every queue, as production runs it; stopped on exit."""
    cmd = [sys.executable, "-m", "celery", "-A", "cippusers", "worker", "--concurrency", "2",
           "--loglevel", "WARNING", "--hostname", f"verify-load-{os.getpid()}@%h"]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=ROOT, env=env)  # noqa: S603 - fixed argv
    try:
        _await_heartbeat(process, f"verify-load-{os.getpid()}@")
        yield process
    finally:
        _stop(process)


def _await_heartbeat(process: subprocess.Popen, hostname: str, timeout: float = 90) -> None:
    """Until this worker has beaten on every queue (what /healthz, and so the servers' start-up, waits for)."""
    from django.conf import settings

    from cippusers.health import queue_heartbeats, worker_mode

    if worker_mode() == "embedded":  # no Redis: the file-system broker; /healthz checks no heartbeat then
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beats = queue_heartbeats(settings.WORKER_QUEUES)
        if all(beat and beat["hostname"].startswith(hostname) for beat in beats.values()):
            return
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited during start-up")
        time.sleep(0.5)
    raise RuntimeError(f"the Celery worker did not beat on every queue within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the world ----------------------------------------------------------------------------------------------


def prepare_tenants(sandbox_rows: list[dict]):
    """The portal's Tenant rows of the load-test tenants, their directory caches brought up to date."""
    from bench.util import customer_tenant
    from users.sync import sync_tenant

    tenants = []
    for row in sandbox_rows:
        tenant = customer_tenant(row["tenant_id"])
        # Full: the deltaLink a previous run stored names that run's Graph server port, and the client
        # rightly refuses to send a token to a host that is not the connection's.
        result = sync_tenant(tenant, full=True)
        if not result.ok:
            raise RuntimeError(f"the directory sync of {tenant.display_name} failed: {result.error}")
        tenants.append(tenant)
    return tenants


def _candidates(tenant) -> list[str]:
    """Users a Helpdesk technician may act on: enabled cloud-only members holding no directory role (neither
    directly nor through a role-assignable group), present in the directory cache, as "<tenant GUID>/<user id>"."""
    from graph.sandbox.models import SandboxUser
    from users.models import DirectoryUser

    ids = list(
        SandboxUser.objects.filter(tenant_id=tenant.tenant_id, deleted_datetime__isnull=True, account_enabled=True,
                                   user_type="Member", role_memberships__isnull=True)
        .exclude(properties__onPremisesSyncEnabled=True)
        .exclude(group_memberships__group__role_memberships__isnull=False)
        .order_by("id").values_list("id", flat=True)[:2000]
    )  # fmt: skip
    cached = set(
        DirectoryUser.objects.filter(tenant=tenant, user_id__in=ids, account_enabled=True).values_list(
            "user_id", flat=True
        )
    )
    return [f"{tenant.tenant_id}/{user_id}" for user_id in ids if user_id in cached]


def technicians(tenants, count: int) -> list[Plan]:
    """``count`` technicians with fresh passwords, mixed roles and scopes, and the users each acts on."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from tenants.models import TechnicianProfile

    User = get_user_model()
    pools = {tenant.pk: _candidates(tenant) for tenant in tenants}
    job_size = settings.ACTIONS_INLINE_MAX + 1  # one more than runs in the request: a Celery Job
    plans = []
    for i in range(count):
        role = ROLE_CYCLE[i % len(ROLE_CYCLE)]
        everywhere = role == "admin" or i % 3 == 0
        scoped = tenants if everywhere else [tenants[i % len(tenants)]]
        if role == "editor" and not everywhere and len(tenants) > 1:
            scoped = [scoped[0], tenants[(i + 1) % len(tenants)]]
        password = secrets.token_urlsafe(18)
        user, _ = User.objects.get_or_create(username=USERNAME.format(i + 1))
        user.password = make_password(password)
        user.is_active, user.is_superuser = True, False
        user.save()
        profile, _ = TechnicianProfile.objects.update_or_create(
            user=user,
            defaults={"role": role, "scope": TechnicianProfile.Scope.ALL if everywhere else TechnicianProfile.Scope.ONLY},
        )  # fmt: skip
        profile.tenants.set([] if everywhere else scoped)
        plan = Plan(user.username, password, role, [t.slug for t in scoped], seed=i)
        pool = pools[scoped[i % len(scoped)].pk]  # spread over the tenants, always one in the scope
        if role != "reader" and len(pool) > job_size:
            plan.own_user = pool.pop()
            plan.job_users = [pool.pop() for _ in range(job_size)]
        plans.append(plan)
    return plans


# --- the run --------------------------------------------------------------------------------------------------


@dataclass
class Run:
    signed_in: int
    login_log: RequestLog
    log: RequestLog
    seconds: float  # wall time of the timed run
    sessions: list[TechnicianSession]
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used during the timed run, by process
    jobs: int = 0
    stuck: int = 0
    failed_jobs: int = 0
    blocked: int = 0
    hung: int = 0  # sessions still inside a request two minutes after the run's end


def database_backends() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database (the portal's, the sandbox's and
    the worker's persistent connections), by pid; empty on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: process_cpu_seconds(pid) for pid in pids}


def run_sessions(base_url: str, plans: list[Plan], seconds: int, processes: dict[str, int]) -> Run:
    """Sign everyone in (in parallel), then let every session loop for ``seconds``; the CPU the processes
    (name -> pid) and this client used meanwhile."""
    login_log, run_log = RequestLog(), RequestLog()
    sessions = [TechnicianSession(base_url, plan, login_log, deadline=0.0) for plan in plans]
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        signed_in = list(pool.map(lambda s: s.login(), sessions))
    active = [s for s, ok in zip(sessions, signed_in, strict=True) if ok]
    log(f"{len(active)} of {len(sessions)} technicians signed in; running {seconds} s")
    cpu_before = {name: tree_cpu_seconds(pid) for name, pid in processes.items()}
    database_before = database_backends()
    client_before = time.process_time()
    started = time.monotonic()
    for session in active:
        session.log, session.deadline = run_log, started + seconds
    threads = [threading.Thread(target=s.run, name=s.plan.username, daemon=True) for s in active]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, started + seconds + 120 - time.monotonic()))
    wall = time.monotonic() - started
    cpu = {name: tree_cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
    cpu["client"] = time.process_time() - client_before
    # Backends opened during the run count from zero; their CPU is read while their connections persist.
    cpu["postgres"] = sum(value - database_before.get(pid, 0.0) for pid, value in database_backends().items())
    hung = [t.name for t in threads if t.is_alive()]
    if hung:
        log(f"sessions still running after the run: {', '.join(hung)}")
    return Run(len(active), login_log, run_log, wall, active, cpu, hung=len(hung))


def drain_jobs(job_ids: list[int]) -> tuple[int, int]:
    """Wait until every Job the sessions started is finished: (not finished after JOB_DRAIN_SECONDS,
    finished but not succeeded)."""
    from users.models import Job

    deadline = time.monotonic() + JOB_DRAIN_SECONDS
    while True:
        open_jobs = Job.objects.filter(pk__in=job_ids).exclude(status__in=Job.FINISHED).count()
        if not open_jobs or time.monotonic() > deadline:
            break
        time.sleep(1)
    failed = Job.objects.filter(pk__in=job_ids, status__in=Job.FINISHED).exclude(status=Job.Status.SUCCEEDED)
    return open_jobs, failed.count()


def left_blocked(plans: list[Plan]) -> int:
    """Users the sessions blocked that are not enabled again (in Microsoft's view, the sandbox)."""
    from graph.sandbox.models import SandboxUser

    ids = [plan.own_user.split("/")[1] for plan in plans if plan.own_user]
    return SandboxUser.objects.filter(pk__in=ids, account_enabled=False).count()


def report(summary: dict) -> None:
    log(f"{'kind':<14} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, row in summary["by_kind"].items():
        log(f"{kind:<14} {row['requests']:>8} {row['errors']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['p99_ms']:>8} {row['max_ms']:>8}")  # fmt: skip
    log(f"statuses: {summary['statuses']}")


def measure() -> int:
    from django.core.management import call_command

    from bench.harness import SandboxServer
    from bench.util import child_env, ensure_sandbox_world, migrate
    from graph.sandbox.demo import wire_sandbox_connection

    seconds = _int_env("VERIFY_LOAD_SECONDS", 60)
    count = _int_env("VERIFY_LOAD_SESSIONS", 50)
    started = time.monotonic()
    migrate()
    with ThreadPoolExecutor(max_workers=1) as pool:  # collectstatic while the seed (a child process) runs
        collected = pool.submit(call_command, "collectstatic", interactive=False, verbosity=0)
        rows = ensure_sandbox_world(_int_env("VERIFY_LOAD_TENANTS", 3), _int_env("VERIFY_LOAD_USERS", 1000))
        collected.result()
    log(f"database, world and static files ready after {time.monotonic() - started:.0f} s")
    env = child_env()
    with ExitStack() as stack:
        # The worker first: /healthz (which the servers' start-up waits for) wants a heartbeat per queue.
        worker = stack.enter_context(celery_worker(env))
        graph = stack.enter_context(SandboxServer(env, workers=2, threads=8))
        wire_sandbox_connection(f"{graph.base_url}/sandbox")
        tenants = prepare_tenants(rows)
        plans = technicians(tenants, count)
        log(f"worker, Graph server, sync and technicians ready after {time.monotonic() - started:.0f} s")
        portal = stack.enter_context(
            SandboxServer(env, workers=_int_env("VERIFY_LOAD_WORKERS", 4), threads=_int_env("VERIFY_LOAD_THREADS", 4))
        )  # fmt: skip
        log(
            f"stack up in {time.monotonic() - started:.0f} s: portal {portal.base_url}, Graph {graph.base_url}"
        )
        processes = {"portal": portal.process.pid, "graph": graph.process.pid, "worker": worker.pid}
        run = run_sessions(portal.base_url, plans, seconds, processes)
        job_ids = [job for session in run.sessions for job in session.jobs]
        run.jobs = len(job_ids)
        run.stuck, run.failed_jobs = drain_jobs(job_ids)
        run.blocked = left_blocked(plans)
    return record(run, started)


def record(run: Run, started: float) -> int:
    """Print the per-kind table and the first errors, record the figures; 0 when every bound is met."""
    summary = summarize(run.log.samples)
    everything = summarize(run.login_log.samples + run.log.samples)
    errors = everything["errors"] + len(run.login_log.failures) + len(run.log.failures) + run.hung
    report(summary)
    for line in run.login_log.error_lines + run.log.error_lines:
        log(f"error: {line}")
    log("CPU seconds during the run: " + ", ".join(f"{name} {value:.1f}" for name, value in run.cpu.items()))
    sessions, wall, samples = run.sessions, run.seconds, run.log.samples
    roles = ", ".join(
        f"{r} {sum(1 for s in sessions if s.plan.role == r)}" for r in dict.fromkeys(ROLE_CYCLE)
    )
    served = max(1, summary["requests"])
    cpu_ms = round(1000 * run.cpu.get("portal", 0.0) / served, 1)
    server_cpu = sum(value for name, value in run.cpu.items() if name != "client")
    timed = "every request of the timed run"
    figures = [
        figure("load.sessions", run.signed_in, at_least=50, detail=f"signed in through the login form ({roles})"),
        figure("load.requests", everything["requests"], detail=f"{wall:.0f} s of load plus the sign-ins"),
        figure("load.errors", errors, must_be=0,
               detail=f"5xx, connection errors, unexpected statuses, failed actions, hung sessions; "
               f"{everything['statuses']}"),
        figure("load.requests_per_s", round(summary["requests"] / wall, 1), "req/s",
               detail=f"{len(sessions)} sessions, think time {THINK_MS[0]}-{THINK_MS[1]} ms"),
        figure("load.p50_ms", summary["p50_ms"], "ms", detail=timed),
        figure("load.p95_ms", summary["p95_ms"], "ms", at_most=_int_env("VERIFY_LOAD_P95_MS", P95_BOUND_MS),
               detail=timed),
        figure("load.p99_ms", summary["p99_ms"], "ms", detail=timed),
        figure("load.p95_ms_table", kinds_p95(samples, TABLE_KINDS), "ms",
               detail="users table page, search, sort/filter, page 2, More info"),
        figure("load.p95_ms_action", kinds_p95(samples, ("action_run",)), "ms",
               detail="confirmed action POSTs (inline block/unblock, Job start)"),
        figure("load.p95_ms_user_page", kinds_p95(samples, ("user_page", "user_sections")), "ms",
               detail="View user and its live Graph sections"),
        figure("load.p95_ms_export", kinds_p95(samples, ("export",)), "ms", detail="whole CSV streamed"),
        figure("load.actions_run", sum(s.actions_run for s in sessions), detail=f"of which {run.jobs} Celery Jobs"),
        figure("load.exports", sum(s.exports for s in sessions), detail="CSV exports read to the end"),
        figure("load.stuck_jobs", run.stuck, must_be=0,
               detail=f"of {run.jobs} Jobs, not finished {JOB_DRAIN_SECONDS} s after the run"),
        figure("load.failed_jobs", run.failed_jobs, must_be=0, detail="Jobs finished other than succeeded"),
        figure("load.users_left_blocked", run.blocked, must_be=0, detail="every block was followed by its unblock"),
        figure("load.portal_cpu_ms_per_request", cpu_ms, "ms", detail="the portal's gunicorn CPU / requests served"),
        figure("load.server_cpu_ms_per_request", round(1000 * server_cpu / served, 1), "ms",
               detail="portal + Graph sandbox + worker + PostgreSQL CPU / requests served; about independent "
               "of what else the machine runs, unlike the latencies"),
    ]  # fmt: skip
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0 if all(fig.ok for fig in figures) else 1


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the worker and both servers are stopped; SIGINT is
    # set too because a shell starting this in the background hands it down ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    _configure()
    try:
        return measure()
    except KeyboardInterrupt:
        log("interrupted; stopped the worker and servers")
        return 130


if __name__ == "__main__":
    sys.exit(main())
