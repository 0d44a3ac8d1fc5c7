"""Fixtures for the tests of the public client over `httpx.MockTransport` (helpers live in
tests/client_support.py)."""

from __future__ import annotations

import pytest
from client_support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
