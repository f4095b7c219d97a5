"""The timeout and dropped-connection switches: validation, the in-process adapter raising what requests
raises on a real socket (before or after the work), $batch taking them whole, and the WSGI wrapper that
enacts them under gunicorn."""

from __future__ import annotations

import socket

import pytest
import requests
from django.core.management import CommandError, call_command

from graph import http
from graph.sandbox import switches
from graph.sandbox.models import SandboxUser
from graph.sandbox.switches import SwitchError, TransportFault, set_switches

from .factories import default_domain, make_tenant, make_user, token_for
from .identity_factories import sandbox_session

pytestmark = pytest.mark.django_db
GRAPH = "http://sandbox.test/sandbox/graph/v1.0"


@pytest.fixture
def tenant():
    return make_tenant("Faultco")


def _headers(tenant):
    return {"Authorization": f"Bearer {token_for(tenant)}", "Content-Type": "application/json"}


@pytest.mark.parametrize("name", ["timeout_probability", "drop_probability"])
@pytest.mark.parametrize("value", [-0.1, 1.01, float("nan")])
def test_probabilities_must_be_between_0_and_1(tenant, name, value):
    with pytest.raises(SwitchError) as caught:
        set_switches(tenant.pk, **{name: value})
    assert name in caught.value.errors


def test_command_sets_and_resets_the_new_switches(tenant):
    call_command(
        "sandbox_switch", str(tenant.pk), "--timeout-probability", "0.05", "--drop-probability", "0.1"
    )
    tenant.refresh_from_db()
    assert (tenant.timeout_probability, tenant.drop_probability) == (0.05, 0.1)
    with pytest.raises(CommandError, match="drop_probability"):
        call_command("sandbox_switch", str(tenant.pk), "--drop-probability", "2")
    call_command("sandbox_switch", str(tenant.pk), "--reset")
    tenant.refresh_from_db()
    assert (tenant.timeout_probability, tenant.drop_probability) == (0.0, 0.0)


def _create_users(tenant, count: int, exc_type) -> list[str]:
    """POST ``count`` users; each must fail with ``exc_type``; returns the UPNs sent."""
    session, upns = sandbox_session(), []
    for n in range(count):
        upn = f"lost{n}@{default_domain(tenant)}"
        upns.append(upn)
        body = {
            "accountEnabled": True,
            "displayName": f"Lost {n}",
            "mailNickname": f"lost{n}",
            "userPrincipalName": upn,
            "passwordProfile": {"password": "Sandbox-Passw0rd!x"},
        }
        with pytest.raises(exc_type) as caught:
            session.post(f"{GRAPH}/users", json=body, headers=_headers(tenant), timeout=(3, 7))
        # Never "certainly not sent": the client must not re-send a POST after either fault.
        assert not http.failed_before_sending(caught.value)
    return upns


@pytest.mark.parametrize(
    ("switch", "exc_type", "kind"),
    [
        ("timeout_probability", requests.ReadTimeout, "timeout"),
        ("drop_probability", requests.ConnectionError, "drop"),
    ],
)
def test_lost_answers_happen_before_and_after_the_work(tenant, switch, exc_type, kind):
    set_switches(tenant.pk, **{switch: 1.0})
    switches.reset_injected()
    switches.seed_random(11)
    upns = _create_users(tenant, 20, exc_type)
    created = SandboxUser.objects.filter(tenant=tenant, upn_lower__in=upns).count()
    # Some requests were executed (answer lost after the work), some never reached the view.
    assert 0 < created < 20
    assert switches.injected_counts()[kind] == 20


def test_read_timeout_names_the_clients_timeout(tenant):
    set_switches(tenant.pk, timeout_probability=1.0)
    with pytest.raises(requests.ReadTimeout, match="read timeout=7"):
        sandbox_session().get(f"{GRAPH}/users", headers=_headers(tenant), timeout=(3, 7))


def test_no_switch_no_transport_fault(tenant):
    switches.reset_injected()
    response = sandbox_session().get(f"{GRAPH}/users", headers=_headers(tenant))
    assert response.status_code == 200
    assert switches.injected_counts() == {"429": 0, "5xx": 0, "timeout": 0, "drop": 0}


def test_batch_items_never_get_transport_faults_the_batch_does(tenant):
    users = [make_user(tenant, f"b{n}") for n in range(3)]
    set_switches(tenant.pk, drop_probability=1.0)
    switches.reset_injected()
    executed = []
    for seed in range(8):
        switches.seed_random(seed)
        title = f"Batched {seed}"
        before = {SandboxUser.objects.get(pk=u.pk).properties.get("jobTitle") for u in users}
        payload = {
            "requests": [
                {
                    "id": str(n),
                    "method": "PATCH",
                    "url": f"/users/{user.id}",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"jobTitle": title},
                }
                for n, user in enumerate(users)
            ]
        }
        with pytest.raises(requests.ConnectionError):
            sandbox_session().post(f"{GRAPH}/$batch", json=payload, headers=_headers(tenant))
        titles = {SandboxUser.objects.get(pk=u.pk).properties.get("jobTitle") for u in users}
        # All items executed or none: the fault strikes the batch request whole, never one item.
        assert titles in ({title}, before)
        executed.append(titles == {title})
    assert True in executed and False in executed
    assert switches.injected_counts()["drop"] == 8


class _FakeApp:
    def __init__(self, fault=None):
        self.fault = fault

    def __call__(self, environ, start_response):
        if self.fault:
            environ[switches.TRANSPORT_FAULT_KEY] = self.fault
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]


def test_wsgi_wrapper_passes_through_without_a_fault():
    started = []
    app = switches.wsgi_with_transport_faults(_FakeApp())
    assert app({}, lambda status, headers, exc_info=None: started.append(status)) == [b"done"]
    assert started == ["200 OK"]


def test_wsgi_wrapper_drops_the_gunicorn_socket():
    server, client = socket.socketpair()
    started = []
    app = switches.wsgi_with_transport_faults(_FakeApp(TransportFault("drop", after=True)))
    with pytest.raises(OSError):
        app({"gunicorn.socket": server}, lambda *args: started.append(args))
    assert started == []  # no status line was ever sent
    assert client.recv(10) == b""  # the peer sees the connection closed without an answer
    server.close(), client.close()


def test_wsgi_wrapper_holds_a_timed_out_answer_past_the_read_timeout(monkeypatch, settings):
    settings.GRAPH_TIMEOUT_SECONDS = 3
    slept = []
    monkeypatch.setattr(switches.time, "sleep", slept.append)
    started = []
    app = switches.wsgi_with_transport_faults(_FakeApp(TransportFault("timeout", after=False)))
    assert app({}, lambda status, headers, exc_info=None: started.append(status)) == [b"done"]
    assert slept == [4.0] and started == ["200 OK"]


def _admin_form(tenant, **values):
    data = {name: getattr(tenant, name) for name in switches.SWITCH_FIELDS} | values
    return {f"{tenant.pk}-{key}": value for key, value in data.items()}


def test_admin_page_offers_saves_and_validates_the_new_switches(tech_client, tenant):
    page = tech_client.get("/sandbox/admin/").content.decode()
    assert (
        f'name="{tenant.pk}-timeout_probability"' in page and f'name="{tenant.pk}-drop_probability"' in page
    )
    url = f"/sandbox/admin/{tenant.pk}/switches"
    refused = tech_client.post(url, _admin_form(tenant, timeout_probability=1.5, drop_probability=-1))
    assert (
        refused.status_code == 422
        and refused.content.decode().count("Enter a probability between 0 and 1") == 2
    )
    assert (
        tech_client.post(url, _admin_form(tenant, timeout_probability=0.05, drop_probability=0.1)).status_code
        == 302
    )
    tenant.refresh_from_db()
    assert (tenant.timeout_probability, tenant.drop_probability) == (0.05, 0.1)
