"""Switches: latency, request budget, random 429 and 5xx, delta-token expiry, set_switches and the
management command. Driven through Exchange's InvokeCommand (the Graph views call the same function)."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from graph.sandbox import switches
from graph.sandbox.models import SandboxTenant
from graph.sandbox.switches import SwitchError, apply_switches, expire_delta_tokens, set_switches

from .identity_factories import make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return make_tenant("fabrikam")


def _request():
    return RequestFactory().get("/sandbox/graph/v1.0/users", HTTP_CLIENT_REQUEST_ID="abc")


def test_no_switches_means_no_interference(tenant):
    assert apply_switches(_request(), tenant) is None


def test_latency_is_added(tenant):
    tenant = set_switches(tenant.pk, latency_ms=120)
    started = time.monotonic()
    assert apply_switches(_request(), tenant) is None
    assert time.monotonic() - started >= 0.1


def test_budget_exhaustion_answers_429_until_the_window_ends(tenant):
    tenant = set_switches(tenant.pk, throttle_limit=3, throttle_window_seconds=60)
    switches.reset_budget(tenant)
    assert all(apply_switches(_request(), tenant) is None for _ in range(3))
    response = apply_switches(_request(), tenant)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    error = __import__("json").loads(response.content)["error"]
    assert error["code"] == "TooManyRequests" and error["message"] == switches.THROTTLE_MESSAGE
    assert error["innerError"]["client-request-id"] == "abc" and response["request-id"]


def test_budget_window_rolls_over(tenant, monkeypatch):
    tenant = set_switches(tenant.pk, throttle_limit=1, throttle_window_seconds=10)
    now = [1_000_000.0]
    monkeypatch.setattr(switches.time, "time", lambda: now[0])
    assert apply_switches(_request(), tenant) is None
    assert apply_switches(_request(), tenant)["Retry-After"] == "10"
    now[0] += 10
    assert apply_switches(_request(), tenant) is None


def test_forced_random_throttle_and_faults(tenant):
    tenant = set_switches(tenant.pk, throttle_probability=1.0)
    response = apply_switches(_request(), tenant)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    tenant = set_switches(tenant.pk, throttle_probability=0.0, fault_probability=1.0)
    switches.seed_random(7)
    statuses = {apply_switches(_request(), tenant).status_code for _ in range(30)}
    assert statuses == {500, 503, 504}


def test_seeded_probabilities_are_repeatable(tenant):
    tenant = set_switches(tenant.pk, fault_probability=0.3)

    def run():
        switches.seed_random(42)
        return [apply_switches(_request(), tenant) is None for _ in range(50)]

    first = run()
    assert first == run() and 5 < first.count(False) < 30


def test_exchange_flavour_uses_exchange_error_shape(tenant):
    tenant = set_switches(tenant.pk, throttle_probability=1.0)
    body = __import__("json").loads(apply_switches(_request(), tenant, flavour="exchange").content)
    assert body["error"]["code"] == "TooManyRequests" and "|" in body["error"]["details"][0]["message"]
    assert switches.exchange_throttle_response(5)["Retry-After"] == "5"


@pytest.mark.parametrize(
    "values",
    [
        {"fault_probability": 1.5},
        {"throttle_probability": -0.1},
        {"throttle_window_seconds": 0},
        {"latency_ms": 10**6},
        {"colour": 1},
    ],
)
def test_set_switches_validates(tenant, values):
    with pytest.raises(SwitchError):
        set_switches(tenant.pk, **values)


def test_expire_delta_tokens(tenant):
    expire_delta_tokens(tenant)
    assert SandboxTenant.objects.get(pk=tenant.pk).delta_tokens_valid_after is not None


def test_management_command(tenant, capsys):
    call_command(
        "sandbox_switch", "fabrikam.onmicrosoft.com", "--latency-ms", "50", "--throttle-probability", "0.1"
    )
    tenant.refresh_from_db()
    assert tenant.latency_ms == 50 and tenant.throttle_probability == 0.1
    call_command("sandbox_switch", str(tenant.pk), "--reset", "--expire-delta-tokens")
    tenant.refresh_from_db()
    assert tenant.latency_ms == 0 and tenant.delta_tokens_valid_after is not None
    with pytest.raises(CommandError, match="fault_probability"):
        call_command("sandbox_switch", str(tenant.pk), "--fault-probability", "2")
    with pytest.raises(CommandError, match="No sandbox tenant"):
        call_command("sandbox_switch", "nowhere.example")
