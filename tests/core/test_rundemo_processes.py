"""``make run`` (manage.py rundemo) for real, as a subprocess: synced before "ready", URL and password last,
``--reseed`` drops users the new world no longer has, and Ctrl-C (SIGINT to its process group, as a terminal
sends it) and SIGTERM (a process manager) each stop every process it started and free the port.

Two runs share one temporary var dir (SQLite database, Celery broker, logs): the first migrates and seeds,
the second reseeds. Each runs the web server, the Celery worker and beat like the real demo.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from cippusers.demo_processes import group_members

READY_TIMEOUT = 240  # first run migrates and seeds; a loaded CI machine is slow
STOP_TIMEOUT = 30
GHOST_USER_ID = "feedfacefeedfacefeedfacefeedface"  # how SQLite stores a UUIDField: 32 hex digits

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False  # something still accepts connections
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a new web server would
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, state) of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def _descendants(root: int) -> dict[int, int]:
    """pid -> pgid of every live process below ``root``."""
    table = _process_table()
    found: dict[int, int] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, pgid, state) in table.items():
            if ppid == parent and pid not in found and state != "Z":
                found[pid] = pgid
                frontier.append(pid)
    return found


def _alive(pid: int) -> bool:
    info = _process_table().get(pid)
    return info is not None and info[2] != "Z"


class Demo:
    """One ``manage.py rundemo`` subprocess, its console captured line by line."""

    def __init__(self, var_dir: Path, port: int, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "REDIS_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="cippusers.settings",
            CIPPUSERS_VAR_DIR=str(var_dir),
            DJANGO_ENV="development",
            PYTHONUNBUFFERED="1",
        )
        env.pop("DEMO_ADMIN_PASSWORD", None)
        self.lines: list[str] = []
        # A session of its own: the group signal below reaches rundemo exactly as a terminal's Ctrl-C would.
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "manage.py", "rundemo", "--port", str(port), *args],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not any("demo ready at" in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail("rundemo never got ready:\n" + "\n".join(self.lines[-40:]))
            time.sleep(0.2)
        time.sleep(1.5)  # anything printed after the ready lines would show up by now

    def stop(self, signum: int, *, group: bool) -> int:
        if group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"rundemo did not stop within {STOP_TIMEOUT}s:\n" + "\n".join(self.lines[-20:]))

    def kill(self) -> None:
        for pgid in {self.process.pid, *_descendants(self.process.pid).values()}:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _run_and_stop(var_dir: Path, signum: int, *, group: bool, args=()) -> list[str]:
    port = _free_port()
    demo = Demo(var_dir, port, *args)
    try:
        demo.wait_ready()
        started = _descendants(demo.process.pid)
        names = " ".join(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in started)
        assert "runserver" in names and "worker" in names and "beat" in names, names
        # The console ends with where to go and how to sign in, nothing after them.
        tail = [line for line in demo.lines if line.strip()][-2:]
        assert f"cippusers demo ready at http://127.0.0.1:{port}/" in tail[0], demo.lines[-10:]
        assert tail[1].startswith("sign in as admin"), tail
        code = demo.stop(signum, group=group)
    except BaseException:
        demo.kill()
        raise
    assert code == 0, demo.lines[-20:]
    left = [pid for pid in started if _alive(pid)]
    left += [pid for pgid in set(started.values()) for pid in group_members(pgid)]
    assert not left, f"still running after {signal.Signals(signum).name}: {left}"
    assert _port_free(port)
    assert demo.lines[-1] == "stopped: nothing the demo started is still running"
    return demo.lines


def test_ctrl_c_then_sigterm_after_a_reseed_stop_everything(tmp_path):
    first = _run_and_stop(tmp_path, signal.SIGINT, group=True)
    assert any(line.startswith("sign in as admin, password: ") for line in first)  # generated, shown
    assert any(line.startswith("synced Fabrikam Inc: ") for line in first)
    assert "SIGINT received: stopping the web server, worker and beat…" in first

    # A user the cache holds but the rebuilt world does not (e.g. added during the last demo).
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(users_directoryuser)") if row[1] != "id"]
        copied = ", ".join("?" if c == "user_id" else c for c in columns)
        db.execute(
            f"INSERT INTO users_directoryuser ({', '.join(columns)}) "  # noqa: S608 - names from the schema
            f"SELECT {copied} FROM users_directoryuser ORDER BY id LIMIT 1",
            [GHOST_USER_ID],
        )

    second = _run_and_stop(tmp_path, signal.SIGTERM, group=False, args=("--reseed",))
    assert "sandbox seeded: 4 tenants" in second
    synced = [line for line in second if line.startswith("synced ")]
    assert synced and all("(full sync" in line for line in synced), synced
    assert any("1 no longer in the tenant removed" in line for line in synced), synced
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert not db.execute(
            "SELECT 1 FROM users_directoryuser WHERE user_id = ?", [GHOST_USER_ID]
        ).fetchall()
    assert "SIGTERM received: stopping the web server, worker and beat…" in second


def test_make_run_passes_its_arguments_to_rundemo():
    output = subprocess.run(  # noqa: S603 - fixed command
        ["make", "-n", "run", "ARGS=--reseed --no-worker", "PORT=8123"],  # noqa: S607
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "manage.py rundemo --port 8123 --reseed --no-worker" in output
