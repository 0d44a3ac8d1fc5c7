"""The time `sms-status track` runs on: the wall clock, or one sped up for demos and tests."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import attrs

CLOCK_ANCHOR = 1_767_225_600.0
"""2026-01-01T00:00:00Z: where a `SpedClock` leaves real time (see there)."""


@runtime_checkable
class TrackClock(Protocol):
    """The time a track runs on: `SpedClock`, or a test's `sms_status.testing.FakeClock`
    (handed in as click's context object)."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@attrs.frozen
class SpedClock:
    """Unix time, `speed` times faster than the wall clock from `CLOCK_ANCHOR` on.

    Every process that uses the same speed reads the same time, so a demo's sandbox, a
    tracker and the tracker restarted after a kill agree on due times, deadlines and webhook
    timestamps. Speed 1 (the default, and anything real) is plain `time.time`.
    """

    speed: float = 1.0

    def now(self) -> float:
        wall = time.time()
        return wall if self.speed == 1 else CLOCK_ANCHOR + (wall - CLOCK_ANCHOR) * self.speed

    def monotonic(self) -> float:
        return time.monotonic() if self.speed == 1 else self.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.speed)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed
