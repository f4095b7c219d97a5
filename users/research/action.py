"""The "Research compromised account" entry in every user's actions (row menu, More info, View user).

Declared as a registry action so it appears wherever the other actions do, with the same permission check
and modal: the modal asks for the window (default 7 days, up to 30) and the run starts the research Job and
answers at once with a link to the report page, where the progress and then the report show. Starting it is
audited by the runner like any action (the gathering itself only reads, so it writes no audit entry).
"""

from __future__ import annotations

from django import forms
from django.urls import reverse

from users.models import CompromiseReport

from ..actions.registry import Action, Group, Outcome, Status, register
from ..actions.wording import in_tenant, who
from . import tasks


class ResearchForm(forms.Form):
    window_days = forms.IntegerField(
        label="Look back (days)", min_value=1, max_value=tasks.MAX_WINDOW, initial=tasks.DEFAULT_WINDOW,
        help_text=f"1 to {tasks.MAX_WINDOW} days. Sign-in and directory logs are kept for 30 days.",
    )  # fmt: skip

    def __init__(self, *args, tenant=None, targets=None, **kwargs):
        super().__init__(*args, **kwargs)


def report_url(tenant, user_id) -> str:
    return reverse("users:research", args=[tenant.slug, user_id])


def _confirm(targets, tenant) -> str:
    text = (
        f"Gather every sign of a compromise of {who(targets)} {in_tenant(targets, tenant)} over the chosen window: "
        "sign-ins, inbox rules and their changes, forwarding, mailbox permissions, sign-in methods and password "
        "changes, app consents, sent mail, directory changes and risk. This only reads; nothing is changed."
    )
    if len(targets) == 1:
        target = targets[0]
        last = CompromiseReport.objects.filter(tenant=target.tenant, user_id=target.user.user_id).first()
        if last is not None and last.gathered_at is not None:
            text += (
                f" The last report was gathered on {last.gathered_at:%d %b %Y %H:%M} UTC; this replaces it."
            )
    return text


def _run(ctx, target, data) -> Outcome:
    user = target.user
    job = tasks.start_research(
        target.tenant, user.user_id, user.user_principal_name, user.display_name,
        window_days=int(data.get("window_days") or tasks.DEFAULT_WINDOW), technician=ctx.technician,
        source_ip=ctx.source_ip,
    )  # fmt: skip
    days = int((job.parameters or {}).get("window_days") or tasks.DEFAULT_WINDOW)
    return Outcome(
        Status.SUCCESS,
        f"Research started over the last {days} day{'s' if days != 1 else ''} (job #{job.pk}). "
        "The report page shows its progress; it takes about a minute.",
        details={
            "open_url": report_url(target.tenant, user.user_id),
            "open_label": "Open the report",
            "job": job.pk,
        },  # fmt: skip
    )


RESEARCH_ACTION = register(
    Action(
        key="research-compromise",
        label="Research compromised account",
        group=Group.SECURITY,
        icon="shield-exclamation",
        permission=tasks.PERMISSION,
        confirm=_confirm,
        form_class=ResearchForm,
        bulk=False,
        run=_run,
    )
)
