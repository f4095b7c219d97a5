"""Client-side unit tests talk to `responses` only: the Graph client fixtures of tests/graph."""

from tests.graph.conftest import (  # noqa: F401 - re-exported fixtures
    _no_extra_transports,
    connection,
    graph_client,
    mocked,
    sleeps,
    tokens,
)
