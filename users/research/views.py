"""The compromise research pages: /users/<tenant>/<user id>/research/ and its parts.

* ``report``      GET  – the stored report (verdict, sections, countries, timeline), or the start form; while a
                         gathering runs, its progress (polled through ``progress``);
* ``run``         POST – gather again now, for the window chosen (1-30 days);
* ``progress``    GET  – the progress partial (htmx polls it; when the job ends the page reloads);
* ``export``      GET  – one section as CSV;
* ``remediate``   GET  – the confirmation listing the steps (each can be unticked); POST starts the Job;
* ``resume``      POST – re-queue a job whose worker stopped.

Access: the tenant must be in the technician's scope (404 otherwise, whether or not it exists) and the role
must allow ``users.actions.helpdesk`` (reading sign-ins, rules and sent mail is not for read-only roles);
the CSV also needs ``users.export``. Remediation shows each step with the permission its own action needs, and
the worker checks it again, with the privileged-target guard.
"""

from __future__ import annotations

import csv
import re

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from tenants.access import can, require
from tenants.lookup import resolve_tenant
from tenants.ui import htmx_partial
from users import audit
from users.export import neutralise
from users.models import CompromiseReport, DirectoryUser, Job

from ..actions import guard
from ..actions.jobs import is_stale
from ..actions.registry import Target
from ..actions.runner import build_context
from ..services.profile import lookup_user
from . import remediate, tables, tasks
from .sources import BY_KEY, SECTION_KEYS

CSV_KEYS = (*SECTION_KEYS, "auth_events", "timeline", "countries")


def _tenant(request, tenant_value: str, *, export: bool = False):
    tenant = resolve_tenant(tenant_value)
    if tenant is None:
        raise Http404("No such tenant.")
    require(request.user, "users.view", tenant)
    require(request.user, tasks.PERMISSION, tenant)
    if export:
        require(request.user, "users.export", tenant)
    return tenant


def _who(tenant, user_id) -> tuple[DirectoryUser | None, str, str]:
    """(cached row, UPN, display name): from the cache, else one Graph read; 404 when neither knows them."""
    row = DirectoryUser.objects.select_related("tenant").filter(tenant=tenant, user_id=user_id).first()
    if row is not None:
        return row, row.user_principal_name, row.display_name
    report = CompromiseReport.objects.filter(tenant=tenant, user_id=user_id).first()
    if report is not None:
        return None, report.user_principal_name, report.display_name
    found = lookup_user(tenant, user_id)
    if found is None:
        raise Http404("This user is neither in the directory cache nor in the tenant.")
    return None, found.get("userPrincipalName") or "", found.get("displayName") or ""


def _urls(tenant, user_id) -> dict:
    args = [tenant.slug, user_id]
    return {
        "report": reverse("users:research", args=args),
        "run": reverse("users:research-run", args=args),
        "progress": reverse("users:research-progress", args=args),
        "remediate": reverse("users:research-remediate", args=args),
        "resume": reverse("users:research-resume", args=args),
        "user": reverse("users:detail", args=args),
        "table": reverse("users:list") + f"?tenant={tenant.slug}",
    }


def _job_context(job: Job | None) -> dict | None:
    if job is None:
        return None
    return {"job": job, "items": list(job.items.order_by("position")), "stale": is_stale(job),
            "url": reverse("jobs:detail", args=[job.pk])}  # fmt: skip


def _sections(report: CompromiseReport) -> list[dict]:
    sources = (report.sections or {}).get("sources") or {}
    flagged = {s["key"]: s["findings"] for s in (report.verdict or {}).get("malicious") or []}
    out = []
    for key in SECTION_KEYS:
        outcome = sources.get(key) or {}
        data = outcome.get("data") if outcome.get("status") == "ok" else None
        out.append({
            "key": key, "title": BY_KEY[key].title, "what": BY_KEY[key].what, "outcome": outcome,
            "findings": flagged.get(key, []), "table": tables.table(report.sections or {}, key),
            "events": tables.table(report.sections or {}, "auth_events") if key == "auth_methods" else None,
            "csv": key, "data": data,
        })  # fmt: skip
    return out


def _page_context(request, tenant, user_id, report, row, upn, name) -> dict:
    running = tasks.active_job(report.job) if report is not None else None
    sections = report.sections or {} if report is not None else {}
    return {
        "tenant": tenant, "user_id": user_id, "upn": upn, "display_name": name, "row": row, "report": report,
        "verdict": (report.verdict if report is not None else None) or None,
        "sections": _sections(report) if report is not None and report.gathered_at else [],
        "countries": tables.table(sections, "countries") if sections else None,
        "timeline": tables.table(sections, "timeline") if sections else None,
        "timeline_left_out": sections.get("timeline_left_out", 0) if sections else 0,
        "context": sections.get("context") or {} if sections else {},
        "progress": _job_context(report.job) if report is not None else None,
        "running": running,
        "polling": running is not None or (report is not None and tasks.active_job(report.remediation_job) is not None),
        "remediation": _job_context(report.remediation_job) if report is not None else None,
        "may_remediate": row is not None and can(request.user, tasks.PERMISSION, tenant),
        "may_export": can(request.user, "users.export", tenant),
        "window_default": report.window_days if report is not None else tasks.DEFAULT_WINDOW,
        "window_max": tasks.MAX_WINDOW,
        "urls": _urls(tenant, user_id),
    }  # fmt: skip


@login_required
@require_GET
def report(request, tenant, user_id):
    target = _tenant(request, tenant)
    row, upn, name = _who(target, user_id)
    found = CompromiseReport.objects.select_related("job", "remediation_job").filter(
        tenant=target, user_id=user_id).first()  # fmt: skip
    context = _page_context(request, target, user_id, found, row, upn, name)
    return render(request, "users/research/report.html", context)


@login_required
@require_GET
def progress(request, tenant, user_id):
    target = _tenant(request, tenant)
    found = CompromiseReport.objects.select_related("job", "remediation_job").filter(
        tenant=target, user_id=user_id).first()  # fmt: skip
    if found is None:
        raise Http404("No research for this user.")
    if not htmx_partial(request):
        return redirect(_urls(target, user_id)["report"])
    running = tasks.active_job(found.job) or tasks.active_job(found.remediation_job)
    if running is None:
        return HttpResponseClientRefresh()  # finished (or stopped: the page offers Resume): reload it
    context = {"progress": _job_context(found.job), "remediation": _job_context(found.remediation_job),
               "urls": _urls(target, user_id), "report": found, "polling": True}  # fmt: skip
    return render(request, "users/research/progress.html", context)


def _window(value) -> int | None:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return days if 1 <= days <= tasks.MAX_WINDOW else None


@login_required
@require_POST
def run(request, tenant, user_id):
    target = _tenant(request, tenant)
    row, upn, name = _who(target, user_id)
    days = _window(request.POST.get("window_days"))
    if days is None:
        return HttpResponse(f"Choose a window of 1 to {tasks.MAX_WINDOW} days.", status=400)
    job = tasks.start_research(target, user_id, upn, name, window_days=days, technician=request.user,
                               source_ip=audit.client_ip(request))  # fmt: skip
    audit.record(request, tenant=target, target=row or (user_id, upn), action="research-compromise",
                 parameters={"window_days": days}, result="success",
                 message=f"Research started over the last {days} days (job #{job.pk}).", job_id=job.pk)  # fmt: skip
    url = _urls(target, user_id)["report"]
    return HttpResponseClientRedirect(url) if htmx_partial(request) else redirect(url)


@login_required
@require_GET
def export(request, tenant, user_id, section):
    target = _tenant(request, tenant, export=True)
    if section not in CSV_KEYS:
        raise Http404("No such section.")
    found = CompromiseReport.objects.filter(tenant=target, user_id=user_id, gathered_at__isnull=False).first()
    if found is None:
        raise Http404("No report for this user yet.")
    rows = tables.csv_rows(found.sections or {}, section)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", found.user_principal_name.split("@")[0]) or "user"
    response["Content-Disposition"] = f'attachment; filename="research-{name}-{section}.csv"'
    response.write("\ufeff")  # BOM: Excel opens it as UTF-8
    writer = csv.writer(response)
    if rows is None:
        reason = ((found.sections or {}).get("sources") or {}).get(section, {}).get("reason") or "not read"
        writer.writerow(["Could not check", neutralise(str(reason))])
        return response
    for values in rows:
        writer.writerow([_cell(v) for v in values])
    return response


def _cell(value) -> str:
    return neutralise(str(value or ""))  # spreadsheets would run formulas in text from the tenant


# --- remediation ----------------------------------------------------------------------------------------------


def step_choices(request, tenant, row: DirectoryUser, report: CompromiseReport) -> list[dict]:
    """Each step with whether this technician may run it on this user, and why not."""
    refused = {}
    if guard.needs_check(request.user, tenant):  # every step writes: privileged targets need Admin
        ctx = build_context(tenant, request.user, source_ip=audit.client_ip(request))
        refused = guard.check_targets(ctx, [Target(tenant, row)])
    rules = remediate.suspicious_rules(report)
    grants = remediate.suspicious_grants(report)
    out = []
    for step in remediate.STEPS:
        why = ""
        if not can(request.user, step.required_permission, tenant):
            why = "Your role may not do this."
        elif str(row.user_id) in refused:
            why = refused[str(row.user_id)]
        elif step.action is not None and (reason := step.action.why_not(row)):
            why = reason
        detail = ""
        if step.key == "disable-rules":
            detail = ", ".join(r["name"] for r in rules) or "The report flagged no enabled rule."
        elif step.key == "revoke-grants":
            detail = ", ".join(g["app"] for g in grants) or "The report flagged no app consent."
        nothing_flagged = (step.key == "revoke-grants" and not grants) or (
            step.key == "disable-rules" and not rules
        )
        checked = not why and not nothing_flagged
        out.append({"step": step, "why": why, "detail": detail, "checked": checked})
    return out


@login_required
@require_http_methods(["GET", "POST"])
def remediate_view(request, tenant, user_id):
    target = _tenant(request, tenant)
    row = DirectoryUser.objects.select_related("tenant").filter(tenant=target, user_id=user_id).first()
    found = CompromiseReport.objects.select_related("remediation_job").filter(
        tenant=target, user_id=user_id, gathered_at__isnull=False).first()  # fmt: skip
    urls = _urls(target, user_id)
    if found is None or row is None:
        message = ("Gather a report first." if found is None else
                   "This user is not in the directory cache yet: refresh the tenant's users first.")  # fmt: skip
        return _confirm_response(request, {"message": message, "urls": urls}, status=409)
    if tasks.active_job(found.remediation_job) is not None:
        return _confirm_response(request, {"message": "A remediation of this user is already running.",
                                           "urls": urls}, status=409)  # fmt: skip
    choices = step_choices(request, target, row, found)
    context = {"tenant": target, "row": row, "report": found, "choices": choices, "urls": urls,
               "rules_mode": remediate.RULES_SUSPICIOUS}  # fmt: skip
    if request.method != "POST":
        return _confirm_response(request, context)
    allowed = {c["step"].key for c in choices if not c["why"]}
    wanted = [key for key in request.POST.getlist("steps") if key in remediate.BY_KEY]
    rules_mode = request.POST.get("rules_mode") or remediate.RULES_SUSPICIOUS
    problems = []
    if not wanted:
        problems.append("Tick at least one step.")
    if set(wanted) - allowed:
        problems.append(
            "You may not run: " + ", ".join(remediate.BY_KEY[k].label for k in set(wanted) - allowed)
        )
    if rules_mode not in (remediate.RULES_SUSPICIOUS, remediate.RULES_ALL):
        problems.append("Choose which inbox rules to disable.")
    if problems:
        for choice in choices:
            choice["checked"] = choice["step"].key in wanted
        return _confirm_response(
            request, {**context, "problems": problems, "rules_mode": rules_mode}, status=422
        )
    job = tasks.start_remediation(found, wanted, rules_mode=rules_mode, technician=request.user,
                                  source_ip=audit.client_ip(request))  # fmt: skip
    audit.record(request, tenant=target, target=row, action="research-remediate",
                 parameters={"steps": wanted, "rules_mode": rules_mode}, result="queued",
                 message=f"Remediation queued (job #{job.pk}): {', '.join(wanted)}.", job_id=job.pk)  # fmt: skip
    return HttpResponseClientRedirect(urls["report"]) if htmx_partial(request) else redirect(urls["report"])


def _confirm_response(request, context: dict, status: int = 200) -> HttpResponse:
    partial = htmx_partial(request)
    template = "users/research/remediate.html" if partial else "users/research/remediate_page.html"
    if partial and status >= 400 and status != 422:
        status = 200  # htmx swaps 2xx and 422 only; the message is the content
    return render(request, template, {**context, "is_htmx": partial}, status=status)


@login_required
@require_POST
def resume(request, tenant, user_id):
    """Re-queue the research or remediation job of this user when its worker stopped."""
    target = _tenant(request, tenant)
    found = CompromiseReport.objects.select_related("job", "remediation_job").filter(
        tenant=target, user_id=user_id).first()  # fmt: skip
    if found is None:
        raise Http404("No research for this user.")
    for job in (found.job, found.remediation_job):
        if job is not None and (job.status == Job.Status.QUEUED or is_stale(job)):
            task = tasks.run_remediation_job if job.action_key == tasks.REMEDIATE else tasks.run_research_job
            transaction.on_commit(lambda task=task, pk=job.pk: task.delay(pk))
    return redirect(_urls(target, user_id)["report"])
