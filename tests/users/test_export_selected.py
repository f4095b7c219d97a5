"""The bulk bar's "Export selected": only the ticked rows (or all matching), scope enforced, POST only."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from users.models import DirectoryUser

from .factories import make_admin, make_technician, make_tenant, make_users

pytestmark = pytest.mark.django_db


def value(user) -> str:
    return f"{user.tenant.tenant_id}/{user.user_id}"


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.fixture
def contoso():
    tenant = make_tenant("Contoso", domain="contoso.example")
    make_users(tenant, 10)
    return tenant


@pytest.fixture
def fabrikam():
    tenant = make_tenant("Fabrikam", domain="fabrikam.example")
    make_users(tenant, 3)
    return tenant


def url(fmt="csv"):
    return reverse("users:export-selected", args=[fmt])


def test_only_the_chosen_rows_and_a_reader_may_export(client, contoso):
    client.force_login(make_technician(role="reader", tenants=[contoso]))
    chosen = list(DirectoryUser.objects.filter(tenant=contoso).order_by("pk")[:2])
    rows = read_csv(client.post(url(), {"user": [value(u) for u in chosen]}))
    assert rows[0] == ["Display name", "Email", "Licences", "Account", "Source"]
    assert sorted(r[1] for r in rows[1:]) == sorted(u.mail for u in chosen)


def test_xlsx_of_the_chosen_rows(client, contoso):
    client.force_login(make_admin())
    chosen = DirectoryUser.objects.filter(tenant=contoso).first()
    response = client.post(url("xlsx"), {"user": [value(chosen)]})
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == 2 and chosen.mail in sheet


def test_all_matching_sends_the_query(client, contoso, fabrikam):
    client.force_login(make_admin())
    rows = read_csv(client.post(url(), {"query": "tenant=all"}))
    assert rows[0][0] == "Tenant" and len(rows) == 14


def test_another_tenants_ids_answer_404_and_export_nothing(client, contoso, fabrikam):
    client.force_login(make_technician(role="reader", tenants=[contoso]))
    mine = DirectoryUser.objects.filter(tenant=contoso).first()
    theirs = DirectoryUser.objects.filter(tenant=fabrikam).first()
    assert client.post(url(), {"user": [value(mine), value(theirs)]}).status_code == 404
    assert client.post(url(), {"query": "tenant=fabrikam.example"}).status_code == 404
    # All tenants for this technician is only Contoso.
    assert len(read_csv(client.post(url(), {"query": "tenant=all"}))) == 11


def test_nothing_selected_get_and_unknown_format(client, contoso):
    client.force_login(make_admin())
    assert client.post(url(), {}).status_code == 400
    assert client.get(url()).status_code == 405
    assert client.post(url("pdf"), {"query": "tenant=all"}).status_code == 404


def test_anonymous_is_sent_to_login(client, contoso):
    response = client.post(url(), {"query": "tenant=all"})
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_csrf_is_required(contoso):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_admin())
    assert strict.post(url(), {"query": "tenant=all"}).status_code == 403
