"""Add user when Graph's answer to POST /users is lost (read timeout, dropped connection): the POST is never
sent again; Graph is asked whether the user exists, and the result says which it is."""

from __future__ import annotations

import pytest
import requests

from graph import http
from graph.sandbox.models import SandboxUser
from graph.services import provisioning as graph_provisioning
from users.actions.registry import Status
from users.provisioning.create import provision_user
from users.provisioning.types import NewUser

from .test_flows_sandbox import ctx_for, world  # noqa: F401 - the sandbox world fixture


def _lose_answer(monkeypatch, *, carried_out: bool) -> list:
    """Make POST /users lose its answer, after Graph carried it out or before."""
    real, calls = graph_provisioning.create_user, []

    def create_user(client, body):
        calls.append(body["userPrincipalName"])
        if carried_out:
            real(client, body)
        raise http.outcome_unknown(requests.ReadTimeout("read timed out"), "Graph", "crid")

    monkeypatch.setattr(graph_provisioning, "create_user", create_user)
    return calls


def _new(username: str) -> NewUser:
    return NewUser(display_name="Lost Answer", username=username, domain="northwindtraders.com")


@pytest.mark.parametrize("carried_out", [True, False])
def test_a_lost_create_is_checked_not_repeated(world, monkeypatch, carried_out):  # noqa: F811
    calls = _lose_answer(monkeypatch, carried_out=carried_out)
    username = f"lost.{'done' if carried_out else 'not'}"
    result = provision_user(ctx_for(world), _new(username))
    upn = f"{username}@northwindtraders.com"
    exists = SandboxUser.objects.filter(upn_lower=upn, deleted_datetime__isnull=True).count()
    create = next(s for s in result.steps if s.step == "create")
    assert calls == [upn]  # sent once, never again
    assert result.created is carried_out and exists == int(carried_out)
    if carried_out:
        assert create.status == Status.SUCCESS and "first answer was lost" in create.message
        assert result.user_id == str(SandboxUser.objects.get(upn_lower=upn).pk)
    else:
        assert create.status == Status.FAILED
        assert "was not created" in create.message and "safe to try again" in create.message
