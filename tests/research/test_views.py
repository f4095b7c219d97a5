"""The research pages: who may see them, starting and re-running, the report, CSV per section, progress,
the entry in the user's actions, and the refusals."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.urls import reverse

from users.models import AuditEntry, CompromiseReport, Job

from .helpers import research


def url(name, tenant, user_id, *extra):
    return reverse(f"users:{name}", args=[tenant.slug, user_id, *extra])


@pytest.fixture
def fabrikam(research_world):
    tenant, compromised, clean = research_world.cast("fabrikam")
    return tenant, research_world.cache(compromised), research_world.cache(clean[0])


def test_refusals(research_world, fabrikam, role_client):
    tenant, row, _clean = fabrikam
    other = research_world.tenants["northwind"]
    reader = role_client("reader")
    assert reader.get(url("research", tenant, row.user_id)).status_code == 403
    assert reader.post(url("research-run", tenant, row.user_id), {"window_days": 7}).status_code == 403
    outsider = role_client("admin", tenants=[other])
    for name in ("research", "research-remediate"):
        assert outsider.get(url(name, tenant, row.user_id)).status_code == 404
    assert outsider.post(url("research-run", tenant, row.user_id), {"window_days": 7}).status_code == 404
    assert outsider.get(url("research-export", tenant, row.user_id, "sign_ins")).status_code == 404
    helpdesk = role_client("helpdesk")
    assert (
        helpdesk.get(reverse("users:research", args=["no-such-tenant.example", row.user_id])).status_code
        == 404
    )
    # A user id of another tenant is not this tenant's user (reports are per tenant and user).
    assert helpdesk.get(url("research", other, row.user_id)).status_code == 404
    assert not Job.objects.exists() and not AuditEntry.objects.exists()
    csrf = role_client("helpdesk", csrf=True)
    assert csrf.post(url("research-run", tenant, row.user_id), {"window_days": 7}).status_code == 403
    assert not Job.objects.exists()


def test_start_run_and_read_the_report(fabrikam, role_client, django_capture_on_commit_callbacks):
    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    page = client.get(url("research", tenant, row.user_id))
    assert page.status_code == 200 and "No report yet" in page.content.decode()
    for bad in ("0", "31", "seven", ""):
        assert client.post(url("research-run", tenant, row.user_id), {"window_days": bad}).status_code == 400
    assert not Job.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("research-run", tenant, row.user_id), {"window_days": "5"})
    assert response.status_code == 302 and response["Location"] == url("research", tenant, row.user_id)
    report = CompromiseReport.objects.get(tenant=tenant, user_id=row.user_id)
    assert report.window_days == 5 and report.job.kind == Job.Kind.RESEARCH and report.job.is_finished
    entry = AuditEntry.objects.get(action="research-compromise")
    assert entry.parameters == {"window_days": 5} and entry.job_id == report.job_id
    text = client.get(url("research", tenant, row.user_id)).content.decode()
    assert 'data-verdict="malicious"' in text and "Signs of compromise found" in text
    assert "last 5 days" in text and "data-sortable" in text and 'data-section-status="flagged"' in text
    assert "Sign-in countries" in text and "Timeline" in text and "remit.accounts.dept@protonmail.com" in text
    assert url("research-export", tenant, row.user_id, "sign_ins") in text


def test_unreadable_sources_show_the_reason(research_world, role_client, django_capture_on_commit_callbacks):
    tenant, compromised, _clean = research_world.cast("tailspin")
    client = role_client("helpdesk")
    research(research_world, tenant, compromised, client.technician, django_capture_on_commit_callbacks)
    text = client.get(url("research", tenant, compromised.pk)).content.decode()
    assert text.count("data-could-not-check") == 3  # sign-ins, mailbox changes, risk
    assert "needs Entra ID P1" in text and "unified audit log is off" in text and "needs Entra ID P2" in text
    body = client.get(url("research-export", tenant, compromised.pk, "mailbox_audit")).content.decode(
        "utf-8-sig"
    )
    assert list(csv.reader(io.StringIO(body))) == [["Could not check", "unified audit log is off "
                                                    "(UnifiedAuditLogIngestionEnabled is False)"]]  # fmt: skip


def test_csv_per_section(fabrikam, role_client, django_capture_on_commit_callbacks, research_world):
    from users.research.views import CSV_KEYS

    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    assert (
        client.get(url("research-export", tenant, row.user_id, "sign_ins")).status_code == 404
    )  # no report yet
    _tenant, compromised, _clean = research_world.cast("fabrikam")
    research(research_world, tenant, compromised, client.technician, django_capture_on_commit_callbacks)
    for key in CSV_KEYS:
        response = client.get(url("research-export", tenant, row.user_id, key))
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), key
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows and rows[0], key
    rules = list(
        csv.reader(
            io.StringIO(
                client.get(url("research-export", tenant, row.user_id, "inbox_rules")).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert rules[0] == ["Name", "Enabled", "Hidden", "Does", "When", "Flags"]
    assert any("remit.accounts.dept@protonmail.com" in cell for r in rules for cell in r)
    assert client.get(url("research-export", tenant, row.user_id, "nonsense")).status_code == 404
    # Formulas are neutralised.
    report = CompromiseReport.objects.get(tenant=tenant, user_id=row.user_id)
    report.sections["sources"]["sent_mail"]["data"] = [{"when": "2026-11-20T10:00:00Z", "recipient": "a@b.example",
                                                        "subject": "=HYPERLINK(\"x\")"}]  # fmt: skip
    report.save()
    body = client.get(url("research-export", tenant, row.user_id, "sent_mail")).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body


def test_progress_polls_until_done_then_reloads(fabrikam, role_client):
    from users.research import tasks

    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    job = tasks.start_research(
        tenant,
        row.user_id,
        row.user_principal_name,
        row.display_name,
        window_days=7,
        technician=client.technician,
        source_ip=None,
    )  # fmt: skip (not run: on_commit)
    again = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name, window_days=7,
                                 technician=client.technician, source_ip=None)  # fmt: skip
    assert again.pk == job.pk  # one gathering per user at a time
    page = client.get(url("research", tenant, row.user_id)).content.decode()
    assert 'id="research-progress"' in page and "0 of 14 sources read" in page
    partial = client.get(url("research-progress", tenant, row.user_id), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "Gathering the evidence" in partial.content.decode()
    tasks.work_research(job.pk)
    done = client.get(url("research-progress", tenant, row.user_id), HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and done["HX-Refresh"] == "true"


def test_stale_job_is_resumed(fabrikam, role_client, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from users.research import tasks

    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    job = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name, window_days=7,
                               technician=client.technician, source_ip=None)  # fmt: skip
    Job.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    assert tasks.work_research(job.pk) != "busy"  # a stale job may be taken over
    job.refresh_from_db()
    assert job.is_finished
    # And through the page: a job stuck in "running" is re-queued.
    job2 = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name, window_days=7,
                                technician=client.technician, source_ip=None)  # fmt: skip
    Job.objects.filter(pk=job2.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    assert "Resume" in client.get(url("research", tenant, row.user_id)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url("research-resume", tenant, row.user_id)).status_code == 302
    job2.refresh_from_db()
    assert job2.is_finished


def test_research_refused_to_a_technician_who_lost_the_role(fabrikam, role_client):
    from tenants.models import TechnicianProfile
    from users.research import tasks

    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    job = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name, window_days=7,
                               technician=client.technician, source_ip=None)  # fmt: skip
    TechnicianProfile.objects.filter(user=client.technician).update(role="reader")
    assert tasks.work_research(job.pk) == "refused"
    job.refresh_from_db()
    assert job.status in ("failed", "partial") and "no longer allowed" in job.message
    assert CompromiseReport.objects.get(pk=job.parameters["report_id"]).gathered_at is None


# --- the entry in the user's actions ------------------------------------------------------------------------


def test_research_is_in_the_row_menu_view_user_and_more_info(fabrikam, role_client):
    tenant, row, _clean = fabrikam
    value = f"{tenant.tenant_id}/{row.user_id}"
    helpdesk = role_client("helpdesk")
    menu = helpdesk.get(
        reverse("users:action-menu"), {"user": value}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-action-link="research-compromise"' in menu
    detail = helpdesk.get(reverse("users:detail", args=[tenant.slug, row.user_id])).content.decode()
    assert 'data-action-link="research-compromise"' in detail
    panel = helpdesk.get(reverse("users:panel", args=[tenant.slug, row.user_id]), HTTP_HX_REQUEST="true")
    assert 'data-action-link="research-compromise"' in panel.content.decode()
    reader = role_client("reader")
    menu = reader.get(reverse("users:action-menu"), {"user": value}, HTTP_HX_REQUEST="true").content.decode()
    assert "research-compromise" not in menu


def test_the_action_modal_asks_for_the_window_and_links_to_the_report(fabrikam, role_client,
                                                                      django_capture_on_commit_callbacks):  # fmt: skip
    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    action_url = reverse("users:action", args=["research-compromise"])
    value = f"{tenant.tenant_id}/{row.user_id}"
    modal = client.get(action_url, {"user": value}, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="window_days"' in modal and 'value="7"' in modal and "only reads" in modal
    bad = client.post(action_url, {"user": value, "confirmed": "1", "expected_count": "1", "window_days": "45"},
                      HTTP_HX_REQUEST="true")  # fmt: skip
    assert bad.status_code == 422 and not Job.objects.filter(kind=Job.Kind.RESEARCH).exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(action_url, {"user": value, "confirmed": "1", "expected_count": "1", "window_days": "3"},
                           HTTP_HX_REQUEST="true")  # fmt: skip
    text = done.content.decode()
    assert (
        done.status_code == 200
        and 'data-result="success"' in text
        and "Research started over the last 3 days" in text
    )
    assert f'href="{url("research", tenant, row.user_id)}"' in text and "Open the report" in text
    report = CompromiseReport.objects.get(tenant=tenant, user_id=row.user_id)
    assert report.gathered_at is not None and report.window_days == 3
    assert AuditEntry.objects.filter(action="research-compromise").count() == 1
    # The confirmation names the last report next time.
    again = client.get(action_url, {"user": value}, HTTP_HX_REQUEST="true").content.decode()
    assert "The last report was gathered on" in again


def test_unknown_user_is_404(fabrikam, role_client):
    tenant, _row, _clean = fabrikam
    client = role_client("helpdesk")
    assert client.get(url("research", tenant, uuid.uuid4())).status_code == 404


def test_jobs_page_and_beat_resume_research_jobs(fabrikam, role_client, django_capture_on_commit_callbacks):
    """The jobs page's Resume and the stale-job beat work research jobs through their own worker."""
    from datetime import timedelta

    from django.utils import timezone

    from users import tasks as user_tasks
    from users.research import tasks

    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    job = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name, window_days=7,
                               technician=client.technician, source_ip=None)  # fmt: skip
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "Sign-ins" in page and "Inbox rules" in page  # one item per source
    Job.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("jobs:resume", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.is_finished and CompromiseReport.objects.get(job=job).gathered_at is not None
    # The beat: a research job whose worker died is re-queued with the action jobs.
    job = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name, window_days=7,
                               technician=client.technician, source_ip=None)  # fmt: skip
    Job.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    assert user_tasks.resume_stale_action_jobs() == 1
    job.refresh_from_db()
    assert job.is_finished


def test_cancelled_research_leaves_the_previous_report(
    fabrikam, role_client, django_capture_on_commit_callbacks
):
    from users.research import tasks

    tenant, row, _clean = fabrikam
    client = role_client("helpdesk")
    job = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name, window_days=7,
                               technician=client.technician, source_ip=None)  # fmt: skip
    assert client.post(reverse("jobs:cancel", args=[job.pk])).status_code == 302
    assert tasks.work_research(job.pk) == "finished"
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert CompromiseReport.objects.get(job=job).gathered_at is None
