"""Client-side pacing, so bulk work stays inside a provider's documented rate limit.

Every request a client sends first asks its limiter for a slot: `reserve()` books the next
free slot and returns how long to wait before using it. Booking instead of blocking lets one
limiter serve sync and async clients alike (each sleeps its own way), and lets users plug in
a shared limiter (say, one backed by Redis) when several processes share a key::

    limiter = TokenBucket.for_limit(RateLimit(requests=120, per=60.0))
    a = sms_status.connect("lisoloo", api_key=key, rate_limiter=limiter)
    b = sms_status.connect_async("lisoloo", api_key=key, rate_limiter=limiter)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen
class RateLimit:
    """A documented limit: at most `requests` in any window of `per` seconds."""

    requests: int = attrs.field(validator=attrs.validators.gt(0))
    per: float = attrs.field(validator=attrs.validators.gt(0))


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that books request slots. Must be safe to call from several threads."""

    def reserve(self) -> float:
        """Book one request; return the seconds to wait before sending it (0 for now)."""
        ...


class TokenBucket:
    """A thread-safe token bucket (GCRA): `burst` requests at once, then `rate` per second.

    Over any window of W seconds it admits at most `burst + rate * W + 1` requests.
    """

    def __init__(
        self, *, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._lock = threading.Lock()
        self._theoretical_arrival = clock()

    @classmethod
    def for_limit(
        cls, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic
    ) -> TokenBucket:
        """A bucket that can never exceed `limit`: a small burst, the rest spread evenly."""
        burst = max(1, limit.requests // 24)
        rate = max(limit.requests - burst - 1, 1) / limit.per
        return cls(rate=rate, burst=burst, clock=clock)

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            arrival = max(self._theoretical_arrival, now)
            self._theoretical_arrival = arrival + self._interval
            return max(0.0, arrival - self._tolerance - now)

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}/s, burst={self.burst})"


class Unlimited:
    """A limiter that never waits (for providers that publish no limit)."""

    def reserve(self) -> float:
        return 0.0

    def __repr__(self) -> str:
        return "Unlimited()"


__all__ = ["RateLimit", "RateLimiter", "TokenBucket", "Unlimited"]
