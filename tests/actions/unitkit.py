"""Unit-test kit for actions: a tenant on a fake Graph host (mocked with ``responses``), cached users,
and ActionContexts whose clients never sleep and get a fixed token."""

from __future__ import annotations

import json
import uuid

from graph.client import GraphClient
from graph.exchange import ExchangeClient
from tenants.models import PartnerConnection, Tenant
from users.actions.registry import ActionContext, Target
from users.models import DirectoryUser

GRAPH = "https://graph.example.test"
EXCHANGE = "https://exchange.example.test"
BATCH_URL = f"{GRAPH}/v1.0/$batch"


class FixedTokens:
    def get_token(self, connection, tenant_id, resource, mode="delegated"):
        return "unit-token"

    def invalidate(self, *args, **kwargs):
        pass


def make_tenant(name: str = "Contoso") -> Tenant:
    connection = PartnerConnection.objects.create(
        name=f"Unit partner {uuid.uuid4().hex[:6]}", partner_tenant_id=uuid.uuid4(), client_id=uuid.uuid4(),
        client_secret="x", login_url="https://login.example.test", graph_url=GRAPH, exchange_url=EXCHANGE,
    )  # fmt: skip
    return Tenant.objects.create(tenant_id=uuid.uuid4(), connection=connection, display_name=name,
                                 default_domain=f"{name.lower()}.com")  # fmt: skip


def make_user(tenant: Tenant, n: int = 1, **fields) -> DirectoryUser:
    upn = fields.pop("upn", f"user{n}.{uuid.uuid4().hex[:4]}@{tenant.default_domain}")
    return DirectoryUser.objects.create(
        tenant=tenant, user_id=fields.pop("user_id", uuid.uuid4()), user_principal_name=upn,
        upn_domain=upn.split("@")[1], display_name=fields.pop("display_name", f"User {n}"), **fields,
    )  # fmt: skip


def context(tenant: Tenant, technician, sleeps: list | None = None) -> ActionContext:
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    kwargs = {"token_provider": FixedTokens(), "sleep": sleep, "dry_run": False}
    return ActionContext(
        tenant=tenant, technician=technician,
        graph=GraphClient(tenant.connection, str(tenant.tenant_id), **kwargs),
        exchange=ExchangeClient(tenant.connection, str(tenant.tenant_id), **kwargs),
        graph_beta=GraphClient(tenant.connection, str(tenant.tenant_id), version="beta", **kwargs),
    )  # fmt: skip


def targets(tenant, users) -> list[Target]:
    return [Target(tenant=tenant, user=u) for u in users]


def batch_answer(status_for=lambda item: 204, body_for=lambda item: None, headers_for=lambda item: None):
    """A `responses` callback answering every $batch item with the given status/body."""

    def callback(request):
        payload = json.loads(request.body)
        answers = []
        for item in payload["requests"]:
            answer = {"id": item["id"], "status": status_for(item),
                      "headers": headers_for(item) or {"request-id": f"rid-{item['id']}"}}  # fmt: skip
            body = body_for(item)
            if body is not None:
                answer["body"] = body
            answers.append(answer)
        return 200, {"Content-Type": "application/json"}, json.dumps({"responses": answers})

    return callback


def graph_error(code: str, message: str, request_id: str = "err-rid") -> dict:
    return {"error": {"code": code, "message": message,
                      "innerError": {"request-id": request_id, "date": "2026-01-01T00:00:00"}}}  # fmt: skip
