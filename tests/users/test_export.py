"""CSV and XLSX exports: same rows as the table, chosen columns, formula neutralisation, streaming, scope."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from users import export, export_rows
from users.export import column_letter, neutralise, stream_csv, stream_xlsx
from users.models import DirectoryUser

from .factories import make_admin, make_technician, make_tenant, make_users

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))


def read_xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(body(response))).active


@pytest.fixture
def contoso():
    tenant = make_tenant("Contoso", domain="contoso.example", has_entra_p1=True)
    make_users(tenant, 30)
    return tenant


@pytest.fixture
def admin_client(client):
    client.force_login(make_admin())
    return client


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+31 10 555", "'+31 10 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_csv_has_the_table_rows_and_default_columns(admin_client, contoso):
    response = admin_client.get(
        reverse("users:export-csv"), {"tenant": "contoso.example", "status": "disabled"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="users-contoso-' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Display name", "Email", "Licences", "Account", "Source"]
    expected = list(
        DirectoryUser.objects.filter(tenant=contoso, account_enabled=False)
        .order_by("display_name", "pk")
        .values_list("display_name", flat=True)
    )
    assert [r[0] for r in rows[1:]] == expected
    assert {r[3] for r in rows[1:]} == {"Disabled"}
    assert "Unlicensed" in {r[2] for r in rows[1:]}  # licence names flattened, empty spelled out


def test_export_uses_the_chosen_columns_and_flattens_lists(admin_client, contoso):
    admin_client.post(
        reverse("users:columns"),
        {"columns": ["upn", "proxy_addresses", "business_phones", "user_id", "last_sign_in"]},
    )
    rows = read_csv(
        admin_client.get(reverse("users:export-csv"), {"tenant": "contoso.example", "q": "brian.lovelace1@"})
    )
    assert rows[0] == [
        "Display name",
        "User principal name",
        "Business phones",
        "Proxy addresses",
        "Last sign-in",
        "User id",
    ]
    user = DirectoryUser.objects.get(tenant=contoso, display_name="Brian Lovelace 00001")
    assert rows[1][3] == "; ".join(user.proxy_addresses)
    assert rows[1][2] == "'+31 10 555 0001"  # a leading + would be a formula in a spreadsheet
    assert rows[1][5] == str(user.user_id)


def test_formula_cells_are_neutralised_in_csv_and_kept_as_text_in_xlsx(admin_client):
    tenant = make_tenant("Evil", domain="evil.example")
    make_users(tenant, 2, display_name=lambda i: ["=cmd|' /C calc'!A0", "@SUM(1+1)"][i], department="-1+1")
    admin_client.post(reverse("users:columns"), {"columns": ["department"]})
    rows = read_csv(admin_client.get(reverse("users:export-csv"), {"tenant": "evil.example"}))
    assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'@SUM(1+1)"]
    assert {r[1] for r in rows[1:]} == {"'-1+1"}
    sheet = read_xlsx(admin_client.get(reverse("users:export-xlsx"), {"tenant": "evil.example"}))
    cell = sheet["A2"]
    assert cell.value == "=cmd|' /C calc'!A0" and cell.data_type == "s"  # a string, never a formula
    assert cell.quotePrefix  # Excel's own "typed with a leading apostrophe"
    assert sheet["B2"].value == "-1+1" and sheet["B2"].data_type == "s"


def test_xlsx_is_a_valid_workbook_with_the_same_rows(admin_client, contoso):
    response = admin_client.get(reverse("users:export-xlsx"), {"tenant": "contoso.example", "sort": "-mail"})
    assert response["Content-Type"] == export.__dict__.get("XLSX_TYPE", response["Content-Type"])
    sheet = read_xlsx(response)
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("Display name", "Email", "Licences", "Account", "Source")
    assert sheet["A1"].font.b
    expected = list(
        DirectoryUser.objects.filter(tenant=contoso).order_by("-mail", "-pk").values_list("mail", flat=True)
    )
    assert [row[1] for row in values[1:]] == expected


def test_xlsx_escapes_markup_and_drops_xml_invalid_characters():
    data = b"".join(stream_xlsx(["Name"], [["<b>&amp;</b>"], ["bell\x07here"], ["naïve — ünïcode"]]))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet["A"]] == ["Name", "<b>&amp;</b>", "bellhere", "naïve — ünïcode"]
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None


def test_csv_stream_yields_incrementally():
    produced = 0

    def rows():
        nonlocal produced
        for i in range(20_000):
            produced += 1
            yield [f"user {i}", "x"]

    stream = stream_csv(["Name", "X"], rows())
    next(stream)  # header
    first = next(stream)
    assert produced < 1_000  # the first chunk left before the rows were all read
    assert first.count(b"\n") == export.FLUSH_EVERY_ROWS
    rest = b"".join(stream)
    assert produced == 20_000 and (first + rest).count(b"\n") == 20_000


def test_xlsx_stream_yields_incrementally():
    produced = 0

    def rows():
        nonlocal produced
        for i in range(20_000):
            produced += 1
            yield [f"user {i} with some text to compress", f"{i}@example.com", "Microsoft 365 E3"]

    seen_at_chunk, data = [], []
    for chunk in stream_xlsx(["Name", "Mail", "Licence"], rows()):
        if chunk:
            seen_at_chunk.append(produced)
            data.append(chunk)
    # Compressed sheet data left long before the last row was read (zip headers come first, at 0).
    assert any(0 < seen < 5_000 for seen in seen_at_chunk), seen_at_chunk[:5]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(data)), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == 20_001


def test_export_of_20000_users_streams_from_the_database(admin_client, monkeypatch):
    tenant = make_tenant("Big", domain="big.example")
    make_users(tenant, 20_000)
    loaded = 0

    class CountingRow(export_rows._Row):  # one per user row read from the values() iterator
        __slots__ = ()

        def __init__(self, *args):
            nonlocal loaded
            loaded += 1
            super().__init__(*args)

    monkeypatch.setattr(export_rows, "_Row", CountingRow)
    response = admin_client.get(reverse("users:export-csv"), {"tenant": "big.example"})
    assert response.streaming
    chunks = iter(response.streaming_content)
    first = next(chunks) + next(chunks)  # header, then the first block of rows
    assert first.startswith("\ufeff".encode())
    # Only the first server-side chunk (2,000 rows) was loaded to produce it, not all 20,000.
    assert 0 < loaded <= 2_000, loaded
    total = len(first) + sum(len(c) for c in chunks)
    assert loaded == 20_000 and total > 20_000 * 40


def test_export_never_includes_tenants_outside_scope(client, contoso):
    hidden = make_tenant("Hidden", domain="hidden.example")
    make_users(hidden, 5, display_name=lambda i: f"Secret person {i}")
    client.force_login(make_technician(tenants=[contoso]))
    rows = read_csv(client.get(reverse("users:export-csv"), {"tenant": "all"}))
    assert rows[0][0] == "Tenant"
    assert len(rows) == 31 and {r[0] for r in rows[1:]} == {"Contoso"}
    assert client.get(reverse("users:export-xlsx"), {"tenant": "hidden.example"}).status_code == 404


def test_export_with_an_invalid_parameter_is_refused_not_silently_widened(admin_client, contoso):
    response = admin_client.get(reverse("users:export-csv"), {"tenant": "contoso.example", "status": "maybe"})
    assert response.status_code == 400
    assert "Status “maybe” was ignored" in response.content.decode()


def test_export_needs_the_export_permission(client, contoso, monkeypatch):
    from tenants import access

    user = make_technician(tenants=[contoso])
    reader = access.ROLES["reader"]
    monkeypatch.setitem(
        access.ROLES, "reader", access.RoleInfo("reader", "Reader", "", reader.permissions - {"users.export"})
    )
    client.force_login(user)
    assert client.get(reverse("users:export-csv"), {"tenant": "contoso.example"}).status_code == 403


def test_values_rows_equal_model_rows_for_every_column(contoso):
    """The values()-based export writes byte for byte what Column.export wrote from model instances,
    formula neutralisation included, for every column and both tenants' sign-in availability."""
    from django.utils import timezone

    from users.queries import users_for_tenants
    from users.tables import COLUMNS

    other = make_tenant("Fabrikam", domain="fabrikam.example", has_entra_p1=False)
    make_users(other, 5)
    DirectoryUser.objects.filter(pk=DirectoryUser.objects.filter(tenant=contoso).first().pk).update(
        display_name='=HYPERLINK("http://x")', department="+31;-2", proxy_addresses=["SMTP:a@x", "@b"],
        business_phones=["+1 555"], last_sign_in=timezone.now(), created_datetime=timezone.now(),
        per_user_mfa_state="enforced", on_premises_last_sync=timezone.now(),
    )  # fmt: skip
    from tenants.models import Tenant

    tenants = Tenant.objects.filter(pk__in=[contoso.pk, other.pk])
    queryset = users_for_tenants(tenants).order_by("display_name", "pk")
    columns = list(COLUMNS)
    header = [c.label for c in columns]
    old_rows = ([c.export(u) for c in columns] for u in queryset.select_related("tenant"))
    new_rows = export_rows.export_values(queryset, tenants, columns, chunk_size=7)
    old = b"".join(stream_csv(header, old_rows))
    new = b"".join(stream_csv(header, new_rows))
    assert old == new
    assert b"'=HYPERLINK" in new and b"not available" in new and len(new.splitlines()) == 36
