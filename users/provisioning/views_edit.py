"""Edit user: /users/<tenant>/<user id>/edit/ (users.edit on that tenant; other tenants answer 404).

GET reads the user live from Graph (users.provisioning.edit_state) and shows the form. Saving takes two
POSTs, both with CSRF: "Review changes" validates and lists exactly what will be sent (every property,
each SKU added or removed, each group...) without sending anything; "Save these changes" applies exactly
that list (a fingerprint of it travels with the button, and a form changed after the review is reviewed
again). The steps run through ``edit.apply_edit``, which audits each one; the page then shows every
step's result as it came back and the form re-read from Graph. htmx swaps ``#user-edit``; without
JavaScript the same content comes as a whole page. A user holding a privileged role (users.actions.guard)
can be changed only by a technician with the Admin role: anyone else is refused at review and at save,
with the role named, and nothing is sent.

Two helpers for the page's live feedback: ``edit_check`` (the new UPN / aliases are well-formed and free,
ignoring this user's own addresses) and ``edit_people`` (suggestions for the manager and "copy from").
"""

from __future__ import annotations

import logging

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from graph.errors import GraphError, NotFoundError
from tenants.access import permission_required_for
from tenants.ui import htmx_partial
from users import audit
from users.actions import guard
from users.actions.registry import Status, Target
from users.actions.runner import build_context

from ..models import DirectoryUser
from . import form_fields as ff
from . import rules
from .edit import apply_edit
from .edit_state import load_edit_state
from .forms_edit import EditUserForm, StaleForm, edit_digest, has_changes, read_original, sign_original

logger = logging.getLogger(__name__)

STEP_LABELS = {
    "profile": "Profile",
    "licences": "Licences",
    "groups": "Groups",
    "copy-groups": "Copy group memberships",
    "aliases": "Aliases",
    "manager": "Manager",
    "refresh": "Directory cache",
}
STATUS_LABELS = {
    Status.SUCCESS: "Succeeded",
    Status.ACCEPTED: "Accepted, not yet confirmed",
    Status.FAILED: "Failed",
    Status.SKIPPED: "Skipped",
}


def _fresh_form(state) -> EditUserForm:
    snapshot = state.snapshot()
    return EditUserForm(state=state, original=snapshot, token=sign_original(state.tenant, snapshot))


def _render(request, state, form, *, status: int = 200, **extra):
    form.wire(
        check_url=reverse("users:edit-check", args=[state.tenant.slug, state.user_id]),
        people_url=reverse("users:edit-people", args=[state.tenant.slug, state.user_id]),
    )
    context = {
        "tenant": state.tenant,
        "state": state,
        "form": form,
        "base": form.base,
        "synced_reason": rules.SYNCED_READ_ONLY_REASON,
        "detail_url": reverse("users:detail", args=[state.tenant.slug, state.user_id]),
        "edit_url": reverse("users:edit", args=[state.tenant.slug, state.user_id]),
        "table_url": reverse("users:list") + f"?tenant={state.tenant.slug}",
        **extra,
    }
    template = (
        "users/provisioning/edit_panel.html" if htmx_partial(request) else "users/provisioning/edit.html"
    )
    return render(request, template, context, status=status)


def _load(tenant, user_id):
    try:
        return load_edit_state(tenant, user_id), None
    except NotFoundError:
        raise Http404("This user does not exist in the tenant.") from None
    except GraphError as error:
        return None, error


def _unreadable(request, tenant, user_id, error: GraphError):
    context = {"tenant": tenant, "error": error, "user_id": user_id,
               "detail_url": reverse("users:detail", args=[tenant.slug, user_id]),
               "edit_url": reverse("users:edit", args=[tenant.slug, user_id])}  # fmt: skip
    # A page that explains what could not be read (and offers a retry), not an error status: the
    # technician's request was fine, Microsoft's answer was not.
    return render(request, "users/provisioning/edit_unreadable.html", context)


def result_rows(results) -> list[dict]:
    """StepResults as the page lists them: label, status, message, request ids and any listed details
    (e.g. the groups a copy skipped, each with its reason)."""
    rows = []
    for result in results:
        items = []
        # Notes and lists of records (each with a name and a reason) are for the technician; ids, kinds and
        # lists of ids are for the audit log (the message already names what they stand for).
        for key, value in (result.details or {}).items():
            if isinstance(value, list | tuple):
                items += [(key, _item_text(v)) for v in value if isinstance(v, dict)]
            elif key == "note" and value:
                items.append((key, str(value)))
        rows.append({"label": STEP_LABELS.get(result.step, result.step.replace("-", " ").capitalize()),
                     "step": result.step, "status": result.status,
                     "status_label": STATUS_LABELS.get(result.status, result.status),
                     "message": result.message, "request_ids": result.request_ids, "items": items})  # fmt: skip
    return rows


def _item_text(value) -> str:
    if isinstance(value, dict):
        name = value.get("name") or value.get("group") or value.get("id") or ""
        reason = value.get("reason") or value.get("message") or value.get("why") or ""
        rest = [
            str(v) for k, v in value.items() if k not in {"name", "group", "id", "reason", "message", "why"}
        ]
        text = f"{name}: {reason}" if name and reason else str(name or reason)
        return " · ".join([text, *rest]) if rest else text
    return str(value)


def _privileged_refusal(request, tenant, state) -> str:
    """Why this technician may not change this user (a privileged target, or roles that could not be read),
    or "". Asked on every review and save, live: a role granted since the form opened counts."""
    if not guard.needs_check(request.user, tenant):
        return ""
    row = DirectoryUser(tenant=tenant, user_id=state.user_id, user_principal_name=state.upn)
    ctx = build_context(tenant, request.user, source_ip=audit.client_ip(request))
    return guard.check_targets(ctx, [Target(tenant, row)]).get(str(state.user_id), "")


def _role_group_refusal(request, tenant, state, edit) -> str:
    """Joining a role-assignable group gives the user the group's directory roles: only an Admin may."""
    names = [g.name for g in state.group_choices if g.role_assignable and g.id in edit.add_group_ids]
    if not names or not guard.needs_check(request.user, tenant):
        return ""
    if len(names) == 1:
        return (
            f"Needs the Admin role because {names[0]} is a role-assignable group: its members hold the "
            "directory roles assigned to it."
        )
    return (
        f"Needs the Admin role because {', '.join(names)} are role-assignable groups: their members hold "
        "the directory roles assigned to them."
    )


@permission_required_for("users.edit", tenant_kwarg="tenant")
@require_http_methods(["GET", "POST"])
def edit_user(request, tenant, user_id):
    uid = str(user_id)
    state, error = _load(tenant, uid)
    if error is not None:
        return _unreadable(request, tenant, uid, error)
    if request.method == "GET":
        # Said up front, so nobody fills in a form that cannot be saved; checked again at review and save.
        refused = _privileged_refusal(request, tenant, state)
        return _render(request, state, _fresh_form(state), refused=refused, refused_on_open=bool(refused))

    token = request.POST.get("original", "")
    try:
        original = read_original(tenant, uid, token)
    except StaleForm:
        notice = ("This form was open too long or was not the one this page showed, so nothing was sent. "
                  "It now shows the user as Graph has it; make your changes again.")  # fmt: skip
        return _render(request, state, _fresh_form(state), status=422, notice=notice)
    form = EditUserForm(request.POST, state=state, original=original, token=token)
    if not form.is_valid():
        return _render(request, state, form, status=422)
    edit = form.to_edit()
    if not has_changes(edit):
        return _render(request, state, form, notice="Nothing to change: every field is as it was.")
    refused = _privileged_refusal(request, tenant, state) or _role_group_refusal(request, tenant, state, edit)
    if refused:  # nothing is reviewed or sent: only an Admin may change a privileged user
        return _render(request, state, form, status=422 if htmx_partial(request) else 403, refused=refused)
    digest = edit_digest(edit)
    applying = request.POST.get("step") == "apply"
    if not applying or request.POST.get("reviewed") != digest:
        changed = applying  # "Save" pressed, but the form no longer matches the summary it confirmed
        return _render(
            request, state, form, summary=form.summary(), digest=digest, changed_since_review=changed
        )

    ctx = build_context(tenant, request.user, source_ip=audit.client_ip(request))
    steps = apply_edit(ctx, edit, request=request)
    fresh, reload_error = _load(tenant, uid)
    if fresh is None:
        # The steps ran; only the re-read failed. The results say so above the form from before saving.
        return _render(request, state, _fresh_form(state), results=result_rows(steps), reload_error=reload_error,
                       applied=form.summary())  # fmt: skip
    return _render(request, fresh, _fresh_form(fresh), results=result_rows(steps), applied=form.summary())


@permission_required_for("users.edit", tenant_kwarg="tenant")
@require_GET
def edit_check(request, tenant, user_id):
    """Live feedback while typing: is the new sign-in name / are the new aliases usable and free?"""
    what = request.GET.get("what", "upn")
    domains = ff.tenant_domains(tenant)
    messages: list[str] = []
    addresses: list[str] = []
    if what == "aliases":
        default = (request.GET.get("domain") or "").strip().lower()
        addresses, messages = ff.parse_aliases(
            request.GET.get("alias_add", ""), default_domain=default if default in domains else domains[0],
            domains=domains,
        )  # fmt: skip
    else:
        username = request.GET.get("username", "").strip()
        domain = request.GET.get("domain", "").strip().lower()
        problem = rules.username_problem(username)
        if problem:
            messages.append(problem)
        elif domain:
            addresses = [f"{username}@{domain}"]
    if addresses and not messages:
        from .availability import address_problems

        try:
            problems = address_problems(tenant, addresses, exclude_user_id=str(user_id))
        except GraphError as error:
            messages.append(f"Could not check with Graph: {error.message}")
        else:
            messages += [f"{a}: {problems[a.lower()]}" for a in addresses if problems.get(a.lower())]
    context = {"what": what, "problems": messages, "addresses": addresses, "checked": bool(addresses)}
    return render(request, "users/provisioning/edit_check.html", context)


@permission_required_for("users.edit", tenant_kwarg="tenant")
@require_GET
def edit_people(request, tenant, user_id):
    """Suggestions (a datalist's options) for the manager and "copy from" boxes, from the directory cache."""
    query = request.GET.get("q") or request.GET.get("manager") or request.GET.get("copy_groups_from") or ""
    rows = [row for row in ff.search_users(tenant, query) if str(row.user_id) != str(user_id)]
    return render(request, "users/provisioning/edit_people.html", {"rows": rows})
