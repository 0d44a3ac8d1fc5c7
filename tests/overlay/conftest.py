"""Fixtures for the overlay's unit tests (helpers live in overlay_support.py)."""

from __future__ import annotations

import pytest
from overlay_support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
