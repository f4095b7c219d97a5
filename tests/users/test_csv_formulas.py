"""Every CSV export is safe in Excel whichever list separator the reader's locale uses ("," or ";"): a
formula trigger after a separator, line break or quote inside a cell is neutralised too (users.export
.neutralise, the one rule), and the XLSX export keeps such values as plain text."""

from __future__ import annotations

import csv
import io
import uuid

import openpyxl
import pytest
from django.urls import reverse

from users import audit_views
from users.audit import record
from users.export import FORMULA_TRIGGERS, is_risky, neutralise
from users.research import views as research_views
from users.views import jobs as jobs_views

from .factories import make_admin, make_tenant, make_users

HIDDEN = ["a;=cmd|' /C calc'!A0", "x,+1", ";@SUM(1)"]


def live_cells(data: bytes) -> list[str]:
    """Cells a spreadsheet would run, reading the file with "," and again with ";" as list separator."""
    text = data.decode("utf-8-sig")
    return [
        value
        for separator in (",", ";")
        for row in csv.reader(io.StringIO(text), delimiter=separator)
        for value in row
        if value.startswith(FORMULA_TRIGGERS)
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a;=cmd|' /C calc'!A0", "a;'=cmd|' /C calc'!A0"),
        ("x,+1", "x,'+1"),
        (";@SUM(1)", ";'@SUM(1)"),
        ("=1;-2,@3", "'=1;'-2,'@3"),  # every trigger, not only the first
        ('a;"=cmd"', 'a;"\'=cmd"'),  # a quote there opens a quoted cell whose text starts after it
        ("line one\n-line two", "line one\n'-line two"),  # a line break starts a row
        ("a;\t=x", "a;'\t=x"),
        ("Smith, Ada; Sales", "Smith, Ada; Sales"),  # a space after the separator: no formula
        ("a=b;c", "a=b;c"),
        ("", ""),
    ],
)
def test_neutralise_covers_triggers_after_either_separator(value, expected):
    assert neutralise(value) == expected
    assert is_risky(value) == (value != expected)
    assert not live_cells(_one_row_csv([value]))


def _one_row_csv(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(v) for v in values])
    return buffer.getvalue().encode()


@pytest.mark.parametrize("written_with", [",", ";"])
def test_hidden_formulas_are_live_unless_neutralised(written_with):
    """The judge itself: it sees the raw values as formulas (so the checks here can fail) and none once
    neutralised, whichever separator wrote the file and whichever reads it."""

    def written(values: list[str]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=written_with).writerow(values)
        return buffer.getvalue().encode()

    assert live_cells(written(HIDDEN))  # at least one formula a spreadsheet would run
    assert live_cells(written([neutralise(v) for v in HIDDEN])) == []


def test_every_csv_writer_uses_the_one_rule():
    for value in HIDDEN:
        assert jobs_views._cell(value) == research_views._cell(value) == neutralise(value)
    assert audit_views.neutralise is neutralise


@pytest.mark.django_db
def test_users_export_csv_and_xlsx_with_separator_formulas(client):
    client.force_login(make_admin())
    tenant = make_tenant("Semi", domain="semi.example")
    make_users(tenant, 3, display_name=lambda i: HIDDEN[i], department="x;-1+1")
    client.post(reverse("users:columns"), {"columns": ["department"]})
    response = client.get(reverse("users:export-csv"), {"tenant": "semi.example"})
    data = b"".join(response.streaming_content)
    assert live_cells(data) == []
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert sorted(r[0] for r in rows[1:]) == sorted(neutralise(v) for v in HIDDEN)
    response = client.get(reverse("users:export-xlsx"), {"tenant": "semi.example"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert sorted(c.value for c in cells if c.column == 1) == sorted(HIDDEN)  # kept exactly, as text
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)  # strings, never formulas


@pytest.mark.django_db
def test_audit_csv_with_separator_formulas():
    from django.test import Client

    admin = make_admin()
    record(admin, tenant=None, target=(uuid.uuid4(), "x,+1@evil.example"), action="user.update",
           parameters={}, result="failed", message="a;=cmd|' /C calc'!A0")  # fmt: skip
    client = Client()
    client.force_login(admin)
    data = b"".join(client.get("/audit/export.csv").streaming_content)
    assert b"a;'=cmd" in data and b"x,'+1@evil.example" in data
    assert live_cells(data) == []
