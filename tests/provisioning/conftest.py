"""A fake Graph + Exchange host for the exact-request unit tests (``responses``): every request the code
sends — direct or inside a ``$batch`` — is recorded in order as ``(method, url relative to /v1.0, body)``
and answered from routes the test declares. An undeclared request fails the test loudly (404 answer and
listed in ``unexpected``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

import pytest
import responses

from tests.actions.unitkit import EXCHANGE, GRAPH, context, make_tenant

ROOT = f"{GRAPH}/v1.0"


@dataclass
class Sent:
    method: str
    url: str  # relative to /v1.0, query decoded
    body: object = None
    batched: bool = False
    depends_on: list = field(default_factory=list)


class FakeHost:
    def __init__(self) -> None:
        self.routes: list[tuple] = []
        self.sent: list[Sent] = []
        self.cmdlets: list[tuple[str, dict]] = []
        self.cmdlet_answers: dict[str, tuple[int, dict]] = {}
        self.unexpected: list[str] = []
        self.batch_calls = 0

    def on(self, method: str, pattern: str, status: int = 200, body=None, *, when=None) -> None:
        """Answer ``method`` + a URL matching ``pattern`` (regex on the decoded relative URL, anchored at
        the start) and, if given, ``when(sent)``. Later routes win."""
        self.routes.insert(0, (method.upper(), re.compile(pattern), (status, body), when))

    def cmdlet(self, name: str, status: int = 200, body: dict | None = None) -> None:
        self.cmdlet_answers[name] = (status, body if body is not None else {"value": []})

    def _answer(self, sent: Sent) -> tuple[int, object]:
        for method, pattern, (status, body), when in self.routes:
            if method == sent.method and pattern.match(sent.url) and (when is None or when(sent)):
                return status, body
        self.unexpected.append(f"{sent.method} {sent.url}")
        return 404, {"error": {"code": "Request_ResourceNotFound", "message": f"no route for {sent.url}"}}

    # --- responses callbacks ---------------------------------------------------------------------------

    def _batch(self, request):
        self.batch_calls += 1
        payload = json.loads(request.body)
        answers, statuses = [], {}
        for item in payload["requests"]:  # our client lists dependencies before their dependents
            depends = item.get("dependsOn") or []
            if any(not 200 <= statuses.get(d, 0) < 300 for d in depends):
                # Graph does not run an item whose dependency failed: 424, and it is not "sent".
                statuses[item["id"]] = 424
                failed = {
                    "code": "FailedDependency",
                    "message": "The request failed because of a failed dependency.",
                }
                answers.append({"id": item["id"], "status": 424, "body": {"error": failed}})
                continue
            sent = Sent(item["method"], unquote(item["url"]), item.get("body"), True, depends)
            self.sent.append(sent)
            status, body = self._answer(sent)
            statuses[item["id"]] = status
            answer = {"id": item["id"], "status": status, "headers": {"request-id": f"rid-{item['id']}"}}
            if body is not None:
                answer["body"] = body
            answers.append(answer)
        return 200, {"Content-Type": "application/json"}, json.dumps({"responses": answers})

    def _direct(self, request):
        url = unquote(request.url[len(ROOT) :])
        body = json.loads(request.body) if request.body else None
        sent = Sent(request.method, url, body)
        self.sent.append(sent)
        status, answer = self._answer(sent)
        headers = {"Content-Type": "application/json", "request-id": "rid-direct"}
        return status, headers, json.dumps(answer) if answer is not None else ""

    def _exchange(self, request):
        body = json.loads(request.body)["CmdletInput"]
        self.cmdlets.append((body["CmdletName"], body["Parameters"]))
        status, answer = self.cmdlet_answers.get(body["CmdletName"], (200, {"value": []}))
        return status, {"Content-Type": "application/json"}, json.dumps(answer)

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, f"{ROOT}/$batch", callback=self._batch)
        for method in (responses.GET, responses.POST, responses.PATCH, responses.PUT, responses.DELETE):
            mock.add_callback(method, re.compile(re.escape(ROOT) + r"/(?!\$batch).*"), callback=self._direct)
        mock.add_callback(
            responses.POST, re.compile(re.escape(EXCHANGE) + r"/adminapi/.*"), callback=self._exchange
        )

    # --- reading what was sent ---------------------------------------------------------------------------

    def writes(self) -> list[Sent]:
        return [s for s in self.sent if s.method != "GET"]

    def find(self, method: str, pattern: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and re.match(pattern, s.url)]


@pytest.fixture
def host(settings):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    settings.GRAPH_DRY_RUN = False
    fake = FakeHost()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake
    assert not fake.unexpected, f"requests nobody expected: {fake.unexpected}"


@pytest.fixture
def admin(django_user_model, db):
    return django_user_model.objects.create_superuser(username="boss", password="x")


@pytest.fixture
def unit_tenant(db):
    from tenants.models import TenantDomain

    tenant = make_tenant("Contoso")
    TenantDomain.objects.create(tenant=tenant, name="contoso.com", is_default=True)
    return tenant


@pytest.fixture
def ctx(unit_tenant, admin):
    return context(unit_tenant, admin)
