"""The audit log: secrets never stored, the hash chain and audit_verify, filters, CSV export, append-only."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory

from users.audit import record, strip_secrets, verify_chain
from users.models import AuditEntry

SECRET = "Sup3r-Secret-Passw0rd!"


@pytest.fixture
def admin(make_tech):
    return make_tech("admin", "all", username="auditor")


def _record(user, tenant=None, **kw):
    defaults = dict(target=(uuid.uuid4(), "someone@zephyralpha.example"), action="user.update",
                    parameters={}, result="success")  # fmt: skip
    return record(user, tenant=tenant, **{**defaults, **kw})


def test_secrets_are_never_stored(world, admin):
    parameters = {
        "password": SECRET,
        "passwordProfile": {"password": SECRET, "forceChangePasswordNextSignIn": True},
        "nested": [{"temporaryAccessPass": SECRET}, {"client_secret": SECRET, "refresh_token": SECRET}],
        "newPassword": SECRET, "access_token": SECRET, "apiToken": SECRET, "department": "Sales",
    }  # fmt: skip
    entry = _record(admin, world.alpha, parameters=parameters, message=f"password={SECRET} failed")
    assert entry.parameters["department"] == "Sales"
    assert entry.parameters["passwordProfile"] == "[redacted]"
    assert entry.parameters["nested"][1] == {"client_secret": "[redacted]", "refresh_token": "[redacted]"}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuditEntry._meta.db_table}")  # noqa: S608
        table_text = repr(cursor.fetchall())
    assert SECRET not in table_text
    assert "Sales" in table_text  # the search itself works


def test_strip_secrets_keeps_shape_and_makes_values_json_native():
    value = {"a": (1, uuid.UUID(int=5)), "Client-Secret": "x", "b": {"token_type": "x"}}
    assert strip_secrets(value) == {"a": [1, str(uuid.UUID(int=5))], "Client-Secret": "[redacted]",
                                    "b": {"token_type": "[redacted]"}}  # fmt: skip


def test_source_ip_from_remote_addr_and_forwarded_only_when_trusted(world, admin, settings):
    factory = RequestFactory()
    request = factory.post("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    request.user = admin
    settings.TRUSTED_PROXY_COUNT = 0
    assert _record(request).source_ip == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1  # our proxy appended 10.0.0.1; the client could have written the rest
    assert _record(request).source_ip == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 2
    assert _record(request).source_ip == "203.0.113.9"
    request.META["HTTP_X_FORWARDED_FOR"] = "not-an-ip"
    assert _record(request).source_ip == "10.0.0.5"  # a forwarded value that is no address is not used
    request.META["REMOTE_ADDR"] = "garbage"
    assert _record(request).source_ip is None
    assert _record(admin, source_ip="2001:db8::1").source_ip == "2001:db8::1"


def test_hash_chain_links_entries_and_verifies(world, admin):
    first = _record(admin, world.alpha)
    second = _record(admin, world.beta, result="failed", message="Graph said no", request_ids=["abc"])
    assert first.previous_hash == "" and second.previous_hash == first.entry_hash
    assert len(second.entry_hash) == 64
    assert verify_chain() == (2, None, "")
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "2 entries verified" in out.getvalue()


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE {t} SET message = 'nothing happened' WHERE id = {second}",
        "UPDATE {t} SET created_at = '2020-01-01 00:00:00' WHERE id = {second}",
        "DELETE FROM {t} WHERE id = {second}",
    ],
    ids=["edited", "backdated", "removed"],
)
def test_audit_verify_reports_the_first_broken_link(world, admin, tamper):
    entries = [_record(admin, world.alpha, message=f"change {i}") for i in range(4)]
    second = entries[1].id
    with connection.cursor() as cursor:
        cursor.execute(tamper.format(t=AuditEntry._meta.db_table, second=second))
    checked, broken, why = verify_chain()
    assert broken is not None and broken.id in (second, entries[2].id) and checked == 1
    with pytest.raises(CommandError) as excinfo:
        call_command("audit_verify")
    assert excinfo.value.returncode == 1
    assert f"entry {broken.id}" in str(excinfo.value)


def test_entries_are_append_only(world, admin):
    entry = _record(admin, world.alpha)
    entry.message = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(message="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).message == ""


def test_unknown_result_is_refused(admin):
    with pytest.raises(ValueError):
        _record(admin, result="maybe")


# --- the pages ----------------------------------------------------------------------------------------------


@pytest.fixture
def entries(world, admin, make_tech):
    helper = make_tech("helpdesk", "all", username="helper")
    made = [
        _record(admin, world.alpha, target=(uuid.uuid4(), "ann@zephyralpha.example"), action="user.update"),
        _record(
            helper,
            world.alpha,
            target=(uuid.uuid4(), "bob@zephyralpha.example"),
            action="user.password_reset",
            result="failed",
            message='=HYPERLINK("http://evil")',
        ),  # fmt: skip
        _record(
            helper, world.beta, target=(uuid.uuid4(), "cy@quokkabeta.example"), action="user.password_reset"
        ),
        _record(admin, None, target=(None, "newtech"), action="technician.create"),
    ]
    return {"admin": admin, "helper": helper, "made": made}


def _rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_filters_are_in_the_url_and_combine(client, entries, world):
    client.force_login(entries["admin"])
    page = client.get("/audit/", {"action": "user.password_reset", "result": "failed"})
    html = page.content.decode()
    assert page.status_code == 200 and "bob@zephyralpha.example" in html and "cy@quokkabeta" not in html
    assert "1 entry" in html
    assert "cy@quokkabeta.example" in client.get("/audit/", {"user": "QUOKKA"}).content.decode()
    by_tenant = client.get("/audit/", {"tenant": str(world.beta.tenant_id)}).content.decode()
    assert "cy@quokkabeta.example" in by_tenant and "ann@" not in by_tenant
    by_tech = client.get("/audit/", {"technician": entries["helper"].pk}).content.decode()
    assert "bob@" in by_tech and "ann@" not in by_tech and "newtech" not in by_tech
    today = entries["made"][0].created_at.date()
    assert "4 entries" in client.get("/audit/", {"date_from": today, "date_to": today}).content.decode()
    assert (
        "0 entries" in client.get("/audit/", {"date_to": today.replace(year=today.year - 1)}).content.decode()
    )


def test_bad_filters_show_errors_and_no_rows(client, entries):
    client.force_login(entries["admin"])
    html = client.get("/audit/", {"date_from": "2025-05-02", "date_to": "2025-05-01"}).content.decode()
    assert "must be on or after" in html and "0 entries" in html
    html = client.get("/audit/", {"date_from": "yesterday", "technician": "abc"}).content.decode()
    assert "Enter a valid date" in html and "0 entries" in html


def test_pagination_keeps_the_filters(client, entries, world):
    for i in range(55):
        _record(entries["admin"], world.alpha, action="user.bulk", message=f"n{i}")
    client.force_login(entries["admin"])
    html = client.get("/audit/", {"action": "user.bulk"}).content.decode()
    assert "55 entries" in html and "action=user.bulk&amp;page=2" in html


def test_csv_export_streams_the_filtered_set_with_formulas_neutralised(client, entries):
    client.force_login(entries["admin"])
    response = client.get("/audit/export.csv", {"action": "user.password_reset"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith("attachment;")
    rows = _rows(response)
    assert {r["User"] for r in rows} == {"bob@zephyralpha.example", "cy@quokkabeta.example"}
    message = next(r["Message"] for r in rows if r["User"].startswith("bob"))
    assert message.startswith("'=HYPERLINK")


def test_scope_limits_the_log(client, entries, world, make_tech):
    scoped_admin = make_tech("admin", "only", [world.alpha], username="scoped")
    make_tech("reader", "only", [world.alpha], username="alphareader")
    _record(entries["admin"], None, target=(None, "alphareader"), action="technician.create")
    client.force_login(scoped_admin)
    html = client.get("/audit/").content.decode()
    assert "ann@zephyralpha.example" in html and "cy@quokkabeta.example" not in html
    # Of the entries about no tenant, only those about technicians it may manage (part of issue 13).
    assert "alphareader" in html and "newtech" not in html
    rows = _rows(client.get("/audit/export.csv"))
    assert rows and all("quokkabeta" not in r["User"] for r in rows)
    # asking for the hidden tenant explicitly is a filter error, not a peek
    html = client.get("/audit/", {"tenant": str(world.beta.tenant_id)}).content.decode()
    assert "cy@quokkabeta.example" not in html and "0 entries" in html


def test_only_audit_viewers_get_in(client, entries, make_tech):
    client.force_login(entries["helper"])
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    client.logout()
    assert client.get("/audit/").status_code == 302


def test_no_view_changes_an_entry(client, entries):
    client.force_login(entries["admin"])
    before = list(AuditEntry.objects.order_by("id").values_list("entry_hash", flat=True))
    for url in ("/audit/", "/audit/export.csv"):
        for method in (client.post, client.put, client.delete):
            assert method(url).status_code == 405
    assert list(AuditEntry.objects.order_by("id").values_list("entry_hash", flat=True)) == before
