"""Streaming CSV and XLSX writers for the users table export.

Both take an iterable of rows (lists of str) and yield bytes as they go, so 100,000 users never sit in
memory: the view feeds them ``queryset.iterator(chunk_size=2000)``.

Formula injection: a cell that starts with = + - @ (or tab / carriage return, which some spreadsheet
programs skip before looking for those) is a formula to Excel or LibreOffice when a CSV is opened. And
Excel splits a CSV on the list separator of the *reader's* locale — "," or ";" — whatever the file was
written with, so "a;=cmd|' /C calc'!A0" (quoted only if it held a ",") becomes a cell "=cmd…" in a ";"
locale, as "x,+1" does in a "," one; a line break or a double quote there starts a new cell or a quoted
one just the same. ``neutralise`` is the one rule for every CSV we write: an apostrophe before each
trigger at the start of the value or after a separator, line break or quote run (a cell's text, however
it is split). XLSX cells are written as inline strings, which spreadsheet programs never evaluate and
never split; risky ones additionally carry the ``quotePrefix`` style, Excel's own representation of a
typed leading apostrophe, so the value stays exactly what the directory holds and still cannot become a
formula when edited or saved as CSV.

XLSX: openpyxl's write-only mode still builds each sheet in a temporary file before zipping; this writer
streams the sheet XML straight into the zip entry (``ZipFile.open(name, "w")``) over a non-seekable sink,
with inline strings and no shared strings table. It writes the minimum parts a valid workbook needs.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 cannot carry these control characters at all (even escaped).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FLUSH_EVERY_ROWS = 500


# Where a spreadsheet may begin a cell inside our value: its start, after "," or ";" (either list
# separator) or a line break (a new row), past any double quotes (which open a quoted cell) — followed by a
# formula trigger (FORMULA_TRIGGERS; "\r" is both a break and a trigger).
_FORMULA_START = re.compile(r'(^|[,;\n\r])("*)(?=[=+\-@\t\r])')


def is_risky(value: str) -> bool:
    """True when a spreadsheet could read some cell of this value as a formula (see the module's doc)."""
    return _FORMULA_START.search(value) is not None


def neutralise(value: str) -> str:
    """The CSV form of a cell: an apostrophe before every formula trigger a spreadsheet could see at the
    start of a cell, whichever list separator it splits on. The one neutraliser of every CSV export."""
    return _FORMULA_START.sub("\\1\\2'", value)


class _Echo:
    """csv.writer target that hands back what it was given instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def stream_csv(header: list[str], rows: Iterable[list[str]]) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    # The BOM makes Excel open the file as UTF-8 (accents in names) instead of the local code page.
    yield "\ufeff".encode() + writer.writerow([neutralise(h) for h in header]).encode()
    buffer: list[str] = []
    for row in rows:
        buffer.append(writer.writerow([neutralise(v) for v in row]))
        if len(buffer) >= FLUSH_EVERY_ROWS:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()


# --- XLSX ---------------------------------------------------------------------------------------------------


class _Sink:
    """A write-only, non-seekable file for ZipFile: collects bytes until the generator takes them."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
# Style 0: default; 1: bold (header row); 2: quotePrefix (a risky value shown and kept as text).
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _workbook(sheet_name: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{escape(sheet_name, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _row_xml(number: int, values: list[str], letters: list[str], *, header: bool = False) -> str:
    cells = []
    for letter, value in zip(letters, values, strict=False):
        if value == "":
            continue
        text = escape(_XML_INVALID.sub("", value))
        style = ' s="1"' if header else (' s="2"' if is_risky(value) else "")
        cells.append(
            f'<c r="{letter}{number}" t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>'
        )
    return f'<row r="{number}">{"".join(cells)}</row>'


def stream_xlsx(
    header: list[str], rows: Iterable[list[str]], *, sheet_name: str = "Users"
) -> Iterator[bytes]:
    sink = _Sink()
    letters = [column_letter(i) for i in range(len(header))]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _workbook(sheet_name[:31]))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        yield sink.take()
        with archive.open("xl/worksheets/sheet1.xml", mode="w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                b'state="frozen"/></sheetView></sheetViews><sheetData>'
            )
            sheet.write(_row_xml(1, header, letters, header=True).encode())
            for number, row in enumerate(rows, start=2):
                sheet.write(_row_xml(number, row, letters).encode())
                if number % FLUSH_EVERY_ROWS == 0:
                    chunk = sink.take()
                    if chunk:
                        yield chunk
            sheet.write(b"</sheetData></worksheet>")
    yield sink.take()
