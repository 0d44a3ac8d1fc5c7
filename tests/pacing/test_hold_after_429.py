"""A provider's 429 holds the whole rate budget: every request sharing it — other calls of the
client, other processes on the same Redis budget — waits out the Retry-After instead of
meeting a 429 of its own (lisoloo suspends a key that keeps meeting them: 1302).

The clients here record their waits instead of sleeping them, so a hold shows as the wait
the next booking is given; the Redis budget runs on the server's real clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import pytest
import redis
import redis.asyncio
import sms_status
from client_support import FakeClock
from sms_status import RateLimit, TokenBucket
from sms_status.errors import RateLimitError
from sms_status.pacing import HOLD_SUFFIX, AsyncRedisRateLimiter, RedisRateLimiter
from sms_status.testing import FakeClock as SandboxClock
from sms_status.testing import Sandbox

LISOLOO = RateLimit(120, per=60.0)  # GET /status, per key
MESSAGE_ID = "507f1f77bcf86cd799439011"
OTHER_ID = "507f1f77bcf86cd799439012"


def test_a_token_bucket_held_books_nothing_sooner_then_goes_one_an_interval() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=5, clock=clock)
    bucket.hold(30.0)
    assert bucket.reserve_within(29.0) is None  # nothing booked
    assert bucket.reserve() == pytest.approx(30.0)
    assert bucket.reserve() == pytest.approx(30.5)  # no burst of five after the hold
    bucket.hold(1.0)  # a shorter hold keeps the slots booked already
    assert bucket.reserve() == pytest.approx(31.0)


@pytest.mark.parametrize("seconds", [float("nan"), "30"])
def test_a_hold_of_no_number_is_refused(seconds: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        TokenBucket(rate=1.0).hold(seconds)  # type: ignore[arg-type]


def test_a_hold_is_a_day_at_most() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, clock=clock)
    bucket.hold(float("inf"))
    assert bucket.reserve() == pytest.approx(86_400.0)


def test_a_redis_hold_is_kept_for_every_limiter_of_the_name(
    redis_client: redis.Redis, redis_url: str
) -> None:
    holder = RedisRateLimiter(redis_client, "lisoloo:acme", LISOLOO)
    with redis.Redis.from_url(redis_url) as other_redis:
        other = RedisRateLimiter(other_redis, "lisoloo:acme", LISOLOO)
        holder.hold(30.0)
        assert other.reserve_within(20.0) is None
        assert 25.0 < other.reserve() <= 30.0
    assert RedisRateLimiter(redis_client, "lisoloo:else", LISOLOO).reserve() == 0.0


def test_an_async_redis_hold_is_kept_for_the_sync_limiters_too(redis_url: str) -> None:
    async def hold() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            await AsyncRedisRateLimiter(client, "lisoloo:async", LISOLOO).hold(30.0)
        finally:
            await client.aclose()

    asyncio.run(hold())
    with redis.Redis.from_url(redis_url) as client:
        assert 25.0 < RedisRateLimiter(client, "lisoloo:async", LISOLOO).reserve() <= 30.0


def _recording(waits: list[float]) -> dict[str, object]:
    """Client options: waits recorded, not slept (the Redis budget keeps real time)."""
    return {"sleep": waits.append}


def test_after_one_client_meets_a_429_another_sharing_the_budget_waits(
    lisoloo_sandbox: Sandbox, redis_client: redis.Redis, redis_url: str
) -> None:
    # Two workers (a client and a Redis connection each) on one key's budget, as two
    # processes would be. Before, the second sent at once, into the same 429.
    lisoloo_sandbox.add_message(MESSAGE_ID, statuses=("delivered",))
    lisoloo_sandbox.add_message(OTHER_ID, statuses=("delivered",))
    lisoloo_sandbox.inject_fault("rate_limit", retry_after="30", times=2)
    first_waits: list[float] = []
    second_waits: list[float] = []
    with (
        redis.Redis.from_url(redis_url) as second_redis,
        lisoloo_sandbox.connect(
            rate_limiter=RedisRateLimiter(redis_client, "lisoloo:hold", LISOLOO),
            **_recording(first_waits),  # type: ignore[arg-type]
        ) as first,
        lisoloo_sandbox.connect(
            rate_limiter=RedisRateLimiter(second_redis, "lisoloo:hold", LISOLOO),
            **_recording(second_waits),  # type: ignore[arg-type]
        ) as second,
    ):
        with pytest.raises(RateLimitError):
            first.get_status(MESSAGE_ID)  # a 429, its one retry, a 429 again
        assert second.get_status(OTHER_ID).error is None
    assert first_waits[0] == 30.0  # the Retry-After, before the one retry
    # Held by the 429s: past the slot of the first one's retry (an interval, 0.53 s, later).
    assert second_waits
    # (Its sleeps pass no time in Redis: the first one's retry books again once, a slot more.)
    assert 20.0 < second_waits[0] <= 32.0


def test_an_async_client_holds_its_budget_for_its_other_calls(lisoloo_sandbox: Sandbox) -> None:
    lisoloo_sandbox.add_message(MESSAGE_ID, statuses=("delivered",))
    lisoloo_sandbox.add_message(OTHER_ID, statuses=("delivered",))
    lisoloo_sandbox.inject_fault("rate_limit", retry_after="30", times=1)
    clock = FakeClock()

    async def main() -> None:
        async with sms_status.connect_async(
            "lisoloo",
            api_key=lisoloo_sandbox.api_key,
            base_url=lisoloo_sandbox.base_url,
            clock=clock,
            sleep=clock.async_sleep,
            max_retries=0,
        ) as client:
            with pytest.raises(RateLimitError):
                await client.get_status(MESSAGE_ID)
            assert (await client.get_status(OTHER_ID)).error is None

    asyncio.run(main())
    assert clock.sleeps == [30.0]  # the second call's slot: no retry slept, the hold did


@pytest.mark.parametrize("limiter", ["bucket", "redis"])
def test_slots_booked_before_a_429_are_not_sent_into_its_hold(
    lisoloo_sandbox: Sandbox, sandbox_clock: SandboxClock, redis_url: str, limiter: str
) -> None:
    # 16 lookups at once book 16 slots of the budget; the first met a 429 (Retry-After 2)
    # and held it, yet the 15 booked before went out inside the hold, each into a 429 of
    # its own (lisoloo suspends keys that keep meeting them). They book again, past it.
    ids = [f"507f1f77bcf86cd7994390{n:02d}" for n in range(16)]
    for message_id in ids:
        lisoloo_sandbox.add_message(message_id, statuses=("delivered",))
    lisoloo_sandbox.inject_fault("rate_limit", retry_after="2", times=1)
    budget = RateLimit(40, per=2.0)  # the 16 slots span about a second

    async def main() -> None:
        aredis = redis.asyncio.Redis.from_url(redis_url)
        rate_limiter = (
            TokenBucket.for_limit(budget)
            if limiter == "bucket"
            else AsyncRedisRateLimiter(aredis, "lisoloo:prebooked", budget)
        )
        async with sms_status.connect_async(
            "lisoloo",
            api_key=lisoloo_sandbox.api_key,
            base_url=lisoloo_sandbox.base_url,
            rate_limiter=rate_limiter,
            clock=sandbox_clock.now,
            sleep=_real_and(sandbox_clock),
            max_retries=0,
        ) as client:
            reports = await client.get_statuses(ids)
        await aredis.aclose()
        assert sum(r.error is None for r in reports) == len(ids) - 1

    asyncio.run(main())
    [limited] = [r.at for r in lisoloo_sandbox.requests if r.status == 429]
    # The sandbox's clock passes by the sleeps alone, the budget's also while work runs: a
    # loaded machine may show a request a little early there, never half a second early.
    inside = [r.at - limited for r in lisoloo_sandbox.requests if limited < r.at < limited + 1.5]
    assert inside == []


def _real_and(clock: SandboxClock) -> Callable[[float], Awaitable[None]]:
    """Sleeps in real time (the budget's clock, the Redis server's too) that pass on the
    sandbox's clock as well (the time it records each request at)."""

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)
        await clock.async_sleep(seconds)

    return sleep


def test_hold_left_is_zero_with_no_hold_and_the_hold_while_one_runs(
    redis_client: redis.Redis, redis_url: str
) -> None:
    # Read with no hold running, the script set a key "for 0 ms": a Redis error at every
    # request that had waited for its slot (the driver took it for "not held").
    limiter = RedisRateLimiter(redis_client, "lisoloo:left", LISOLOO)
    assert limiter.hold_left() == 0.0
    assert not redis_client.exists(limiter.key + HOLD_SUFFIX)
    limiter.hold(30.0)
    assert 29.0 < limiter.hold_left() <= 30.0

    async def read() -> tuple[float, float]:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            other = AsyncRedisRateLimiter(client, "lisoloo:left-async", LISOLOO)
            before = await other.hold_left()
            await other.hold(5.0)
            return before, await other.hold_left()
        finally:
            await client.aclose()

    before, during = asyncio.run(read())
    assert before == 0.0
    assert 4.0 < during <= 5.0
    bucket = TokenBucket(rate=1.0)
    assert bucket.hold_left() == 0.0


def test_a_hold_left_slow_to_answer_keeps_no_async_call_past_its_deadline(
    lisoloo_sandbox: Sandbox,
) -> None:
    # After waiting for its slot, a request asks whether a hold began meanwhile: a Redis
    # that stalled there held wait_for_final(timeout=3) 7 s (its 5 s reply bound).
    class Stalled:
        async def reserve(self) -> float:
            return 0.0

        async def reserve_within(self, seconds: float) -> float:
            return min(0.5, seconds)

        async def hold_left(self) -> float:
            await asyncio.Event().wait()  # never answers
            return 0.0

    lisoloo_sandbox.add_message(MESSAGE_ID, statuses=("delivered",))

    async def main() -> float:
        async with sms_status.connect_async(
            "lisoloo",
            api_key=lisoloo_sandbox.api_key,
            base_url=lisoloo_sandbox.base_url,
            rate_limiter=Stalled(),
        ) as client:
            started = time.monotonic()
            with contextlib.suppress(sms_status.errors.SmsStatusError):
                await client.wait_for_final(MESSAGE_ID, timeout=1.0)
            return time.monotonic() - started

    async def bounded() -> float:
        return await asyncio.wait_for(main(), 10.0)  # for ever before

    assert asyncio.run(bounded()) < 1.0 + 3.0  # slack for a loaded machine


def test_a_limiter_that_cannot_hold_is_logged_and_the_call_goes_on(
    lisoloo_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    class Unheld:
        def reserve(self) -> float:
            return 0.0

        def hold(self, seconds: float) -> None:
            raise ConnectionError("budget down")

    lisoloo_sandbox.add_message(MESSAGE_ID, statuses=("delivered",))
    lisoloo_sandbox.inject_fault("rate_limit", retry_after="3", times=1)
    caplog.set_level(logging.WARNING, logger="sms_status")
    with lisoloo_sandbox.connect(rate_limiter=Unheld()) as client:
        assert client.get_status(MESSAGE_ID).error is None  # retried after the 429
    assert any("could not hold" in r.getMessage() for r in caplog.records)


def test_a_limiter_slow_to_hold_keeps_no_async_call_past_its_deadline(
    lisoloo_sandbox: Sandbox,
) -> None:
    # The hold was awaited for as long as the limiter took (a stalled Redis: its 5 s reply
    # bound), past the deadline of a wait_for_final(timeout=1).
    class SlowToHold:
        def __init__(self) -> None:
            self.never = asyncio.Event()

        async def reserve(self) -> float:
            return 0.0

        async def hold(self, seconds: float) -> None:
            await self.never.wait()

    lisoloo_sandbox.add_message(MESSAGE_ID, statuses=("delivered",))
    lisoloo_sandbox.inject_fault("rate_limit", retry_after="3", times=None)

    async def main() -> None:
        async with sms_status.connect_async(
            "lisoloo",
            api_key=lisoloo_sandbox.api_key,
            base_url=lisoloo_sandbox.base_url,
            rate_limiter=SlowToHold(),
        ) as client:
            with pytest.raises(RateLimitError):
                await client.wait_for_final(MESSAGE_ID, timeout=0.5)

    async def bounded() -> None:
        await asyncio.wait_for(main(), 30)  # TimeoutError here: held past the deadline

    asyncio.run(bounded())


def test_a_users_sleep_that_raises_keeps_its_own_frame_in_the_traceback(
    lisoloo_sandbox: Sandbox,
) -> None:
    # Every error thrown into a flow lost its traceback (a memory fix meant for failed
    # sends): a KeyError in the user's sleep= showed no frame of theirs.
    def broken_sleep(seconds: float) -> None:
        raise KeyError("from the user's sleep")

    lisoloo_sandbox.inject_fault("server_error", status=503, times=1)
    lisoloo_sandbox.add_message(MESSAGE_ID, statuses=("delivered",))
    with (
        lisoloo_sandbox.connect(sleep=broken_sleep) as client,
        pytest.raises(KeyError) as raised,
    ):
        client.get_status(MESSAGE_ID)
    assert "broken_sleep" in [entry.name for entry in raised.traceback]
