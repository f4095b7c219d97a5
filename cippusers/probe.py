"""Container health probes for docker-compose, without importing Django (they run every few seconds).

``python -m cippusers.probe http://127.0.0.1:8000/healthz/live``: exit 0 when the URL answers 200. The
request names the first ALLOWED_HOSTS entry as its Host, since Django answers 400 to any other host.
``python -m cippusers.probe --file-age PATH SECONDS``: exit 0 when PATH was modified within SECONDS
(beat touches its heartbeat file each time it publishes).
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request


def _host() -> str | None:
    first = (os.environ.get("ALLOWED_HOSTS") or "").split(",")[0].strip().lstrip(".")
    return None if first in ("", "*") else first


def probe_url(url: str) -> int:
    request = urllib.request.Request(url)  # noqa: S310 - a fixed loopback URL from the compose file
    host = _host()
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"probe {url}: {exc}", file=sys.stderr)
        return 1


def probe_file_age(path: str, max_age: float) -> int:
    try:
        age = time.time() - os.path.getmtime(path)
    except OSError as exc:
        print(f"probe {path}: {exc.strerror}", file=sys.stderr)
        return 1
    if age > max_age:
        print(f"probe {path}: last touched {age:.0f}s ago (limit {max_age:.0f}s)", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--file-age":
        return probe_file_age(argv[1], float(argv[2]))
    if len(argv) == 1:
        return probe_url(argv[0])
    print("usage: python -m cippusers.probe URL | --file-age PATH SECONDS", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
