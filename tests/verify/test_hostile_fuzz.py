"""Hostile input, part 1: every URL of the app (tests/access/url_walker) fuzzed as an Admin scoped to all
tenants — hostile query strings on every GET, hostile form bodies (the page's real field names) on every
view that takes a POST, hostile path arguments, and hostile CSV/XLSX files for the bulk import.

Never a 5xx; every rejection (a 4xx, or a page whose bound form is invalid) carries a message the
technician can read. Example counts are bounded so the part stays within ~3 minutes on SQLite; scale them
with HOSTILE_SCALE (e.g. 3 for a longer run)."""

from __future__ import annotations

import os
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.access.url_walker import _CONVERTER, all_routes, build_url

from .hostile_inputs import (
    PATH_VALUES,
    FuzzClient,
    Tally,
    form_body,
    hostile_key,
    hostile_text,
    hostile_value,
    scan,
    xlsx_bytes,
)
from .hostile_world import build_world, seed_sandbox

SCALE = float(os.environ.get("HOSTILE_SCALE", "1"))
GET_EXAMPLES = max(1, round(3 * SCALE))
POST_EXAMPLES = max(1, round(5 * SCALE))
ACTION_EXAMPLES = max(1, round(2 * SCALE))
CSV_EXAMPLES = max(1, round(30 * SCALE))
# Views that answer POST only with a page to go to (no form data): fuzzed with a few bodies anyway.
FEW = {"tenants:discover", "tenants:connection-consent", "users:sync"}


def _settings(n: int):
    return settings(
        max_examples=n, deadline=None, database=None, derandomize=False,
        suppress_health_check=list(HealthCheck), phases=("generate",),
    )  # fmt: skip


def _explore(n: int, strategy, send) -> None:
    """Run ``send`` on ``n`` values drawn from ``strategy`` (no shrinking: every answer is tallied, and the
    tally names the failing request)."""

    @_settings(n)
    @given(strategy)
    def run(drawn):
        send(drawn)

    run()


def _with_query(url: str, params: dict, raw: str) -> str:
    from urllib.parse import urlencode

    query = "&".join(q for q in (urlencode(params, doseq=True), raw) if q)
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _post(fuzz, url: str, data: dict, encoded: bool) -> None:
    if encoded:
        from urllib.parse import urlencode

        fuzz.send(
            "post", url, data=urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded"
        )
    else:
        fuzz.send("post", url, data=data)


def _log(message: str) -> None:
    print(f"[hostile] {message}", file=sys.stderr, flush=True)


def test_no_input_breaks_a_page(db, figure):
    started = time.monotonic()
    _sandbox, connection = seed_sandbox()
    world = build_world(connection)
    tally = Tally()
    fuzz = FuzzClient(world.admin, tally)
    routes = all_routes()
    assert len(routes) > 50, "the walker found too few URLs"
    urls = {route.name: build_url(route, world.samples) for route in routes}
    user_ref = f"{world.tenant.tenant_id}/{world.user.user_id}"

    # 1. Every page once (GET and an empty POST): which views take a POST, and the fields each form sends.
    fields_for: dict[str, dict] = {}
    takes_post: list = []
    pages = dict(urls)
    pages["users:action"] = f"{urls['users:action']}?user={user_ref}"
    for route in routes:
        response, body = fuzz.send("get", pages[route.name])
        if response is not None and "html" in response.get("Content-Type", ""):
            found = scan(urls[route.name], body)
            for form in [*found.forms, found.loose]:
                merged = fields_for.setdefault(form.action, {})
                for name, values in form.fields.items():
                    merged.setdefault(name, []).extend(v for v in values if v not in merged.get(name, []))
            for target in found.hx_posts:  # htmx posts send the fields of the page they sit on
                merged = fields_for.setdefault(target, {})
                for form in [*found.forms, found.loose]:
                    for name, values in form.fields.items():
                        merged.setdefault(name, list(values))
        post, _ = fuzz.send("post", urls[route.name])
        if post is not None and post.status_code != 405:
            takes_post.append(route)
    _log(f"{len(routes)} URLs, {len(takes_post)} take POST, {time.monotonic() - started:.0f}s")

    # 2. Hostile query strings on every GET.
    for route in routes:
        url = pages[route.name]
        known = sorted(fields_for.get(urls[route.name], {})) or ["q", "page"]

        params = st.dictionaries(st.one_of(st.sampled_from(known), hostile_key), hostile_value, max_size=5)
        raw = st.one_of(st.just(""), st.sampled_from(["%", "%zz", "&&==&", "a=%00", "a=%C0%AF", "=&=&="]))
        _explore(
            GET_EXAMPLES,
            st.tuples(params, raw),
            lambda drawn, url=url: fuzz.send("get", _with_query(url, *drawn)),
        )
    _log(f"query strings done: {tally.requests} requests, {time.monotonic() - started:.0f}s")

    # 3. Hostile form bodies on every view that takes a POST, multipart and urlencoded.
    for route in takes_post:
        url = urls[route.name]
        fields = dict(fields_for.get(url, {}))
        if route.name == "users:action":
            fields.setdefault("user", [user_ref])
        n = 2 if route.name in FEW else POST_EXAMPLES

        _explore(
            n, st.tuples(form_body(fields), st.booleans()), lambda drawn, url=url: _post(fuzz, url, *drawn)
        )
    _log(f"form bodies done: {tally.requests} requests, {time.monotonic() - started:.0f}s")

    # 4. Every action's modal with its own fields, confirmed, for the sample user.
    from users.actions.registry import all_actions

    for action in all_actions():
        url = f"/users/actions/{action.key}/"
        response, body = fuzz.send("get", f"{url}?user={user_ref}")
        found = scan(url, body)
        fields = {
            name: values for form in [*found.forms, found.loose] for name, values in form.fields.items()
        }
        fields.update(user=[user_ref], confirmed=["1"])

        _explore(ACTION_EXAMPLES, form_body(fields),
                 lambda data, url=url: fuzz.send("post", url, data={"confirmed": "1", **data}))  # fmt: skip
    _log(f"actions done: {tally.requests} requests, {time.monotonic() - started:.0f}s")

    # 5. Hostile path arguments: each argument of each route replaced in turn.
    for route in routes:
        for match in _CONVERTER.finditer(route.route):
            conv = match.group("conv") or "str"
            for value in PATH_VALUES.get(conv, PATH_VALUES["str"]):
                path = route.route[: match.start()] + value + route.route[match.end() :]
                url = build_url(type(route)(path, route.name), world.samples)
                fuzz.send("get", url)
                if route in takes_post:
                    fuzz.send("post", url, data={"confirmed": "1"})
    _log(f"path arguments done: {tally.requests} requests, {time.monotonic() - started:.0f}s")

    # 6. Hostile files for the bulk import.
    csv_files = _fuzz_uploads(fuzz, world, urls)
    _log(f"uploads done: {tally.requests} requests, {time.monotonic() - started:.0f}s")

    detail = f"{len(routes)} URLs as an Admin (all tenants); statuses {dict(sorted(tally.by_status.items()))}"
    figure("hostile.requests", tally.requests, at_least=800, detail=detail)
    figure("hostile.server_errors", len(tally.server_errors), must_be=0,
           detail="; ".join(tally.server_errors[:3])[:400] or "no 5xx")  # fmt: skip
    figure("hostile.unexplained_rejections", len(tally.unexplained), must_be=0,
           detail="; ".join(tally.unexplained[:3])[:400] or f"{tally.rejections} rejections, each with a message")  # fmt: skip
    figure(
        "hostile.csv_files",
        csv_files,
        at_least=CSV_EXAMPLES,
        detail="fuzzed CSV/XLSX uploads to users/bulk-add",
    )
    figure("hostile.fuzz_seconds", round(time.monotonic() - started), "s")
    for line in [*tally.server_errors, *tally.unexplained]:
        _log(line.splitlines()[0] + " | " + line.strip().splitlines()[-1])
    assert not tally.server_errors, "5xx answers:\n" + "\n".join(tally.server_errors[:15])
    assert not tally.unexplained, "rejections without a message:\n" + "\n".join(tally.unexplained[:15])
    assert tally.requests >= 800


# --- bulk import files -----------------------------------------------------------------------------------

HEADERS = ["givenName", "surname", "username", "domain", "displayName", "jobTitle", "department", "password",
           "usageLocation", "licences", "groups", "mobilePhone", "email", "Given name", "", "username"]  # fmt: skip
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1", "=1+1", "\t=2", "\r=3"]
cell = st.one_of(hostile_text, st.sampled_from(FORMULAS), st.just("A" * 40_000), st.just('a "quoted", cell'))


@st.composite
def csv_file(draw) -> tuple[str, bytes, str]:
    """(file name, content, kind): random bytes, or a delimited text in a random encoding, or a workbook."""
    kind = draw(st.sampled_from(["users", "guests", "nonsense"]))
    shape = draw(st.sampled_from(["bytes", "text", "text", "text", "empty", "xlsx", "broken-xlsx"]))
    name = draw(
        st.sampled_from(["users.csv", "u.txt", "book.xlsx", "<script>.csv", "../../x.csv", "ü.csv", "x"])
    )
    if shape == "bytes":
        return name, draw(st.binary(max_size=3000)), kind
    if shape == "empty":
        return (
            name,
            draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\r\n\r\n", b",,,\r\n", b"\xff\xfe", b'"'])),
            kind,
        )
    header = draw(st.lists(st.one_of(st.sampled_from(HEADERS), hostile_text), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=6))
    if shape in ("xlsx", "broken-xlsx"):
        content = xlsx_bytes([header, *rows])
        if shape == "broken-xlsx":
            content = content[: draw(st.integers(0, len(content) - 1))]
        return draw(st.sampled_from(["book.xlsx", "book.csv"])), content, kind
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    quote = draw(st.booleans())

    def line(cells):
        return sep.join(('"' + c.replace('"', '""') + '"') if quote else c for c in cells)

    text = "\r\n".join(line(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "utf-32"]))
    return name, text.encode(encoding, errors="replace"), kind


def _fuzz_uploads(fuzz: FuzzClient, world, urls) -> int:
    from django.core.files.uploadedfile import SimpleUploadedFile

    sent = [0]
    tenants = [world.tenant.slug, "", "no-such-tenant.example", str(world.tenant.tenant_id)]

    @_settings(CSV_EXAMPLES)
    @given(upload=csv_file(), tenant=st.sampled_from(tenants))
    def fuzz_upload(upload, tenant):
        name, content, kind = upload
        sent[0] += 1
        data = {"tenant": tenant, "kind": kind, "file": SimpleUploadedFile(name, content)}
        response, _body = fuzz.send("post", urls["users:bulk-add-upload"], data=data)
        if response is not None and response.status_code == 302:
            # Accepted: the preview of what was read (the import was rolled back with the savepoint, so the
            # preview is fetched in the same request chain by re-uploading inside one savepoint).
            _upload_and_preview(
                fuzz, urls["users:bulk-add-upload"], data | {"file": SimpleUploadedFile(name, content)}
            )

    fuzz_upload()
    return sent[0]


def _upload_and_preview(fuzz: FuzzClient, url: str, data: dict) -> None:
    """Upload again and render the preview and its problems view before the savepoint goes."""
    from django.db import transaction

    sid = transaction.savepoint()
    try:
        response = fuzz.client.post(url, data=data)
        if response.status_code == 302:
            for suffix in ("", "?show=problems", "?show=left_out"):
                preview = fuzz.client.get(response["Location"] + suffix)
                fuzz.tally.judge("GET", response["Location"] + suffix, preview, preview.content.decode(errors="replace"),
                                 getattr(preview, "exc_text", ""))  # fmt: skip
    finally:
        transaction.savepoint_rollback(sid)


pytestmark = pytest.mark.django_db


# --- compression bombs through the upload page --------------------------------------------------------------

BOMB_UPLOADS = ("shared_strings_part", "shared_strings_count", "cells", "sheets", "nesting", "billion_laughs",
                "external_entity", "lying_sizes")  # fmt: skip


def test_upload_bombs_stay_within_bounds(db, figure, monkeypatch):
    """Each bomb posted to the upload page as an all-tenant Admin: refused with its message (422, shown
    where the technician looks), in bounded time, read by a child whose own peak memory is bounded — and
    the web process itself does not grow by what the bomb would unpack to."""
    import resource
    import uuid

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from tenants.models import TechnicianProfile, Tenant
    from users.bulkadd import isolation
    from users.bulkadd.parse import file_limits

    from .hostile_uploads import BOMBS

    readings = []
    real_run = isolation.run_reader

    def observed(*args, **kwargs):
        result = real_run(*args, **kwargs)
        readings.append(result.reading)
        return result

    monkeypatch.setattr(isolation, "run_reader", observed)
    _sandbox, connection = seed_sandbox()
    tenant = Tenant.objects.create(tenant_id=uuid.uuid4(), connection=connection, display_name="Bomb target",
                                   default_domain="bombs.example")  # fmt: skip
    admin = get_user_model().objects.create_user(username=f"bomb-admin-{uuid.uuid4().hex[:6]}", password="x")
    TechnicianProfile.objects.create(user=admin, role=TechnicianProfile.Role.ADMIN,
                                     scope=TechnicianProfile.Scope.ALL)  # fmt: skip
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    limits = file_limits()
    web_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, refused, lines = [], [], []
    for name in BOMB_UPLOADS:
        content = BOMBS[name]()
        started = time.monotonic()
        response = client.post("/users/bulk-add/upload/", {
            "tenant": str(tenant.tenant_id), "kind": "users", "file": SimpleUploadedFile(f"{name}.xlsx", content),
        })  # fmt: skip
        seconds.append(time.monotonic() - started)
        page = response.content.decode(errors="replace")
        if response.status_code == 422 and "data-file-problem" in page:
            refused.append(name)
        reading = readings[-1] if readings else None
        lines.append(f"{name} {len(content) // 1024} KB: {seconds[-1]:.1f}s, child peak "
                     f"{reading.peak_mb if reading else '?'} MB ({reading.ended if reading else 'not read'})")  # fmt: skip
        _log("bomb " + lines[-1])
    web_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - web_before
    peak = max((r.peak_mb for r in readings), default=0.0)
    virtual = max((r.peak_virtual_mb for r in readings), default=0.0)
    time_bound = limits.seconds + isolation.START_UP_SECONDS

    figure("hostile.upload_bombs_refused", len(refused), must_be=len(BOMB_UPLOADS),
           detail="422 with the reason on the page: " + ", ".join(sorted(set(BOMB_UPLOADS) - set(refused)) or ["all"]))  # fmt: skip
    slowest = lines[seconds.index(max(seconds))]
    figure("hostile.upload_bomb_seconds", round(max(seconds), 2), "s", at_most=time_bound,
           detail=f"slowest request of {len(lines)}: {slowest}")  # fmt: skip
    figure("hostile.upload_bomb_child_peak_mb", peak, "MB", at_most=limits.memory_mb,
           detail=f"reader child's own peak RSS (/proc VmHWM); address space <= {virtual} MB by RLIMIT_AS")  # fmt: skip
    figure("hostile.upload_bomb_web_growth_mb", round(max(web_growth, 0.0), 1), "MB", at_most=100,
           detail="peak RSS growth of the web (test) process over all bombs")  # fmt: skip
    assert len(readings) == len(BOMB_UPLOADS), "every bomb must reach the reader"
    assert refused == list(BOMB_UPLOADS), lines
    assert max(seconds) <= time_bound and peak <= limits.memory_mb and virtual <= limits.memory_mb
    assert web_growth <= 100
