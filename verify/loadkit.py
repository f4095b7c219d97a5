"""Pure helpers of the load part (``verify/load.py``): the request log every session writes into, its summary
(served, errors, nearest-rank percentiles overall and per kind) and the few things a session reads out of
the portal's HTML the way htmx would (CSRF token, panel links, the View user page's section URLs).

Nothing here talks to a server or a database, so tests/core/test_verify_loadkit.py covers it directly.
"""

from __future__ import annotations

import html
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench.util import percentile

ERROR_SAMPLES = 20  # error lines kept for the report (the count covers all of them)

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
_CSRF_META = re.compile(r'<meta\s+name="csrf-token"\s+content="([^"]+)"')
_PANEL = re.compile(r'href="(/users/[^/"]+/[0-9a-f-]{36}/panel/[^"]*)"')
_LOAD_GET = re.compile(r'hx-get="([^"]+)"\s+hx-trigger="load"')


@dataclass
class Sample:
    kind: str  # what the technician was doing: "table", "search", "export", "action_run", ...
    status: int  # HTTP status; 0 = no response (connection error, timeout)
    ms: float  # wall time until the whole body was read
    error: str = ""  # why it counts as an error; empty = served as expected


@dataclass
class RequestLog:
    """Every request every session made. Thread-safe: the sessions are threads of one process."""

    samples: list[Sample] = field(default_factory=list)
    error_lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, sample: Sample, what: str = "") -> None:
        with self._lock:
            self.samples.append(sample)
            if sample.error and len(self.error_lines) < ERROR_SAMPLES:
                self.error_lines.append(f"{sample.kind} {what} -> {sample.status}: {sample.error}"[:300])

    def fail(self, kind: str, why: str, what: str = "") -> None:
        """An error that is not a request of its own: a request answered 200 whose content says it did not
        work (an action's result that is not a success, a Job start without its redirect)."""
        with self._lock:
            self.failures.append(f"{kind} {what}: {why}"[:300])
            if len(self.error_lines) < ERROR_SAMPLES:
                self.error_lines.append(self.failures[-1])


def rounded_ms(value: float) -> float:
    return round(value, 1)


def summarize(samples: list[Sample]) -> dict:
    """{"requests", "errors", "p50_ms", "p95_ms", "p99_ms", "by_kind": {kind: {...}}, "statuses"}.
    Percentiles are nearest-rank over every request (errors included: a slow failure is still slow)."""

    def stats(group: list[Sample]) -> dict:
        times = [s.ms for s in group]
        return {
            "requests": len(group),
            "errors": sum(1 for s in group if s.error),
            "p50_ms": rounded_ms(percentile(times, 50)) if times else 0.0,
            "p95_ms": rounded_ms(percentile(times, 95)) if times else 0.0,
            "p99_ms": rounded_ms(percentile(times, 99)) if times else 0.0,
            "max_ms": rounded_ms(max(times)) if times else 0.0,
        }

    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    summary = stats(samples)
    summary["by_kind"] = {kind: stats(group) for kind, group in sorted(by_kind.items())}
    summary["statuses"] = dict(sorted(Counter(s.status for s in samples).items()))
    return summary


def kinds_p95(samples: list[Sample], kinds: tuple[str, ...]) -> float:
    """The exact nearest-rank p95 of the samples of these kinds taken together."""
    times = [s.ms for s in samples if s.kind in kinds]
    return rounded_ms(percentile(times, 95)) if times else 0.0


# --- what a browser reads out of the pages --------------------------------------------------------------


def csrf_token(page: str) -> str:
    """The CSRF token a page carries: the form field, else the <meta> the htmx requests send as X-CSRFToken."""
    found = _CSRF_INPUT.search(page) or _CSRF_META.search(page)
    return html.unescape(found.group(1)) if found else ""


def panel_links(page: str) -> list[str]:
    """The More info panel URLs of the table's rows, in row order, each once."""
    return list(dict.fromkeys(html.unescape(url) for url in _PANEL.findall(page)))


def load_gets(page: str) -> list[str]:
    """Every ``hx-get`` fired on ``load`` (the table page's Add user / Bulk add buttons, the View user
    page's batch), each once."""
    return list(dict.fromkeys(html.unescape(url) for url in _LOAD_GET.findall(page)))
