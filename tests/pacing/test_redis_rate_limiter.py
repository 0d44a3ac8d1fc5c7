"""RedisRateLimiter / AsyncRedisRateLimiter against a real redis-server: one budget shared by
several processes, each booking with its own client, never more than `limit` per window.

The limits here are slow (one slot a minute or slower), so the seconds a loaded machine takes
to run the processes are small beside a slot: every granted slot can be told apart exactly.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest
import redis
import redis.asyncio
import sms_status
from sms_status.pacing import (
    KEY_PREFIX,
    AsyncRedisRateLimiter,
    RateLimit,
    RedisRateLimiter,
)
from sms_status.testing import Sandbox

# burst 2, then one slot every 80 s: 2 + 45 = 47 slots in any hour, within 48.
HOURLY = RateLimit(requests=48, per=3600.0)
INTERVAL = 80.0
PROCESSES = 4
RESERVES_PER_PROCESS = 12
START_TIMEOUT = 60.0


def _book(redis_url: str, name: str, count: int, start: Barrier, out: Queue[list[float]]) -> None:
    """In a child process: its own client; wait for the others; book `count` slots.

    Puts when each slot starts, in seconds since the epoch (the server and this process share
    the machine's clock)."""
    limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), name, HOURLY)
    start.wait(timeout=START_TIMEOUT)
    slots = []
    for _ in range(count):
        booked_at = time.time()
        slots.append(booked_at + limiter.reserve())
    out.put(slots)


def _max_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(
        sum(1 for t in ordered[i:] if t - start <= window) for i, start in enumerate(ordered)
    )


def _slot_numbers(slots: list[float]) -> list[int]:
    """Each slot as a whole number of intervals after the first."""
    first = min(slots)
    return sorted(round((s - first) / INTERVAL) for s in slots)


@pytest.mark.slow  # 7 s: four processes
def test_four_processes_share_one_budget_and_never_get_the_same_slot(redis_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    out: Queue[list[float]] = context.Queue()
    args = (redis_url, "lisoloo:acme", RESERVES_PER_PROCESS, start, out)
    workers = [context.Process(target=_book, args=args) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    booked = [out.get(timeout=START_TIMEOUT) for _ in workers]
    for worker in workers:
        worker.join(timeout=START_TIMEOUT)
        assert worker.exitcode == 0
    slots = [slot for process in booked for slot in process]
    assert all(process for process in booked)
    # The burst of two goes at once, then one slot per interval: no slot granted twice
    # (the booking is atomic) and none skipped (no booking lost).
    assert _slot_numbers(slots) == [0, *range(PROCESSES * RESERVES_PER_PROCESS - 1)]
    assert _max_in_any_window(slots, HOURLY.per) <= HOURLY.requests


def test_the_budget_outlives_a_limiter_and_is_found_by_a_new_one(redis_client: redis.Redis) -> None:
    first = RedisRateLimiter(redis_client, "k", HOURLY)
    assert [first.reserve() for _ in range(2)] == [0.0, 0.0]  # the burst
    later = RedisRateLimiter(redis_client, "k", HOURLY).reserve()
    assert INTERVAL - 5 < later <= INTERVAL


def test_names_are_separate_budgets(redis_client: redis.Redis) -> None:
    one_an_hour = RateLimit(requests=1, per=3600.0)
    a = RedisRateLimiter(redis_client, "tenant-a", one_an_hour)
    b = RedisRateLimiter(redis_client, "tenant-b", one_an_hour)
    assert a.reserve() == 0.0
    assert a.reserve() > 3000
    assert b.reserve() == 0.0
    assert sorted(redis_client.keys(KEY_PREFIX + "*")) == [
        f"{KEY_PREFIX}tenant-a".encode(),
        f"{KEY_PREFIX}tenant-b".encode(),
    ]


def test_one_request_a_window_is_spaced_wider_than_the_window(redis_client: redis.Redis) -> None:
    # Arrivals jitter: slots exactly one window apart let a late first request and an
    # on-time second land in one window of a server allowing one.
    limiter = RedisRateLimiter(redis_client, "k", RateLimit(requests=1, per=1.0))
    assert limiter.reserve() == 0.0
    assert limiter.reserve() > 1.1


def test_a_slot_a_year_apart_is_paced(redis_client: redis.Redis) -> None:
    limiter = RedisRateLimiter(redis_client, "k", RateLimit(requests=3, per=365 * 86400.0))
    assert limiter.reserve() == 0.0
    assert limiter.reserve() > 300 * 86400  # the next slot, paced


def test_the_key_expires_once_its_slots_are_past(redis_client: redis.Redis) -> None:
    limiter = RedisRateLimiter(redis_client, "k", HOURLY)
    limiter.reserve()
    ttl_ms = redis_client.pttl(limiter.key)
    assert 0 < ttl_ms <= (INTERVAL + 1) * 1000


def test_a_flushed_script_cache_is_reloaded(redis_client: redis.Redis) -> None:
    limiter = RedisRateLimiter(redis_client, "k", HOURLY)
    limiter.reserve()
    redis_client.script_flush()
    assert limiter.reserve() == 0.0  # the second slot of the burst, after EVAL reloads it


def test_repr_names_the_budget_and_no_connection_details(redis_client: redis.Redis) -> None:
    text = repr(RedisRateLimiter(redis_client, "lisoloo:acme", HOURLY))
    assert text == "RedisRateLimiter(name='lisoloo:acme', limit=48/3600s)"


@pytest.mark.parametrize(
    ("name", "limit", "error"),
    [
        ("", HOURLY, ValueError),
        ("k", (48, 3600.0), TypeError),
        # A slot more than a century ahead is garbage to the script: 4e9 s paced nothing,
        # and 1e300 failed every booking with a Lua error.
        ("k", RateLimit(requests=1, per=4e9), ValueError),
        ("k", RateLimit(requests=1, per=1e300), ValueError),
    ],
)
def test_bad_arguments_are_refused_before_any_booking(
    redis_client: redis.Redis, name: str, limit: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        RedisRateLimiter(redis_client, name, limit)  # type: ignore[arg-type]
    assert redis_client.keys("*") == []


def test_async_twin_books_from_the_same_budget(redis_url: str, redis_client: redis.Redis) -> None:
    sync = RedisRateLimiter(redis_client, "shared", HOURLY)

    async def book_two() -> list[float]:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            limiter = AsyncRedisRateLimiter(client, "shared", HOURLY)
            return [await limiter.reserve(), await limiter.reserve()]
        finally:
            await client.aclose()

    assert sync.reserve() == 0.0
    first, second = asyncio.run(book_two())
    assert first == 0.0  # the burst's second slot
    assert INTERVAL - 5 < second <= INTERVAL
    assert 2 * INTERVAL - 5 < sync.reserve() <= 2 * INTERVAL


def test_async_client_awaits_the_async_limiter(redis_url: str, redis_client: redis.Redis) -> None:
    sandbox = Sandbox("lisoloo", rate_limit=None)
    ids = [f"paced-{i}" for i in range(5)]
    for message_id in ids:
        sandbox.add_message(message_id, statuses=("delivered",))

    async def look_up() -> list[sms_status.StatusReport]:
        connection = redis.asyncio.Redis.from_url(redis_url)
        limiter = AsyncRedisRateLimiter(connection, "lisoloo:async", RateLimit(1000, 1.0))
        try:
            async with sms_status.connect_async(
                "lisoloo",
                api_key=sandbox.api_key,
                base_url=sandbox.base_url,
                rate_limiter=limiter,
            ) as client:
                return await client.get_statuses(ids)
        finally:
            await connection.aclose()

    with sandbox.serve():
        reports = asyncio.run(look_up())
    assert [r.error for r in reports] == [None] * len(ids)
    assert redis_client.exists(KEY_PREFIX + "lisoloo:async")


def test_the_sync_client_refuses_a_limiter_it_would_have_to_await(redis_url: str) -> None:
    limiter = AsyncRedisRateLimiter(redis.asyncio.Redis.from_url(redis_url), "k", HOURLY)
    with pytest.raises(TypeError, match="connect_async"):
        sms_status.connect("lisoloo", api_key="key", rate_limiter=limiter)  # type: ignore[arg-type]


def test_each_limiter_refuses_the_other_kind_of_redis_client(redis_url: str) -> None:
    """Given the other kind, booking would fail only at the first `reserve()` (a coroutine
    divided, an int awaited): the limiter says so when it is built."""
    with pytest.raises(TypeError, match=r"blocking client .* not redis\.asyncio"):
        RedisRateLimiter(redis.asyncio.Redis.from_url(redis_url), "k", HOURLY)
    with pytest.raises(TypeError, match=r"asyncio client .* not redis\.client\.Redis"):
        AsyncRedisRateLimiter(redis.Redis.from_url(redis_url), "k", HOURLY)


class _Traced:
    """A wrapper passing every call on to the client it wraps, as tracing layers do."""

    def __init__(self, client: object) -> None:
        self._client = client

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


def test_a_wrapped_client_is_judged_by_the_client_it_wraps(redis_url: str) -> None:
    async def book() -> float:
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            return await AsyncRedisRateLimiter(_Traced(client), "traced", HOURLY).reserve()

    assert asyncio.run(book()) == 0.0
    with pytest.raises(TypeError, match="blocking client"):
        RedisRateLimiter(_Traced(redis.asyncio.Redis.from_url(redis_url)), "traced", HOURLY)


@pytest.mark.parametrize("left_there", ["nan", "inf", "1e30", "-inf", "soon", "a hash"])
def test_a_budget_key_holding_something_else_is_replaced_not_failed_on(
    redis_url: str, left_there: str
) -> None:
    # A value no booking writes (another app's, a stray SET, no TTL) failed every booking of
    # every process for as long as it lived: the script's own SET refused what it made of it.
    client = redis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, f"poisoned-{left_there}", HOURLY)
    client.delete(limiter.key)
    if left_there == "a hash":
        client.hset(limiter.key, "field", "value")
    else:
        client.set(limiter.key, left_there)
    assert limiter.reserve() == 0.0  # the budget's first booking: no wait
    assert int(client.get(limiter.key) or b"") > 0  # a booking of its own now
    assert 0 < client.pttl(limiter.key) <= 3600 * 1000 + 1000


@pytest.mark.anyio
async def test_an_async_budget_key_holding_nan_is_replaced(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    limiter = AsyncRedisRateLimiter(client, "poisoned-async", HOURLY)
    await client.set(limiter.key, "nan")
    assert await limiter.reserve() == 0.0
    await client.aclose()
