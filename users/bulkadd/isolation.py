"""Reading an upload in a child process, so a hostile file costs a bounded few seconds and megabytes of a
separate process and never the web worker's memory.

The child is a fresh interpreter running ``users.bulkadd.reader`` (stdlib only, no Django, an empty
environment: it sees no secret). It lowers its own address space, CPU and output limits before it reads;
here the parent waits at most ``Limits.seconds`` (plus start-up) and kills it after that. ``os.wait4``
gives the child's own peak memory (``ru_maxrss``), which is logged with the time for every file and
returned to the caller — the tests and ``make verify`` bound it.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .reader import Limits, too_big, too_slow

logger = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_UP_SECONDS = 5.0  # interpreter start-up on a busy host, on top of the reading limit
MAX_ANSWER_BYTES = 256 * 1024 * 1024
NOT_STARTED = "The server could not start reading the file just now. Upload it again in a minute."


@dataclass
class Reading:
    """What one read cost: wall seconds (start-up included), the child's peak resident memory and peak
    address space (bounded by RLIMIT_AS), and how it ended ("answered", "timed out", "killed by signal N",
    "exit N"). The peaks are the child's own (/proc, reported by it) when it answered; when it did not,
    ``peak_mb`` is wait4's ``ru_maxrss``, an upper bound (it includes the web process the child was
    forked from) and ``peak_virtual_mb`` the limit itself."""

    seconds: float = 0.0
    peak_mb: float = 0.0
    peak_virtual_mb: float = 0.0
    ended: str = ""


@dataclass
class ReadResult:
    table: list[list[str]] = field(default_factory=list)
    format: str = ""
    notes: list[str] = field(default_factory=list)
    problem: str = ""  # set when the file cannot be read; the message for the technician
    reading: Reading = field(default_factory=Reading)


def run_reader(name: str, content: bytes, limits: Limits) -> ReadResult:
    """Read ``content`` in a child process within ``limits``. Never raises for a bad file: ``problem``
    says why it was refused."""
    started = time.monotonic()
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        stdin.write(json.dumps({"name": name[:255], "limits": asdict(limits)}).encode() + b"\n")
        stdin.write(content)
        stdin.seek(0)
        try:
            process = subprocess.Popen(
                [sys.executable, "-E", "-s", "-m", "users.bulkadd.reader"],
                stdin=stdin, stdout=stdout, stderr=stderr, cwd=PROJECT_ROOT, close_fds=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
            )  # fmt: skip
        except OSError:  # no process could be started (process or memory limits of the host)
            logger.exception("bulk add reader could not be started")
            return ReadResult(problem=NOT_STARTED, reading=Reading(ended="not started"))
        timed_out, status, usage = _wait(process, limits.seconds + START_UP_SECONDS)
        reading = Reading(round(time.monotonic() - started, 3), round(usage.ru_maxrss / 1024, 1),
                          float(limits.memory_mb))  # fmt: skip
        result = _answer(stdout, stderr, limits, timed_out, status, reading)
    logger.info("bulk add file read in %.2fs, child peak %.0f MB, %s%s", reading.seconds, reading.peak_mb,
                reading.ended, f": {result.problem[:120]}" if result.problem else "")  # fmt: skip
    return result


def _wait(process: subprocess.Popen, seconds: float):
    """(timed out, wait status, rusage of this child alone). Kills the child when ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    try:
        watch = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        watch = None
    timed_out = False
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            if watch is not None:
                select.select([watch], [], [], remaining)
            else:
                time.sleep(min(0.01, remaining))
    except BaseException:  # interrupted while waiting (worker shutdown): never leave the reader running
        process.kill()
        os.wait4(process.pid, 0)
        process.returncode = -signal.SIGKILL
        raise
    finally:
        if watch is not None:
            os.close(watch)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return timed_out, status, usage


def _answer(stdout, stderr, limits: Limits, timed_out: bool, status: int, reading: Reading) -> ReadResult:
    if timed_out:
        reading.ended = "timed out"
        return ReadResult(problem=too_slow(limits), reading=reading)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        reading.ended = f"killed by signal {number}"
        if number == signal.SIGXCPU:
            return ReadResult(problem=too_slow(limits), reading=reading)
        if number == signal.SIGXFSZ:
            return ReadResult(problem=_too_much_text(limits), reading=reading)
        return ReadResult(problem=too_big(limits), reading=reading)
    code = os.WEXITSTATUS(status)
    size = stdout.seek(0, os.SEEK_END)
    stdout.seek(0)
    answer = None
    if code == 0 and 0 < size <= MAX_ANSWER_BYTES:
        try:
            answer = json.loads(stdout.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            answer = None
    if not isinstance(answer, dict):
        stderr.seek(0)
        trace = stderr.read(4000).decode("utf-8", errors="replace")
        reading.ended = f"exit {code}"
        logger.warning("bulk add reader ended with exit %s and no answer: %s", code, trace[-1500:])
        # MemoryError outside the reader's own handling (start-up, writing the answer) ends up here.
        problem = too_big(limits) if "MemoryError" in trace else _broke()
        return ReadResult(problem=problem, reading=reading)
    reading.ended = "answered"
    if answer.get("peak_rss_kb"):
        reading.peak_mb = round(answer["peak_rss_kb"] / 1024, 1)
    if answer.get("peak_virtual_kb"):
        reading.peak_virtual_mb = round(answer["peak_virtual_kb"] / 1024, 1)
    if answer.get("problem"):
        return ReadResult(problem=str(answer["problem"]), reading=reading)
    return ReadResult(
        table=answer.get("table") or [], format=str(answer.get("format", "")), notes=list(answer.get("notes") or []),
        reading=reading,
    )  # fmt: skip


def _too_much_text(limits: Limits) -> str:
    return (
        f"The file holds more text than can be imported at once (over {limits.total_chars:,} characters). "
        "Split it into smaller files."
    )


def _broke() -> str:
    return (
        "The file could not be read (the reader stopped on it). Save it again from Excel as .xlsx or as CSV "
        "UTF-8 and upload it again; if that does not help, tell your administrator."
    )
