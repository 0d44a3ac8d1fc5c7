"""Clocks the sandbox reads time from: ``FakeClock`` in tests, ``RealClock`` otherwise."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import threading
import time
from datetime import UTC, datetime
from typing import Final, Protocol

__all__ = ["Clock", "FakeClock", "RealClock"]


class Clock(Protocol):
    """What a sandbox reads time from: ``FakeClock`` in tests, ``RealClock`` otherwise."""

    def now(self) -> float: ...
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time (``time.time``); the default when no clock is given."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "RealClock()"


class _Sleeper:
    """One `async_sleep`: when it wakes (`ticket`: in the order taken, at one time), and
    the future it waits on while an earlier one of its loop goes first."""

    __slots__ = ("gone", "ticket", "wake", "woken")

    def __init__(self, wake: float, ticket: int) -> None:
        self.wake, self.ticket = wake, ticket
        self.woken: asyncio.Future[None] | None = None
        self.gone = False  # woken, or cancelled: out of the heap, or to be dropped from it

    def __lt__(self, other: _Sleeper) -> bool:
        return (self.wake, self.ticket) < (other.wake, other.ticket)


class FakeClock:
    """A controllable clock, thread-safe. ``sleep`` advances instantly.

    ``now()`` is epoch seconds starting at 2026-02-13T10:30:00Z unless ``start`` is given;
    ``monotonic()`` reads the same timeline.
    """

    DEFAULT_START: Final = datetime(2026, 2, 13, 10, 30, tzinfo=UTC).timestamp()

    def __init__(self, start: float | datetime | None = None) -> None:
        if start is None:
            start = self.DEFAULT_START
        elif isinstance(start, datetime):
            start = (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
        self._now = float(start)
        self._lock = threading.Lock()
        # async_sleep's sleepers per event loop, a heap: the earliest first.
        self._sleepers: dict[asyncio.AbstractEventLoop, list[_Sleeper]] = {}
        self._tickets = itertools.count()

    def now(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        return self.now()

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (a finite number >= 0); returns the new time."""
        if not math.isfinite(seconds):  # nan or inf would stay the clock's time for good
            raise ValueError(f"a FakeClock moves by a finite number of seconds, not {seconds}")
        if seconds < 0:
            raise ValueError("a FakeClock never goes backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def async_sleep(self, seconds: float) -> None:
        """Instant, as `sleep`; but sleeps taken at once overlap, as on a real clock: ten
        tasks sleeping 5 s move the clock 5 s, not 50. Each waits for the tasks of its loop
        ready now to take theirs, then for those due earlier to wake, and moves the clock to
        its own time (unless it is already past it). A task waiting for an answer on a real
        socket is not seen: a sleep may move the clock while an answer is on its way."""
        seconds = max(0.0, seconds)
        if not math.isfinite(seconds):  # as `advance` has it
            raise ValueError(f"a FakeClock moves by a finite number of seconds, not {seconds}")
        loop = asyncio.get_running_loop()
        with self._lock:
            sleeper = _Sleeper(self._now + seconds, next(self._tickets))
            sleepers = self._sleepers.setdefault(loop, [])
            heapq.heappush(sleepers, sleeper)
        try:
            await asyncio.sleep(0)
            while True:
                with self._lock:
                    if sleepers[0] is sleeper:
                        heapq.heappop(sleepers)
                        sleeper.gone = True
                        self._now = max(self._now, sleeper.wake)
                        self._wake_first(loop, sleepers)
                        return
                    # An earlier one of this loop wakes first; it wakes the next, and so on.
                    sleeper.woken = loop.create_future()
                await sleeper.woken
        except BaseException:
            with self._lock:
                if not sleeper.gone:  # cancelled before waking: the others go on without it
                    sleeper.gone = True  # left in the heap (a removal costs a heapify)
                    self._wake_first(loop, sleepers)
            raise

    def _wake_first(self, loop: asyncio.AbstractEventLoop, sleepers: list[_Sleeper]) -> None:
        while sleepers and sleepers[0].gone:  # cancelled ones reaching the top
            heapq.heappop(sleepers)
        if not sleepers:
            self._sleepers.pop(loop, None)
        elif (first := sleepers[0].woken) is not None and not first.done():
            first.set_result(None)

    def __repr__(self) -> str:
        return f"FakeClock({self.datetime().isoformat()})"
