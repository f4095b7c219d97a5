"""Every task has a queue of its own kind, and queues never share a binding (one message, one queue)."""

from __future__ import annotations

import pytest
from django.conf import settings

from cippusers.celery import app

EXPECTED = {
    "users.research.run_research_job": "interactive",
    "users.research.run_remediation_job": "interactive",
    "users.tasks.run_action_job": "bulk",
    "users.tasks.run_bulk_import": "bulk",
    "users.tasks.sync_tenant": "sync",
    "users.tasks.sync_due_tenants": "sync",
    "users.tasks.resume_stale_action_jobs": "sync",
    "users.tasks.resume_stale_bulk_imports": "sync",
}


def _project_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_every_project_task_has_an_explicit_route():
    # A new task must be placed deliberately: unrouted it would silently land on the default queue.
    assert _project_tasks() == set(settings.CELERY_TASK_ROUTES) == set(EXPECTED)


@pytest.mark.parametrize("name,queue", sorted(EXPECTED.items()))
def test_route(name, queue):
    route = app.amqp.router.route({}, name)
    assert route["queue"].name == queue
    assert route["queue"].exchange.name == queue and route["queue"].routing_key == queue


def test_queues_have_distinct_bindings():
    bindings = {(q.exchange.name, q.routing_key) for q in app.amqp.queues.values()}
    assert len(bindings) == len(app.amqp.queues) == len(settings.WORKER_QUEUES)
    assert settings.CELERY_TASK_DEFAULT_QUEUE in settings.WORKER_QUEUES


def test_beat_schedule_tasks_are_routed():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in settings.CELERY_TASK_ROUTES
