"""Client-side pacing, so bulk work stays inside a provider's documented rate limit.

Every request a client sends first asks its limiter for a slot: `reserve()` books the next
free slot and returns how long to wait before using it. Booking instead of blocking lets one
limiter serve sync and async clients alike (each sleeps its own way), and lets users plug in
a shared limiter (say, one backed by Redis) when several processes share a key::

    limiter = TokenBucket.for_limit(RateLimit(requests=120, per=60.0))
    a = sms_status.connect("lisoloo", api_key=key, rate_limiter=limiter)
    b = sms_status.connect_async("lisoloo", api_key=key, rate_limiter=limiter)

Processes or hosts that share a key share a budget through Redis: `RedisRateLimiter` (sync
clients) and `AsyncRedisRateLimiter` (async clients, whose `reserve()` is awaited) book the
same slots when given the same `name`.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

from sms_status import _redis_kind
from sms_status._redis_kind import require_asyncio, require_blocking, with_reply_timeout

if TYPE_CHECKING:
    from typing_extensions import TypeIs  # typing's own from Python 3.13

    from sms_status._redis_kind import AsyncioRedis, BlockingRedis

_MOST_REQUESTS = 10**12
"""More a window than any provider allows: past it, a rate no float holds (10**400)."""


def _whole_requests(_limit: object, _attribute: attrs.Attribute[int], value: int) -> None:
    # A fraction (0.5 a window) would be paced as one a window: twice the limit.
    if isinstance(value, bool) or not isinstance(value, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"requests must be an int, not {type(value).__name__}")
    if not 1 <= value <= _MOST_REQUESTS:
        raise ValueError(f"requests must be from 1 to {_MOST_REQUESTS:,}")


def _finite_window(_limit: object, _attribute: attrs.Attribute[float], value: float) -> None:
    # An endless window, or one no float holds (10**400), leaves no rate to pace at.
    if isinstance(value, bool) or not isinstance(value, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"per must be a number of seconds, not {type(value).__name__}")
    try:
        seconds, shown = float(value), repr(value)
    except OverflowError:
        seconds, shown = math.inf, "an integer too large for a float"
    if not 0 < seconds < math.inf:
        raise ValueError(f"per must be a finite number of seconds > 0, got {shown}")


@attrs.frozen
class RateLimit:
    """A documented limit: at most `requests` (an int >= 1) in any window of `per` seconds
    (finite, > 0)."""

    requests: int = attrs.field(validator=_whole_requests)
    per: float = attrs.field(validator=_finite_window)

    def __attrs_post_init__(self) -> None:
        # A window so short that no float holds the rate (10**12 in 1e-300 s): TokenBucket
        # would refuse it, a Redis limiter would pace nothing.
        if not math.isfinite(self.requests / self.per):
            raise ValueError(f"{self.requests:,} requests per {self.per!r} s is no finite rate")


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that books request slots. Must be safe to call from several threads."""

    def reserve(self) -> float:
        """Book one request; return the seconds to wait before sending it (0 for now).

        A limiter may also offer `reserve_within(seconds) -> float | None`, booking only a
        slot that comes within `seconds` (None: nothing booked); a client uses it for a
        request with a deadline, so one that could not go out in time spends no slot.
        `TokenBucket` and the Redis limiters do; without it, `reserve()` is used.

        It may also offer `hold(seconds)`: book no slot sooner than `seconds` from now. A
        client calls it when the provider answers 429 (for its Retry-After, else the
        backoff), so every request sharing the budget waits instead of meeting a 429 of its
        own. `TokenBucket` and the Redis limiters do; with it, `hold_left() -> float`, the
        seconds left of a hold (0 for none): a request whose slot, booked before the hold,
        comes inside it books another rather than go out into the 429s."""
        ...


class AsyncRateLimiter(Protocol):
    """A limiter whose booking is itself awaited (one backed by an async Redis client, say).

    Only the async client accepts it. It may offer an awaited `reserve_within(seconds)` too
    (see `RateLimiter`). Not checkable with `isinstance`, which would find a `reserve` on any
    limiter (a `TokenBucket`'s too): `is_async(limiter)` tells the two kinds apart."""

    async def reserve(self) -> float:
        """Book one request; return the seconds to wait before sending it (0 for now).

        An awaited `hold(seconds)` and `hold_left()` are optional too (see `RateLimiter`)."""
        ...


def is_async(limiter: RateLimiter | AsyncRateLimiter) -> TypeIs[AsyncRateLimiter]:
    """Whether `limiter`'s `reserve()` is awaited (an `AsyncRateLimiter`: an async client's
    `rate_limiter` may be either kind): a coroutine function, also under decorators that
    say what they wrap (`functools.wraps`)."""
    reserve = getattr(limiter, "reserve", None)
    return reserve is not None and inspect.iscoroutinefunction(inspect.unwrap(reserve))


_ARRIVAL_JITTER = 0.25
"""How much later than its slot a request may reach the provider, relative to the next one,
in seconds: a sleep's overshoot, or the first request also opening a connection (TLS across
an ocean takes a few round trips)."""


def _shape(limit: RateLimit) -> tuple[float, int]:
    """(rate per second, burst) that can never exceed `limit` in any window of `limit.per`.

    A GCRA admits at most `burst + rate * W + 1` requests in a window of W seconds: a small
    burst, one slot of slack (for jitter between booking and arrival), the rest spread evenly.
    One request a window leaves no slot to keep as slack, so the window itself is padded by
    `_ARRIVAL_JITTER` (at most doubled, for windows shorter than that).
    """
    if limit.requests == 1:
        return 1.0 / (limit.per + min(limit.per, _ARRIVAL_JITTER)), 1
    burst = max(1, limit.requests // 24)
    rate = max(limit.requests - burst - 1, 1) / limit.per  # two a window: one, and the slack
    return rate, burst


class TokenBucket:
    """A thread-safe token bucket (GCRA): `burst` requests at once, then `rate` per second.

    Over any window of W seconds it admits at most `burst + rate * W + 1` requests.
    """

    def __init__(
        self, *, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(burst, bool) or not isinstance(burst, int):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"burst must be an int, not {type(burst).__name__}")
        if not 0 < rate < math.inf or burst < 1:  # nan or inf: no budget at all
            raise ValueError("rate must be finite and > 0, and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._lock = threading.Lock()
        self._theoretical_arrival = clock()
        self._held_until = -math.inf

    @classmethod
    def for_limit(
        cls, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic
    ) -> TokenBucket:
        """A bucket that can never exceed `limit`: a small burst, the rest spread evenly."""
        rate, burst = _shape(limit)
        return cls(rate=rate, burst=burst, clock=clock)

    def reserve(self) -> float:
        wait = self._book(math.inf)
        assert wait is not None
        return wait

    def reserve_within(self, seconds: float) -> float | None:
        """Book one request if its slot comes within `seconds`: the wait, or None (nothing
        booked: a request that could not go out before its deadline spends no slot).
        `inf` (or a century and more) books whatever the wait, as `reserve()`; below 0 is
        0; NaN is a ValueError, a non-number a TypeError."""
        return self._book(_within(seconds))

    def hold(self, seconds: float) -> None:
        """Book no slot sooner than `seconds` from now (a 429's Retry-After: see
        `RateLimiter`); slots booked already are kept. Past the hold, requests come one an
        interval, without a burst. A day at most; NaN is a ValueError."""
        held = _held(seconds)
        with self._lock:
            now = self._clock()
            self._theoretical_arrival = max(self._theoretical_arrival, now + held + self._tolerance)
            self._held_until = max(self._held_until, now + held)

    def hold_left(self) -> float:
        """Seconds left of the latest `hold` (0 when none runs)."""
        return max(0.0, self._held_until - self._clock())

    def _book(self, seconds: float) -> float | None:
        with self._lock:
            now = self._clock()
            arrival = max(self._theoretical_arrival, now)
            wait = max(0.0, arrival - self._tolerance - now)
            if wait > seconds:
                return None
            self._theoretical_arrival = arrival + self._interval
            return wait

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}/s, burst={self.burst})"


class Unlimited:
    """A limiter that never waits (for providers that publish no limit)."""

    def reserve(self) -> float:
        return 0.0

    def __repr__(self) -> str:
        return "Unlimited()"


# GCRA in one atomic script, timed by the Redis server's clock (TIME), so processes on hosts
# whose clocks disagree still book from one timeline. Times are integer microseconds (exact
# in Lua's doubles until the year 2255). The key expires once its slots are all in the past.
# A key holding anything else (another type, "nan", "inf", a time a century off: written
# by something else) is taken for none and replaced: it used to fail every booking of every
# process for as long as it lived, for ever without a TTL.
_GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local within = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local held = redis.pcall('GET', KEYS[1])
local arrival = nil
if type(held) == 'string' then
    arrival = tonumber(held)
end
if arrival == nil or arrival ~= arrival or arrival < now or arrival > now + 3155760000000000 then
    arrival = now
end
local hold = tonumber(ARGV[4])
if hold > 0 then
    local held = now + hold + tolerance
    if held > arrival then
        redis.call('SET', KEYS[1], string.format('%d', held), 'PX',
            math.floor((held - now) / 1000) + 1000)
    end
    return 0
end
local wait = arrival - tolerance - now
if wait < 0 then
    wait = 0
end
if within >= 0 and wait > within then
    return -1
end
local booked = arrival + interval
redis.call('SET', KEYS[1], string.format('%d', booked), 'PX',
    math.floor((booked - now) / 1000) + 1000)
return wait
"""
# A hold's end, as the time to live of a key of its own (one key a script, for Redis
# Cluster): set only if longer than the one running; with 0, only read (-2: none).
_HOLD_END_SCRIPT = """
local ms = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if ms > 0 and ms > left then
    redis.call('SET', KEYS[1], '1', 'PX', ms)
    return ms
end
return left
"""
_ANY_WAIT = -1
"""The script's `within` for a booking whatever the wait (`reserve()`)."""
_CENTURY = 100 * 365.25 * 86400.0


def _within(seconds: float) -> float:
    """`reserve_within`'s argument checked: a number, not NaN; below 0 is 0."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    if isinstance(seconds, float) and math.isnan(seconds):
        raise ValueError("seconds must be a number of seconds, not nan")
    if seconds <= 0:  # -10**400 too
        return 0.0
    return math.inf if seconds >= _CENTURY else float(seconds)  # 10**400 too


_LONGEST_HOLD = 86_400.0
"""A hold (a 429's Retry-After, capped by the client's `retry_after_cap`) is a day at most."""


def _held(seconds: float) -> float:
    """`hold`'s argument checked: a number, not NaN; below 0 is 0, above a day a day."""
    return min(_within(seconds), _LONGEST_HOLD)


_MICROSECONDS = 1_000_000
_LONGEST_SLOT = 365.25 * 86400.0
"""A Redis budget's slots are a year apart at most: its script takes a booking more than a
century ahead for garbage (a window of 4e9 s paced nothing, and 1e300 failed every call)."""
KEY_PREFIX = "sms-status:pacing:"
"""Redis keys of shared budgets are this prefix followed by the limiter's `name`."""
HOLD_SUFFIX = ":hold"
"""The key of a budget's running hold (if any) is its key followed by this."""


class _RedisGcra:
    """What the sync and async Redis limiters share: the shape, the key, the script."""

    _asyncio: ClassVar[bool] = False
    """Which kind of redis-py client the limiter takes (the other fails only at `reserve`)."""

    def __init__(self, redis_client: Any, name: str, limit: RateLimit) -> None:
        (require_asyncio if self._asyncio else require_blocking)(redis_client, type(self).__name__)
        if not isinstance(limit, RateLimit):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"limit must be a RateLimit, got {type(limit).__name__}")
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError("name must be a non-empty string")
        rate, burst = _shape(limit)
        if 1.0 / rate > _LONGEST_SLOT:  # the script takes times a century ahead for garbage
            raise ValueError(
                f"{limit.requests} requests per {limit.per:g} s is a slot every "
                f"{1.0 / rate:.3g} s: a Redis budget paces a slot a year apart at most"
            )
        self.name = name
        self.limit = limit
        self.key = KEY_PREFIX + name
        self._interval = math.ceil(_MICROSECONDS / rate)  # rounded up: never faster than rate
        self._tolerance = (burst - 1) * self._interval
        if not self._asyncio:  # the async one is bounded where it is awaited
            redis_client = with_reply_timeout(redis_client)
        # register_script runs EVALSHA, and EVAL once if the server has not seen the script.
        self._script: Callable[..., Any] = redis_client.register_script(_GCRA_SCRIPT)
        self._hold_end: Callable[..., Any] = redis_client.register_script(_HOLD_END_SCRIPT)

    def _arguments(self, within: float) -> dict[str, Any]:
        """The script's: `within` seconds (or `_ANY_WAIT`) as whole microseconds; a wait of
        a century or more (inf) books whatever the wait, as `reserve()`."""
        limit = _ANY_WAIT if within < 0 or within >= _CENTURY else int(within * _MICROSECONDS)
        return {"keys": [self.key], "args": [self._interval, self._tolerance, limit, 0]}

    def _hold_arguments(self, seconds: float) -> dict[str, Any]:
        """The script's for a hold of `seconds` (as `TokenBucket.hold`): it books nothing."""
        held = max(1, math.ceil(_held(seconds) * _MICROSECONDS))
        return {"keys": [self.key], "args": [self._interval, self._tolerance, _ANY_WAIT, held]}

    def _hold_end_arguments(self, seconds: float) -> dict[str, Any]:
        """`_HOLD_END_SCRIPT`'s: a hold of `seconds` as whole milliseconds (0: read it)."""
        milliseconds = max(1, math.ceil(_held(seconds) * 1000)) if seconds > 0 else 0
        return {"keys": [self.key + HOLD_SUFFIX], "args": [milliseconds]}

    @staticmethod
    def _wait(waited: int) -> float | None:
        return None if waited < 0 else waited / _MICROSECONDS

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, "
            f"limit={self.limit.requests}/{self.limit.per:g}s)"
        )


class RedisRateLimiter(_RedisGcra):
    """A budget kept in Redis and shared by every process and host that uses the same `name`.

    Give every worker that shares an API key the same `name` and `limit`; each `reserve()` is
    one atomic EVALSHA round trip. `redis_client` is a `redis.Redis` (`sms-status[redis]`)::

        limiter = RedisRateLimiter(redis.Redis.from_url(url), "lisoloo:acme", RateLimit(120, 60))
        client = sms_status.connect("lisoloo", api_key=key, rate_limiter=limiter)

    Redis errors (an unreachable server, say) propagate from `reserve()` unchanged; in a
    client's lookup they fail the attempt as a `TransportError` that names the limiter (and
    is retried as any failure to send). The limiter talks to the client's server on a pool
    of its own, with a socket timeout of at most 5 s and no resends of redis-py's, so a Redis
    that stops answering fails an attempt within 5 s instead of holding it (a cluster or
    Sentinel client is used as given, with its own timeouts and retries). A blocking call
    cannot be cut sooner: one made near a `wait_for_final` deadline may pass it by that
    much (`AsyncRedisRateLimiter` waits no longer than the deadline).
    """

    def __init__(self, redis_client: BlockingRedis, name: str, limit: RateLimit) -> None:
        super().__init__(redis_client, name, limit)

    def reserve(self) -> float:
        waited: int = self._script(**self._arguments(_ANY_WAIT))
        return waited / _MICROSECONDS

    def reserve_within(self, seconds: float) -> float | None:
        """Book one request if its slot comes within `seconds`: the wait, or None (nothing
        booked)."""
        return self._wait(self._script(**self._arguments(_within(seconds))))

    def hold(self, seconds: float) -> None:
        """`TokenBucket.hold`, for every process and host sharing the budget: two round
        trips."""
        self._script(**self._hold_arguments(seconds))
        self._hold_end(**self._hold_end_arguments(seconds))

    def hold_left(self) -> float:
        """`TokenBucket.hold_left`, for the hold any process placed: one round trip."""
        return max(0, int(self._hold_end(**self._hold_end_arguments(0)))) / 1000


class AsyncRedisRateLimiter(_RedisGcra):
    """`RedisRateLimiter` for the async client: `redis_client` is a `redis.asyncio.Redis`,
    and `reserve()` is awaited, so booking a slot never blocks the event loop. It books from
    the same budget as `RedisRateLimiter` instances of the same `name`."""

    _asyncio = True

    def __init__(self, redis_client: AsyncioRedis, name: str, limit: RateLimit) -> None:
        super().__init__(redis_client, name, limit)

    async def reserve(self) -> float:
        return await self._booked(_ANY_WAIT) / _MICROSECONDS

    async def reserve_within(self, seconds: float) -> float | None:
        """`RedisRateLimiter.reserve_within`, awaited; Redis's answer too is waited for no
        longer than `seconds` (and a tenth more), so a stalled Redis cannot take a call
        with a deadline past it by up to `REPLY_TIMEOUT`."""
        within = _within(seconds)
        return self._wait(await self._booked(within, answer_within=within + 0.1))

    async def hold(self, seconds: float) -> None:
        """`RedisRateLimiter.hold`, awaited (Redis's answer within `REPLY_TIMEOUT`)."""
        await self._answered(self._hold_arguments(seconds))
        await self._answered(self._hold_end_arguments(seconds), script=self._hold_end)

    async def hold_left(self) -> float:
        """`RedisRateLimiter.hold_left`, awaited (Redis's answer within `REPLY_TIMEOUT`)."""
        left = await self._answered(self._hold_end_arguments(0), script=self._hold_end)
        return max(0, int(left)) / 1000

    async def _booked(self, within: float, answer_within: float = _redis_kind.REPLY_TIMEOUT) -> int:
        """The script's answer, within `REPLY_TIMEOUT` or `answer_within` (a TimeoutError
        past it): a Redis that stopped answering held every lookup for as long as it was
        away."""
        return await self._answered(self._arguments(within), answer_within)

    async def _answered(
        self,
        arguments: dict[str, Any],
        within: float = _redis_kind.REPLY_TIMEOUT,
        script: Callable[..., Any] | None = None,
    ) -> int:
        """The script's answer to `arguments`, within `REPLY_TIMEOUT` or `within`."""
        import asyncio

        pending: Awaitable[int] = (script or self._script)(**arguments)
        async with asyncio.timeout(min(_redis_kind.REPLY_TIMEOUT, within)):
            return await pending


__all__ = [
    "HOLD_SUFFIX",
    "KEY_PREFIX",
    "AsyncRateLimiter",
    "AsyncRedisRateLimiter",
    "RateLimit",
    "RateLimiter",
    "RedisRateLimiter",
    "TokenBucket",
    "Unlimited",
    "is_async",
]
