"""The pytest parts of ``make verify`` (collected only when CIPPUSERS_VERIFY=1; see tests/conftest.py).

``figure`` records a measured value with its bound (verify.figures); the test itself still asserts, so a
part that misses its bound fails both as a test and as a figure."""

from __future__ import annotations

import pytest


@pytest.fixture
def figure():
    from verify.figures import figure as record

    return record
