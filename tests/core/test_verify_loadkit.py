"""verify/loadkit.py: the load part's request log, its summary, and what a session reads out of pages."""

from __future__ import annotations

import threading

from verify.loadkit import RequestLog, Sample, csrf_token, kinds_p95, load_gets, panel_links, summarize


def test_summary_counts_errors_and_takes_nearest_rank_percentiles():
    samples = [Sample("table", 200, float(ms)) for ms in range(1, 101)]  # 1 .. 100 ms
    samples += [Sample("export", 200, 500.0), Sample("export", 502, 900.0, "expected 200")]
    summary = summarize(samples)
    assert summary["requests"] == 102 and summary["errors"] == 1
    assert summary["by_kind"]["table"]["p95_ms"] == 95.0  # a measured value, never interpolated
    assert summary["by_kind"]["table"]["p50_ms"] == 50.0
    assert summary["by_kind"]["export"] == {"requests": 2, "errors": 1, "p50_ms": 500.0, "p95_ms": 900.0,
                                            "p99_ms": 900.0, "max_ms": 900.0}  # fmt: skip
    assert summary["statuses"] == {200: 101, 502: 1}
    # Several kinds together: the p95 of the union, not the largest of their p95s.
    assert kinds_p95(samples, ("table", "export")) == 97.0
    assert kinds_p95(samples, ("nothing",)) == 0.0
    assert summarize([])["requests"] == 0 and summarize([])["p95_ms"] == 0.0


def test_the_log_is_safe_across_threads_and_keeps_a_few_error_lines():
    log = RequestLog()

    def hammer():
        for i in range(500):
            log.add(
                Sample("search", 200 if i % 50 else 500, 1.0, "" if i % 50 else "expected 200"), "/users/"
            )

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.fail("action_run", "not a success: {'level': 'error'}", "block-sign-in")
    assert len(log.samples) == 4000
    assert sum(1 for s in log.samples if s.error) == 80
    assert len(log.failures) == 1
    assert len(log.error_lines) == 20  # a bounded sample for the report; the counts cover everything


def test_csrf_token_from_the_form_field_else_the_meta():
    form = '<form><input type="hidden" name="csrfmiddlewaretoken" value="abc&amp;def"></form>'
    meta = '<head><meta name="csrf-token" content="meta-token"></head>'
    assert csrf_token(form) == "abc&def"
    assert csrf_token(meta) == "meta-token"
    assert csrf_token(meta + form) == "abc&def"
    assert csrf_token("<p>signed out</p>") == ""


def test_panel_links_and_load_triggered_gets_are_read_like_htmx_reads_them():
    user = "0b9c0d1e-2f30-4a5b-8c6d-7e8f90a1b2c3"
    page = f"""
      <a class="user-link" href="/users/contoso.com/{user}/panel/?tenant=all&amp;page=2" hx-get="x">A</a>
      <a class="btn btn-icon" href="/users/contoso.com/{user}/panel/?tenant=all&amp;page=2">i</a>
      <a href="/users/contoso.com/not-a-guid/panel/">no</a>
      <span hx-get="/users/add/buttons/?tenant=all" hx-trigger="load" hx-swap="outerHTML"></span>
      <div hidden data-detail-batch hx-get="/users/contoso.com/{user}/sections/directory/" hx-trigger="load"></div>
      <section hx-get="/users/contoso.com/{user}/sections/mfa/" hx-trigger="load" hx-swap="outerHTML"></section>
      <section data-section-url="/users/contoso.com/{user}/sections/profile/"></section>
      <div hx-get="/jobs/1/" hx-trigger="every 1500ms"></div>
    """
    assert panel_links(page) == [f"/users/contoso.com/{user}/panel/?tenant=all&page=2"]
    assert load_gets(page) == [
        "/users/add/buttons/?tenant=all",
        f"/users/contoso.com/{user}/sections/directory/",
        f"/users/contoso.com/{user}/sections/mfa/",
    ]
