"""Reading bulk import files: encodings, separators, headers (ours, any case, the admin center's), XLSX, the
limits, and the template round trip (the template's columns are exactly the ones the reader knows)."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings

from users.bulkadd import columns
from users.bulkadd.parse import FileProblem, decode, detect_separator, max_rows, parse_upload

HEADER = ["givenName", "surname", "username", "domain", "jobTitle"]
ROWS = [["Zoë", "Ångström", "zoe.a", "contoso.com", "Ingénieur"], ["Bob", "Smith", "bob", "contoso.com", ""]]


def _text(header=HEADER, rows=ROWS, sep=",") -> str:
    return "\r\n".join(sep.join(cells) for cells in [header, *rows]) + "\r\n"


@pytest.mark.parametrize(
    ("encoded", "label"),
    [
        (_text().encode("utf-8"), "UTF-8"),
        (b"\xef\xbb\xbf" + _text().encode("utf-8"), "UTF-8"),
        (_text().encode("utf-16"), "UTF-16"),  # BOM + little endian, Excel's "Unicode text"
        (_text().encode("utf-16-le"), "UTF-16"),  # no BOM
        (_text().encode("utf-16-be"), "UTF-16"),
    ],
)
def test_unicode_encodings_are_read_exactly(encoded, label):
    parsed = parse_upload("users", "users.csv", encoded)
    assert label in parsed.format
    assert [r.data["given_name"] for r in parsed.rows] == ["Zoë", "Bob"]
    assert parsed.rows[0].data["surname"] == "Ångström" and parsed.rows[0].data["job_title"] == "Ingénieur"
    assert not parsed.notes


def test_windows_1252_is_read_with_a_note():
    parsed = parse_upload("users", "users.csv", _text().encode("cp1252"))
    assert parsed.rows[0].data["given_name"] == "Zoë"
    assert "Windows-1252" in parsed.format and "CSV UTF-8" in parsed.notes[0]


def test_a_file_claiming_utf16_that_is_not_is_refused():
    with pytest.raises(FileProblem, match="UTF-16"):
        decode(b"\xff\xfe" + b"\x00\xd8")  # a lone surrogate


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_separators_are_detected_from_the_header(sep):
    rows = [["Ann", "Lee", "ann", "contoso.com", "Sales, EMEA"]]
    text = (
        sep.join(HEADER)
        + "\r\n"
        + sep.join(f'"{c}"' if sep in c or "," in c else c for c in rows[0])
        + "\r\n"
    )
    parsed = parse_upload("users", "users.csv", text.encode())
    assert parsed.rows[0].data["job_title"] == "Sales, EMEA"
    assert parsed.rows[0].data["username"] == "ann"


def test_excel_sep_line_and_quoted_multiline_cells_keep_line_numbers():
    text = 'sep=;\r\ngivenName;username;streetAddress\r\nAnn;ann;"1 Main St\r\nFloor 2"\r\n\r\nBob;bob;x\r\n'
    parsed = parse_upload("users", "users.csv", text.encode())
    assert [r.position for r in parsed.rows] == [2, 5]  # the blank line 4 is skipped, not renumbered
    assert parsed.rows[0].data["street_address"] == "1 Main St\r\nFloor 2"
    assert detect_separator('a;"b,c";d') == ";" and detect_separator("a,b") == ","


def test_headers_match_in_any_case_and_spacing():
    header = ["GIVENNAME", "Sur Name", "user_name", "Domain", "usage-location", "LICENSES"]
    parsed = parse_upload("users", "u.csv", _text(header, [["A", "B", "ab", "c.com", "gb", "SPB"]]).encode())
    assert parsed.match.positions == {0: "given_name", 1: "surname", 2: "username", 3: "domain", 4: "usage_location",
                                      5: "licences"}  # fmt: skip


def test_the_admin_centers_bulk_add_headers_are_understood():
    header = ["User Name", "First Name", "Last Name", "Display Name", "Job Title", "Department", "Office Number",
              "Office Phone", "Mobile Phone", "Fax", "Alternate email address", "Address", "City",
              "State or Province", "ZIP or Postal Code", "Country or Region"]  # fmt: skip
    row = ["chris@contoso.com", "Chris", "Green", "Chris Green", "Director", "Sales", "123451", "123-555-1211",
           "123-555-6641", "123-555-9821", "chris@fabrikam.net", "1 Microsoft way", "Redmond", "Wa", "98052",
           "United States"]  # fmt: skip
    parsed = parse_upload("users", "admin.csv", _text(header, [row]).encode())
    data = parsed.rows[0].data
    assert data["username"] == "chris@contoso.com" and data["given_name"] == "Chris"
    assert data["office_location"] == "123451" and data["fax"] == "123-555-9821"
    assert data["other_mails"] == "chris@fabrikam.net" and data["country"] == "United States"
    assert (
        data["postal_code"] == "98052"
        and data["state"] == "Wa"
        and data["street_address"] == "1 Microsoft way"
    )
    assert not parsed.match.ignored


def test_unknown_and_duplicate_headers_are_reported_not_fatal():
    header = ["username", "Favourite colour", "givenName", "First Name"]
    parsed = parse_upload("users", "u.csv", _text(header, [["a", "blue", "A", "AA"]]).encode())
    assert parsed.rows[0].data == {"username": "a", "given_name": "A"}
    assert any("Favourite colour" in note for note in parsed.notes)
    assert any("First Name" in note for note in parsed.notes)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\r\n\r\n", "empty"),
        (b"colour,size\r\nblue,1\r\n", "None of the file's headers"),
        (b"givenName,surname\r\nA,B\r\n", "no column for: Username"),
        (b"username,givenName\r\n", "no rows"),
        (b"username\r\n,\r\n  \r\n", "no rows"),
    ],
)
def test_unusable_files_are_refused_with_the_reason(content, message):
    with pytest.raises(FileProblem, match=message):
        parse_upload("users", "u.csv", content)


def test_the_row_limit_is_at_least_ten_thousand_and_enforced():
    assert max_rows() >= 10_000
    ok = "username\r\n" + "".join(f"u{i}\r\n" for i in range(max_rows()))
    assert len(parse_upload("users", "u.csv", ok.encode()).rows) == max_rows()
    with pytest.raises(FileProblem, match="more than 10,000 rows"):
        parse_upload("users", "u.csv", (ok + "one.more\r\n").encode())


def test_the_row_limit_counts_rows_not_lines():
    lines = "username\r\n" + "".join(f"u{i}\r\n\r\n" for i in range(max_rows()))  # a blank line after each
    assert len(parse_upload("users", "u.csv", lines.encode()).rows) == max_rows()


@override_settings(BULKADD_MAX_BYTES=1000)
def test_the_byte_limit_is_enforced_before_reading():
    with pytest.raises(FileProblem, match="the limit is"):
        parse_upload("users", "u.csv", b"username\r\n" + b"x" * 2000)


def _xlsx(rows: list[list], *, sheets: int = 1) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for index in range(1, sheets):
        workbook.create_sheet(f"Other {index}").append(["ignored"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_first_sheet_is_read_and_numbers_are_noted():
    content = _xlsx([["Username", "First Name", "postalCode", "mustChangePassword"], ["ann", "Ann", 1012, True],
                     [None, None, None, None], ["bob", "Bob", "0123", False]], sheets=2)  # fmt: skip
    parsed = parse_upload("users", "users.xlsx", content)
    assert parsed.format == "XLSX"
    assert [r.data["username"] for r in parsed.rows] == ["ann", "bob"]
    assert [r.position for r in parsed.rows] == [2, 4]
    assert (
        parsed.rows[0].data["postal_code"] == "1012" and parsed.rows[0].data["must_change_password"] == "true"
    )
    assert any("first worksheet" in n for n in parsed.notes) and any(
        "leading zeros" in n for n in parsed.notes
    )


def test_a_broken_workbook_is_refused():
    with pytest.raises(FileProblem, match="Excel"):
        parse_upload("users", "users.xlsx", b"PK\x03\x04 not really a zip")


@pytest.mark.parametrize("kind", ["users", "guests"])
def test_the_template_is_the_readers_column_list(kind, client, django_user_model):
    """Download both templates, add a row, read them back: every template column maps to its column."""
    client.force_login(django_user_model.objects.create_user(username="t", password="x"))
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/users/bulk-add/template.{fmt}?kind={kind}")
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        if fmt == "csv":
            assert body.startswith(b"\xef\xbb\xbf")
            filled = body + ",".join("x@y.com" if h.lower() in ("email", "username") else "x"
                                     for h in columns.template_header(kind)).encode() + b"\r\n"  # fmt: skip
        else:
            from openpyxl import load_workbook

            sheet = load_workbook(io.BytesIO(body)).active
            header = [c.value for c in next(sheet.iter_rows(max_row=1))]
            assert header == columns.template_header(kind)
            filled = _xlsx([header, ["x@y.com"] * len(header)])
        parsed = parse_upload(kind, f"t.{fmt}", filled)
        assert sorted(parsed.match.positions.values()) == sorted(c.key for c in columns.columns_for(kind))
        assert not parsed.match.ignored and not parsed.match.duplicates


def test_no_two_columns_answer_to_the_same_header():
    for kind in ("users", "guests"):
        seen: dict[str, str] = {}
        for column in columns.columns_for(kind):
            for name in column.names:
                assert name not in seen, f"{name} names both {seen[name]} and {column.key}"
                seen[name] = column.key


def test_lists_and_booleans():
    assert columns.split_list("SPB; E3;;spb ") == ["SPB", "E3"]
    assert columns.split_list("Sales, EMEA") == ["Sales, EMEA"]  # names may hold commas
    assert columns.split_list("a@x.com, b@x.com", commas=True) == ["a@x.com", "b@x.com"]
    assert [columns.parse_bool(v) for v in ("TRUE", "yes", "1", "False", "no", "0", "")] == [True, True, True, False,
                                                                                           False, False, None]  # fmt: skip
    with pytest.raises(ValueError):
        columns.parse_bool("maybe")
