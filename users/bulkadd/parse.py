"""Reading an uploaded bulk import file: CSV in any encoding Excel or a script is likely to produce, or XLSX.

CSV: UTF-8 with or without a byte-order mark, UTF-16 (Excel's "Unicode text", with or without BOM), and
as a last resort Windows-1252 (Excel's "CSV" on a Western European Windows), said in the file notes. The
separator is ``;`` or ``,`` (or tab), detected from the header line; Excel's ``sep=;`` first line is
honoured. XLSX: the first worksheet, read with openpyxl in read-only (streaming) mode.

Limits are stated on the upload page and enforced here before anything else happens: ``max_rows()`` data
rows (at least 10,000) and ``max_bytes()`` bytes. Cells are trimmed; blank lines are skipped; each row keeps
its line number in the file so the preview and the results name rows the way the technician sees them.
The reader never interprets values: the validator does (``users.bulkadd.validate``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings

from .columns import MAX_CELL, HeaderMatch, match_headers

DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_COLUMNS = 100
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
_SEP_LINE = re.compile(r"^\ufeff?sep=(.)\s*$", re.IGNORECASE)


def max_rows() -> int:
    return max(DEFAULT_MAX_ROWS, int(getattr(settings, "BULKADD_MAX_ROWS", DEFAULT_MAX_ROWS)))


def max_bytes() -> int:
    return int(getattr(settings, "BULKADD_MAX_BYTES", DEFAULT_MAX_BYTES))


class FileProblem(ValueError):
    """The file cannot be imported at all (too big, not a table, no usable header); the message says why."""


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


def parse_upload(kind: str, name: str, content: bytes) -> ParsedFile:
    """Read ``content`` (the whole upload) as a ``kind`` ("users" / "guests") import; FileProblem if it
    cannot be used."""
    if len(content) > max_bytes():
        raise FileProblem(
            f"The file is {len(content) / 1048576:.1f} MB; the limit is {max_bytes() / 1048576:.0f} MB. "
            "Split it into smaller files."
        )
    if not content.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise FileProblem("The file is empty.")
    if content[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        table, fmt, notes = _xlsx_table(content)
    else:
        table, fmt, notes = _csv_table(content)
    return _build(kind, table, fmt, notes)


# --- CSV ---------------------------------------------------------------------------------------------------


def decode(content: bytes) -> tuple[str, str, list[str]]:
    """(text, encoding label, notes)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return _strict(content[3:], "utf-8"), "UTF-8", []
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(content, "utf-16"), "UTF-16", []
    head = content[:4096]
    if head.count(b"\x00") > len(head) // 4:  # UTF-16 without a BOM: every other byte of ASCII text is 0
        odd_zeros = head[1::2].count(b"\x00")
        encoding = "utf-16-le" if odd_zeros >= head[0::2].count(b"\x00") else "utf-16-be"
        return _strict(content, encoding), "UTF-16", []
    try:
        return content.decode("utf-8"), "UTF-8", []
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
        return (
            text,
            "Windows-1252",
            [
                "The file is not UTF-8, so it was read as Windows-1252 (Western European). If accented letters "
                "look wrong in the preview, save it from Excel as \u201cCSV UTF-8\u201d and upload it again."
            ],
        )


def _strict(content: bytes, encoding: str) -> str:
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"The file says it is {encoding.upper()} but is not valid {encoding.upper()}."
        ) from exc


def detect_separator(header_line: str) -> str:
    """The separator of the header line: whichever of ; , tab occurs most outside quotes (';' on a tie)."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    counts = {sep: outside.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ";"))
    return best if counts[best] else ","


def _csv_table(content: bytes) -> tuple[list[list[str]], str, list[str]]:
    text, encoding, notes = decode(content)
    text = text.lstrip("\ufeff")
    first_line, _, rest = text.partition("\n")
    sep_line = _SEP_LINE.match(first_line.rstrip("\r"))
    if sep_line:
        separator, text = sep_line.group(1), rest
        first_line = text.partition("\n")[0]
    else:
        separator = detect_separator(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    table: list[list[str]] = []
    line = 1
    filled = 0
    try:
        for record in reader:
            table.append([f"{line}", *record])  # the record's first line rides along in column 0
            line = reader.line_num + 1
            filled += any(cell.strip() for cell in record)
            if filled > max_rows() + 1:  # header + one row too many: enough to refuse the file
                break
    except csv.Error as exc:
        raise FileProblem(f"Line {line} cannot be read as CSV: {exc}.") from exc
    label = {";": "';'", ",": "','", "\t": "tab"}[separator] if separator in ";,\t" else repr(separator)
    return table, f"CSV ({encoding}, {label}-separated)", notes


# --- XLSX --------------------------------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _xlsx_table(content: bytes) -> tuple[list[list[str]], str, list[str]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem(
            "The file looks like an Excel workbook but cannot be opened as one (.xlsx)."
        ) from exc
    if unpacked > MAX_XLSX_UNPACKED:  # a small file that unpacks to gigabytes (openpyxl reads strings whole)
        raise FileProblem(
            f"The workbook unpacks to {unpacked / 1048576:,.0f} MB; the limit is {MAX_XLSX_UNPACKED // 1048576} MB. "
            "Save it as CSV instead."
        )
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileProblem(
            "The file looks like an Excel workbook but cannot be opened as one (.xlsx)."
        ) from exc
    notes: list[str] = []
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise FileProblem("The workbook has no worksheet.")
        if len(sheets) > 1:
            notes.append(f"Only the first worksheet ({sheets[0].title}) was read.")
        table: list[list[str]] = []
        numbers = False
        filled = 0
        for index, values in enumerate(sheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
            cells = [_cell_text(v) for v in values]
            if not any(cell.strip() for cell in cells):
                continue  # openpyxl reports formatted-but-empty rows too
            numbers = numbers or any(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            table.append([f"{index}", *cells])
            filled += 1
            if filled > max_rows() + 1:
                break
        if numbers:
            notes.append(
                "Some cells are numbers in Excel: phone numbers and postal codes typed as numbers lose leading "
                "zeros. Check them in the preview, or format those columns as Text."
            )
    finally:
        workbook.close()
    return table, "XLSX", notes


# --- both --------------------------------------------------------------------------------------------------


def _build(kind: str, table: list[list[str]], fmt: str, notes: list[str]) -> ParsedFile:
    # Leading blank lines are tolerated; the first non-blank line is the header.
    while table and not any(cell.strip() for cell in table[0][1:]):
        table.pop(0)
    if not table:
        raise FileProblem("The file has no header line.")
    headers = [cell.strip() for cell in table[0][1 : MAX_COLUMNS + 1]]
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
        position, cells = int(record[0]), record[1:]
        if not any(cell.strip() for cell in cells):
            continue
        if len(parsed.rows) >= max_rows():
            raise FileProblem(
                f"The file has more than {max_rows():,} rows; the limit is {max_rows():,}. Split it into "
                "several files."
            )
        if any(cell.strip() for cell in cells[len(headers) :]):
            extra += 1
        data: dict[str, str] = {}
        for index, key in match.positions.items():
            value = cells[index].strip() if index < len(cells) else ""
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
    return parsed
