"""One simulated technician of the load part: a ``requests.Session`` (its cookies) that signs in
through the real login form and then loops what a technician does all day, sending exactly what the
browser sends (full pages, then the htmx partials with ``HX-Request: true``; POSTs with the form's CSRF
field and the ``X-CSRFToken`` header app.js adds).

Every request goes into the shared ``RequestLog`` with its kind, status and time until the body was read.
An error is anything but the answer the page gives a technician of that role: a 5xx, a connection error or
timeout, any unexpected status, or an action whose result is not a success.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from .loadkit import RequestLog, Sample, csrf_token, load_gets, panel_links

TIMEOUT = 60  # seconds; a request slower than this is an error, not a long wait
# A technician reads a page before the next click: 1-4 s here (fast for a person), so 50 sessions offer
# about 20 requests a second. VERIFY_LOAD_THINK_MS="0,200" turns the run into a saturation test.
THINK_MS = tuple(int(v) for v in (os.environ.get("VERIFY_LOAD_THINK_MS") or "1000,4000").split(",", 1))
JOB_POLL_SECONDS = 1.5  # what the job page's hx-trigger polls at
JOB_WAIT_SECONDS = 45
# One cycle of a session's work; "extra" is the export, a background Job or the audit log in turn.
STEPS = ("table", "search", "act", "page2", "user", "sort", "extra")
SEARCH_TERMS = ("a", "smith", "an", "jo", "lee", "ma", "son", "er", "test", "it")
SORTS = ("-created", "department", "-display_name", "upn", "city", "licences")
FILTERS = ({"status": "enabled"}, {"licence": "licensed"}, {"type": "member"}, {"status": "disabled"}, {})
HTMX = {"HX-Request": "true"}
# A new connection per request, as gunicorn sees it behind a reverse proxy (nginx talks HTTP/1.0 to its
# upstream by default). It also keeps gunicorn's keep-alive expiry racing a reused connection out of the
# figures: with it, a connection error is the server's doing.
CLOSE = {"Connection": "close"}
_JOB_STATUS = re.compile(r'data-job-status="([a-z]+)"')
FINISHED = {"succeeded", "partial", "failed", "cancelled"}


@dataclass
class Plan:
    """Who the technician is and what they may touch."""

    username: str
    password: str
    role: str  # reader | helpdesk | editor | admin
    tenants: list[str]  # the slugs (default domains) of the tenants in scope
    own_user: str = ""  # "<tenant GUID>/<user id>": the user this session blocks and unblocks
    job_users: list[str] = field(default_factory=list)  # users of its background revoke-sessions job
    seed: int = 0

    @property
    def acts(self) -> bool:
        return self.role != "reader" and bool(self.own_user)


class StopRun(Exception):
    """The run's time is up (checked between steps, never inside a block/unblock pair)."""


class TechnicianSession:
    def __init__(self, base_url: str, plan: Plan, log: RequestLog, deadline: float):
        self.base = base_url
        self.plan = plan
        self.log = log
        self.deadline = deadline
        self.http = requests.Session()
        self.random = random.Random(plan.seed)
        self.csrf = ""
        self.actions_run = 0
        self.exports = 0
        self.jobs: list[int] = []
        self.blocked = False  # whether own_user is blocked right now (for the final clean-up)
        self.rows: list[str] = []  # the More info links of the table rows last shown

    # --- requests ---------------------------------------------------------------------------------------

    def request(self, kind: str, method: str, path: str, *, expect=(200,), htmx=False, data=None,
                stream=False) -> requests.Response | None:  # fmt: skip
        """Send one request, read its whole body, log it; the response, or None when it failed."""
        headers = {**CLOSE, **HTMX} if htmx else dict(CLOSE)
        if method == "POST":
            headers["X-CSRFToken"] = self.csrf
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, headers=headers, data=data, timeout=TIMEOUT,
                                         allow_redirects=False, stream=stream)  # fmt: skip
            # A stream (the CSV export) is read chunk by chunk to its end, counting its lines.
            chunks = response.iter_content(64 * 1024) if stream else [response.content]
            lines = sum(chunk.count(b"\n") for chunk in chunks)
        except requests.RequestException as exc:
            why = f"{type(exc).__name__}: {exc}"
            self.log.add(Sample(kind, 0, (time.perf_counter() - started) * 1000, why), f"{method} {path}")
            return None
        ms = (time.perf_counter() - started) * 1000
        if not (htmx or stream) and response.headers.get("Content-Type", "").startswith("text/html"):
            # A full page carries the current CSRF token (rotated at sign-in) in its <meta>, for htmx posts.
            self.csrf = csrf_token(response.text) or self.csrf
        error = "" if response.status_code in expect else f"expected {'/'.join(map(str, expect))}"
        if not error and stream and lines < 2:
            error = f"{lines} line(s): no header and rows"
        self.log.add(Sample(kind, response.status_code, ms, error), f"{method} {path}")
        return None if error else response

    def think(self) -> None:
        time.sleep(self.random.uniform(*THINK_MS) / 1000)
        if time.monotonic() >= self.deadline:
            raise StopRun

    # --- sign-in ------------------------------------------------------------------------------------------

    def login(self) -> bool:
        page = self.request("login_form", "GET", "/login/")
        if page is None:
            return False
        self.csrf = csrf_token(page.text)
        data = {"username": self.plan.username, "password": self.plan.password,
                "csrfmiddlewaretoken": self.csrf, "next": ""}  # fmt: skip
        answer = self.request("login", "POST", "/login/", data=data, expect=(302,))
        if answer is None or "/login" in answer.headers.get("Location", "/login"):
            return False
        return self.request("tenants", "GET", answer.headers["Location"]) is not None

    # --- the technician's day -----------------------------------------------------------------------------

    def run(self) -> None:
        """Loop until the deadline. Errors are logged, never raised: a session keeps working after one."""
        iteration = 0
        try:
            while True:
                self.iteration(iteration)
                iteration += 1
        except StopRun:
            pass
        finally:
            if self.blocked:  # stopped between block and unblock by an error: leave the user as found
                self.unblock()

    def iteration(self, n: int) -> None:
        """One screen of work. The steps rotate (each session starting elsewhere in the cycle, so they do
        not all export at once) and one cycle works in one scope: a tenant of its own, or All tenants."""
        step = (n + self.plan.seed) % len(STEPS)
        cycle = (n + self.plan.seed) // len(STEPS)
        tenants = self.plan.tenants
        scope = "all" if cycle % 3 == 0 else tenants[cycle % len(tenants)]
        getattr(self, f"step_{STEPS[step]}")(scope, cycle)
        self.think()

    def table_get(self, kind: str, params: dict, *, full=False) -> None:
        """The table (a full page, or the htmx partial the search box, sort headers and pager fetch); its
        rows' More info links are what the next steps click."""
        page = self.request(kind, "GET", "/users/?" + urlencode(params), htmx=not full)
        if page is None:
            return
        if full:
            for url in load_gets(page.text):
                # The Add user / Bulk add buttons answer 204 where the role or the scope has none to show.
                self.request("table_parts", "GET", url, htmx=True, expect=(200, 204))
        self.rows = panel_links(page.text) or self.rows

    def open_panel(self) -> None:
        if self.rows:
            self.think()
            self.request("panel", "GET", self.random.choice(self.rows[:25]), htmx=True)

    def step_table(self, scope: str, cycle: int) -> None:
        self.table_get("table", {"tenant": scope}, full=True)
        self.open_panel()

    def step_search(self, scope: str, cycle: int) -> None:
        self.table_get("search", {"tenant": scope, "q": self.random.choice(SEARCH_TERMS)})
        self.open_panel()

    def step_sort(self, scope: str, cycle: int) -> None:
        self.table_get(
            "sort_filter", {"tenant": scope, "sort": self.random.choice(SORTS), **self.random.choice(FILTERS)}
        )

    def step_page2(self, scope: str, cycle: int) -> None:
        self.table_get("page2", {"tenant": scope, "page": 2})
        self.open_panel()

    def step_user(self, scope: str, cycle: int) -> None:
        if self.rows:
            _, _, tenant, user, *_ = self.random.choice(self.rows[:25]).split(
                "/"
            )  # /users/<t>/<id>/panel/?..
            self.view_user(tenant, user)

    def step_act(self, scope: str, cycle: int) -> None:
        if self.plan.acts:
            self.block_and_unblock()
        else:  # a Reader looks someone up instead
            self.step_search(scope, cycle)

    def step_extra(self, scope: str, cycle: int) -> None:
        """Every third cycle each: the CSV export; a background Job (acting roles) or the jobs list; the
        audit log (Admins) or the tenants list."""
        if cycle % 3 == 0:
            if self.request(
                "export", "GET", "/users/export.csv?" + urlencode({"tenant": scope}), stream=True
            ):
                self.exports += 1
        elif cycle % 3 == 1:
            if self.plan.acts and self.plan.job_users:
                self.background_job()
            else:
                self.request("jobs_list", "GET", "/jobs/")
        elif self.plan.role == "admin":
            self.request("audit", "GET", "/audit/")
        else:
            self.request("tenants", "GET", "/tenants/")

    def view_user(self, tenant: str, user_id: str) -> None:
        """View user: the page, then its sections as the page loads them (live Graph reads)."""
        page = self.request("user_page", "GET", f"/users/{tenant}/{user_id}/")
        if page is None:
            return
        value = self.user_value(page.text, user_id)
        if value:  # the row menu, opened from the page's actions area
            self.request("row_menu", "GET", "/users/actions/menu/?" + urlencode({"user": value}), htmx=True)
        for url in load_gets(page.text):
            self.request("user_sections", "GET", url, htmx=True)
        self.think()

    @staticmethod
    def user_value(page: str, user_id: str) -> str:
        found = re.search(r'data-tenant="([0-9a-f-]{36})"', page)
        return f"{found.group(1)}/{user_id}" if found else ""

    # --- actions --------------------------------------------------------------------------------------------

    def modal_post(self, key: str, users: list[str], *, bulk=False) -> requests.Response | None:
        """Open the action's modal as the row menu (GET) or the bulk bar (POST) does, then confirm it."""
        selection = [("user", value) for value in users]
        if bulk:
            modal = self.request("action_modal", "POST", f"/users/actions/{key}/", htmx=True,
                                 data=[*selection, ("csrfmiddlewaretoken", self.csrf)])  # fmt: skip
        else:
            modal = self.request(
                "action_modal", "GET", f"/users/actions/{key}/?" + urlencode(selection), htmx=True
            )
        if modal is None:
            return None
        token = csrf_token(modal.text) or self.csrf
        count = re.search(r'name="expected_count" value="(\d+)"', modal.text)
        data = [*selection, ("confirmed", "1"), ("expected_count", count.group(1) if count else str(len(users))),
                ("csrfmiddlewaretoken", token)]  # fmt: skip
        self.think_inside()
        return self.request("action_run", "POST", f"/users/actions/{key}/", htmx=True, data=data)

    def think_inside(self) -> None:
        """Think time that never stops the run (between opening a modal and confirming it)."""
        time.sleep(self.random.uniform(*THINK_MS) / 1000)

    def _succeeded(self, response: requests.Response | None, key: str) -> bool:
        if response is None:
            return False
        try:
            toast = json.loads(response.headers.get("HX-Trigger", "{}")).get("toast") or {}
        except ValueError:
            toast = {}
        if toast.get("level") != "success":
            self.log.fail("action_run", f"not a success: {toast}", key)
            return False
        self.actions_run += 1
        return True

    def block_and_unblock(self) -> None:
        if self._succeeded(self.modal_post("block-sign-in", [self.plan.own_user]), "block-sign-in"):
            self.blocked = True
            self.think_inside()
            self.unblock()

    def unblock(self) -> None:
        if self._succeeded(self.modal_post("unblock-sign-in", [self.plan.own_user]), "unblock-sign-in"):
            self.blocked = False

    def background_job(self) -> None:
        """Revoke sessions of several users from the bulk bar: more than ACTIONS_INLINE_MAX, so a Celery Job;
        then the job page, polled as its hx-trigger does until the job is finished."""
        answer = self.modal_post("revoke-sessions", self.plan.job_users, bulk=True)
        if answer is None:
            return
        url = answer.headers.get("HX-Redirect", "")
        found = re.fullmatch(r"/jobs/(\d+)/", url)
        if not found:
            self.log.fail("action_run", f"no job redirect ({url!r})", "revoke-sessions")
            return
        self.jobs.append(int(found.group(1)))
        self.actions_run += 1
        if self.request("job_page", "GET", url) is None:
            return
        waited = time.monotonic()
        # Polling stops at the run's end too: whether the job finished is checked in the database afterwards.
        while time.monotonic() - waited < JOB_WAIT_SECONDS and time.monotonic() < self.deadline:
            time.sleep(JOB_POLL_SECONDS)
            poll = self.request("job_poll", "GET", url, htmx=True)
            status = _JOB_STATUS.search(poll.text) if poll is not None else None
            if poll is None or (status and status.group(1) in FINISHED):
                break
        self.request("jobs_list", "GET", "/jobs/")
