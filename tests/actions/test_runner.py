"""The runner: $batch of 20 across targets, per-item 429 retry, per-target results, write-through, audit,
the privileged guard and the bounded concurrency of run= handlers."""

from __future__ import annotations

import json
import threading
import time

import pytest
import responses

from graph.batch import BatchRequest
from tests.actions.unitkit import (
    BATCH_URL,
    GRAPH,
    batch_answer,
    context,
    graph_error,
    make_tenant,
    make_user,
    targets,
)
from users.actions import runner
from users.actions.registry import Action, Group, Outcome, Status
from users.models import AuditEntry, DirectoryUser

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _unit_transport(settings):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    settings.GRAPH_DRY_RUN = False


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser(username="boss", password="x")


def patch_action(**kw) -> Action:
    def plan(ctx, target, data):
        return [BatchRequest("set", "PATCH", f"/users/{target.user.user_id}", body={"accountEnabled": False})]

    def interpret(ctx, target, data, results):
        return runner.result_outcome(results["set"], "done", user_record={"accountEnabled": False})

    kw.setdefault("permission", "users.edit")
    return Action(key="unit-patch", label="Unit patch", group=Group.ACCOUNT, icon="x",
                  confirm=lambda t, tenant: "", plan=plan, interpret=interpret, **kw)  # fmt: skip


@responses.activate
def test_plan_actions_go_out_in_batches_of_20_with_per_target_results(admin):
    tenant = make_tenant()
    users = [make_user(tenant, n) for n in range(45)]
    bad = str(users[7].user_id)

    def status(item):
        return 404 if bad in item["url"] else 204

    def body(item):
        return (
            graph_error("Request_ResourceNotFound", "Resource does not exist.")
            if bad in item["url"]
            else None
        )

    responses.add_callback(responses.POST, BATCH_URL, callback=batch_answer(status, body))
    results = runner.run_action(patch_action(), targets(tenant, users), {}, technician=admin,
                                contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    sizes = [len(json.loads(call.request.body)["requests"]) for call in responses.calls]
    assert sizes == [20, 20, 5]
    assert [r.user_id for r in results] == [str(u.user_id) for u in users]  # the targets' order
    failed = [r for r in results if r.outcome.status == Status.FAILED]
    assert [r.user_id for r in failed] == [bad]
    assert "does not exist" in failed[0].outcome.message and "err-rid" in failed[0].outcome.request_ids
    # Write-through for the others, one audit entry per target.
    assert DirectoryUser.objects.filter(tenant=tenant, account_enabled=False).count() == 44
    assert DirectoryUser.objects.get(user_id=bad).account_enabled is True
    assert AuditEntry.objects.count() == 45
    assert AuditEntry.objects.filter(result="failed").get().target_user_id == users[7].user_id


@responses.activate
def test_throttled_items_alone_are_retried(admin):
    tenant = make_tenant()
    users = [make_user(tenant, n) for n in range(3)]
    throttled = str(users[1].user_id)
    seen = {"first": True}

    def status(item):
        if throttled in item["url"] and seen["first"]:
            seen["first"] = False
            return 429
        return 204

    def headers(item):
        return (
            {"Retry-After": "2"}
            if throttled in item["url"] and not seen["first"] and len(calls()) == 1
            else None
        )

    def calls():
        return responses.calls

    responses.add_callback(responses.POST, BATCH_URL, callback=batch_answer(status, headers_for=headers))
    sleeps: list = []
    results = runner.run_action(patch_action(), targets(tenant, users), {}, technician=admin,
                                contexts={tenant.pk: context(tenant, admin, sleeps)})  # fmt: skip
    assert [r.outcome.status for r in results] == [Status.SUCCESS] * 3
    second = json.loads(responses.calls[1].request.body)["requests"]
    assert len(second) == 1 and throttled in second[0]["url"]
    assert sleeps and sleeps[0] > 0


@responses.activate
def test_applies_and_permissions_skip_with_reason(admin, django_user_model):
    from tenants.models import TechnicianProfile

    tenant = make_tenant()
    enabled, disabled = make_user(tenant, 1), make_user(tenant, 2, account_enabled=False)
    action = patch_action(applies=lambda user: None if user.account_enabled else "Already blocked.")
    responses.add_callback(responses.POST, BATCH_URL, callback=batch_answer())
    results = runner.run_action(action, targets(tenant, [enabled, disabled]), {}, technician=admin,
                                contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert [(r.outcome.status, r.outcome.message) for r in results] == [
        (Status.SUCCESS, "done"), (Status.SKIPPED, "Already blocked.")]  # fmt: skip
    reader = django_user_model.objects.create_user(username="reader", password="x")
    TechnicianProfile.objects.create(user=reader, role="reader", scope="all")
    results = runner.run_action(action, targets(tenant, [enabled]), {}, technician=reader,
                                contexts={tenant.pk: context(tenant, reader)})  # fmt: skip
    assert results[0].outcome.status == Status.SKIPPED and "Your role may not" in results[0].outcome.message
    assert len(responses.calls) == 1  # nothing sent for the reader


@responses.activate
def test_privileged_guard_reads_roles_in_one_batch(django_user_model):
    from tenants.models import TechnicianProfile

    tenant = make_tenant()
    admin_user, plain = make_user(tenant, 1), make_user(tenant, 2)
    helpdesk = django_user_model.objects.create_user(username="hd", password="x")
    TechnicianProfile.objects.create(user=helpdesk, role="editor", scope="all")
    calls: list = []

    def callback(request):
        payload = json.loads(request.body)
        calls.append(payload)
        answers = []
        for item in payload["requests"]:
            if item["method"] == "GET":
                roles = [{"id": "r1", "displayName": "Global Administrator",
                          "roleTemplateId": "62e90394-69f5-4237-9190-012177145e10"}]  # fmt: skip
                value = roles if str(admin_user.user_id) in item["url"] else []
                assert item["headers"]["ConsistencyLevel"] == "eventual"
                answers.append({"id": item["id"], "status": 200, "body": {"value": value}})
            else:
                answers.append({"id": item["id"], "status": 204})
        return 200, {}, json.dumps({"responses": answers})

    responses.add_callback(responses.POST, BATCH_URL, callback=callback)
    responses.add(responses.GET, f"{GRAPH}/beta/roleManagement/directory/roleDefinitions", json={"value": []})
    action = patch_action()  # every action is guarded
    results = runner.run_action(action, targets(tenant, [admin_user, plain]), {}, technician=helpdesk,
                                contexts={tenant.pk: context(tenant, helpdesk)})  # fmt: skip
    assert results[0].outcome.status == Status.SKIPPED
    assert results[0].outcome.message == (
        f"Needs the Admin role because {admin_user.user_principal_name} holds Global Administrator.")  # fmt: skip
    assert results[1].outcome.status == Status.SUCCESS
    assert len(calls[0]["requests"]) == 2 and all(r["method"] == "GET" for r in calls[0]["requests"])
    assert all("/transitiveMemberOf/microsoft.graph.directoryRole" in r["url"] for r in calls[0]["requests"])
    assert [r["method"] for r in calls[1]["requests"]] == ["PATCH"]


@responses.activate
def test_guard_fails_closed_when_roles_cannot_be_read(django_user_model):
    from tenants.models import TechnicianProfile

    tenant = make_tenant()
    user = make_user(tenant, 1)
    helpdesk = django_user_model.objects.create_user(username="hd2", password="x")
    TechnicianProfile.objects.create(user=helpdesk, role="helpdesk", scope="all")
    responses.add_callback(
        responses.POST,
        BATCH_URL,
        callback=batch_answer(
            lambda item: 403,
            lambda item: graph_error("Authorization_RequestDenied", "Insufficient privileges."),
        ),
    )
    action = patch_action(permission="users.actions.helpdesk")
    result = runner.run_action(action, targets(tenant, [user]), {}, technician=helpdesk,
                               contexts={tenant.pk: context(tenant, helpdesk)})[0]  # fmt: skip
    assert result.outcome.status == Status.SKIPPED and "could not check" in result.outcome.message
    assert len(responses.calls) == 1


def test_run_handlers_are_bounded_and_isolated(admin, settings):
    settings.ACTIONS_RUN_CONCURRENCY = 3
    tenant = make_tenant()
    users = [make_user(tenant, n) for n in range(10)]
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def run(ctx, target, data):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        if target.user.display_name == "User 4":
            raise RuntimeError("boom")
        return Outcome(Status.SUCCESS, "ok", user_record={"jobTitle": "Changed"})

    action = Action(key="unit-run", label="Unit run", group=Group.MAIL, icon="x", permission="users.edit",
                    confirm=lambda t, tenant: "", run=run)  # fmt: skip
    results = runner.run_action(action, targets(tenant, users), {}, technician=admin,
                                contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    assert state["peak"] == 3
    statuses = {r.target.user.display_name: r.outcome.status for r in results}
    assert statuses.pop("User 4") == Status.FAILED and set(statuses.values()) == {Status.SUCCESS}
    assert DirectoryUser.objects.filter(job_title="Changed").count() == 9
    assert AuditEntry.objects.count() == 10


def test_run_concurrency_is_the_setting_whatever_the_transport(settings):
    # The suite's in-process sandbox is one transport among others: the setting alone decides.
    settings.GRAPH_TRANSPORT_ADAPTERS = {"http://sandbox.test/": "x"}
    settings.ACTIONS_RUN_CONCURRENCY = 5
    assert runner.run_concurrency() == 5
    settings.ACTIONS_RUN_CONCURRENCY = 1
    assert runner.run_concurrency() == 1


@responses.activate
def test_refresh_rereads_the_user(admin):
    tenant = make_tenant()
    user = make_user(tenant, 1)
    responses.add(responses.GET, f"{GRAPH}/v1.0/users/{user.user_id}",
                  json={"id": str(user.user_id), "userPrincipalName": user.user_principal_name,
                        "displayName": "Renamed", "accountEnabled": True})  # fmt: skip
    action = Action(
        key="unit-refresh",
        label="Unit",
        group=Group.MAIL,
        icon="x",
        permission="users.edit",
        confirm=lambda t, tenant: "",
        run=lambda ctx, t, d: Outcome(Status.SUCCESS, "ok", refresh=True),
    )
    runner.run_action(action, targets(tenant, [user]), {}, technician=admin,
                      contexts={tenant.pk: context(tenant, admin)})  # fmt: skip
    user.refresh_from_db()
    assert user.display_name == "Renamed"
