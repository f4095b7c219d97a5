"""Create Temporary Access Pass when Graph's answer is lost: the pass may exist but its secret is gone, so
the technician sees "outcome unknown" and what to check, never "not created" and never a second POST."""

from __future__ import annotations

import html
import re

import requests
from django.urls import reverse

from graph import http
from graph.sandbox.models import SandboxAuthMethod
from graph.services import mfa
from tests.actions.examples import EXAMPLES

RESULT_RE = re.compile(
    r'data-result="(\w+)" data-user-id="[0-9a-f-]+">.*?<p class="action-result-message">(.*?)</p>', re.S
)


def test_lost_tap_answer_is_outcome_unknown(
    action_world, role_client, monkeypatch, django_capture_on_commit_callbacks
):
    example = EXAMPLES["create-tap"]
    target = example.target(action_world.sandbox)
    row = action_world.cache(target)
    real, calls = mfa.create_temporary_access_pass, []

    def created_but_lost(client, user_id, **kwargs):
        calls.append(user_id)
        real(client, user_id, **kwargs)  # Graph creates the pass; the answer never arrives
        raise http.outcome_unknown(requests.ReadTimeout("read timed out"), "Graph", "crid")

    monkeypatch.setattr(mfa, "create_temporary_access_pass", created_but_lost)
    client = role_client("admin")
    payload = {"user": [action_world.value(row)], "confirmed": "1", "expected_count": "1", **example.data}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("users:action", args=["create-tap"]), payload)
    assert response.status_code == 200
    page = response.content.decode()
    [(status, message)] = RESULT_RE.findall(page)
    message = html.unescape(message)
    assert status == "failed" and message.startswith("Outcome unknown")
    assert "authentication methods" in message and "data-secret" not in page
    assert calls == [str(target.pk)]
    taps = SandboxAuthMethod.objects.filter(user=target, method_type__icontains="temporaryAccessPass")
    assert taps.count() == 1  # made once, by the one POST
