"""For `responses` tests of Exchange InvokeCommand calls: a client with a fixed token and no sleeping, the
endpoint it posts to, and what one call sent (cmdlet, parameters, anchor mailbox)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from graph.exchange import ExchangeClient

EXO = "https://outlook.office365.com/adminapi/beta/tid/InvokeCommand"


class _Tokens:
    def get_token(self, *args, **kwargs):
        return "token"

    def invalidate(self, *args, **kwargs):
        pass


@pytest.fixture
def exchange(settings):
    settings.GRAPH_DRY_RUN = False
    connection = SimpleNamespace(exchange_url="https://outlook.office365.com")
    return ExchangeClient(connection, "tid", token_provider=_Tokens(), sleep=lambda s: None)


def sent(call) -> tuple[str, dict, str]:
    body = json.loads(call.request.body)["CmdletInput"]
    return body["CmdletName"], body["Parameters"], call.request.headers["X-AnchorMailbox"]
