"""Hostile uploads: compression bombs, entity tricks, lying and truncated zips, NUL characters and huge
cells are refused (or cleaned) with a clear message, read in a child process whose time and memory stay
within the stated limits; a normal workbook reads exactly as openpyxl read it before.

Bounds are generous on purpose (a loaded CI machine): what is asserted is that each limit holds, not speed.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.bulkadd.conftest import csv_bytes
from tests.verify import hostile_uploads as hostile
from users.bulkadd import isolation
from users.bulkadd.columns import MAX_CELL
from users.bulkadd.parse import FileProblem, file_limits, parse_upload
from users.bulkadd.reader import Limits, read_table

# (bomb, what the message must say)
BOMBS = [
    ("shared_strings_part", "xl/sharedStrings.xml unpacks to more than 64 MB"),
    ("shared_strings_count", "more than 500,000 different texts"),
    ("cells", "more than 500,000 cells"),
    ("sheets", "more than 100 sheets"),
    ("nesting", "nests elements more than 64 deep"),
    ("billion_laughs", "document type declaration (DTD)"),
    ("external_entity", "document type declaration (DTD)"),
    ("lying_sizes", "sheet1.xml cannot be unpacked"),
]


def _refused(content: bytes, name: str = "book.xlsx") -> FileProblem:
    with pytest.raises(FileProblem) as refused:
        parse_upload("users", name, content)
    return refused.value


def _within_limits(reading) -> None:
    """The read was bounded: the wall time by the limit (plus interpreter start-up), the child's own memory
    by its RLIMIT_AS."""
    limits = file_limits()
    assert reading is not None and reading.ended
    assert reading.seconds <= limits.seconds + isolation.START_UP_SECONDS
    assert 0 < reading.peak_virtual_mb <= limits.memory_mb
    assert reading.peak_mb <= limits.memory_mb


@pytest.mark.parametrize(("bomb", "message"), BOMBS, ids=[b for b, _ in BOMBS])
def test_compression_bombs_are_refused_within_the_limits(bomb, message):
    content = hostile.BOMBS[bomb]()
    assert len(content) < 2 * 1024 * 1024  # each is a small upload
    problem = _refused(content)
    assert message in str(problem)
    _within_limits(problem.reading)
    assert problem.reading.ended == "answered"  # refused by the reader's own check, not by a kill
    assert problem.reading.peak_mb < 200  # and far below the limit: nothing was unpacked whole


def test_an_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    problem = _refused(hostile.external_entity(secret.as_uri()))
    assert "TOP-SECRET-VALUE" not in str(problem) and "DTD" in str(problem)


def test_a_declared_size_is_not_trusted_either_way():
    # Declared 1 KB, really 10 MB: zipfile stops at the declared size and the checksum fails.
    assert "cannot be unpacked" in str(_refused(hostile.lying_sizes(actual_megabytes=10)))
    # Declared 4 GB, really 1 KB: what counts is what unpacks, so the file reads.
    inflated = hostile._declare_size(hostile.workbook(), "xl/worksheets/sheet1.xml", 2**32 - 2)
    assert [row.data["username"] for row in parse_upload("users", "book.xlsx", inflated).rows] == [
        "ann",
        "bob",
    ]


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.8, 0.97])
def test_a_truncated_workbook_is_refused_with_a_message(fraction):
    problem = _refused(hostile.truncated(fraction))
    assert "cut short" in str(problem) or "damaged" in str(problem)


def test_a_damaged_part_is_refused_with_its_name_and_line():
    broken = hostile.workbook(
        {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row><c></row></worksheet>"}
    )
    problem = str(_refused(broken))
    assert "xl/worksheets/sheet1.xml is not valid XML" in problem and "line 1" in problem


def test_a_mangled_workbook_is_read_or_refused_never_an_error():
    """Bytes flipped anywhere (zip directory, headers, compressed or stored XML): the reader either reads
    the file or raises FileProblem — never another exception (in the child that would be a bare exit)."""
    import random
    import zipfile

    source = hostile.workbook()
    stored = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(source)) as packed,
        zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as plain,
    ):
        for name in packed.namelist():
            plain.writestr(name, packed.read(name))
    rng = random.Random(13)
    for base in (source, stored.getvalue()):
        for _ in range(400):
            data = bytearray(base)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                read_table("b.xlsx", bytes(data), Limits())
            except FileProblem as problem:
                assert str(problem)


def test_an_old_or_password_protected_workbook_is_named():
    assert ".xls" in str(_refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "book.xls"))


def test_a_nul_in_a_csv_cell_is_removed_and_the_cell_named():
    content = b"username,givenName\r\nann,A\x00nn\r\nbob\x00,Bob\r\n"
    parsed = parse_upload("users", "users.csv", content)
    assert [r.data for r in parsed.rows] == [{"username": "ann", "given_name": "Ann"},
                                            {"username": "bob", "given_name": "Bob"}]  # fmt: skip
    note = next(n for n in parsed.notes if "NUL" in n)
    assert "2 cell(s)" in note and "row 2 givenName" in note and "row 3 username" in note


def test_a_nul_in_an_xlsx_cell_is_refused_with_where_it_is():
    problem = str(_refused(hostile.nul_in_cell()))
    assert "NUL character" in problem and "row 2" in problem


def test_a_40kb_cell_is_cut_with_a_note_in_csv_and_xlsx():
    big = "A" * 40_000
    for name, content in (("u.csv", f"username,jobTitle\r\nann,{big}\r\n".encode()),
                          ("u.xlsx", hostile.workbook({"xl/worksheets/sheet1.xml": hostile._sheet_xml(
                              [["username", "jobTitle"], ["ann", big]])}))):  # fmt: skip
        parsed = parse_upload("users", name, content)
        assert parsed.rows[0].data["job_title"] == "A" * MAX_CELL
        assert any(f"longer than {MAX_CELL:,} characters" in n for n in parsed.notes)
        _within_limits(parsed.reading)


def test_csv_limits_hold_too():
    # One line of 600,000 empty fields: the cell limit, not an hour of work.
    assert "more than 500,000 cells" in str(_refused(b"username\r\n" + b"," * 600_000, "u.csv"))
    # A field longer than the CSV reader takes is refused with its line.
    assert "Line 2" in str(_refused(b"username\r\n" + b"x" * 200_000 + b"\r\n", "u.csv"))


def test_the_total_text_limit_holds_against_one_text_used_everywhere():
    # One 4,000-character shared string referenced by every cell: 1,000 x 20 cells would be 80 M characters.
    strings = (f'<sst xmlns="{hostile.MAIN}"><si><t>' + "B" * 4000 + "</t></si></sst>").encode()
    rows = "".join(f'<row r="{r}">' + '<c t="s"><v>0</v></c>' * 20 + "</row>" for r in range(1, 1001))
    sheet = f'<worksheet xmlns="{hostile.MAIN}"><sheetData>{rows}</sheetData></worksheet>'.encode()
    content = hostile.workbook({"xl/sharedStrings.xml": strings, "xl/worksheets/sheet1.xml": sheet})
    with pytest.raises(FileProblem, match="characters in all"):
        read_table("b.xlsx", content, Limits(total_chars=1_000_000))


def test_the_wall_time_limit_kills_a_slow_read(monkeypatch):
    monkeypatch.setattr(isolation, "START_UP_SECONDS", 0.0)
    with override_settings(BULKADD_PARSE_SECONDS=0.05):
        problem = _refused(hostile.many_cells(400_000))
    assert "took longer than 0.05 seconds" in str(problem)
    assert problem.reading.seconds < 5  # killed, not waited for


@override_settings(BULKADD_PARSE_MEMORY_MB=64)
def test_the_memory_limit_holds_and_says_so():
    content = b"username\r\n" + b"".join(b"u%d,%s\r\n" % (i, b"x" * 40) for i in range(150_000))
    assert len(content) < 10 * 1024 * 1024
    problem = _refused(content, "u.csv")
    assert "needed more than 64 MB of memory" in str(problem)
    assert problem.reading.peak_virtual_mb <= 64


def test_a_reader_that_cannot_start_is_a_message(monkeypatch):
    def refuse(*args, **kwargs):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(isolation.subprocess, "Popen", refuse)
    assert str(_refused(b"username\r\nann\r\n", "u.csv")) == isolation.NOT_STARTED


# --- a normal workbook reads as it did with openpyxl -----------------------------------------------------------


def _openpyxl_table(content: bytes) -> list[list[str]]:
    """The table the previous reader (openpyxl, read-only, values only) produced, in the new layout."""
    from openpyxl import load_workbook

    def text(value) -> str:
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

    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    table = []
    for index, values in enumerate(book.worksheets[0].iter_rows(values_only=True, max_col=100), start=1):
        cells = [text(v) for v in values]
        if any(c.strip() for c in cells):
            while cells and not cells[-1]:
                cells.pop()
            table.append([str(index), "", *cells])
    book.close()
    return table


def test_a_normal_workbook_reads_exactly_as_before():
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    book = Workbook()
    sheet = book.active
    sheet.title = "Users"
    sheet.append(["username", "givenName", "postalCode", "mustChangePassword", "jobTitle", "hired", "start",
                  "shift", "score", "note"])  # fmt: skip
    sheet.append(["ann", "Zoë", 1012, True, "Ingénieur", date(2024, 3, 5), datetime(2024, 3, 5, 9, 30),
                  time(8, 15), 2.5, "=1+1"])  # fmt: skip
    sheet.append([None] * 10)
    sheet.append(["bob", "Bob", "0123", False, CellRichText([TextBlock(InlineFont(b=True), "Head"), " of"]),
                  None, None, None, -3, "x_x005F_y"])  # fmt: skip
    sheet["J5"] = "last"
    sheet["A6"] = "carl"
    sheet["C6"] = 1e20
    book.create_sheet("Other").append(["ignored"])
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()

    table, fmt, notes = read_table("book.xlsx", content, file_limits())
    trimmed = [[*row[:2], *_rstrip(row[2:])] for row in table]
    assert trimmed == _openpyxl_table(content)
    assert fmt == "XLSX" and any("first worksheet (Users)" in n for n in notes)
    assert any("leading zeros" in n for n in notes)
    parsed = parse_upload("users", "book.xlsx", content)
    assert [r.position for r in parsed.rows] == [2, 4, 5, 6]
    assert parsed.rows[0].data["postal_code"] == "1012" and parsed.rows[1].data["job_title"] == "Head of"


def test_shared_strings_styles_and_cell_types_read_as_openpyxl_read_them():
    """What Excel itself writes: shared strings (rich text, phonetic runs, escapes), date styles (built-in
    and custom, a duration, a quoted "d" that is no date), booleans, errors, cached formula results."""
    strings = ["username", "givenName", "note", "when", "other",
               "<r><rPr><b/></rPr><t>Rich</t></r><r><t xml:space=\"preserve\"> text</t></r>"
               "<rPh sb=\"0\" eb=\"1\"><t>furigana</t></rPh>",
               "x_x005F_y", "Zo\u00eb &amp; &lt;co&gt;", "  padded  "]  # fmt: skip
    sst = "".join(f"<si>{s}</si>" if s.startswith("<r>") else f"<si><t>{s}</t></si>" for s in strings)
    styles = (
        f'<styleSheet xmlns="{hostile.MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd '
        'hh:mm"/><numFmt numFmtId="165" formatCode="&quot;Day &quot;0"/></numFmts><cellStyleXfs count="1">'
        '<xf numFmtId="0"/></cellStyleXfs><cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="14"/>'
        '<xf numFmtId="164"/><xf numFmtId="46"/><xf numFmtId="49"/><xf numFmtId="165"/></cellXfs></styleSheet>'
    )
    row2 = (
        '<c r="A2" t="s"><v>5</v></c><c r="B2" t="b"><v>1</v></c><c r="C2"><v>1012</v></c><c r="D2" s="1">'
        '<v>45000</v></c><c r="E2" s="2"><v>45000.5</v></c><c r="F2" s="3"><v>1.25</v></c><c r="G2" s="5">'
        '<v>7</v></c><c r="H2" t="e"><v>#N/A</v></c><c r="I2" t="str"><f>A1&amp;"x"</f><v>usernamex</v></c>'
        '<c r="J2"><f>1/3</f><v>0.33333333333333331</v></c><c r="K2"><v>1E+20</v></c><c r="L2" s="4"/>'
    )
    row3 = '<c r="A3" t="s"><v>6</v></c><c r="C3" t="s"><v>7</v></c><c r="E3" t="s"><v>8</v></c><c r="F3" s="1"><v>0.75</v></c>'
    head = "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(5))
    sheet = (f'<worksheet xmlns="{hostile.MAIN}"><sheetData><row r="1">{head}</row><row r="2">{row2}</row>'
             f'<row r="3">{row3}</row><row r="4"><c r="A4" s="4"/></row></sheetData></worksheet>')  # fmt: skip
    content = hostile.workbook({"xl/sharedStrings.xml": f'<sst xmlns="{hostile.MAIN}">{sst}</sst>'.encode(),
                                "xl/styles.xml": styles.encode(), "xl/worksheets/sheet1.xml": sheet.encode()})  # fmt: skip
    table, _fmt, notes = read_table("book.xlsx", content, file_limits())
    expected = _openpyxl_table(content)
    assert [[*row[:2], *_rstrip(row[2:])] for row in table] == expected
    assert expected[1][2:6] == [
        "Rich text",
        "true",
        "1012",
        "2023-03-15 00:00:00",
    ]  # the comparison has teeth
    assert any("leading zeros" in n for n in notes)


def _rstrip(cells: list[str]) -> list[str]:
    cells = list(cells)
    while cells and not cells[-1]:
        cells.pop()
    return cells


def test_dates_follow_the_workbooks_1904_setting():
    book = hostile.workbook({
        "xl/workbook.xml": (f'<workbook xmlns="{hostile.MAIN}" xmlns:r="{hostile.RELS}"><workbookPr date1904="1"/>'
                            '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/styles.xml": f'<styleSheet xmlns="{hostile.MAIN}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/>'
                         "</cellXfs></styleSheet>".encode(),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{hostile.MAIN}"><sheetData><row r="1"><c t="inlineStr">'
                                    '<is><t>username</t></is></c><c t="inlineStr"><is><t>hired</t></is></c></row>'
                                    '<row r="2"><c t="inlineStr"><is><t>ann</t></is></c><c s="1"><v>1</v></c></row>'
                                    "</sheetData></worksheet>".encode(),
    })  # fmt: skip
    table, _fmt, _notes = read_table("b.xlsx", book, Limits())
    assert table[1][3] == "1904-01-02 00:00:00" == _openpyxl_table(book)[1][3]


# --- through the pages: never a 500, the message where the technician looks ---------------------------------


def _upload(client, world, content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("users:bulk-add-upload"), {
        "tenant": str(world.tenant.tenant_id), "kind": "users", "file": SimpleUploadedFile(name, content),
    })  # fmt: skip


def test_the_upload_page_shows_the_bombs_message_and_the_limits(bulk_world, editor, client):
    client.force_login(editor)
    response = _upload(client, bulk_world, hostile.billion_laughs(), "book.xlsx")
    page = response.content.decode()
    assert response.status_code == 422
    assert "data-file-problem" in page and "document type declaration" in page
    assert "100 sheets" in page and "500,000 cells" in page and "64 MB unpacked per part" in page
    assert "20 seconds" in page and "512 MB of memory" in page


def test_a_nul_upload_is_stored_without_nul_and_the_note_shown(bulk_world, editor, client):
    from users.models import BulkImport

    client.force_login(editor)
    rows = [{"givenName": "A\x00nn", "surname": "Lee", "username": "ann.nul", "domain": bulk_world.domain}]
    response = _upload(client, bulk_world, csv_bytes(rows), "na\x00me.csv")
    assert response.status_code == 302
    bulk_import = BulkImport.objects.get(created_by=editor)
    assert "\x00" not in bulk_import.file_name and "\x00" not in str(bulk_import.file_notes)
    assert all("\x00" not in value for row in bulk_import.rows.all() for value in row.data.values())
    preview = client.get(response["Location"]).content.decode()
    assert "NUL characters" in preview and "row 2 givenName" in preview


def test_a_bomb_on_reupload_is_a_message_not_a_500(bulk_world, editor, client, make_import):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bulk_import, _key = make_import(csv_bytes([{"username": "keep.me", "domain": bulk_world.domain}]),
                                    technician=editor)  # fmt: skip
    client.force_login(editor)
    response = client.post(reverse("users:bulk-add-reupload", args=[bulk_import.pk]),
                           {"file": SimpleUploadedFile("b.xlsx", hostile.many_sheets())}, follow=True)  # fmt: skip
    assert response.status_code == 200 and "more than 100 sheets" in response.content.decode()
    assert list(bulk_import.rows.values_list("data__username", flat=True)) == ["keep.me"]
