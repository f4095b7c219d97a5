"""``python -m verify [part ...]`` (``make verify ARGS=...``): run the parts, then print every figure,
one per line, and exit non-zero when a figure misses its bound or a part fails.

Parts are either pytest files (``tests/verify/test_<part>*.py``, run against the in-process sandbox) or
modules (``verify/<part>.py`` with ``main()``) that start real processes: gunicorn, Celery workers,
PostgreSQL and Redis on loopback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from .figures import ENV_VAR, ROOT, figure, figures_file, read_figures
from .stack import verify_database_url, verify_redis_url

# Order: the quick in-process proofs first, then the ones that start processes.
PYTEST_PARTS = ("access", "hostile", "secrets", "backup", "faults")
PROCESS_PARTS = ("load", "crashes")
ALL_PARTS = PYTEST_PARTS + PROCESS_PARTS


def _pytest_files(part: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "verify").glob(f"test_{part}*.py"))


def _run_part(part: str, env: dict[str, str]) -> int:
    started = time.monotonic()
    if part in PYTEST_PARTS:
        files = _pytest_files(part)
        if not files:
            print(f"# {part}: no tests/verify/test_{part}*.py", file=sys.stderr)
            return 1
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *files]
    else:
        cmd = [sys.executable, "-m", f"verify.{part}"]
    print(f"# == {part}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    code = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    print(f"# == {part}: exit {code} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make verify ARGS=", description=__doc__)
    parser.add_argument("parts", nargs="*", help=f"default: all ({', '.join(ALL_PARTS)})")
    args = parser.parse_args(argv)
    parts = args.parts or list(ALL_PARTS)
    unknown = [part for part in parts if part not in ALL_PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(ALL_PARTS)}")

    path = figures_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    env = dict(os.environ)
    env[ENV_VAR] = str(path)
    env["CIPPUSERS_VERIFY"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    # The process parts run on PostgreSQL + Redis when they answer on loopback (the production shape).
    env.setdefault("VERIFY_DATABASE_URL", verify_database_url())
    env.setdefault("VERIFY_REDIS_URL", verify_redis_url())

    started = time.monotonic()
    failed_parts = [part for part in parts if _run_part(part, env) != 0]
    os.environ[ENV_VAR] = str(path)
    figure(
        "verify.parts_failed", len(failed_parts), must_be=0, detail=", ".join(failed_parts) or "all passed"
    )

    figures = read_figures(Path(path))
    print()
    print(f"make verify: {len(parts)} part(s) in {time.monotonic() - started:.0f} s")
    for fig in figures:
        print(fig.line())
    missed = [fig for fig in figures if not fig.ok]
    print(f"{len(figures)} figures, {len(missed)} missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
