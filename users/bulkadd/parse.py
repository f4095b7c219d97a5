"""Reading an uploaded bulk import file (CSV or XLSX) into rows, within limits that hold against hostile
files.

The bytes are read in a child process (``users.bulkadd.isolation`` runs ``users.bulkadd.reader``), with a
memory and a time limit and explicit limits on what the file may contain (``file_limits()``); here the
plain table it returns is matched to the columns. Limits are stated on the upload page (``limits_text`` in
forms) and in the README, and enforced before anything else happens: ``max_rows()`` data rows (at least
10,000) and ``max_bytes()`` bytes first, then the rest while reading. Cells are trimmed; blank lines are
skipped; each row keeps its line number in the file so the preview and the results name rows the way the
technician sees them. NUL characters (which PostgreSQL cannot store in text) are removed, and the notes
say from which cells. The reader never interprets values: the validator does (``users.bulkadd.validate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from . import isolation
from .columns import MAX_CELL, HeaderMatch, match_headers
from .isolation import Reading
from .reader import FileProblem, Limits
from .reader_csv import decode, detect_separator

__all__ = [
    "FileProblem",
    "ParsedFile",
    "ParsedRow",
    "decode",
    "detect_separator",
    "file_limits",
    "parse_upload",
]

DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_COLUMNS = 100


def max_rows() -> int:
    return max(DEFAULT_MAX_ROWS, int(getattr(settings, "BULKADD_MAX_ROWS", DEFAULT_MAX_ROWS)))


def max_bytes() -> int:
    return int(getattr(settings, "BULKADD_MAX_BYTES", DEFAULT_MAX_BYTES))


def file_limits() -> Limits:
    """The limits of one read: rows from settings, the reader's defaults for the rest, and the time and
    memory of the child from ``BULKADD_PARSE_SECONDS`` / ``BULKADD_PARSE_MEMORY_MB``."""
    defaults = Limits()
    return Limits(
        max_rows=max_rows(), max_columns=MAX_COLUMNS, cell_chars=MAX_CELL + 1,
        seconds=float(getattr(settings, "BULKADD_PARSE_SECONDS", defaults.seconds)),
        memory_mb=int(getattr(settings, "BULKADD_PARSE_MEMORY_MB", defaults.memory_mb)),
    )  # fmt: skip


@dataclass
class ParsedRow:
    position: int  # line in the file (the header is line 1), or the worksheet row
    data: dict[str, str]


@dataclass
class ParsedFile:
    kind: str
    format: str  # "CSV (UTF-8, ';')", "XLSX"
    headers: list[str]
    match: HeaderMatch
    rows: list[ParsedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reading: Reading | None = None  # what reading it cost (time, the child's peak memory)


def parse_upload(kind: str, name: str, content: bytes) -> ParsedFile:
    """Read ``content`` (the whole upload) as a ``kind`` ("users" / "guests") import; FileProblem if it
    cannot be used (its ``reading`` says what trying cost, when the file was read at all)."""
    if len(content) > max_bytes():
        raise FileProblem(
            f"The file is {len(content) / 1048576:.1f} MB; the limit is {max_bytes() / 1048576:.0f} MB. "
            "Split it into smaller files."
        )
    if not content.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise FileProblem("The file is empty.")
    result = isolation.run_reader(name, content, file_limits())
    if result.problem:
        problem = FileProblem(result.problem)
        problem.reading = result.reading
        raise problem
    try:
        parsed = _build(kind, result.table, result.format, result.notes)
    except FileProblem as problem:
        problem.reading = result.reading
        raise
    parsed.reading = result.reading
    return parsed


# --- both --------------------------------------------------------------------------------------------------


def _build(kind: str, table: list[list[str]], fmt: str, notes: list[str]) -> ParsedFile:
    """Rows of the reader's table ([position, beyond, cell, ...]) matched to the columns."""
    # Leading blank lines are tolerated; the first non-blank line is the header.
    while table and not any(cell.strip() for cell in table[0][2:]):
        table.pop(0)
    if not table:
        raise FileProblem("The file has no header line.")
    nuls: list[str] = []
    headers = [_without_nul(cell, nuls, f"the header of column {i}").strip()
               for i, cell in enumerate(table[0][2 : MAX_COLUMNS + 2], start=1)]  # fmt: skip
    match = match_headers(kind, headers)
    if not match.positions:
        raise FileProblem(
            "None of the file's headers is a known column (the first line must be the header, e.g. the "
            "template's). Headers found: " + ", ".join(h for h in headers if h)[:300]
        )
    if match.missing:
        raise FileProblem(
            "The file has no column for: " + ", ".join(f"{c.label} ({c.header})" for c in match.missing) + "."
        )
    parsed = ParsedFile(kind, fmt, headers, match, notes=list(notes))
    if match.ignored:
        parsed.notes.append("Columns not used (unknown headers): " + ", ".join(match.ignored) + ".")
    if match.duplicates:
        parsed.notes.append(
            "Columns left out (a second header for the same column): " + ", ".join(match.duplicates) + "."
        )
    truncated = extra = 0
    for record in table[1:]:
        position, beyond, cells = int(record[0]), record[1], record[2:]
        if not any(cell.strip() for cell in cells):
            continue
        if len(parsed.rows) >= max_rows():
            raise FileProblem(
                f"The file has more than {max_rows():,} rows; the limit is {max_rows():,}. Split it into "
                "several files."
            )
        if beyond or any(cell.strip() for cell in cells[len(headers) :]):
            extra += 1
        data: dict[str, str] = {}
        for index, key in match.positions.items():
            value = cells[index] if index < len(cells) else ""
            value = _without_nul(value, nuls, f"row {position} {headers[index]}").strip()
            if len(value) > MAX_CELL:
                value, truncated = value[:MAX_CELL], truncated + 1
            data[key] = value
        parsed.rows.append(ParsedRow(position, data))
    if not parsed.rows:
        raise FileProblem("The file has a header but no rows.")
    if extra:
        parsed.notes.append(
            f"{extra} row(s) have more cells than there are headers; the extra cells were ignored."
        )
    if truncated:
        parsed.notes.append(f"{truncated} cell(s) were longer than {MAX_CELL:,} characters and were cut.")
    if nuls:
        shown = ", ".join(nuls[:5]) + (f" and {len(nuls) - 5:,} more" if len(nuls) > 5 else "")
        parsed.notes.append(
            f"NUL characters (code 0: invisible, and they cannot be stored) were removed from {len(nuls):,} "
            f"cell(s): {shown}. Check those cells in the preview."
        )
    return parsed


def _without_nul(value: str, found: list[str], where: str) -> str:
    if "\x00" not in value:
        return value
    found.append(where)
    return value.replace("\x00", "")
