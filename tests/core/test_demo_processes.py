"""cippusers.demo_processes on its own (fast): a stop signal stops whole process groups, grandchildren
included, and a child that ignores SIGTERM is killed after the grace period."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from cippusers.demo_processes import ProcessSupervisor, StopRequested, group_members

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table")

# A child that starts a grandchild in its own process group, like the Celery worker's pool.
FAMILY = ["sh", "-c", "sleep 60 & sleep 60"]
STUBBORN = ["sh", "-c", "trap '' TERM; sleep 60 & wait"]


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_stops_every_group_with_its_grandchildren(tmp_path, signum):
    previous = signal.getsignal(signum)
    with pytest.raises(StopRequested) as stopped, ProcessSupervisor(tmp_path, dict(os.environ)) as processes:
        processes.start("family", FAMILY)
        processes.start("logged", FAMILY, log=tmp_path / "log" / "logged.log")
        _wait_for(lambda: all(len(group_members(child.pid)) >= 2 for _, child in processes.children))
        pgids = [child.pid for _, child in processes.children]
        os.kill(os.getpid(), signum)  # what a terminal or a process manager sends rundemo
        processes.wait_for_exit()
    assert stopped.value.signum == signum
    assert all(group_members(pgid) == [] for pgid in pgids)
    assert all(child.returncode is not None for _, child in processes.children)
    assert (tmp_path / "log" / "logged.log").exists() and processes.logs == {
        "logged": tmp_path / "log" / "logged.log"
    }
    assert signal.getsignal(signum) is previous  # handlers restored on the way out


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path):
    started = time.monotonic()
    with ProcessSupervisor(tmp_path, dict(os.environ), grace=0.5) as processes:
        processes.start("stubborn", STUBBORN)
        _wait_for(lambda: len(group_members(processes.children[0][1].pid)) >= 2)
        pgid = processes.children[0][1].pid
    assert group_members(pgid) == []
    assert processes.children[0][1].returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10


def test_a_child_that_exits_is_reported(tmp_path):
    with ProcessSupervisor(tmp_path, dict(os.environ)) as processes:
        processes.start("short", [sys.executable, "-c", "raise SystemExit(3)"])
        processes.start("long", FAMILY)
        name, child = processes.wait_for_exit(poll=0.05)
        assert (name, child.returncode) == ("short", 3)
    assert processes.alive() == []
