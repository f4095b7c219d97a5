"""XLSX, read as a stream of the few zip parts that matter (runs in the reader child; no Django here).

Why not openpyxl: it reads the shared-strings table whole, trusts the sizes the zip declares, and builds a
tree per row — a 0.5 MB workbook kept a web worker busy for minutes at 1.3 GB. Here each part is
decompressed chunk by chunk with the bytes *counted* (``ZipInfo.file_size`` is whatever the attacker wrote)
and fed to expat with a document type declaration refused outright: Excel never writes one, and without it
no entity can be declared (billion laughs) or point outside (external entities). Only the package
relationships, the workbook (sheet list, 1904 dates), the styles (which cells are dates), the shared strings
and the first worksheet are read; other sheets, pictures and the rest are never decompressed.

The values are the ones openpyxl gives with ``data_only=True`` (cached results of formulas; dates from
date-formatted numbers; rich text flattened, phonetic runs left out), turned into text the same way.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from datetime import datetime, timedelta
from xml.parsers import expat

from .reader import Budget, FileProblem

CHUNK = 64 * 1024
OFFICE_DOCUMENT = "/officeDocument"
WINDOWS_EPOCH, MAC_EPOCH = datetime(1899, 12, 30), datetime(1904, 1, 1)
# Excel's built-in number formats that show dates or times (the others are plain numbers).
BUILTIN_DATES = {14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
                 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm", 45: "mm:ss",
                 46: "[h]:mm:ss", 47: "mmss.0"}  # fmt: skip
_LITERALS = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
_COLUMN = re.compile(r"[A-Za-z]{1,3}")


def damaged(detail: str) -> FileProblem:
    return FileProblem(f"The workbook is damaged or not an Excel workbook: {detail}. Open it in Excel, save it "
                       "again (or save it as CSV UTF-8) and upload it again.")  # fmt: skip


def xlsx_table(content: bytes, budget: Budget) -> tuple[list[list[str]], str, list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as exc:
        raise FileProblem(
            "The file looks like an Excel workbook but cannot be opened as one (.xlsx): it may be cut short "
            "or damaged. Save it again from Excel and upload it again."
        ) from exc
    with archive:
        book = _Workbook(archive, budget)
        sheets = book.worksheets()
        if not sheets:
            raise FileProblem("The workbook has no worksheet.")
        notes: list[str] = []
        if len(sheets) > 1:
            notes.append(f"Only the first worksheet ({sheets[0][0]}) was read.")
        styles = book.date_styles()
        strings = book.shared_strings()
        sheet = _Sheet(strings, styles, book.epoch, budget)
        try:
            _parse(archive, sheets[0][1], sheet)
        except _Enough:
            pass
        if sheet.numbers:
            notes.append(
                "Some cells are numbers in Excel: phone numbers and postal codes typed as numbers lose leading "
                "zeros. Check them in the preview, or format those columns as Text."
            )
        return sheet.table, "XLSX", notes


class _Enough(Exception):
    """The sheet has more rows than may be imported: stop reading, the caller refuses the file."""


# --- one part: counted bytes into a hardened expat parser -------------------------------------------------


class _Handler:
    """Receives start/end (local name) and text of one part. ``_start``/``_end`` are what expat calls:
    they keep the nesting depth and the clock, and map "x:c" to "c" (cached: a part names few elements)."""

    part = ""
    where = ""  # where in the part the reader is, for a message about broken XML

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.depth = 0
        self.max_depth = budget.limits.xml_depth
        self.names: dict[str, str] = {}

    def _local(self, name: str) -> str:
        local = name.rpartition(":")[2]
        if len(self.names) < 1000:
            self.names[name] = local
        return local

    def _start(self, name: str, attrs: dict) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise damaged(f"{self.part} nests elements more than {self.max_depth} deep")
        budget = self.budget
        budget.ticks += 1
        if not budget.ticks & 4095:
            budget.check_clock()
        self.start(self.names.get(name) or self._local(name), attrs)

    def _end(self, name: str) -> None:
        self.depth -= 1
        self.end(self.names.get(name) or self._local(name))

    def start(self, name: str, attrs: dict) -> None: ...

    def end(self, name: str) -> None: ...

    def text(self, data: str) -> None: ...


def _refuse_dtd(*_args) -> None:
    raise FileProblem(
        "The workbook contains a document type declaration (DTD), which Excel never writes and which can "
        "declare entities that expand to gigabytes or read other files. It was refused; save the data as a "
        "new workbook or as CSV UTF-8."
    )


def _parse(archive: zipfile.ZipFile, part: str, handler: _Handler) -> None:
    limits = handler.budget.limits
    parser = expat.ParserCreate()  # no namespace processing: elements are matched by local name
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    handler.part = part
    parser.StartElementHandler = handler._start
    parser.EndElementHandler = handler._end
    parser.CharacterDataHandler = handler.text
    unpacked = 0
    chunk = b""
    try:
        with archive.open(part) as stream:
            while True:
                chunk = stream.read(CHUNK)  # at most CHUNK bytes decompressed per call, whatever was declared
                if not chunk:
                    break
                unpacked += len(chunk)
                if unpacked > limits.part_bytes:
                    raise FileProblem(
                        f"The workbook's part {part} unpacks to more than {limits.part_bytes // 1048576} MB "
                        f"(the limit for each part). A workbook of {limits.max_rows:,} rows needs far less: "
                        "save it again from Excel, or as CSV UTF-8."
                    )
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except FileProblem:
        raise
    except KeyError as exc:
        raise damaged(f"it has no {part}") from exc
    except expat.ExpatError as exc:
        what = expat.errors.messages.get(exc.code, "not well-formed")
        if b"\x00" in chunk:
            what += "; it holds a NUL character (code 0), which XML does not allow"
        raise damaged(f"{part} is not valid XML ({what}, line {exc.lineno}{handler.where})") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error) as exc:
        # ValueError: zipfile seeking to an offset the damaged directory gave (FileProblem passed above)
        raise damaged(f"{part} cannot be unpacked ({exc}); the file may be cut short") from exc
    except (NotImplementedError, RuntimeError) as exc:  # an unknown compression, or an encrypted part
        raise damaged(f"{part} cannot be unpacked ({exc})") from exc


class _Collect(_Handler):
    """Calls ``on(name, attrs)`` for every start tag: enough for the relationship and workbook parts."""

    def __init__(self, budget: Budget, on) -> None:
        super().__init__(budget)
        self.on = on

    def start(self, name, attrs):
        self.on(name, attrs)


# --- the workbook: where the parts are, which sheets, which styles are dates ------------------------------


class _Workbook:
    def __init__(self, archive: zipfile.ZipFile, budget: Budget) -> None:
        self.archive, self.budget = archive, budget
        self.path = self._office_document()
        self.rels = self._relationships(self.path)
        self.epoch = WINDOWS_EPOCH

    def _target(self, source: str, target: str) -> str:
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))

    def _office_document(self) -> str:
        found: list[str] = []

        def on(name, attrs):
            if name == "Relationship" and attrs.get("Type", "").endswith(OFFICE_DOCUMENT):
                found.append(attrs.get("Target", ""))

        if "_rels/.rels" in self.archive.NameToInfo:
            _parse(self.archive, "_rels/.rels", _Collect(self.budget, on))
        return self._target("", found[0]) if found and found[0] else "xl/workbook.xml"

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (type, part) of ``part``'s relationships."""
        rels: dict[str, tuple[str, str]] = {}
        path = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")

        def on(name, attrs):
            if name == "Relationship" and len(rels) < 10_000:
                rels[attrs.get("Id", "")] = (
                    attrs.get("Type", ""),
                    self._target(part, attrs.get("Target", "")),
                )

        if path in self.archive.NameToInfo:
            _parse(self.archive, path, _Collect(self.budget, on))
        return rels

    def worksheets(self) -> list[tuple[str, str]]:
        """(name, part) of each worksheet in the workbook's order (chart sheets are not worksheets)."""
        listed: list[tuple[str, str]] = []
        limits = self.budget.limits

        def on(name, attrs):
            if name == "sheet":
                if len(listed) >= limits.sheets:
                    raise FileProblem(
                        f"The workbook has more than {limits.sheets} sheets; the limit is {limits.sheets}. Copy the "
                        "sheet to import into a new workbook, or save it as CSV UTF-8."
                    )
                rel = next((v for k, v in attrs.items() if k.endswith(":id")), "")
                listed.append((attrs.get("name", "")[:100], rel))
            elif name == "workbookPr" and attrs.get("date1904", "").lower() in ("1", "true"):
                self.epoch = MAC_EPOCH

        _parse(self.archive, self.path, _Collect(self.budget, on))
        sheets = []
        for title, rel in listed:
            kind, part = self.rels.get(rel, ("", ""))
            if kind.endswith("/worksheet") and part:
                sheets.append((title, part))
        if not sheets and listed and not self.rels and "xl/worksheets/sheet1.xml" in self.archive.NameToInfo:
            sheets.append((listed[0][0], "xl/worksheets/sheet1.xml"))  # no relationships part: the usual name
        return sheets

    def _part_of(self, kind: str, usual: str) -> str | None:
        for rel_type, part in self.rels.values():
            if rel_type.endswith("/" + kind):
                return part if part in self.archive.NameToInfo else None
        return usual if usual in self.archive.NameToInfo else None

    def date_styles(self) -> dict[int, bool]:
        """Style index -> True when it shows a duration ([h]:mm), False for a date/time; others absent."""
        part = self._part_of("styles", "xl/styles.xml")
        if part is None:
            return {}
        custom: dict[int, str] = {}
        cell_formats: list[int] = []
        inside = [False]

        def on(name, attrs):
            if name == "numFmt":
                custom[_int(attrs.get("numFmtId"))] = attrs.get("formatCode", "")[:1000]
            elif name == "cellXfs":
                inside[0] = True
            elif name == "cellStyleXfs":
                inside[0] = False
            elif name == "xf" and inside[0] and len(cell_formats) < 100_000:
                cell_formats.append(_int(attrs.get("numFmtId")))

        _parse(self.archive, part, _Collect(self.budget, on))
        styles = {}
        for index, format_id in enumerate(cell_formats):
            code = custom.get(format_id) or BUILTIN_DATES.get(format_id)
            if code and _is_date(code):
                styles[index] = bool(_DURATION.search(code.split(";")[0]))
        return styles

    def shared_strings(self) -> list[str]:
        part = self._part_of("sharedStrings", "xl/sharedStrings.xml")
        if part is None:
            return []
        strings = _SharedStrings(self.budget)
        _parse(self.archive, part, strings)
        return strings.strings


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _is_date(code: str) -> bool:
    return _DATE_CODE.search(_LITERALS.sub("", code.split(";")[0])) is not None


# --- shared strings and the sheet ----------------------------------------------------------------------------


class _Text:
    """Text of <t> elements (rich-text runs joined; phonetic runs left out), cut at the per-cell limit."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.inside = False
        self.phonetic = 0

    def reset(self) -> None:
        self.parts, self.size, self.inside, self.phonetic = [], 0, False, 0

    def start(self, name: str) -> None:
        if name == "rPh":
            self.phonetic += 1
        elif name == "t":
            self.inside = not self.phonetic

    def end(self, name: str) -> None:
        if name == "rPh":
            self.phonetic -= 1
        elif name == "t":
            self.inside = False

    def add(self, data: str) -> None:
        if self.inside and self.size < self.cap:
            self.parts.append(data[: self.cap - self.size])
            self.size += len(self.parts[-1])

    def value(self) -> str:
        return "".join(self.parts).replace("x005F_", "")  # as openpyxl: the escaped underscore


class _SharedStrings(_Handler):
    """The shared-strings table. ``_start``/``_end`` are expat's handlers directly (no second call per
    element: a hostile table has a million of them)."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(budget)
        self.strings: list[str] = []
        self.limit = budget.limits.shared_strings
        self.current = _Text(budget.limits.cell_chars)
        self.text = self.current.add  # expat calls the collector directly

    @property
    def where(self) -> str:
        return f", after text {len(self.strings):,}"

    def _start(self, name, attrs):
        self.depth += 1
        if self.depth > self.max_depth:
            raise damaged(f"{self.part} nests elements more than {self.max_depth} deep")
        local = self.names.get(name) or self._local(name)
        current = self.current
        if local == "t":
            current.inside = not current.phonetic
        elif local == "si":
            current.parts, current.size, current.inside, current.phonetic = [], 0, False, 0
            self.budget.ticks += 1
            if not self.budget.ticks & 4095:
                self.budget.check_clock()
        else:
            current.start(local)

    def _end(self, name):
        self.depth -= 1
        local = self.names.get(name) or self._local(name)
        if local == "t":
            self.current.inside = False
        elif local == "si":
            if len(self.strings) >= self.limit:
                raise FileProblem(
                    f"The workbook holds more than {self.limit:,} different texts (its shared strings); the limit "
                    f"is {self.limit:,}. Save it as CSV UTF-8, or split it into smaller files."
                )
            self.strings.append(self.current.value())
        else:
            self.current.end(local)


class _Sheet(_Handler):
    """The first worksheet's rows as [row number, beyond, cell...], blank rows left out. ``_start``/``_end``
    are expat's handlers directly, as for the shared strings."""

    def __init__(self, strings: list[str], date_styles: dict[int, bool], epoch: datetime, budget: Budget):
        super().__init__(budget)
        self.strings, self.date_styles, self.epoch = strings, date_styles, epoch
        self.max_cells = budget.limits.cells
        self.limits = budget.limits
        self.table: list[list[str]] = []
        self.numbers = False
        self.filled = 0
        self.row_number = 0
        self.row: dict[int, str] = {}
        self.beyond = False
        self.column = 0
        self.cell: tuple[str, str, str] | None = None  # (type, style, reference)
        self.value = _Text(self.limits.cell_chars)
        self.in_value = False
        self.in_inline = False

    @property
    def where(self) -> str:
        return f", row {self.row_number}, column {self.column}"

    def _start(self, name, attrs):
        self.depth += 1
        if self.depth > self.max_depth:
            raise damaged(f"{self.part} nests elements more than {self.max_depth} deep")
        local = self.names.get(name) or self._local(name)
        budget = self.budget
        budget.ticks += 1
        if not budget.ticks & 4095:
            budget.check_clock()
        if local == "c":
            budget.cells += 1
            if budget.cells > self.max_cells:
                raise budget.too_many_cells()
            reference = attrs.get("r")
            if reference:
                letters = _COLUMN.match(reference)
                self.column = _column_index(letters.group(0)) if letters else self.column + 1
            else:
                self.column += 1
            self.cell = (attrs.get("t", "n"), attrs.get("s"), reference or "")
            value = self.value
            value.parts, value.size, value.inside, value.phonetic = [], 0, False, 0
        elif local == "v":
            if self.cell is not None:
                self.in_value = self.value.inside = True
        elif local == "row":
            self.row_number = _int(attrs.get("r"), self.row_number + 1)
            self.row, self.beyond, self.column = {}, False, 0
        elif self.cell is None:
            return
        elif local == "is":
            self.in_inline = True
        elif self.in_inline:
            self.value.start(local)

    def _end(self, name):
        self.depth -= 1
        local = self.names.get(name) or self._local(name)
        if local == "v":
            self.in_value = self.value.inside = False
        elif local == "c":
            if self.cell is not None:
                kind, style, reference = self.cell
                text = self._cell_text(kind, _int(style) if style else 0, reference)
                if self.column > self.limits.max_columns:
                    self.beyond = self.beyond or bool(text.strip())
                elif text:
                    self.row[self.column] = self.budget.text(text)
            self.cell, self.in_value, self.in_inline = None, False, False
        elif local == "row":
            self._row_done()
        elif local == "is":
            self.in_inline = False
        elif self.in_inline:
            self.value.end(local)

    def text(self, data):
        if self.cell is not None and (self.in_value or self.in_inline):
            self.value.add(data)

    def _row_done(self) -> None:
        if not any(value.strip() for value in self.row.values()) and not self.beyond:
            return  # formatted-but-empty rows, as openpyxl reports them, are skipped
        width = max(self.row, default=0)
        cells = [self.row.get(column, "") for column in range(1, width + 1)]
        self.table.append([f"{self.row_number}", "x" if self.beyond else "", *cells])
        self.filled += 1
        if self.filled > self.limits.max_rows + 1:
            raise _Enough

    def _cell_text(self, kind: str, style: int, reference: str) -> str:
        if not self.value.parts:
            return ""
        if kind == "inlineStr":
            return "".join(self.value.parts)  # as openpyxl: only shared strings unescape x005F_
        raw = "".join(self.value.parts)
        if kind == "s":
            index = _int(raw, -1)
            if not 0 <= index < len(self.strings):
                raise damaged(f"cell {reference} refers to a shared text that does not exist")
            return self.strings[index]
        if kind == "b":
            return "true" if raw.strip() not in ("0", "") else "false"
        if kind == "d":
            try:
                return datetime.fromisoformat(raw.strip()).isoformat(sep=" ")
            except ValueError:
                return raw
        if kind != "n":
            return raw  # "str" (a formula's text), "e" (#N/A ...)
        try:
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw
        if style in self.date_styles:
            return _date_text(number, self.epoch, duration=self.date_styles[style])
        self.numbers = True
        if isinstance(number, float) and number.is_integer():
            return str(int(number))
        return str(number)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index


def _date_text(value: float, epoch: datetime, *, duration: bool) -> str:
    """A date-formatted number as openpyxl's ``from_excel`` gives it, then as text."""
    try:
        if duration:
            delta = timedelta(days=value)
            if delta.microseconds:
                delta = timedelta(
                    seconds=delta.total_seconds() // 1, microseconds=round(delta.microseconds, -3)
                )
            return str(delta)
        day, fraction = divmod(value, 1)
        diff = timedelta(milliseconds=round(fraction * 86400 * 1000))
        if 0 <= value < 1 and diff.days == 0:
            seconds = diff.seconds
            moment = datetime(
                1900, 1, 1, seconds // 3600, seconds // 60 % 60, seconds % 60, diff.microseconds
            )
            return moment.time().isoformat()
        if 0 < value < 60 and epoch == WINDOWS_EPOCH:
            day += 1  # Excel's 1900 leap-year bug, as openpyxl corrects it
        return (epoch + timedelta(days=day) + diff).isoformat(sep=" ")
    except (OverflowError, ValueError):
        return "#VALUE!"
