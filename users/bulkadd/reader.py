"""The file reader that runs in a child process: bytes in, a plain table (rows of text cells) out.

Nothing here imports Django or a third-party package, so the child starts in a few tens of milliseconds
and holds nothing secret (it gets no environment either; see ``users.bulkadd.isolation``). The child lowers
its own limits first — address space (``RLIMIT_AS``), CPU seconds, size of what it may write — then reads;
the parent adds the wall-clock limit and kills it when that passes. Inside, every limit is also checked as
the file is read (``Limits``), so a hostile file normally gets its precise reason ("the shared strings part
unpacks to more than 64 MB") long before a hard limit has to stop the process.

Protocol: stdin is one JSON line (file name and limits) followed by the file's bytes; stdout is one JSON
object: ``{"table": [[position, beyond, cell, ...], ...], "format": ..., "notes": [...]}`` or ``{"problem": ...}``.
Run as ``python -m users.bulkadd.reader``.
"""

from __future__ import annotations

import io
import json
import sys
import time
from dataclasses import dataclass, fields


class FileProblem(ValueError):
    """The file cannot be imported at all (too big, not a table, no usable header); the message says why."""


@dataclass(frozen=True)
class Limits:
    """What one file may cost. The defaults are the ones stated on the upload page and in the README."""

    max_rows: int = 10_000  # data rows (the parent refuses the file above this; reading stops just after)
    max_columns: int = 100  # columns read; cells further right only count as "extra"
    cell_chars: int = 4_001  # characters kept per cell (one more than the parent keeps, to see a cut)
    total_chars: int = 12_000_000  # characters in all cells of the table together
    cells: int = 500_000  # cells in the sheet (XLSX <c> elements, or CSV fields), blank ones too
    shared_strings: int = 500_000  # entries of an XLSX shared-strings table
    part_bytes: int = 64 * 1024 * 1024  # uncompressed bytes of each XLSX part read (counted, not declared)
    sheets: int = 100  # sheets listed by the workbook
    xml_depth: int = 64  # element nesting in any XLSX part
    seconds: float = 20.0  # wall time of the whole read (the parent kills the child after it)
    memory_mb: int = 512  # address space of the child (RLIMIT_AS)

    @classmethod
    def from_dict(cls, data: dict) -> Limits:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


class Budget:
    """Counts what a read has used against its Limits; raises FileProblem with the reason when one is
    exceeded. The clock is checked every few thousand steps (cheap) and again by the parent (hard)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.cells = 0
        self.chars = 0
        self.ticks = 0  # callers count steps here and call check_clock() every 4096

    def check_clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise FileProblem(too_slow(self.limits))

    def cell(self) -> None:
        self.cells += 1
        if self.cells > self.limits.cells:
            raise self.too_many_cells()
        self.ticks += 1
        if not self.ticks & 4095:
            self.check_clock()

    def too_many_cells(self) -> FileProblem:
        return FileProblem(
            f"The file holds more than {self.limits.cells:,} cells (blank ones included); the limit is "
            f"{self.limits.cells:,}. Delete the unused rows and columns, or save it as CSV."
        )

    def text(self, value: str) -> str:
        """The cell's text, cut to the per-cell limit, counted against the total."""
        value = value[: self.limits.cell_chars]
        self.chars += len(value)
        if self.chars > self.limits.total_chars:
            raise FileProblem(
                f"The cells hold more than {self.limits.total_chars:,} characters in all; the limit is "
                f"{self.limits.total_chars:,}. Split the file into smaller files."
            )
        return value


def too_slow(limits: Limits) -> str:
    return (
        f"Reading the file took longer than {limits.seconds:g} seconds, the limit. Save it as CSV, or split "
        "it into smaller files, and upload it again."
    )


def too_big(limits: Limits) -> str:
    return (
        f"Reading the file needed more than {limits.memory_mb} MB of memory, the limit. Save it as CSV, or "
        "split it into smaller files, and upload it again."
    )


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary Excel format, and encrypted workbooks


def read_table(name: str, content: bytes, limits: Limits) -> tuple[list[list[str]], str, list[str]]:
    """(table, format label, notes): each table row is [position, beyond, cell, cell, ...] (``beyond`` "x"
    when non-blank cells lie right of ``max_columns``); FileProblem if the file cannot be read within the
    limits."""
    if content[:8] == OLE_MAGIC:
        raise FileProblem(
            "This is an old Excel workbook (.xls) or a password-protected one. Save it as an Excel workbook "
            "(.xlsx) without a password, or as CSV UTF-8, and upload it again."
        )
    budget = Budget(limits)
    if content[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        from .reader_xlsx import xlsx_table

        return xlsx_table(content, budget)
    from .reader_csv import csv_table

    return csv_table(content, budget)


# --- the child process ----------------------------------------------------------------------------------------


def _lower_limits(limits: Limits) -> None:
    import resource

    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(limits.seconds) + 2  # the parent's wall clock normally fires first; this is the backstop
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # What the child may write: the table and some JSON escaping, never more.
    output = limits.total_chars * 8 + 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _memory_peaks() -> dict:
    """This process's own peaks (resident and address space) since exec, from /proc: ``ru_maxrss`` would
    also count the parent's image the child was forked from."""
    peaks = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("VmHWM:", "VmPeak:")):
                    key = "peak_rss_kb" if line.startswith("VmHWM") else "peak_virtual_kb"
                    peaks[key] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return peaks


def main() -> int:
    header = sys.stdin.buffer.readline()
    request = json.loads(header)
    limits = Limits.from_dict(request["limits"])
    _lower_limits(limits)
    content = sys.stdin.buffer.read()
    try:
        table, fmt, notes = read_table(request["name"], content, limits)
        answer = {"table": table, "format": fmt, "notes": notes}
    except FileProblem as problem:
        answer = {"problem": str(problem)}
    except MemoryError:
        answer = {"problem": too_big(limits)}
    del content
    answer.update(_memory_peaks())
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")
    json.dump(answer, out, ensure_ascii=False, separators=(",", ":"))
    out.flush()
    return 0


if __name__ == "__main__":  # run as a module: use the importable one, so its FileProblem is the one raised
    from users.bulkadd.reader import main as module_main

    sys.exit(module_main())
