"""Shared machinery for benchmarks: result lines, a benchmark registry, a database to run against and a
real HTTP server (gunicorn on loopback) serving the sandbox."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_FILE = ROOT / "bench-results.jsonl"
REGISTRY: dict[str, Callable[[BenchContext], None]] = {}


@dataclass
class BenchContext:
    size: str  # "full" (the sizes) or "small" (a quick run)

    @property
    def full(self) -> bool:
        return self.size == "full"


def benchmark(name: str):
    def register(func):
        REGISTRY[name] = func
        return func

    return register


def emit(bench: str, metric: str, value, unit: str, **extra) -> None:
    """Print one figure as a JSON line and append it to bench-results.jsonl."""
    line = {"bench": bench, "metric": metric, "value": value, "unit": unit, **extra}
    line["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = json.dumps(line)
    print(text, flush=True)
    with RESULTS_FILE.open("a", encoding="utf-8") as fh:
        fh.write(text + "\n")


def bench_database_url() -> str:
    """DATABASE_URL if set; else a PostgreSQL database on 127.0.0.1 when one answers; else SQLite."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", "cippusers_bench"],
        capture_output=True,
        check=False,
    )
    return "postgres://postgres@127.0.0.1:5432/cippusers_bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc_stat(pid) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (from /proc: Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _proc_stat(entry)
            if fields and int(fields[1]) == parent:  # fields[1]: the parent's pid
                found.append(int(entry))
    return found


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds one process has used so far; 0 once it is gone."""
    fields = _proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (a gunicorn master and its workers, a Celery pool)."""
    return process_cpu_seconds(pid) + sum(process_cpu_seconds(child) for child in child_pids(pid))


class SandboxServer:
    """gunicorn serving the whole app (and so the sandbox) on a loopback port, for real HTTP."""

    def __init__(self, env: dict[str, str], workers: int = 2, threads: int = 8, port: int | None = None):
        self.port = port or free_port()  # a port of its own, or the one a killed server had (a restart)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.workers = workers
        self.threads = threads
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> SandboxServer:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "cippusers.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                # Liveness: the server answers. /healthz would also wait for a Celery worker's heartbeat
                # when a Redis broker is configured, and a worker may be started after the server.
                with urllib.request.urlopen(f"{self.base_url}/healthz/live", timeout=2):  # noqa: S310
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("gunicorn exited during start-up") from None
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start within 60 s")

    def kill(self) -> int:
        """A crash, not a shutdown: SIGKILL the master and its workers at once (the workers are listed before
        any kill: a dead master's workers are re-parented and could not be found). Returns how many died."""
        if self.process is None or self.process.poll() is not None:
            return 0
        killed = 0
        for pid in [self.process.pid, *child_pids(self.process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        self.process.wait()
        return killed

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
