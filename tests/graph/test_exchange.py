"""ExchangeClient.invoke: request shape, paging by re-POSTing the body, warnings, retries and errors."""

from __future__ import annotations

import json

import pytest

from graph.errors import BadRequestError, NotFoundError, ThrottledError, TransientError
from graph.exchange import ExchangeClient, ExchangeResult

from .conftest import CUSTOMER, EXCHANGE

INVOKE = f"{EXCHANGE}/adminapi/beta/{CUSTOMER}/InvokeCommand"
CONCURRENCY = (
    "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"
)


@pytest.fixture
def exo(connection, tokens, sleeps):
    return ExchangeClient(connection, CUSTOMER, token_provider=tokens, sleep=sleeps.append)


def test_invoke_request_shape(exo, mocked, tokens):
    mocked.post(INVOKE, json={"value": [{"Identity": "adele"}]})
    result = exo.invoke("Get-Mailbox", {"Identity": "adele@contoso.com"}, select=["Identity", "Type"])
    assert result == [{"Identity": "adele"}] and isinstance(result, ExchangeResult) and result.warnings == []
    request = mocked.calls[0].request
    assert json.loads(request.body) == {
        "CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "adele@contoso.com"}}
    }
    assert "%24select=Identity%2CType" in request.url or "$select=Identity,Type" in request.url
    h = request.headers
    assert h["X-AnchorMailbox"] == f"APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{CUSTOMER}"
    assert h["Prefer"] == "odata.maxpagesize=1000"
    assert h["X-CmdletName"] == "Get-Mailbox" and h["X-ResponseFormat"] == "json"
    assert h["Authorization"] == "Bearer token-1"
    assert tokens.calls == [(CUSTOMER, "https://outlook.office365.com", "delegated")]


def test_user_anchor(exo, mocked):
    mocked.post(INVOKE, status=200, body="")
    assert (
        exo.invoke("Set-Mailbox", {"Identity": "a@x.com", "Type": "Shared"}, anchor_mailbox="a@x.com") == []
    )
    assert mocked.calls[0].request.headers["X-AnchorMailbox"] == "UPN:a@x.com"


def test_paging_reposts_the_same_body_and_collects_warnings(exo, mocked):
    next_link = f"{INVOKE}?$skiptoken=p2"
    mocked.post(
        INVOKE, json={"value": [{"n": 1}], "@odata.nextLink": next_link, "@adminapi.warnings": ["first"]}
    )
    mocked.post(next_link, json={"value": [{"n": 2}], "adminapi.warnings": ["second"]})
    result = exo.invoke("Get-MailboxPermission", {"Identity": "adele"})
    assert result == [{"n": 1}, {"n": 2}]
    assert result.warnings == ["first", "second"]
    assert mocked.calls[0].request.body == mocked.calls[1].request.body
    assert "skiptoken=p2" in mocked.calls[1].request.url


def test_throttling_and_concurrency_limit_are_retried(exo, mocked, sleeps):
    mocked.post(
        INVOKE,
        status=429,
        headers={"Retry-After": "4"},
        json={"error": {"code": "TooManyRequests", "message": "x"}},
    )
    mocked.post(INVOKE, status=500, body=CONCURRENCY, content_type="text/plain")
    mocked.post(INVOKE, json={"value": []})
    exo.invoke("Set-Mailbox", {"Identity": "a", "Type": "Shared"})
    assert len(mocked.calls) == 3 and sleeps[0] == 4


def test_gateway_timeout_is_retried_for_reads_only(exo, mocked, sleeps):
    mocked.post(INVOKE, status=504, body="")
    mocked.post(INVOKE, json={"value": [{"ok": True}]})
    assert exo.invoke("Get-Mailbox", {}) == [{"ok": True}]
    mocked.replace("POST", INVOKE, status=504, body="")
    with pytest.raises(TransientError):
        exo.invoke("Enable-Mailbox", {"Identity": "a", "Archive": True})
    assert len(mocked.calls) == 3


def test_attempts_are_bounded(exo, mocked, sleeps, settings):
    settings.GRAPH_MAX_ATTEMPTS = 2
    mocked.post(INVOKE, status=503, body="")
    with pytest.raises(TransientError):
        exo.invoke("Get-Mailbox")
    assert len(mocked.calls) == 2 and len(sleeps) == 1


def test_errors_use_the_detail_format(exo, mocked, sleeps):
    body = {
        "error": {
            "code": "NotFound",
            "message": "Error executing cmdlet",
            "details": [
                {
                    "message": "Ex94914C|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|"
                    'Couldn\'t find object "nobody".'
                }
            ],
        }
    }
    mocked.post(INVOKE, status=400, json=body)
    with pytest.raises(NotFoundError) as info:
        exo.invoke("Add-DistributionGroupMember", {"Identity": "g", "Member": "nobody"})
    assert info.value.code == "Ex94914C" and info.value.message == 'Couldn\'t find object "nobody".'
    assert sleeps == []
    mocked.replace(
        "POST",
        INVOKE,
        status=400,
        json={"error": {"code": "BadRequest", "message": "A parameter cannot be found"}},
    )
    with pytest.raises(BadRequestError, match="parameter cannot be found"):
        exo.invoke("Set-Mailbox", {"Bogus": 1})


def test_plain_text_success_is_kept_as_a_warning(exo, mocked):
    mocked.post(INVOKE, body="Done.", content_type="text/plain")
    result = exo.invoke("Set-Mailbox", {"Identity": "a"})
    assert result == [] and result.warnings == ["Done."]


def test_concurrency_text_with_200_is_still_throttling(exo, mocked, settings):
    settings.GRAPH_MAX_ATTEMPTS = 1
    mocked.post(INVOKE, body=CONCURRENCY, content_type="text/plain")
    with pytest.raises(ThrottledError):
        exo.invoke("Get-Mailbox")


def test_dry_run_records_set_cmdlets(connection, tokens, mocked):
    exo = ExchangeClient(connection, CUSTOMER, dry_run=True, token_provider=tokens)
    mocked.post(INVOKE, json={"value": [{"a": 1}]})
    assert exo.invoke("Get-Mailbox", {"Identity": "a"}) == [{"a": 1}]
    assert exo.invoke("Set-Mailbox", {"Identity": "a", "Type": "Shared"}) == []
    assert len(mocked.calls) == 1
    assert exo.recorded_writes[0].body["CmdletInput"]["CmdletName"] == "Set-Mailbox"
