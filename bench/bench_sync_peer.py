"""The peer for sync_full: the same crawl (/users, the sync's $select, $top=999, every nextLink) with
Microsoft's official Python SDK, msgraph-sdk (kiota + httpx, async), pointed at the sandbox.

How it is pointed at a non-Microsoft host, with nothing patched:
  * a TokenCredential (azure.core protocol) that returns the sandbox token our token provider obtained;
  * msgraph_core's AzureIdentityAuthenticationProvider with ``allowed_hosts=["127.0.0.1"]`` and the Graph
    scope (by default it only attaches tokens for Microsoft's national-cloud hosts; kiota allows plain
    http for localhost addresses only, which is what loopback is);
  * GraphRequestAdapter.base_url set to ``{server}/sandbox/graph/v1.0``.
Pages are followed through ``odata_next_link`` with ``users.with_url(...)``; every page is parsed into the
SDK's User models, which is the SDK's way of reading a page (no database work: a download-and-parse crawl).
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class PeerUnavailable(Exception):
    """msgraph-sdk is missing or cannot be pointed at the sandbox; the message says why."""


class StaticTokenCredential:
    """azure.core TokenCredential returning one already-issued access token."""

    def __init__(self, token: str, lifetime_seconds: int = 3000) -> None:
        self._token = token
        self._expires_on = int(time.time()) + lifetime_seconds

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires_on)


def _client(base_url: str, token: str):
    try:
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core.authentication import AzureIdentityAuthenticationProvider
    except ImportError as exc:
        raise PeerUnavailable(
            f"msgraph-sdk is not installed ({exc}); `make bench` installs the 'bench' extra"
        ) from None
    auth = AzureIdentityAuthenticationProvider(
        StaticTokenCredential(token), scopes=[GRAPH_SCOPE], allowed_hosts=[urlsplit(base_url).hostname]
    )
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = f"{base_url.rstrip('/')}/sandbox/graph/v1.0"
    return GraphServiceClient(request_adapter=adapter)


async def _crawl(client, select: list[str], page_size: int) -> tuple[int, int]:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=select, top=page_size)
    page = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
    pages = users = 0
    while page is not None:
        pages += 1
        users += len(page.value or [])
        if not page.odata_next_link:
            break
        page = await client.users.with_url(page.odata_next_link).get()
    return pages, users


def crawl_with_msgraph_sdk(base_url: str, token: str, page_size: int) -> tuple[int, int, float]:
    """(pages, users, seconds) of the whole crawl; raises PeerUnavailable when it cannot run."""
    from users.sync import USER_SELECT

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per page otherwise
    client = _client(base_url, token)
    started = time.perf_counter()
    try:
        pages, users = asyncio.run(_crawl(client, list(USER_SELECT), page_size))
    except Exception as exc:  # an SDK failure is reported as the peer's figure being unavailable
        raise PeerUnavailable(f"msgraph-sdk crawl failed: {type(exc).__name__}: {exc}"[:500]) from None
    if users == 0:
        raise PeerUnavailable("msgraph-sdk listed no users (the token was not sent or not accepted)")
    return pages, users, time.perf_counter() - started
