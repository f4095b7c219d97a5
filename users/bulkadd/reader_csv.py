"""CSV in any encoding Excel or a script is likely to produce (runs in the reader child; no Django here).

UTF-8 with or without a byte-order mark, UTF-16 (Excel's "Unicode text", with or without BOM), and as a
last resort Windows-1252 (Excel's "CSV" on a Western European Windows), said in the file notes. The
separator is ``;`` or ``,`` (or tab), detected from the header line; Excel's ``sep=;`` first line is
honoured. Each table row is [first line of the record, beyond, cell, ...]: at most ``max_columns`` cells,
and ``beyond`` "x" when the record has non-blank cells further right (so the caller can say so).
"""

from __future__ import annotations

import csv
import io
import re

from .reader import Budget, FileProblem

_SEP_LINE = re.compile(r"^\ufeff?sep=(.)\s*$", re.IGNORECASE)
FIELD_LIMIT = 131_072  # csv's own default, stated: a longer field is refused with the line number


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
    outside = re.sub(r'"[^"]*"', "", header_line[:100_000])
    counts = {sep: outside.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ";"))
    return best if counts[best] else ","


def csv_table(content: bytes, budget: Budget) -> tuple[list[list[str]], str, list[str]]:
    limits = budget.limits
    text, encoding, notes = decode(content)
    del content
    text = text.lstrip("\ufeff")
    first_line, _, rest = text.partition("\n")
    sep_line = _SEP_LINE.match(first_line[:100].rstrip("\r"))
    if sep_line:
        separator, text = sep_line.group(1), rest
        first_line = text.partition("\n")[0]
    else:
        separator = detect_separator(first_line)
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    table: list[list[str]] = []
    line = 1
    filled = 0
    try:
        for record in reader:
            for _ in record:
                budget.cell()
            beyond = "x" if any(cell.strip() for cell in record[limits.max_columns :]) else ""
            cells = [budget.text(cell) for cell in record[: limits.max_columns]]
            table.append([f"{line}", beyond, *cells])  # the record's first line rides along in column 0
            line = reader.line_num + 1
            filled += any(cell.strip() for cell in record)
            if filled > limits.max_rows + 1:  # header + one row too many: enough to refuse the file
                break
    except csv.Error as exc:
        raise FileProblem(f"Line {line} cannot be read as CSV: {exc}.") from exc
    label = {";": "';'", ",": "','", "\t": "tab"}[separator] if separator in ";,\t" else repr(separator)
    return table, f"CSV ({encoding}, {label}-separated)", notes
