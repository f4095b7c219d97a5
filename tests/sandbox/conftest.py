"""Fixtures most sandbox endpoint tests share: a bare sandbox tenant and a Graph caller signed in to it.
A test module that needs another tenant defines its own ``tenant``; ``graph`` then calls that one."""

from __future__ import annotations

import pytest

from .factories import GraphCaller, make_tenant


@pytest.fixture
def tenant():
    return make_tenant("Contoso")


@pytest.fixture
def graph(client, tenant):
    return GraphCaller(client, tenant)
