"""Hostile workbooks for the bulk import: compression bombs and malformed XLSX, built small in memory.

Each builder returns the bytes of an upload (kilobytes) that would cost a naive reader gigabytes or
minutes: a shared-strings part of 100+ MB, a million shared strings, two million cells, thousands of
sheets, elements nested 100,000 deep, a billion-laughs entity, an external entity, a zip whose declared
sizes lie. Used by tests/bulkadd (each refused with its message, within the limits) and by
``make verify``'s hostile part (figures for time and the reader's peak memory)."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = ["username", "givenName", "surname"]


def _sheet_xml(rows: list[list[str]]) -> bytes:
    body = []
    for number, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
            for i, value in enumerate(row)
        )
        body.append(f'<row r="{number}">{cells}</row>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>{"".join(body)}'
            "</sheetData></worksheet>").encode()  # fmt: skip


NORMAL_ROWS = [HEADER, ["ann", "Ann", "Lee"], ["bob", "Bob", "Smith"]]


def workbook(parts: dict[str, bytes | Iterable[bytes]] | None = None, *, sheets: int = 1) -> bytes:
    """A minimal valid workbook (``sheets`` sheets, the first holding NORMAL_ROWS) with ``parts``
    replacing or adding parts; a part given as an iterable of chunks is written without being built whole."""
    listed = "".join(f'<sheet name="Sheet{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, sheets + 1))
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, sheets + 1)
    )
    rels += f'<Relationship Id="rIdS" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    files: dict[str, bytes | Iterable[bytes]] = {
        "[Content_Types].xml": b"",  # below, naming the parts there are
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'.encode(),
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{listed}'
        "</sheets></workbook>".encode(),
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}">{rels}'
        "</Relationships>".encode(),
        "xl/worksheets/sheet1.xml": _sheet_xml(NORMAL_ROWS),
    }
    for index in range(2, sheets + 1):
        files[f"xl/worksheets/sheet{index}.xml"] = _sheet_xml([["x"]])
    files.update(parts or {})
    if not files["[Content_Types].xml"]:
        types = "application/vnd.openxmlformats-officedocument.spreadsheetml."
        overrides = "".join(
            f'<Override PartName="/{part}" ContentType="{types}{kind}+xml"/>'
            for part, kind in (("xl/workbook.xml", "sheet.main"), ("xl/sharedStrings.xml", "sharedStrings"),
                               ("xl/styles.xml", "styles"))
            if part in files
        )  # fmt: skip
        files["[Content_Types].xml"] = (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" '
            f'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>{overrides}</Types>'
        ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in files.items():
            if isinstance(data, bytes):
                archive.writestr(name, data)
            else:
                with archive.open(name, "w", force_zip64=True) as stream:
                    for chunk in data:
                        stream.write(chunk)
    return buffer.getvalue()


def _repeat(head: bytes, unit: bytes, count: int, tail: bytes) -> Iterable[bytes]:
    yield head
    block = unit * max(1, 65536 // len(unit))
    per_block = len(block) // len(unit)
    while count > 0:
        take = min(count, per_block)
        yield block if take == per_block else unit * take
        count -= take
    yield tail


def _strings_head() -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode()


def huge_shared_strings(megabytes: int = 160) -> bytes:
    """One shared-strings part that unpacks to ``megabytes`` MB: a single endless text."""
    filler = b"A" * 65536
    return workbook({"xl/sharedStrings.xml": _repeat(_strings_head() + b"<si><t>", filler, megabytes * 16,
                                                     b"</t></si></sst>")})  # fmt: skip


def many_shared_strings(count: int = 1_200_000) -> bytes:
    """More than a million (tiny) shared strings."""
    return workbook(
        {"xl/sharedStrings.xml": _repeat(_strings_head(), b"<si><t>x</t></si>", count, b"</sst>")}
    )


def many_cells(count: int = 2_000_000) -> bytes:
    """A first sheet of a header and then ``count`` formatted-but-empty cells in one row."""
    head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is>' \
           "<t>username</t></is></c></row><row r=\"2\">"  # fmt: skip
    return workbook({"xl/worksheets/sheet1.xml": _repeat(head.encode(), b'<c s="1"/>', count,
                                                         b"</row></sheetData></worksheet>")})  # fmt: skip


def many_sheets(count: int = 5_000) -> bytes:
    return workbook(sheets=count)


def deeply_nested(depth: int = 200_000) -> bytes:
    head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'.encode()
    nested = b"<row>" * depth + b"</row>" * depth
    return workbook({"xl/worksheets/sheet1.xml": head + nested + b"</sheetData></worksheet>"})


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    strings = (f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]><sst xmlns="{MAIN}"><si><t>&lol9;</t></si>'
               "</sst>")  # fmt: skip
    return workbook({"xl/sharedStrings.xml": strings.encode()})


def external_entity(target: str = "file:///etc/passwd") -> bytes:
    strings = (f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY secret SYSTEM "{target}">]><sst xmlns="{MAIN}">'
               "<si><t>&secret;</t></si></sst>")  # fmt: skip
    return workbook({"xl/sharedStrings.xml": strings.encode()})


def lying_sizes(actual_megabytes: int = 100) -> bytes:
    """A sheet part that unpacks to ``actual_megabytes`` MB while the zip says it is 1 KB (local header and
    central directory both), as a check of ``ZipInfo.file_size`` would be fooled by."""
    row = b'<row><c t="inlineStr"><is><t>' + b"B" * 1000 + b"</t></is></c></row>"
    head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'.encode()
    content = workbook({"xl/worksheets/sheet1.xml": _repeat(head, row, actual_megabytes * 1000,
                                                            b"</sheetData></worksheet>")})  # fmt: skip
    return _declare_size(content, "xl/worksheets/sheet1.xml", 1024)


def _declare_size(content: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size of ``name`` in its local header and its central directory entry
    (in the zip64 extra field when the header says 0xFFFFFFFF)."""
    data = bytearray(content)
    encoded = name.encode()
    # (signature, offset of the size, of the name's length, of the name) in a local / central header
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            (name_len,) = struct.unpack_from("<H", data, start + name_len_at)
            if data[start + name_at : start + name_at + name_len] == encoded:
                if struct.unpack_from("<I", data, start + size_at)[0] == 0xFFFFFFFF:
                    struct.pack_into("<Q", data, start + name_at + name_len + 4, size)
                else:
                    struct.pack_into("<I", data, start + size_at, size)
            start += 4
    return bytes(data)


def truncated(fraction: float = 0.6) -> bytes:
    content = workbook()
    return content[: int(len(content) * fraction)]


def nul_in_cell() -> bytes:
    """A NUL character inside a cell's text, which XML forbids (openpyxl cannot even write it)."""
    return workbook({"xl/worksheets/sheet1.xml": _sheet_xml([HEADER, ["a\x00b", "Ann", "Lee"]])})


BOMBS = {
    "shared_strings_part": huge_shared_strings,
    "shared_strings_count": many_shared_strings,
    "cells": many_cells,
    "sheets": many_sheets,
    "nesting": deeply_nested,
    "billion_laughs": billion_laughs,
    "external_entity": external_entity,
    "lying_sizes": lying_sizes,
}
