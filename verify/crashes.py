"""Crashes (issue 8): the web and the worker killed with SIGKILL in the middle of a bulk add and of a bulk
action; after a restart every Job finishes (or is marked failed) with each row accounted for, no user is
created twice and no target is done twice.

The production shape on loopback: PostgreSQL + Redis (VERIFY_DATABASE_URL / VERIFY_REDIS_URL), the sandbox
served by a gunicorn of its own (it plays Microsoft, so it stays up), the portal served by another gunicorn
(the "web": master and workers killed at once, restarted on the same port) and a Celery worker (acks_late;
killed with its pool, restarted). A technician signs in through the login form and drives both runs over
HTTP, as a browser would:

A  bulk add of ROWS users (CSV upload, preview, Run): the web is killed once a quarter of the rows exist and
   the progress page is polled across the restart; the worker is killed past half, with rows in flight.
B  "Add to group" over TARGETS users (the action modal's POST of a ticked selection), a Job: the web is
   killed, then the worker while a $batch of the Job is in flight.
Once the Jobs' heartbeats are older than ACTIONS_JOB_STALE_SECONDS (30 s, the setting's floor) the beat tasks
resume_stale_bulk_imports and resume_stale_action_jobs run once, as beat would, and the restarted worker
finishes both. Counted in the sandbox: users per UPN and with the import's marker, group memberships per
target; and in the app: rows and items per status, audit entries per target.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid

import requests

from bench.bench_bulkadd import _census, _clean, _csv, _stock
from bench.harness import ROOT, SandboxServer
from bench.util import add_latency, child_env, customer_tenant, migrate
from bench.util import log as _log

from .figures import figure
from .stack import verify_database_url, verify_redis_url

ROWS = 200  # bulk add rows (A)
TARGETS = 180  # users selected for "Add to group" (B): the demo tenant's enabled users holding no role
STALE_SECONDS = 30  # ACTIONS_JOB_STALE_SECONDS for this run: the setting's floor
LATENCY_MS = 400  # added per Graph request, so each kill lands mid-run
SANDBOX_TENANT = "Fabrikam Inc"  # the demo customer with ~250 users
TECHNICIAN = "verify-crashes"
STARTED = time.monotonic()
FINISH_TIMEOUT = 90  # seconds a resumed Job may take to finish
POLL_SECONDS = 1.5  # how often the progress pages are looked at (each one is a full page render)


def log(message: str) -> None:
    _log(f"{time.monotonic() - STARTED:5.0f} s  {message}")


def _environment() -> None:
    """DATABASE_URL and REDIS_URL for this process and every child (web, worker, sandbox)."""
    database = os.environ.get("VERIFY_DATABASE_URL") or verify_database_url("cippusers_verify_crash")
    redis_url = os.environ.get("VERIFY_REDIS_URL") or verify_redis_url(11)
    if not redis_url:
        raise SystemExit(
            "crashes: Redis must answer on 127.0.0.1:6379 (the broker the worker is killed under)"
        )
    os.environ.update({
        "DATABASE_URL": database, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "cippusers.settings", "ACTIONS_JOB_STALE_SECONDS": str(STALE_SECONDS),
        "LOG_LEVEL": "WARNING",  # no access log line per poll; errors still show
    })  # fmt: skip


class Worker:
    """``celery worker`` in a process group of its own, so a kill takes its pool children with it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        cmd = [sys.executable, "-m", "celery", "-q", "-A", "cippusers", "worker", "--concurrency", "2",
               "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "-n", f"crash{self.starts}@%h"]  # fmt: skip
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), start_new_session=True)  # noqa: S603 - fixed argv

    def kill(self) -> int:
        """SIGKILL the whole group (main process and pool); returns how many processes it held."""
        from bench.harness import child_pids

        count = 1 + len(child_pids(self.process.pid))
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        return count

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Stack:
    """The sandbox, the web and the worker; kills counted."""

    def __init__(self) -> None:
        sandbox_env = {**child_env(), "DJANGO_SETTINGS_MODULE": "bench.sandbox_settings", "DEBUG": "false"}
        self.sandbox = SandboxServer(sandbox_env, workers=2, threads=16)
        self.web = SandboxServer(child_env(), workers=2, threads=4)
        self.worker = Worker()
        self.kills = self.processes_killed = 0

    def __enter__(self) -> Stack:
        try:
            self.sandbox.__enter__()
            self.web.__enter__()
            self.worker.start()
        except BaseException:
            self.__exit__(None, None, None)  # no orphan server left behind
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.worker.stop()
        self.web.__exit__(*exc)
        self.sandbox.__exit__(*exc)

    def kill_web(self) -> None:
        self.processes_killed += self.web.kill()
        self.kills += 1
        self.web = SandboxServer(
            self.web.env, workers=self.web.workers, threads=self.web.threads, port=self.web.port
        )
        self.web.__enter__()

    def kill_worker(self) -> None:
        self.processes_killed += self.worker.kill()
        self.kills += 1
        self.worker.start()


class Browser:
    """A technician's browser: a requests session signed in through the login form."""

    def __init__(self, stack: Stack, username: str, password: str) -> None:
        self.stack, self.http, self.polled = stack, requests.Session(), {}
        page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = self.post(
            "/login/", {"username": username, "password": password, "csrfmiddlewaretoken": token}
        )
        if answer.status_code != 302 or "sessionid" not in self.http.cookies:
            raise RuntimeError(f"the login form refused the technician (HTTP {answer.status_code})")

    def url(self, path: str) -> str:
        return self.stack.web.base_url + path

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.url(path), allow_redirects=False, timeout=60, **kwargs)

    def post(self, path: str, data, **kwargs) -> requests.Response:
        headers = {"X-CSRFToken": self.http.cookies.get("csrftoken", "")}
        return self.http.post(
            self.url(path), data=data, headers=headers, allow_redirects=False, timeout=120, **kwargs
        )

    def poll(self, path: str) -> int:
        """Look at a progress page, as its own polling would, at most every POLL_SECONDS; 1 if it failed."""
        now = time.monotonic()
        if now - self.polled.get(path, 0.0) < POLL_SECONDS:
            return 0
        self.polled[path] = now
        return int(self.get(path).status_code != 200)


# --- the world ------------------------------------------------------------------------------------------------


def _world():
    """The demo world (seeded once per database) wired to the sandbox server; the portal's tenant, synced."""
    from graph.sandbox import seed
    from graph.sandbox.models import SandboxTenant

    migrate()
    if (
        seed.partner_tenant() is None
        or not SandboxTenant.objects.filter(display_name=SANDBOX_TENANT).exists()
    ):
        log("seeding the demo sandbox world (once per database)")
        seed.seed_demo()
    return next(r for r in seed.demo_summary() if r["display_name"] == SANDBOX_TENANT)


def _technician(password: str):
    from django.contrib.auth import get_user_model

    from tenants.models import TechnicianProfile

    user, _ = get_user_model().objects.get_or_create(username=TECHNICIAN)
    user.set_password(password)
    user.save()
    TechnicianProfile.objects.update_or_create(
        user=user, defaults={"role": TechnicianProfile.Role.EDITOR, "scope": TechnicianProfile.Scope.ALL}
    )
    return user


def _wait(condition, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


# --- A: bulk add ------------------------------------------------------------------------------------------------


def bulk_add(stack: Stack, browser: Browser, world: dict, tenant, prefix: str, sku, group) -> dict:
    from users.models import BulkImport, BulkImportRow

    content = _csv(prefix, world["default_domain"], ROWS, sku, group)
    uploaded = browser.post("/users/bulk-add/upload/", {"tenant": world["tenant_id"], "kind": "users"},
                            files={"file": (f"{prefix}.csv", content, "text/csv")})  # fmt: skip
    match = re.search(r"/users/bulk-add/(\d+)/$", uploaded.headers.get("Location", ""))
    if uploaded.status_code != 302 or not match:
        raise RuntimeError(f"the upload was not accepted (HTTP {uploaded.status_code})")
    pk = int(match.group(1))
    started = browser.post(f"/users/bulk-add/{pk}/run/", {})
    if not started.headers.get("Location", "").endswith(f"/users/bulk-add/{pk}/progress/"):
        raise RuntimeError(f"Run did not start the import (HTTP {started.status_code})")
    bulk_import = BulkImport.objects.select_related("job").get(pk=pk)
    log(f"A: {ROWS} rows uploaded and checked; Run pressed (job {bulk_import.job_id})")
    rows = bulk_import.rows.exclude(status=BulkImportRow.Status.LEFT_OUT)
    created = rows.filter(user_id__isnull=False)
    progress = f"/users/bulk-add/{pk}/progress/"
    page_errors = 0

    def poll(share: float, in_flight: bool = False) -> bool:
        nonlocal page_errors
        if created.count() >= share * ROWS:
            return not in_flight or rows.filter(status=BulkImportRow.Status.SENDING).exists()
        page_errors += browser.poll(progress)
        return False

    _wait(lambda: poll(0.25), 120, "a quarter of the rows")
    log(f"A: killing the web at {created.count()}/{ROWS} rows created")
    stack.kill_web()
    page_errors += browser.get(progress).status_code != 200  # the page works after the restart, mid-run
    _wait(lambda: poll(0.5, in_flight=True), 120, "half the rows, some in flight")
    in_flight = rows.filter(status=BulkImportRow.Status.SENDING).count()
    log(f"A: killing the worker at {created.count()}/{ROWS} rows created, {in_flight} in flight")
    stack.kill_worker()
    return {"import": bulk_import, "page_errors": page_errors, "progress": progress}


def bulk_add_figures(world: dict, run: dict, group) -> dict:
    from graph.sandbox.models import SandboxUser
    from users.bulkadd import plan
    from users.models import BulkImportRow

    Status = BulkImportRow.Status
    bulk_import = run["import"]
    job = bulk_import.job
    job.refresh_from_db()
    rows = bulk_import.rows.exclude(status=Status.LEFT_OUT)
    census = _census(world["tenant_id"], bulk_import, group)  # per UPN of the file: users, duplicates
    created = list(rows.filter(status__in=(Status.SUCCESS, Status.PARTIAL)).values_list("upn", flat=True))
    accounted = len(created) + rows.filter(status__in=(Status.FAILED, Status.CANCELLED)).count()
    users = SandboxUser.objects.filter(tenant_id=world["tenant_id"], deleted_datetime__isnull=True)
    # Whatever its UPN: every user in the tenant carrying this import's marker.
    marked = users.filter(
        properties__onPremisesExtensionAttributes={
            plan.marker_attribute(): plan.marker_value(bulk_import.marker)
        }
    ).count()
    present = set(
        users.filter(upn_lower__in=[u.lower() for u in created]).values_list("upn_lower", flat=True)
    )
    return {
        "finished": job.is_finished,
        "unaccounted": rows.count() - accounted,
        # A UPN twice, or more users carrying this import's marker than rows reported created.
        "duplicates": census["duplicates"] + max(0, marked - len(created)),
        "lost": sum(1 for upn in created if upn.lower() not in present),
        "detail": f"job {job.status}, {len(created)} created of {rows.count()}, {marked} with its marker",
    }


# --- B: add to group over a selection ------------------------------------------------------------------------------


def _role_holders() -> set[str]:
    """Users holding a directory role, directly or through a role-assignable group: the Editor running B
    is refused on them (privileged-target guard), which is right but not what this part measures."""
    from graph.sandbox.models import SandboxGroupMember, SandboxGroupRoleMember, SandboxRoleMember

    direct = SandboxRoleMember.objects.values_list("user_id", flat=True)
    role_groups = SandboxGroupRoleMember.objects.values("group_id")
    through_groups = SandboxGroupMember.objects.filter(group_id__in=role_groups).values_list(
        "user_id", flat=True
    )
    return {str(i) for i in direct} | {str(i) for i in through_groups}


def _targets(tenant, group) -> list:
    from graph.sandbox.models import SandboxGroupMember
    from users.models import DirectoryUser

    excluded = _role_holders() | {
        str(i) for i in SandboxGroupMember.objects.filter(group=group).values_list("user_id", flat=True)
    }
    users = DirectoryUser.objects.filter(tenant=tenant, account_enabled=True).order_by("user_principal_name")
    chosen = [u for u in users if str(u.user_id) not in excluded][:TARGETS]
    if len(chosen) < TARGETS:
        raise RuntimeError(f"only {len(chosen)} users outside {group.display_name} to add")
    return chosen


def add_to_group(stack: Stack, browser: Browser, tenant, group, targets) -> dict:
    from users.actions.jobs import CHUNK
    from users.models import Job, JobItem

    answer = browser.post("/users/actions/add-to-group/", {
        "user": [f"{tenant.tenant_id}/{u.user_id}" for u in targets], "confirmed": "1", "group": group.id,
        "expected_count": str(len(targets)), "typed_count": str(len(targets)),
    })  # fmt: skip
    match = re.search(r"/jobs/(\d+)/$", answer.headers.get("Location", ""))
    if answer.status_code != 302 or not match:
        raise RuntimeError(f"the action did not become a Job (HTTP {answer.status_code})")
    job = Job.objects.get(pk=int(match.group(1)))
    log(f"B: add to group of {len(targets)} users queued (job {job.pk})")
    done = job.items.filter(status__in=JobItem.FINISHED)
    page = f"/jobs/{job.pk}/"
    page_errors = 0

    def at(share: float, in_flight: bool = False) -> bool:
        nonlocal page_errors
        if done.count() >= share * len(targets):
            # in_flight: a whole chunk marked running and none of its answers recorded: the $batch is out.
            # Until then the database is looked at again at once (a page poll takes longer than a $batch).
            return not in_flight or job.items.filter(status=JobItem.Status.RUNNING).count() == CHUNK
        page_errors += browser.poll(page)
        return False

    _wait(lambda: at(0.2), 120, "a fifth of the targets")
    log(f"B: killing the web at {done.count()}/{len(targets)} targets done")
    stack.kill_web()
    page_errors += browser.get(page).status_code != 200
    _wait(lambda: at(0.45, in_flight=True), 120, "a $batch in flight past 45 %")
    log(f"B: killing the worker at {done.count()}/{len(targets)} targets done, a $batch in flight")
    stack.kill_worker()
    return {"job": job, "page_errors": page_errors, "progress": page}


def add_to_group_figures(run: dict, group, targets) -> dict:
    from graph.sandbox.models import SandboxGroupMember
    from users.actions.groups import ALREADY_MEMBER
    from users.models import AuditEntry, JobItem

    job = run["job"]
    job.refresh_from_db()
    items = job.items.all()
    ids = [str(u.user_id) for u in targets]
    members = {
        str(i)
        for i in SandboxGroupMember.objects.filter(group=group, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    }
    audits: dict[str, int] = {}
    for target_id in AuditEntry.objects.filter(job_id=job.pk).values_list("target_user_id", flat=True):
        audits[str(target_id)] = audits.get(str(target_id), 0) + 1
    # Every target was outside the group before: "already a member" means an earlier attempt (by a worker
    # that died before recording it) had added it, and the add was sent again.
    twice = {str(i.target_user_id) for i in items if i.message == ALREADY_MEMBER}
    confirmed = sum(1 for i in items if "restarted" in str((i.details or {}).get("note", "")))
    twice |= {target for target, count in audits.items() if count > 1}
    wrong = [i for i in ids if i not in members] + [
        str(i.target_user_id) for i in items if i.status != JobItem.Status.SUCCESS
    ]
    unaccounted = job.total - (job.succeeded + job.failed + job.skipped)
    unaccounted += items.exclude(status__in=JobItem.FINISHED).count()
    return {
        "finished": job.is_finished,
        "unaccounted": unaccounted,
        "twice": len(twice),
        "confirmed": confirmed,
        "wrong": len(set(wrong)),
        "detail": f"job {job.status}: {job.succeeded} succeeded, {job.skipped} skipped, {job.failed} failed; "
        f"{len(members)}/{len(ids)} members",
    }


# --- the run --------------------------------------------------------------------------------------------------------


def _resume_when_stale(jobs) -> None:
    """Beat's two tasks, run once each after the killed Jobs' heartbeats went stale."""
    from django.utils import timezone

    from users.tasks import resume_stale_action_jobs, resume_stale_bulk_imports

    for job in jobs:
        job.refresh_from_db()
    last = max(job.heartbeat_at for job in jobs if job.heartbeat_at)
    wait = (last - timezone.now()).total_seconds() + STALE_SECONDS + 1
    log(f"waiting {max(0, wait):.0f} s for the heartbeats to go stale, then resuming as beat would")
    time.sleep(max(0.0, wait))
    resumed = resume_stale_bulk_imports() + resume_stale_action_jobs()
    if resumed != len(jobs):
        log(f"the beat tasks resumed {resumed} job(s), expected {len(jobs)}")


def _flush_broker() -> None:
    """This run's Redis database starts empty: no message left by an earlier run (killed workers leave theirs
    unacknowledged until the visibility timeout)."""
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def main() -> int:
    _environment()
    import django

    django.setup()
    _flush_broker()
    world = _world()
    password = secrets.token_urlsafe(18)
    _technician(password)
    prefix = f"cr{uuid.uuid4().hex[:6]}"
    with Stack() as stack:
        from graph.sandbox.demo import wire_sandbox_connection
        from graph.sandbox.models import SandboxGroupMember
        from users.sync import sync_tenant

        wire_sandbox_connection(f"{stack.sandbox.base_url}/sandbox")
        tenant = customer_tenant(world["tenant_id"])
        sync_tenant(tenant, full=True)
        sku, group = _stock(world["tenant_id"], ROWS)
        targets = _targets(tenant, group)
        add_latency(world["tenant_id"], LATENCY_MS)
        log("stack up: sandbox, web and worker; tenant synced")
        try:
            browser = Browser(stack, TECHNICIAN, password)
            a = bulk_add(stack, browser, world, tenant, prefix, sku, group)
            b = add_to_group(stack, browser, tenant, group, targets)
            jobs = [a["import"].job, b["job"]]
            _resume_when_stale(jobs)
            try:
                _wait(lambda: all(j.refresh_from_db() or j.is_finished for j in jobs), FINISH_TIMEOUT,
                      "both Jobs to finish", step=1)  # fmt: skip
            except RuntimeError as error:
                log(str(error))
            log("both Jobs finished" if all(j.is_finished for j in jobs) else "a Job did not finish")
            page_errors = a["page_errors"] + b["page_errors"]
            page_errors += sum(browser.get(run["progress"]).status_code != 200 for run in (a, b))
            fa, fb = bulk_add_figures(world, a, group), add_to_group_figures(b, group, targets)
        finally:
            add_latency(world["tenant_id"], 0)
            _clean(world["tenant_id"], tenant, [prefix])
            SandboxGroupMember.objects.filter(
                group=group, user_id__in=[str(u.user_id) for u in targets]
            ).delete()
            sku.refresh_from_db()
            sku.prepaid_enabled = max(0, sku.prepaid_enabled - ROWS)
            sku.save(update_fields=["prepaid_enabled"])
            kills, processes = stack.kills, stack.processes_killed
    seconds = time.monotonic() - STARTED
    figures = [
        figure("crashes.kills", kills, at_least=4, detail=f"web and worker, twice each; {processes} processes"),
        figure("crashes.jobs", 2, detail=f"A bulk add of {ROWS} rows: {fa['detail']}; "
               f"B add to group of {TARGETS}: {fb['detail']}"),
        figure("crashes.jobs_unfinished", (not fa["finished"]) + (not fb["finished"]), must_be=0,
               detail=f"resumed by the beat tasks after {STALE_SECONDS} s without a heartbeat"),
        figure("crashes.rows_unaccounted", fa["unaccounted"] + fb["unaccounted"], must_be=0,
               detail="rows: created + failed + cancelled = total; items: one final result each"),
        figure("crashes.duplicate_users", fa["duplicates"], must_be=0,
               detail="a UPN twice, or the import's marker on more users than rows created"),
        figure("crashes.lost_rows", fa["lost"], must_be=0, detail="rows reported created with no user in the sandbox"),
        figure("crashes.targets_done_twice", fb["twice"], must_be=0,
               detail="add sent again after it took effect (answered 'already a member'), or audited twice"),
        figure("crashes.targets_wrong", fb["wrong"], must_be=0, detail="target not in the group, or not succeeded"),
        figure("crashes.in_doubt_confirmed", fb["confirmed"],
               detail="targets of the killed $batch found added in Graph on resume, so not sent again"),
        figure("crashes.page_errors", page_errors, must_be=0, detail="progress pages polled across the restarts"),
        figure("crashes.seconds", round(seconds, 1), "s", at_most=240),
    ]  # fmt: skip
    return 0 if all(fig.ok for fig in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
