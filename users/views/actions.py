"""The one modal view every action runs through: /users/actions/<key>/.

GET (or a POST without ``confirmed``, which is how the bulk bar sends its selection) renders the form and
the confirmation: who (the users, their count, the tenant), what exactly happens, the action's warnings,
users it will skip and why. It never changes anything. A POST with ``confirmed=1`` validates the form
(errors re-render in the modal with status 422) and then either runs the action in the request (one or a
few users, or an action that produces a one-time secret) and shows each user's outcome, or creates a Job
and sends the technician to its progress page. htmx gets the modal's content; a plain request the same
content as a page of its own, so everything works without JavaScript.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, retarget, trigger_client_event

from tenants.access import can
from tenants.ui import htmx_partial
from users.audit import client_ip

from ..actions import guard, menus, registry
from ..actions.jobs import create_job, finish_job, run_items
from ..actions.runner import build_context
from ..actions.selection import Selection, SelectionError, resolve_selection
from ..models import Job

RESERVED = {"user", "query", "tenant", "confirmed", "typed_count", "expected_count", "csrfmiddlewaretoken"}
GUARD_PREVIEW_MAX = 20  # a live role check before confirming, for selections up to one $batch call
APPLIES_PREVIEW_MAX = 2000
CONFIRM_TARGETS_MAX = 500


def _template(request, name: str) -> str:
    return f"users/actions/{name}.html" if htmx_partial(request) else "users/actions/page.html"


def _respond(request, name: str, context: dict, status: int = 200) -> HttpResponse:
    context = {**context, "part": f"users/actions/{name}.html", "is_htmx": htmx_partial(request)}
    response = render(request, _template(request, name), context, status=status)
    if htmx_partial(request) and status == 422:
        retarget(response, "#modal-content")
        response["HX-Reswap"] = "innerHTML"
    return response


def _error(request, message: str, status: int, action=None) -> HttpResponse:
    code = 422 if htmx_partial(request) and status < 500 else status
    return _respond(request, "message", {"action": action, "message": message, "status": status}, code)


def _form(action, selection: Selection, data=None):
    return action.build_form(data, tenant=selection.tenant, targets=selection.preview)


def _form_data(form) -> dict:
    """The raw submitted values of the action's fields: what a Job stores and its worker re-validates."""
    if form is None:
        return {}
    out = {}
    for name in form.fields:
        values = form.data.getlist(form.add_prefix(name)) if hasattr(form.data, "getlist") else []
        out[name] = values if len(values) != 1 else values[0]
    return out


def _skips(request, action, selection: Selection) -> tuple[list[tuple[object, str]], bool]:
    """[(user, why)] the run would skip, as far as can be told before running; and whether it was checked."""
    if selection.count > APPLIES_PREVIEW_MAX:
        return [], False
    skips = [(user, why) for user in selection.queryset if (why := action.why_not(user))]
    if selection.count <= GUARD_PREVIEW_MAX:  # every action is guarded on privileged targets
        for tenant in selection.tenants:
            if not guard.needs_check(request.user, tenant):
                continue
            users = [u for u in selection.queryset if u.tenant_id == tenant.pk and not action.why_not(u)]
            ctx = build_context(tenant, request.user, source_ip=client_ip(request))
            refused = guard.check_targets(ctx, [registry.Target(tenant, u) for u in users])
            skips += [(u, refused[str(u.user_id)]) for u in users if str(u.user_id) in refused]
    return skips, True


def _confirm_context(request, action, selection: Selection, form, **extra) -> dict:
    skips, checked = _skips(request, action, selection)
    # The confirm text names the users: all of them up to CONFIRM_TARGETS_MAX, else the first few (the
    # template always states the true count).
    users = list(selection.queryset) if selection.count <= CONFIRM_TARGETS_MAX else selection.preview
    targets = [registry.Target(u.tenant, u) for u in users]
    runnable = selection.count - len(skips)
    return {
        "action": action,
        "selection": selection,
        "form": form,
        "confirm_text": action.confirm(targets, selection.tenant),
        "warnings": action.warnings(targets) if action.warnings else [],
        "skips": skips[:50],
        "skip_count": len(skips),
        "skips_checked": checked,
        "runnable": runnable,
        "type_count": selection.count > settings.ACTIONS_TYPE_COUNT_ABOVE,
        "background": _runs_as_job(action, selection),
        "too_many_secrets": action.secret_output and selection.count > settings.ACTIONS_SECRET_MAX,
        "secret_max": settings.ACTIONS_SECRET_MAX,
        "post_url": reverse("users:action", args=[action.key]),
        **extra,
    }


def _runs_as_job(action, selection: Selection) -> bool:
    if action.secret_output:
        return False
    return action.background or selection.count > settings.ACTIONS_INLINE_MAX


@require_http_methods(["GET", "POST"])
def action_modal(request, key: str):
    action = registry.get(key)
    if action is None:
        raise Http404("No such action.")
    data = request.POST if request.method == "POST" else request.GET
    try:
        selection = resolve_selection(request, data, action.permission)
    except SelectionError as error:
        return _error(request, error.message, error.status, action)
    if not action.bulk and selection.count > 1:
        return _error(request, f"“{action.label}” works on one user at a time.", 400, action)
    if request.method != "POST" or data.get("confirmed") != "1":
        form = _form(action, selection)
        if form is not None and request.method == "GET":
            # A link may pre-choose a field (View user's Remove button names the sign-in method to remove).
            form.initial.update({name: data[name] for name in form.fields if data.get(name)})
        return _respond(request, "confirm", _confirm_context(request, action, selection, form))
    return _run(request, action, selection, data)


def _run(request, action, selection: Selection, data: QueryDict) -> HttpResponse:
    form = _form(action, selection, data)
    problems: list[str] = []
    expected = (data.get("expected_count") or "").strip()
    if expected and expected != str(selection.count):
        problems.append(
            f"The selection changed from {expected} to {selection.count} users since this was opened. "
            "Check the users below and confirm again."
        )
    if selection.count > settings.ACTIONS_TYPE_COUNT_ABOVE and not problems:
        if (data.get("typed_count") or "").strip().replace(",", "") != str(selection.count):
            problems.append(f"Type {selection.count} to confirm that this runs on {selection.count} users.")
    if action.secret_output and selection.count > settings.ACTIONS_SECRET_MAX:
        return _error(request, f"“{action.label}” shows a one-time secret per user, so it runs on at most "
                      f"{settings.ACTIONS_SECRET_MAX} users at once; select fewer.", 400, action)  # fmt: skip
    single = selection.single
    if single is not None and (why := action.why_not(single)):
        return _error(
            request, f"“{action.label}” does not apply to {single.user_principal_name}: {why}", 409, action
        )
    form_ok = form is None or form.is_valid()
    if problems or not form_ok:
        context = _confirm_context(request, action, selection, form, problems=problems)
        return _respond(request, "confirm", context, status=422)
    cleaned = dict(form.cleaned_data) if form is not None else {}
    label = _job_label(action, selection)
    if _runs_as_job(action, selection):
        job = create_job(action, selection.queryset, _form_data(form), technician=request.user,
                         source_ip=client_ip(request), label=label, tenant=selection.tenant)  # fmt: skip
        from users.tasks import run_action_job

        transaction.on_commit(lambda: run_action_job.delay(job.pk))
        url = reverse("jobs:detail", args=[job.pk])
        if htmx_partial(request):
            return HttpResponseClientRedirect(url)
        return redirect(url)
    job = create_job(action, selection.queryset, _form_data(form), technician=request.user,
                     source_ip=client_ip(request), label=label, tenant=selection.tenant,
                     status=Job.Status.RUNNING)  # fmt: skip
    items = list(job.items.select_related("tenant", "tenant__connection").order_by("position"))
    results = run_items(job, action, items, cleaned, request.user, request=request, priority="high")
    job = finish_job(job)
    return _results_response(request, action, job, results)


def _job_label(action, selection: Selection) -> str:
    who = selection.single.user_principal_name if selection.single else f"{selection.count} users"
    return f"{action.label}: {who} ({selection.tenant_label})"


def _results_response(request, action, job: Job, results) -> HttpResponse:
    order = {"failed": 0, "skipped": 1, "accepted": 2, "success": 3}
    rows = sorted(results, key=lambda r: order.get(r.outcome.status, 9))
    counts = {status: sum(1 for r in results if r.outcome.status == status) for status in order}
    has_secret = any(r.outcome.secret for r in results)
    context = {"action": action, "job": job, "results": rows, "counts": counts, "has_secret": has_secret,
               "csv_url": reverse("jobs:results-csv", args=[job.pk])}  # fmt: skip
    response = _respond(request, "results", context)
    # A page carrying a password must not be kept by the browser or any proxy.
    response["Cache-Control"] = "no-store"
    removed = [r.user_id for r in results if r.outcome.removed and r.outcome.ok]
    changed = [r.user_id for r in results if r.outcome.ok]
    trigger_client_event(response, "actionsApplied", {"changed": changed, "removed": removed})
    failed = counts["failed"]
    level = (
        "error"
        if failed and not (counts["success"] or counts["accepted"])
        else "warning"
        if failed
        else "success"
    )
    message = f"{action.label}: {counts['success'] + counts['accepted']} done"
    message += f", {failed} failed" if failed else ""
    message += f", {counts['skipped']} skipped" if counts["skipped"] else ""
    trigger_client_event(response, "toast", {"message": message, "level": level})
    return response


def action_menu(request):
    """The row menu's entries for one user (loaded when the menu first opens; a page without JS)."""
    try:
        selection = resolve_selection(request, request.GET, "users.view")
    except SelectionError as error:
        return _error(request, error.message, error.status)
    user = selection.single
    if user is None:
        raise Http404("Choose one user.")
    groups = menus.user_menu(request.user, user)
    template = "users/actions/row_menu.html" if htmx_partial(request) else "users/actions/menu_page.html"
    allowed = any(can(request.user, a.permission, user.tenant) for a in registry.all_actions())
    return render(request, template, {"groups": groups, "row": user, "may_act": allowed})
