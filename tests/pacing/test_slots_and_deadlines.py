"""A request that could not go out before its deadline spends no slot of the rate budget:
the limiter books a slot only if it comes in time (`reserve_within`), in-process and shared."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest
import redis
import redis.asyncio
import sms_status
from sms_status import StatusReport
from sms_status.errors import ServerError, TransportError
from sms_status.pacing import AsyncRedisRateLimiter, RateLimit, RedisRateLimiter, TokenBucket
from sms_status.testing import FakeClock, Sandbox

ONE_A_MINUTE = RateLimit(requests=1, per=60.0)


def test_a_wait_too_short_for_the_next_slot_sends_nothing_and_spends_no_slot() -> None:
    # It sent nothing and still booked a slot per look: the next request then waited 25 s.
    clock = FakeClock()
    with Sandbox("roycetalk", clock=clock).serve() as sandbox:
        sandbox.add_message("m1", statuses=("pending",))
        bucket = TokenBucket(rate=0.1, burst=1, clock=clock.monotonic)  # a request every 10 s
        with sandbox.connect(rate_limiter=bucket) as client:
            client.get_status("m1")  # the slot at t=0; the next is at t=10
            start = clock.now()
            with pytest.raises(TransportError, match=r"no slot of the rate budget|no time left"):
                client.wait_for_final("m1", timeout=5)
            assert len(sandbox.requests) == 1
            # roycetalk's next look (5 s on) would fall on the deadline: none can come in
            # time, so the call ends at once rather than idle to it.
            assert clock.now() - start == pytest.approx(0.0)
            assert bucket.reserve() == pytest.approx(10.0)  # still the slot at t=10


def test_a_shared_budget_is_not_spent_by_an_async_worker_whose_deadline_comes_first(
    redis_url: str,
) -> None:
    # Worker A (async) could not send before its deadline; worker B must find the budget as
    # A left it: one slot used (it waited 300 s: one slot per look A made).
    sync_redis = redis.Redis.from_url(redis_url)
    worker_b = RedisRateLimiter(sync_redis, "roycetalk:acme", ONE_A_MINUTE)
    clock = FakeClock()

    async def worker_a(sandbox: Sandbox) -> None:
        async_redis = redis.asyncio.Redis.from_url(redis_url)
        limiter = AsyncRedisRateLimiter(async_redis, "roycetalk:acme", ONE_A_MINUTE)
        try:
            async with sandbox.connect_async(rate_limiter=limiter) as client:
                await client.get_status("m1")  # the first slot
                with pytest.raises(TransportError, match="no slot of the rate budget"):
                    await client.wait_for_final("m1", timeout=30)
        finally:
            await async_redis.aclose()

    with Sandbox("roycetalk", clock=clock).serve() as sandbox:
        sandbox.add_message("m1", statuses=("pending",))
        asyncio.run(worker_a(sandbox))
        assert len(sandbox.requests) == 1
    # The next slot is a minute after the first (on Redis's clock; a window of one request
    # is padded for arrival jitter), whatever A tried since.
    assert 30.0 < worker_b.reserve() <= 61.0
    sync_redis.close()


def test_reserve_within_books_only_a_slot_in_time(redis_client: redis.Redis) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock.monotonic)
    shared = RedisRateLimiter(redis_client, "k", ONE_A_MINUTE)
    for limiter, gap in ((bucket, 1.0), (shared, 61.0)):  # one a minute: padded for jitter
        assert limiter.reserve_within(0.0) == 0.0  # free now: booked
        assert limiter.reserve_within(gap / 2) is None  # the next is `gap` away: not booked
        assert limiter.reserve_within(gap / 2) is None
        assert 0.0 < limiter.reserve() <= gap  # the next slot is still the first one after


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_slot_after_the_attempts_timeout_but_before_the_deadline_is_booked(kind: str) -> None:
    # A budget kept 20 s deep by another worker; wait_for_final(timeout=300) on a client
    # with timeout=10. Its slots came 20 s on, long before its deadline, but were refused
    # for being past the attempt's 10 s: it sent nothing, and raised after 299 s.
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock.monotonic)

    def keep_the_budget_busy() -> None:  # another worker, booking without a deadline
        while bucket.reserve() < 20.0:
            pass

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        keep_the_budget_busy()

    async def async_sleep(seconds: float) -> None:
        sleep(seconds)

    with Sandbox("roycetalk", clock=clock).serve() as sandbox:
        sandbox.add_message("m1", statuses=("pending", "delivered"))
        keep_the_budget_busy()
        if kind == "sync":
            with sandbox.connect(rate_limiter=bucket, timeout=10, sleep=sleep) as client:
                report = client.wait_for_final("m1", timeout=300)
        else:

            async def main() -> StatusReport:
                async with sandbox.connect_async(
                    rate_limiter=bucket, timeout=10, sleep=async_sleep
                ) as client:
                    return await client.wait_for_final("m1", timeout=300)

            report = asyncio.run(main())
        assert report.is_delivered
        assert len(sandbox.requests) >= 2


def test_reserve_within_takes_any_number_alike_on_every_limiter(
    redis_client: redis.Redis,
) -> None:
    # The Redis limiter raised OverflowError for inf (TokenBucket books), and took NaN as 0.
    limiters = (
        TokenBucket(rate=1.0, burst=1, clock=FakeClock().monotonic),
        RedisRateLimiter(redis_client, "k", RateLimit(requests=1, per=1.0)),
    )
    for limiter in limiters:
        assert limiter.reserve_within(math.inf) == 0.0  # any wait: booked
        assert limiter.reserve_within(10**400) is not None  # as inf
        assert limiter.reserve_within(-5) is None  # no wait at all allowed: not booked
        assert limiter.reserve_within(-(10**400)) is None  # as -5
        with pytest.raises(ValueError, match="nan"):
            limiter.reserve_within(math.nan)


class _CountingBucket(TokenBucket):
    """A token bucket that counts the slots it booked."""

    booked = 0

    def reserve_within(self, seconds: float) -> float | None:
        wait = super().reserve_within(seconds)
        self.booked += wait is not None
        return wait

    def reserve(self) -> float:
        self.booked += 1
        return super().reserve()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_retry_due_at_the_deadline_books_no_slot(kind: str) -> None:
    # A 503's Retry-After ends exactly at wait_for_final's deadline: the retry is not sent,
    # and it booked a slot all the same (the deadline's time left was taken as 0, and a
    # slot free within 0 s was booked before the deadline was found passed).
    clock = FakeClock()
    bucket = _CountingBucket(rate=1.0, burst=1, clock=clock.monotonic)

    async def async_sleep(seconds: float) -> None:
        clock.sleep(seconds)

    with Sandbox("roycetalk", clock=clock).serve() as sandbox:
        sandbox.add_message("m1", statuses=("pending", "delivered"))
        sandbox.inject_fault("server_error", status=503, retry_after="10", times=1)

        def wait() -> None:
            if kind == "sync":
                with sandbox.connect(rate_limiter=bucket, sleep=clock.sleep) as client:
                    client.wait_for_final("m1", timeout=10)
                return

            async def main() -> None:
                async with sandbox.connect_async(rate_limiter=bucket, sleep=async_sleep) as client:
                    await client.wait_for_final("m1", timeout=10)

            asyncio.run(main())

        # The retry found no time: the call ends with what the one attempt sent met.
        with pytest.raises(ServerError, match="503"):
            wait()
        assert (len(sandbox.requests), bucket.booked) == (1, 1)


def test_a_slot_exactly_at_the_deadline_is_not_booked_nor_slept_for() -> None:
    # It was booked (a wait equal to the time left passed), slept for, and then nothing
    # was sent: the deadline had come.
    clock = FakeClock()
    bucket = _CountingBucket(rate=0.2, burst=1, clock=clock.monotonic)  # a slot every 5 s
    with Sandbox("roycetalk", clock=clock).serve() as sandbox:
        sandbox.add_message("m1", statuses=("pending",))
        with sandbox.connect(rate_limiter=bucket, sleep=clock.sleep) as client:
            client.get_status("m1")  # the slot at t=0; the next is at t=5
            with pytest.raises(TransportError, match=r"no slot of the rate budget|no time left"):
                client.wait_for_final("m1", timeout=5)
    assert (len(sandbox.requests), bucket.booked) == (1, 1)


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), 0.0])
def test_a_token_bucket_without_a_finite_rate_is_refused(rate: float) -> None:
    # nan passed `rate <= 0` and never made anyone wait: no budget at all.
    with pytest.raises(ValueError, match="finite"):
        TokenBucket(rate=rate)


def test_a_limiter_that_cannot_book_fails_the_attempt_naming_the_limiter() -> None:
    # Its error (a shared budget's Redis down, say) read as the provider's own failure.
    class Down:
        def reserve(self) -> float:
            raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    def never(_request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may go out without a slot")

    client = sms_status.connect(
        "lisoloo",
        api_key="sk_test_x",
        transport=httpx.MockTransport(never),
        rate_limiter=Down(),  # type: ignore[arg-type]
        max_retries=0,
    )
    with client, pytest.raises(TransportError, match="rate limiter could not book") as caught:
        client.get_status("m-1")
    assert "redis:6379" in str(caught.value)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_one_look_waits_for_its_slot_no_longer_than_the_clients_timeout(kind: str) -> None:
    # wait_for_final(timeout=0) is one look within the client's timeout; its slot was booked
    # however far away: with the budget taken for 100 s, it slept 100 s.
    clock = FakeClock()
    with Sandbox("roycetalk", clock=clock).serve() as sandbox:
        sandbox.add_message("m1", statuses=("pending",))
        bucket = TokenBucket(rate=0.01, burst=1, clock=clock.monotonic)  # a request every 100 s
        bucket.reserve()  # the budget's slot at t=0, taken elsewhere

        def look_once() -> None:
            if kind == "sync":
                with sandbox.connect(rate_limiter=bucket, timeout=10) as client:
                    client.wait_for_final("m1", timeout=0)
                return

            async def main() -> None:
                async with sandbox.connect_async(rate_limiter=bucket, timeout=10) as client:
                    await client.wait_for_final("m1", timeout=0)

            asyncio.run(main())

        start = clock.now()
        with pytest.raises(TransportError, match=r"no slot of the rate budget|no time left"):
            look_once()
        assert clock.now() - start <= 10
        assert sandbox.requests == []
