"""The processes ``make run`` starts (web server, Celery worker, Celery beat) and how they all stop.

Each child runs in a session (process group) of its own, so a terminal's Ctrl-C reaches only ``rundemo``,
which then stops the children in order instead of racing them. SIGINT, SIGTERM (a process manager, ``docker
stop``, ``kill``) and SIGHUP (the terminal closed) all raise ``StopRequested`` in the main thread; leaving the
``ProcessSupervisor`` block then stops every group: SIGTERM, a grace period, SIGKILL for what is left. A whole
group, not just the child, because the worker's prefork pool processes belong to it too.

A signal that arrives while a child is being started is held until the start is recorded (otherwise the new
process would be unknown to the cleanup), and a repeated Ctrl-C while stopping is ignored rather than
abandoning the cleanup half-way: the grace period is short and SIGKILL follows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 8.0


class StopRequested(BaseException):
    """A stop signal arrived; ``signum`` says which. A BaseException, like KeyboardInterrupt, so an
    ``except Exception`` on the way (a failed discovery is reported and the demo goes on) cannot swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``. Reads /proc where there is one; elsewhere a
    signal 0 to the group says whether anything is left in it."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class ProcessSupervisor:
    """``with ProcessSupervisor(cwd, env) as processes: processes.start([...])`` — everything started is
    stopped when the block is left, however it is left."""

    def __init__(self, cwd: Path, env: dict[str, str], *, grace: float = GRACE_SECONDS) -> None:
        self.cwd, self.env, self.grace = cwd, env, grace
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.logs: dict[str, Path] = {}  # name -> where that child's output goes
        self._previous: dict[int, object] = {}
        self._held: int | None = None
        self._starting = False
        self._stopping = False

    # --- signals ------------------------------------------------------------------------------------------

    def _on_signal(self, signum, frame) -> None:
        if self._stopping:
            return  # one stop at a time: a second Ctrl-C must not break off the cleanup under way
        if self._starting:
            self._held = signum
            return
        self._stopping = True
        raise StopRequested(signum)

    def __enter__(self) -> ProcessSupervisor:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.stop()
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)

    # --- children -----------------------------------------------------------------------------------------

    def start(self, name: str, command: list[str], *, log: Path | None = None) -> subprocess.Popen:
        """Start ``command`` in a new session; its output goes to ``log`` (appended) or to our console."""
        output = None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            output = log.open("ab")
            self.logs[name] = log
        self._starting = True
        try:
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
                command,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
            )
            self.children.append((name, child))
        finally:
            self._starting = False
            if output is not None:
                output.close()  # the child holds its own descriptor
        if self._held is not None:
            self._stopping = True
            raise StopRequested(self._held)
        return child

    def wait_for_exit(self, poll: float = 0.5) -> tuple[str, subprocess.Popen]:
        """Block until a child exits (a stop signal interrupts with StopRequested); returns it."""
        while True:
            for name, child in self.children:
                if child.poll() is not None:
                    return name, child
            time.sleep(poll)

    def alive(self) -> list[int]:
        """Process ids still running in any started group."""
        return [pid for _, child in self.children for pid in group_members(child.pid)]

    def stop(self) -> None:
        """SIGTERM every group, wait up to the grace period, SIGKILL what is left, reap the children."""
        self._stopping = True
        for _, child in self.children:
            _signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for _, child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
        # Pool processes may outlive their parent by a moment: wait for the groups, not just the children.
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        for _, child in self.children:
            if group_members(child.pid):
                _signal_group(child.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
