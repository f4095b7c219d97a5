"""The runner's scheduling, with a fake Graph (no sandbox): several $batch calls in flight on threads, every
call full, 429s pausing the run and halving what is in flight, and the request count at the floor."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from graph.batch import BatchResult
from graph.errors import ThrottledError
from users.actions.jobs import claim_job
from users.bulkadd.runner import Runner
from users.models import BulkImport, BulkImportRow, Job

SKU = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
GROUP = "f1a2624a-a50d-5087-b010-62ef03a0fc7f"


class FakeTokens:
    def get_token(self, *args):
        return "token"


class FakeGraph:
    """Answers $batch calls like Graph would, from any thread; throttles the items it is told to."""

    def __init__(self, *, throttle_every: int = 0, spent_calls=(), latency: float = 0.02):
        self.connection, self.tenant_id, self.resource, self.mode = None, "t", "r", "m"
        self.tokens = FakeTokens()
        self.calls: list[list] = []
        self.in_flight = self.most_in_flight = 0
        self.throttle_every = throttle_every
        self.spent_calls = set(spent_calls)  # calls whose every item is refused: the budget is spent
        self.latency = latency
        self.items_seen = 0
        self._lock = threading.Lock()

    def batch(self, requests_, max_attempts=None):
        assert max_attempts == 1 and len(requests_) <= 20
        assert threading.current_thread() is not threading.main_thread()
        with self._lock:
            self.calls.append(requests_)
            number = len(self.calls)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.latency)
        answers = {}
        for request in requests_:
            with self._lock:
                self.items_seen += 1
                throttle = number in self.spent_calls or (
                    self.throttle_every and self.items_seen % self.throttle_every == 0
                )
            if throttle:
                error = ThrottledError(
                    "Too many requests", status=429, code="TooManyRequests", retry_after=0.05
                )
                answers[request.id] = BatchResult(request.id, 429, error=error)
            elif request.url == "/users":
                answers[request.id] = BatchResult(request.id, 201, {"id": str(uuid.uuid4())})
            else:
                answers[request.id] = BatchResult(request.id, 204)
        with self._lock:
            self.in_flight -= 1
        return answers


@pytest.fixture
def import_of(db, django_user_model):
    from tenants.models import PartnerConnection, Tenant

    connection = PartnerConnection.objects.create(
        name="p", partner_tenant_id=uuid.uuid4(), client_id=uuid.uuid4()
    )
    tenant = Tenant.objects.create(tenant_id=uuid.uuid4(), connection=connection, display_name="T",
                                   default_domain="t.example")  # fmt: skip
    technician = django_user_model.objects.create_user(username="sched", password="x")

    def make(count: int) -> tuple[BulkImport, Job]:
        from users.bulkadd import sealed

        _, public = sealed.new_key_pair()
        bulk_import = BulkImport.objects.create(tenant=tenant, created_by=technician, public_key=public,
                                                marker=uuid.uuid4().hex)  # fmt: skip
        BulkImportRow.objects.bulk_create([
            BulkImportRow(bulk_import=bulk_import, key=f"r{i}", position=i + 2, status=BulkImportRow.Status.PENDING,
                          upn=f"u{i}@t.example", data={"given_name": f"U{i}"},
                          resolved={"upn": f"u{i}@t.example", "username": f"u{i}", "domain": "t.example",
                                    "display_name": f"U{i}", "must_change": True, "usage_location": "GB",
                                    "licences": [SKU], "licence_names": ["X"], "aliases": [], "other_mails": [],
                                    "groups": [{"id": GROUP, "name": "G", "kind": "Security"}], "manager": ""})
            for i in range(count)
        ])  # fmt: skip
        job = Job.objects.create(
            kind=Job.Kind.BULK_ADD, label="x", tenant=tenant, created_by=technician, total=count
        )
        bulk_import.job = job
        bulk_import.save()
        return bulk_import, job

    make.technician = technician
    return make


def _runner(import_of, count, graph, **kwargs):
    bulk_import, job = import_of(count)
    runner = Runner(bulk_import, job, import_of.technician, claim_job(job.pk), client=graph, **kwargs)
    return runner, bulk_import


def test_several_full_batches_are_in_flight_and_the_count_is_the_floor(import_of):
    graph = FakeGraph()
    runner, bulk_import = _runner(import_of, 200, graph, concurrency_limit=4)
    outcome = runner.run()
    assert bulk_import.rows.filter(status=BulkImportRow.Status.SUCCESS).count() == 200
    assert graph.most_in_flight > 1, "batches went one at a time"
    assert outcome.batches == len(graph.calls) == 30  # 600 requests / 20: every call full
    assert all(len(call) == 20 for call in graph.calls)


def _watch_limits(runner) -> list[int]:
    limits: list[int] = []
    original = runner._process

    def spy(units, results):
        original(units, results)
        limits.append(runner.limit)

    runner._process = spy
    return limits


def test_a_spent_budget_pauses_everyone_and_halves_what_is_in_flight(import_of):
    graph = FakeGraph(spent_calls={3, 4})
    slept: list[float] = []
    runner, bulk_import = _runner(import_of, 100, graph, concurrency_limit=4,
                                  sleep=lambda s: (slept.append(s), time.sleep(s)))  # fmt: skip
    limits = _watch_limits(runner)
    outcome = runner.run()
    assert bulk_import.rows.filter(status=BulkImportRow.Status.SUCCESS).count() == 100
    assert outcome.throttled == 40 and min(limits) < 4, "a spent budget did not reduce what is in flight"
    assert sum(len(c) for c in graph.calls) == 300 + 40  # only the refused items were sent again


def test_sporadic_throttling_only_delays_the_refused_items(import_of):
    graph = FakeGraph(throttle_every=7)
    runner, bulk_import = _runner(import_of, 100, graph, concurrency_limit=4)
    limits = _watch_limits(runner)
    outcome = runner.run()
    assert bulk_import.rows.filter(status=BulkImportRow.Status.SUCCESS).count() == 100
    assert outcome.throttled > 0 and min(limits) == 4
    assert sum(len(c) for c in graph.calls) == 300 + outcome.throttled
