"""Fixtures for the tracker's tests: a real SQLite file, sandboxes on one FakeClock, and a
tracker factory whose clock and sleep are that clock's (no test sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sms_status import tracking
from sms_status.testing import FakeClock
from tracking_support import MakeTracker


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "deliveries.db"


@pytest.fixture
def outcomes() -> list[tracking.Outcome]:
    """What `on_final` received, in order (the default `on_final` of `make_tracker`)."""
    return []


@pytest.fixture
def make_tracker(
    store_path: Path, sandbox_clock: FakeClock, outcomes: list[tracking.Outcome]
) -> Iterator[MakeTracker]:
    """`make_tracker(clients={...}, **options)`: a Tracker on `store_path` and the sandbox
    clock; closed at the end of the test."""
    made: list[tracking.Tracker] = []

    def make(clients: dict[str, Any] | None = None, **options: Any) -> tracking.Tracker:
        options.setdefault("on_final", outcomes.append)
        options.setdefault("clock", sandbox_clock.now)
        options.setdefault("sleep", sandbox_clock.sleep)
        tracker = tracking.Tracker(
            options.pop("store", store_path), clients=clients or {}, **options
        )
        made.append(tracker)
        return tracker

    yield make
    for tracker in made:
        tracker.close()
