"""build_session: pooling, transport adapters from settings, one shared session per configuration."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from requests.adapters import BaseAdapter, HTTPAdapter

from graph import http


class MarkerAdapter(BaseAdapter):
    def send(self, request, **kwargs):  # pragma: no cover - never called here
        raise AssertionError

    def close(self):
        pass


def test_pooling_and_no_transport_retries():
    session = http.build_session()
    adapter = session.get_adapter("https://graph.microsoft.com/v1.0/users")
    assert isinstance(adapter, HTTPAdapter)
    assert adapter._pool_maxsize == http.POOL_MAXSIZE
    assert adapter.max_retries.total == 0


def test_configured_adapters_are_mounted(settings):
    settings.GRAPH_TRANSPORT_ADAPTERS = {"http://local.test/": f"{__name__}.MarkerAdapter"}
    session = http.build_session()
    assert isinstance(session.get_adapter("http://local.test/graph/v1.0/users"), MarkerAdapter)
    assert isinstance(session.get_adapter("http://elsewhere.test/"), HTTPAdapter)


def test_bad_adapter_path_is_a_configuration_error(settings):
    settings.GRAPH_TRANSPORT_ADAPTERS = {"http://x/": "graph.nowhere.Adapter"}
    with pytest.raises(ImproperlyConfigured, match="graph.nowhere.Adapter"):
        http.build_session()


def test_shared_session_is_reused_per_configuration(settings):
    first = http.shared_session()
    assert http.shared_session() is first
    settings.GRAPH_TRANSPORT_ADAPTERS = {"http://local.test/": f"{__name__}.MarkerAdapter"}
    assert http.shared_session() is not first


@pytest.mark.parametrize("attempt", [1, 2, 3, 6])
def test_backoff_is_jittered_and_capped(settings, attempt):
    settings.GRAPH_MAX_RETRY_AFTER_SECONDS = 10
    ceiling = min(10, 2 ** (attempt - 1))
    delays = {http.retry_delay(attempt, None) for _ in range(20)}
    assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert http.retry_delay(attempt, 3) == 3
    assert http.retry_delay(attempt, 99) == 10
