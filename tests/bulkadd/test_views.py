"""The bulk add pages: start (limits, templates), upload, the preview with problems next to the field, fixing
a row in place (htmx), leaving rows out, defaults, run, progress, results; refusals by role and tenant."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from tests.bulkadd.conftest import csv_bytes, user_rows
from users.models import BulkImport, BulkImportRow, Job

Status = BulkImportRow.Status


def _client(django_user_model, role, *, tenants=None):
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:6]}", password="x")
    scope = TechnicianProfile.Scope.ONLY if tenants is not None else TechnicianProfile.Scope.ALL
    profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
    if tenants is not None:
        profile.tenants.set(tenants)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def editor_client(bulk_world, django_user_model):
    return _client(django_user_model, "editor")


def _upload(client, world, content: bytes, *, kind="users", name="users.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("users:bulk-add-upload"), {
        "tenant": str(world.tenant.tenant_id), "kind": kind, "file": SimpleUploadedFile(name, content, "text/csv"),
    })  # fmt: skip


def test_start_page_states_the_limits_and_offers_both_templates(bulk_world, editor_client):
    page = editor_client.get(reverse("users:bulk-add"), {"tenant": bulk_world.domain}).content.decode()
    assert "10,000 rows" in page and "10 MB" in page and "UTF-16" in page
    assert "template.csv?kind=users" in page and "template.xlsx?kind=users" in page
    assert "First Name" in page  # the admin center's headers are mentioned
    guests = editor_client.get(reverse("users:bulk-add"), {"tenant": bulk_world.domain, "kind": "guests"})
    assert "template.csv?kind=guests" in guests.content.decode()
    chooser = editor_client.get(reverse("users:bulk-add"), {"tenant": "all"})
    assert chooser.status_code == 200 and "In which tenant?" in chooser.content.decode()


def test_refusals_by_role_and_tenant(bulk_world, django_user_model, make_import):
    from tenants.models import Tenant

    other = Tenant.objects.create(tenant_id=uuid.uuid4(), connection=bulk_world.connection, display_name="Elsewhere",
                                  default_domain="elsewhere.example")  # fmt: skip
    reader = _client(django_user_model, "reader")
    helpdesk = _client(django_user_model, "helpdesk")
    scoped = _client(django_user_model, "editor", tenants=[other])
    url = reverse("users:bulk-add")
    assert reader.get(url, {"tenant": bulk_world.domain}).status_code == 403
    assert helpdesk.get(url, {"tenant": bulk_world.domain}).status_code == 403
    hidden = scoped.get(url, {"tenant": bulk_world.domain})
    unknown = scoped.get(url, {"tenant": "no-such-tenant.example"})
    assert hidden.status_code == unknown.status_code == 404  # the same answer: nothing leaks
    assert _upload(scoped, bulk_world, csv_bytes(user_rows(1, bulk_world.domain))).status_code == 404
    assert _upload(reader, bulk_world, csv_bytes(user_rows(1, bulk_world.domain))).status_code == 403
    assert not BulkImport.objects.exists()
    # The users list's button: only for technicians who may create users there.
    button = reverse("users:bulk-add-button")
    assert reader.get(button, {"tenant": bulk_world.domain}).status_code == 204
    hidden_button = scoped.get(button, {"tenant": bulk_world.domain}).content.decode()
    assert str(bulk_world.tenant.tenant_id) not in hidden_button  # a tenant it cannot see is not named
    editor = _client(django_user_model, "editor")
    assert b"Bulk add" in editor.get(button, {"tenant": bulk_world.domain}).content
    # Someone else's import is a 404 (even for another editor); an Admin may look at a run, not change it.
    bulk_import, _ = make_import(csv_bytes(user_rows(1, bulk_world.domain)), technician=editor.user)
    preview = reverse("users:bulk-add-preview", args=[bulk_import.pk])
    assert editor.get(preview).status_code == 200
    assert _client(django_user_model, "editor").get(preview).status_code == 404
    assert _client(django_user_model, "admin").get(preview).status_code == 404  # drafts are private
    assert reader.get(preview).status_code == 404


def test_upload_preview_fix_in_place_and_run(bulk_world, editor_client, django_capture_on_commit_callbacks):
    rows = user_rows(22, bulk_world.domain, licences="SPB")
    rows[3]["username"] = "bad name!"
    rows[5]["domain"] = "fabrikam.com"
    rows[7]["licences"] = "No Such Licence"
    response = _upload(editor_client, bulk_world, csv_bytes(rows, sep=";"))
    bulk_import = BulkImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "users:bulk-add-preview", args=[bulk_import.pk]
    )
    cookie = response.cookies[f"bulkadd_key_{bulk_import.pk}"]
    assert (
        cookie["httponly"]
        and cookie["samesite"] == "Strict"
        and cookie["path"] == f"/users/bulk-add/{bulk_import.pk}/"
    )
    page = editor_client.get(response["Location"]).content.decode()
    assert "3 with problems" in page and "22</strong> rows read" in page
    assert "data-run-button disabled" in page
    # The problem sits in the row's cell for that field.
    bad = bulk_import.rows.get(position=5)
    assert "Letters, digits" in " ".join(bad.problems["username"])
    fragment = page.split(f'id="bulk-row-{bad.pk}"')[1].split("</tr>")[0]
    assert (
        'data-cell="upn"' in fragment
        and "Letters, digits" in fragment.split('data-cell="upn"')[1].split("</td>")[0]
    )
    # Fix it in place: the edit form (htmx), then the save re-renders the table.
    edit = editor_client.get(
        reverse("users:bulk-add-row-edit", args=[bulk_import.pk, bad.pk]), HTTP_HX_REQUEST="true"
    )
    assert (
        edit.status_code == 200
        and 'name="username"' in edit.content.decode()
        and "data-field-problem" in edit.content.decode()
    )
    data = {**bad.data, "username": "fixed.name." + uuid.uuid4().hex[:4]}
    data.pop("_password", None)
    saved = editor_client.post(
        reverse("users:bulk-add-row", args=[bulk_import.pk, bad.pk]), data, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 200 and "2 with problems" in saved.content.decode()
    bad.refresh_from_db()
    assert bad.problems == {} and bad.resolved["upn"].startswith("fixed.name.")
    # Leave the other two out; now it may run.
    for position in (7, 9):
        row = bulk_import.rows.get(position=position)
        editor_client.post(
            reverse("users:bulk-add-row-leave-out", args=[bulk_import.pk, row.pk]), HTTP_HX_REQUEST="true"
        )
    page = editor_client.get(reverse("users:bulk-add-preview", args=[bulk_import.pk])).content.decode()
    assert "no problems" in page and "2 left out" in page and "Create 20 users in Northwind Traders" in page
    assert "data-run-button disabled" not in page
    with django_capture_on_commit_callbacks(execute=True):
        started = editor_client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    assert started["Location"] == reverse("users:bulk-add-progress", args=[bulk_import.pk])
    bulk_import.refresh_from_db()
    job = bulk_import.job
    assert (job.kind, job.status, job.total, job.succeeded) == (
        Job.Kind.BULK_ADD,
        Job.Status.SUCCEEDED,
        20,
        20,
    )
    progress = editor_client.get(started["Location"]).content.decode()
    assert "data-created>20<" in progress and "Results and passwords" in progress
    partial = editor_client.get(started["Location"], HTTP_HX_REQUEST="true")
    assert "bulkImportFinished" in partial["HX-Trigger"] and "every 1500ms" not in partial.content.decode()
    # The preview of a run import goes to its progress; a second Run starts nothing new.
    assert (
        editor_client.get(reverse("users:bulk-add-preview", args=[bulk_import.pk]))["Location"]
        == started["Location"]
    )
    editor_client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    assert Job.objects.filter(kind=Job.Kind.BULK_ADD).count() == 1
    # The Jobs page lists it and sends its detail link here.
    assert f"#{job.pk}" in editor_client.get(reverse("jobs:list")).content.decode()
    assert editor_client.get(reverse("jobs:detail", args=[job.pk]))["Location"] == started["Location"]
    # Results: every row with Graph's outcome, and the CSV kept for the audit has no password column.
    results = editor_client.get(reverse("users:bulk-add-results", args=[bulk_import.pk]))
    assert "no-store" in results["Cache-Control"] and results.content.decode().count("data-result-row") == 20
    body = b"".join(
        editor_client.get(reverse("users:bulk-add-results-csv", args=[bulk_import.pk])).streaming_content
    )
    header = body.decode("utf-8-sig").splitlines()[0]
    assert "password" not in header.lower() and len(body.decode("utf-8-sig").splitlines()) == 23


def test_a_run_with_problems_is_refused(bulk_world, editor_client):
    rows = user_rows(3, bulk_world.domain)
    rows[1]["domain"] = "fabrikam.com"
    _upload(editor_client, bulk_world, csv_bytes(rows))
    bulk_import = BulkImport.objects.get()
    response = editor_client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    assert response["Location"] == reverse("users:bulk-add-preview", args=[bulk_import.pk])
    assert not Job.objects.exists()


def test_defaults_reupload_check_again_and_delete(bulk_world, editor_client):
    rows = user_rows(2, bulk_world.domain)
    _upload(editor_client, bulk_world, csv_bytes(rows))
    bulk_import = BulkImport.objects.get()
    sku = bulk_world.sku("SPB")
    preview = editor_client.get(reverse("users:bulk-add-preview", args=[bulk_import.pk])).content.decode()
    assert (
        str(sku.sku_id) in preview and "SG-VPN-Users" in preview
    )  # pickers list the tenant's licences, groups
    editor_client.post(reverse("users:bulk-add-defaults", args=[bulk_import.pk]),
                       {"licences": [str(sku.sku_id)], "usage_location": "NL", "must_change": ""})  # fmt: skip
    bulk_import.refresh_from_db()
    assert bulk_import.defaults["usage_location"] == "NL" and bulk_import.defaults["must_change"] is False
    row = bulk_import.rows.first()
    assert row.resolved["licences"] == [str(sku.sku_id)] and row.resolved["usage_location"] == "NL"
    # A corrected file replaces the rows (new keys: a key is never reused).
    from django.core.files.uploadedfile import SimpleUploadedFile

    old_keys = set(bulk_import.rows.values_list("key", flat=True))
    editor_client.post(reverse("users:bulk-add-reupload", args=[bulk_import.pk]),
                       {"file": SimpleUploadedFile("v2.csv", csv_bytes(user_rows(3, bulk_world.domain)))})  # fmt: skip
    assert bulk_import.rows.count() == 3 and not old_keys & set(
        bulk_import.rows.values_list("key", flat=True)
    )
    assert editor_client.post(reverse("users:bulk-add-check", args=[bulk_import.pk])).status_code == 302
    editor_client.post(reverse("users:bulk-add-delete", args=[bulk_import.pk]))
    assert not BulkImport.objects.exists()


def test_an_unusable_file_is_refused_on_the_upload_page(bulk_world, editor_client):
    response = _upload(editor_client, bulk_world, b"colour;size\r\nblue;2\r\n")
    assert response.status_code == 422 and "None of the file" in response.content.decode()
    assert not BulkImport.objects.exists()


def test_guest_invitations_through_the_pages(bulk_world, editor_client, django_capture_on_commit_callbacks):
    tag = uuid.uuid4().hex[:6]
    rows = [
        {"displayName": f"Guest {i}", "email": f"g{i}.{tag}@fabrikam.com", "redirectUrl": ""}
        for i in range(3)
    ]
    _upload(editor_client, bulk_world, csv_bytes(rows), kind="guests", name="guests.csv")
    bulk_import = BulkImport.objects.get()
    assert bulk_import.kind == "guests"
    preview = editor_client.get(reverse("users:bulk-add-preview", args=[bulk_import.pk])).content.decode()
    assert "Invite 3 guests in Northwind Traders" in preview and "Send the invitation e-mail" in preview
    editor_client.post(reverse("users:bulk-add-defaults", args=[bulk_import.pk]),
                       {"send_invitation": "", "redirect_url": "https://portal.fabrikam.com", "message": "Welcome"})  # fmt: skip
    row = bulk_import.rows.first()
    assert (
        row.resolved["send_invitation"] is False
        and row.resolved["redirect_url"] == "https://portal.fabrikam.com"
    )
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    bulk_import.refresh_from_db()
    assert bulk_import.job.succeeded == 3
    results = editor_client.get(reverse("users:bulk-add-results", args=[bulk_import.pk])).content.decode()
    assert "Redemption links" in results and results.count("data-secret-row") == 3
    download = editor_client.post(reverse("users:bulk-add-passwords", args=[bulk_import.pk]))
    lines = download.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "display name,e-mail,redemption link" and len(lines) == 4


def test_the_jobs_pages_cancel_cancels_the_rows(
    bulk_world, editor_client, django_capture_on_commit_callbacks
):
    _upload(editor_client, bulk_world, csv_bytes(user_rows(3, bulk_world.domain)))
    bulk_import = BulkImport.objects.get()
    with django_capture_on_commit_callbacks(execute=False):  # queued, no worker yet
        editor_client.post(reverse("users:bulk-add-run", args=[bulk_import.pk]))
    bulk_import.refresh_from_db()
    job = bulk_import.job
    response = editor_client.post(reverse("jobs:cancel", args=[job.pk]))
    assert response["Location"] == reverse("users:bulk-add-progress", args=[bulk_import.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.skipped == 3
    assert set(bulk_import.rows.values_list("status", flat=True)) == {Status.CANCELLED}
