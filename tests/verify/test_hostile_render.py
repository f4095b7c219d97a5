"""Hostile input, part 2: script/HTML and spreadsheet formulas in every user attribute Graph and Exchange
can hold (tests/verify/hostile_render.poison_world), carried into the cache by the real directory sync, then
every page and download that shows them: the users table (one tenant, All tenants, search), More info,
View user and each of its sections, the edit page, every action's modal, the job pages, the audit log, the
research report, the bulk import (a file full of them: preview, results) and the exports.

HTML: no element or attribute may come from the data (and the payload must be seen as text on the pages
that show the user, or the check proves nothing). CSV/XLSX: no cell may be a live formula."""

from __future__ import annotations

import csv
import io
import sys
from unittest import mock

import pytest

from .hostile_render import MARK, SHORT_MARK, RenderTally, payload, poison_world
from .hostile_world import build_world, make_job, seed_sandbox

pytestmark = pytest.mark.django_db
SECTIONS = ("directory", "profile", "licences", "groups", "auth-methods", "mfa", "devices", "sign-ins", "mailbox",
            "onedrive")  # fmt: skip
# Pages that name the poisoned user (or list its rules, groups, sign-ins) and so must show the payload.
MUST_SHOW = ("users:list", "users:panel", "users:detail", "users:edit", "section:profile", "section:groups",
             "section:mailbox", "section:sign-ins", "users:research", "jobs:detail", "audit:list",
             "bulk:preview", "bulk:results")  # fmt: skip


class _Fetcher:
    def __init__(self, client, tally: RenderTally) -> None:
        self.client, self.tally = client, tally
        self.failures: list[str] = []
        self.shown: set[str] = set()
        self.labels: list[str] = []

    def body(self, url: str, **kwargs) -> tuple[int, bytes, str]:
        response = self.client.get(url, **kwargs)
        data = (
            b"".join(response.streaming_content)
            if getattr(response, "streaming", False)
            else response.content
        )
        if response.status_code >= 400:
            self.failures.append(f"GET {url}: {response.status_code}")
        return response.status_code, data, response.get("Content-Type", "")

    def page(self, label: str, url: str, **kwargs) -> None:
        self.labels.append(label)
        status, data, kind = self.body(url, **kwargs)
        if status == 302:
            status, data, kind = self.body(self.client.get(url).url)
        if "html" in kind and self.tally.html(f"{label} {url}", data.decode(errors="replace")):
            self.shown.add(label)

    def download(self, label: str, url: str) -> int:
        self.labels.append(label)
        status, data, kind = self.body(url)
        if status != 200:
            return 0
        found = self.tally.xlsx(url, data) if "spreadsheet" in kind else self.tally.csv(url, data)
        if found:
            self.shown.add(label)
        return found


def _on_commit_now():
    """The test transaction never commits: run on-commit work (Celery dispatch, eager) when it is queued."""
    return mock.patch("django.db.transaction.on_commit", lambda fn, *a, **k: fn())


def test_hostile_attributes_render_inert_everywhere(client, figure):
    from users.audit import record
    from users.models import TechnicianPreference
    from users.research.views import CSV_KEYS
    from users.tables import COLUMNS, PREFERENCE_KEY

    sandbox, connection = seed_sandbox()
    from graph.sandbox.models import SandboxTenant
    from graph.sandbox.seed_compromise import compromise_cast

    fabrikam = next(t for t in sandbox if t.display_name == "Fabrikam Inc")
    victim, _clean = compromise_cast(SandboxTenant.objects.get(pk=fabrikam.pk))
    touched = poison_world(victim)
    assert all(touched.values()), f"the seed lacks something to poison: {touched}"
    world = build_world(connection)  # the directory sync and the research carry the payloads into the portal
    world.user.refresh_from_db()
    assert MARK in world.user.display_name and "xssmark" in world.user.department, "the sync lost the payload"
    TechnicianPreference.objects.update_or_create(
        user=world.admin, key=PREFERENCE_KEY, defaults={"value": {"columns": [c.key for c in COLUMNS]}}
    )  # every column in the table and the exports
    job = make_job(world)
    job.items.update(message=f"Graph said: {payload(0)}")
    record(world.admin, tenant=world.tenant, target=(world.user.user_id, world.user.user_principal_name),
           action="user.update", parameters={"jobTitle": payload(1), "displayName": world.user.display_name},
           result="failed", message=f"Graph refused: {payload(2)}")  # fmt: skip

    tally = RenderTally()
    client.force_login(world.admin)
    fetch = _Fetcher(client, tally)
    slug, uid = world.tenant.slug, world.user.user_id
    user_ref = f"{world.tenant.tenant_id}/{uid}"
    base = f"/users/{slug}/{uid}"

    # The users table, its search, More info, View user and its sections, the edit page.
    local = world.user.user_principal_name.split("@")[0]
    for query in (f"tenant={slug}", "tenant=all", f"tenant={slug}&q=%3DHYPERLINK", f"tenant=all&q={local}",
                  f"tenant={slug}&q=%3Cscript%3E"):  # fmt: skip
        fetch.page("users:list", f"/users/?{query}")
        fetch.page("users:list-htmx", f"/users/?{query}", HTTP_HX_REQUEST="true")
    fetch.page("users:panel", f"{base}/panel/")
    fetch.page("users:detail", f"{base}/")
    for section in SECTIONS:
        fetch.page(f"section:{section}", f"{base}/sections/{section}/")
    fetch.page("users:edit", f"{base}/edit/")
    fetch.page("users:edit-people", f"{base}/edit/people/?q=HYPERLINK")
    fetch.page("users:action-menu", f"/users/actions/menu/?user={user_ref}")

    # Every action's modal (its confirm text names the user) and the one for "all matching" the search.
    from users.actions.registry import all_actions

    for action in all_actions():
        fetch.page(f"action:{action.key}", f"/users/actions/{action.key}/?user={user_ref}")
    fetch.page("action:query", f"/users/actions/block-sign-in/?query=tenant%3D{slug}%26q%3D{local}")

    # Jobs, the audit log, the research report and its downloads.
    from users.models import Job

    research_job = Job.objects.get(kind=Job.Kind.RESEARCH)
    for pk in {job.pk, research_job.pk}:
        fetch.page("jobs:detail", f"/jobs/{pk}/")
        fetch.download("jobs:csv", f"/jobs/{pk}/results.csv")
    fetch.page("jobs:list", "/jobs/")
    fetch.page("audit:list", "/audit/")
    fetch.page("audit:list", "/audit/?q=xssmark")
    fetch.download("audit:csv", "/audit/export.csv")
    fetch.page("users:research", f"{base}/research/")
    fetch.page("research:progress", f"{base}/research/progress/")
    fetch.page("research:remediate", f"{base}/research/remediate/")
    for key in CSV_KEYS:
        fetch.download(f"research:{key}", f"{base}/research/{key}.csv")

    # The bulk import: a file full of payloads, its preview, a row, then run it and read the results.
    _bulk_import(fetch, world)

    # The exports, one tenant and all tenants.
    for scope in (slug, "all"):
        fetch.download("export:csv", f"/users/export.csv?tenant={scope}")
        fetch.download("export:xlsx", f"/users/export.xlsx?tenant={scope}")

    fetched = {label for label in fetch.labels}
    print(f"[hostile] without the payload: {sorted(fetched - fetch.shown)}", file=sys.stderr, flush=True)
    # Every action's confirm text names the user; the report's sign-in and inbox-rule CSVs carry its data.
    actions = [label for label in fetched if label.startswith("action:")]
    missing = [label for label in [*MUST_SHOW, *actions] if label not in fetch.shown]
    dl_missing = [label for label in ("export:csv", "export:xlsx", "audit:csv", "jobs:csv", "bulk:csv",
                                      "research:sign_ins", "research:inbox_rules") if label not in fetch.shown]  # fmt: skip
    figure("hostile.pages_rendered", tally.pages, at_least=60,
           detail=f"{len(tally.showing)} of them show the payload as text")  # fmt: skip
    figure("hostile.live_markup", len(tally.live), must_be=0, detail="; ".join(tally.live[:3])[:300] or
           "no script, event handler, javascript: URL or <img> from the data")  # fmt: skip
    figure("hostile.export_cells_checked", tally.cells, at_least=500,
           detail=f"{tally.payload_cells} cells carry a payload (CSV + XLSX)")  # fmt: skip
    figure("hostile.formula_cells_live", len(tally.live_formulas), must_be=0,
           detail="; ".join(tally.live_formulas[:3])[:300] or "no = + - @ tab CR cell, read with , or ;")  # fmt: skip
    assert not fetch.failures, "pages failed:\n" + "\n".join(fetch.failures[:20])
    assert not tally.live, "live markup from the data:\n" + "\n".join(tally.live[:20])
    assert not tally.live_formulas, "live formulas:\n" + "\n".join(tally.live_formulas[:20])
    assert not missing, (
        f"pages that should show the payload do not (the check would prove nothing): {missing}"
    )
    assert not dl_missing, f"downloads without the payload: {dl_missing}"


def _bulk_import(fetch: _Fetcher, world) -> None:
    domain = world.tenant.default_domain
    rows = [
        ["givenName", "surname", "username", "domain", "jobTitle", "department", "displayName"],
        [payload(0), payload(1), "hostile.one", domain, payload(2), MARK, payload(3)],
        [MARK, "=1+1", "hostile.two", domain, "@SUM(1)", payload(4), ""],
        # Markup without a formula opener: a row the import accepts, so its results show the payload too.
        [MARK, "Hostile", "hostile.three", domain, MARK, SHORT_MARK, f"Hostile {MARK}"],
        ["Bad", "Row", "=cmd|' /C calc'!A0", domain, payload(5), "", ""],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "<script>alert('xssmark')</script>.csv", buffer.getvalue().encode("utf-8-sig")
    )
    response = fetch.client.post("/users/bulk-add/upload/", {"tenant": world.tenant.slug, "kind": "users",
                                                             "file": upload})  # fmt: skip
    assert response.status_code == 302, response.content[:500]
    preview = response.url
    pk = int(preview.rstrip("/").rsplit("/", 1)[-1])
    from users.models import BulkImport

    bulk_import = BulkImport.objects.get(pk=pk)
    fetch.page("bulk:preview", preview)
    fetch.page("bulk:preview", f"{preview}?show=problems")
    for row in bulk_import.rows.order_by("position"):
        fetch.page("bulk:row", f"{preview}rows/{row.pk}/")
        fetch.page("bulk:row-edit", f"{preview}rows/{row.pk}/edit/")
    fetch.page("bulk:start", f"/users/bulk-add/?tenant={world.tenant.slug}")
    fetch.client.post(f"{preview}leave-out-problems/")
    with _on_commit_now():
        response = fetch.client.post(f"{preview}run/")
    assert response.url.endswith("/progress/"), (
        f"the import did not start: {bulk_import.rows.values('problems')}"
    )
    fetch.page("bulk:progress", f"{preview}progress/")
    fetch.page("bulk:results", f"{preview}results/")
    fetch.download("bulk:csv", f"{preview}results.csv")
    response = fetch.client.post(f"{preview}passwords.csv")  # the one-time download (a POST)
    assert response.status_code == 200, response.status_code
    fetch.tally.csv(f"{preview}passwords.csv", b"".join(response.streaming_content) if response.streaming
                    else response.content)  # fmt: skip
