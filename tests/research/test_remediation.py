"""Remediation against the sandbox: the confirmation lists every step (each can be unticked, each follows its
own action's permission and privileged-target guard); the Job runs the ticked steps in order, reports and
audits each, and gathers the report again; the sandbox then reflects every step."""

from __future__ import annotations

import pytest
from django.urls import reverse

from graph.sandbox.models import (
    SandboxAuthMethod,
    SandboxDirectoryRole,
    SandboxInboxRule,
    SandboxMailbox,
    SandboxOAuth2PermissionGrant,
    SandboxRoleMember,
)
from users.models import AuditEntry, CompromiseReport, Job
from users.research import remediate

from .helpers import research

ALL_STEPS = [step.key for step in remediate.STEPS]


def remediate_url(tenant, user_id):
    return reverse("users:research-remediate", args=[tenant.slug, user_id])


@pytest.fixture
def researched(research_world, role_client, django_capture_on_commit_callbacks):
    tenant, compromised, clean = research_world.cast("fabrikam")
    admin = role_client("admin")
    report, _ = research(
        research_world, tenant, compromised, admin.technician, django_capture_on_commit_callbacks
    )
    return tenant, compromised, report, admin


def test_confirmation_lists_every_step(researched, role_client):
    tenant, compromised, report, admin = researched
    page = admin.get(remediate_url(tenant, compromised.pk), HTTP_HX_REQUEST="true").content.decode()
    for step in remediate.STEPS:
        assert f'value="{step.key}"' in page and step.label in page
    assert page.count(" checked") >= len(ALL_STEPS)  # every step ticked (+ the rules radio)
    assert "." in page and "Mail Sync Pro" in page  # the flagged rules and consent are named
    # A Helpdesk technician may not run the mailbox / app steps (users.edit): shown, not tickable.
    helpdesk = role_client("helpdesk")
    page = helpdesk.get(remediate_url(tenant, compromised.pk), HTTP_HX_REQUEST="true").content.decode()
    for key in ("disable-rules", "remove-forwarding", "revoke-grants"):
        assert f'id="step-{key}" aria-describedby="step-{key}-help"' not in page or "disabled" in page
    assert page.count("Your role may not do this.") == 3
    response = helpdesk.post(remediate_url(tenant, compromised.pk), {"steps": ["block-sign-in", "disable-rules"]},
                             HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 422 and "You may not run: Disable inbox rules" in response.content.decode()
    assert admin.post(remediate_url(tenant, compromised.pk), {}, HTTP_HX_REQUEST="true").status_code == 422
    reader = role_client("reader")
    assert reader.get(remediate_url(tenant, compromised.pk)).status_code == 403
    assert not Job.objects.filter(action_key="research-remediate").exists()


def test_privileged_target_needs_admin_for_credential_steps(researched, role_client):
    tenant, compromised, report, admin = researched
    role = SandboxDirectoryRole.objects.get(tenant_id=compromised.tenant_id,
                                            role_template_id="62e90394-69f5-4237-9190-012177145e10")  # fmt: skip
    SandboxRoleMember.objects.create(role=role, user=compromised)
    editor = role_client("editor")
    page = editor.get(remediate_url(tenant, compromised.pk), HTTP_HX_REQUEST="true").content.decode()
    assert page.count("Needs the Admin role because") == len(ALL_STEPS)  # every step writes on the user
    assert "Global Administrator" in page


def test_role_through_a_group_refuses_every_step_in_the_page_and_in_the_worker(
    researched, role_client, django_capture_on_commit_callbacks
):
    """The compromised user joins the seeded role-assignable group (Password Administrator through the group
    only): an Editor sees every step refused with the role named, cannot post them, and a step of the
    remediation's own (inbox rules) run by the worker is refused too; an Admin runs it."""
    from graph.sandbox.models import SandboxGroup, SandboxGroupMember
    from users.actions.registry import Target
    from users.actions.runner import build_context
    from users.models import DirectoryUser

    tenant, compromised, report, admin = researched
    group = SandboxGroup.objects.get(tenant_id=compromised.tenant_id, is_assignable_to_role=True)
    SandboxGroupMember.objects.create(group=group, user=compromised)
    editor = role_client("editor")
    page = editor.get(remediate_url(tenant, compromised.pk), HTTP_HX_REQUEST="true").content.decode()
    why = f"Needs the Admin role because {compromised.upn_lower} holds Password Administrator."
    assert page.lower().count(why.lower()) == len(ALL_STEPS)
    response = editor.post(remediate_url(tenant, compromised.pk), {"steps": ["disable-rules"]},
                           HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 422 and "You may not run: Disable inbox rules" in response.content.decode()

    row = DirectoryUser.objects.get(tenant=tenant, user_id=compromised.pk)
    step = remediate.BY_KEY["disable-rules"]
    params = {"rules_mode": "all"}
    outcome = remediate.run_step(step, build_context(tenant, editor.technician), Target(tenant, row), params,
                                 technician=editor.technician, job_id=None, source_ip=None)  # fmt: skip
    assert outcome.status == "skipped" and "holds Password Administrator" in outcome.message
    assert SandboxInboxRule.objects.filter(mailbox__user=compromised, enabled=True).exists()
    entry = AuditEntry.objects.get(action="research-disable-inbox-rules")
    assert entry.result == "skipped" and "Password Administrator" in entry.message
    outcome = remediate.run_step(step, build_context(tenant, admin.technician), Target(tenant, row), params,
                                 technician=admin.technician, job_id=None, source_ip=None)  # fmt: skip
    assert outcome.status == "success", outcome.message


def test_remediation_locks_the_account_down_and_regathers(researched, django_capture_on_commit_callbacks):
    tenant, compromised, report, admin = researched
    password_before = compromised.password_hash
    grants_before = SandboxOAuth2PermissionGrant.objects.filter(principal=compromised).count()
    assert grants_before and SandboxAuthMethod.objects.filter(user=compromised).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            remediate_url(tenant, compromised.pk), {"steps": ALL_STEPS, "rules_mode": "suspicious"}
        )
    assert response.status_code == 302
    job = Job.objects.get(action_key="research-remediate")
    items = {i.key: i for i in job.items.all()}
    assert list(items) == ALL_STEPS
    assert {k: i.status for k, i in items.items()} == {k: "success" for k in ALL_STEPS}, {
        k: i.message for k, i in items.items()}  # fmt: skip
    assert job.status == "succeeded"
    # The sandbox reflects every step.
    compromised.refresh_from_db()
    assert compromised.account_enabled is False
    assert compromised.sessions_valid_after is not None
    assert compromised.password_hash != password_before
    assert (
        not SandboxAuthMethod.objects.filter(user=compromised)
        .exclude(method_type="passwordAuthenticationMethod")
        .exists()
    )
    rules = {r.name: r for r in SandboxInboxRule.objects.filter(mailbox__user=compromised)}
    assert not rules["."].enabled and not rules[".."].enabled and not rules["Sync"].enabled
    assert SandboxMailbox.objects.get(user=compromised).forwarding_smtp_address == ""
    assert not SandboxOAuth2PermissionGrant.objects.filter(principal=compromised).exists()
    # Each step audited once, in the job; the new password is nowhere.
    actions = list(
        AuditEntry.objects.filter(job_id=job.pk)
        .exclude(action="research-remediate")
        .values_list("action", "result")
    )
    assert sorted(a for a, _ in actions) == sorted(["block-sign-in", "reset-password-must-change", "revoke-sessions",
                                                    "reset-mfa", "research-disable-inbox-rules", "disable-forwarding",
                                                    "research-revoke-app-consents"])  # fmt: skip
    assert all(result == "success" for _, result in actions)
    assert AuditEntry.objects.get(action="research-remediate").result == "queued"
    assert "not shown to anyone" in items["reset-password"].message
    # The report was gathered again and shows the new state.
    report = CompromiseReport.objects.get(pk=report.pk)
    assert report.job.is_finished and report.job.created_at > job.created_at
    state = report.verdict["state"]
    assert state == {**state, "account_enabled": False, "forwarding": "", "active_flagged_rules": 0,
                     "flagged_grants": 0, "methods": 0}  # fmt: skip
    rules_section = report.sections["sources"]["inbox_rules"]["data"]
    assert all(f["severity"] == "note" for r in rules_section for f in r.get("flags", []))
    assert report.remediation_job_id == job.pk


def test_unticked_steps_do_not_run_and_all_rules_mode(researched, django_capture_on_commit_callbacks):
    tenant, compromised, report, admin = researched
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(remediate_url(tenant, compromised.pk), {"steps": ["disable-rules"], "rules_mode": "all"})
    job = Job.objects.get(action_key="research-remediate")
    assert [i.key for i in job.items.all()] == ["disable-rules"]
    compromised.refresh_from_db()
    assert compromised.account_enabled is True  # block sign-in was unticked
    user_rules = SandboxInboxRule.objects.filter(mailbox__user=compromised)
    system = {"Junk E-Mail Rule", "Junk E-mail Rule"}
    assert not user_rules.exclude(name__in=system).filter(enabled=True).exists()
    assert SandboxMailbox.objects.get(user=compromised).forwarding_smtp_address != ""


def test_a_failing_step_is_reported_and_the_others_still_run(researched, django_capture_on_commit_callbacks,
                                                              monkeypatch):  # fmt: skip
    from graph.errors import GraphError
    from graph.services import compromise

    tenant, compromised, report, admin = researched

    def refuse(client, grant_id):
        raise GraphError("Insufficient privileges to complete the operation.", status=403,
                         code="Authorization_RequestDenied", request_id="rid-42")  # fmt: skip

    monkeypatch.setattr(compromise, "revoke_oauth_grant", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(remediate_url(tenant, compromised.pk), {"steps": ["block-sign-in", "revoke-grants"]})
    job = Job.objects.get(action_key="research-remediate")
    items = {i.key: i for i in job.items.all()}
    assert items["block-sign-in"].status == "success"
    assert (
        items["revoke-grants"].status == "failed"
        and "Insufficient privileges" in items["revoke-grants"].message
    )
    assert items["revoke-grants"].request_ids == ["rid-42"]
    assert job.status == "partial"
    entry = AuditEntry.objects.get(action="research-revoke-app-consents")
    assert entry.result == "failed" and entry.request_ids == ["rid-42"]


def test_the_new_password_is_never_stored_or_logged(researched, django_capture_on_commit_callbacks, monkeypatch,
                                                     caplog):  # fmt: skip
    import logging

    from django.apps import apps
    from django.db import connection

    from users.actions import password

    secret = "Unseen-Remediation-Pw-7341!"
    monkeypatch.setattr(password, "make_password", lambda data: secret)
    caplog.set_level(logging.DEBUG)
    tenant, compromised, report, admin = researched
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(remediate_url(tenant, compromised.pk), {"steps": ["reset-password"]})
    item = Job.objects.get(action_key="research-remediate").items.get()
    assert item.status == "success" and "not shown to anyone" in item.message
    assert secret not in caplog.text and secret not in response.content.decode()
    for model in apps.get_models():
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - table names from the model registry
            for row in cursor.fetchall():
                assert not any(secret in str(value) for value in row), model._meta.db_table
