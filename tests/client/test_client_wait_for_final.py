"""Polling: each provider's cadence, stopping on a final status, on_update per change, the
timeout (never slept past) and its default cap, Retry-After and transient failures — and the
async variant, which must not block the event loop."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Sequence

import httpx
import pytest
from client_support import (
    PROVIDERS,
    FakeClock,
    Recorder,
    connect,
    connect_async,
    json_response,
    seed_for,
)
from sms_status import StatusReport
from sms_status._flows import LAST_LOOK_RESERVE
from sms_status.errors import NotFoundError, RateLimitError, ServerError

MESSAGE_ID = "77232007287"
FINAL = {
    "telecom23": "DELIVRD",
    "namirial": "DELIVERED",
    "roycetalk": "delivered",
    "lisoloo": "delivered",
    "seven": "DELIVERED",
}
NOT_FINAL = {
    "telecom23": ("pending", "sent"),
    "namirial": ("PROVIDER_ACCEPTANCE", "SENT"),
    "roycetalk": ("pending", "sent"),
    "lisoloo": ("pending", "enroute"),
    "seven": ("ACCEPTED", "TRANSMITTED"),
}
# Intervals between polls (the last repeats) and the default cap, per provider.
CADENCE = {
    "telecom23": ((3.0, 4.0, 5.0), 180.0),
    "roycetalk": ((5.0, 10.0, 30.0, 60.0), 300.0),
    "lisoloo": ((2.0,), 5.0),
    "namirial": ((2.0, 4.0, 8.0, 15.0, 30.0), 300.0),
    "seven": ((5.0, 10.0, 30.0, 60.0), 300.0),
}

Step = str | int  # a raw status to report, or an HTTP status to fail with


def _script(provider: str, steps: Sequence[Step]) -> Recorder:
    """A server answering successive polls from `steps`; the last step repeats."""
    replies: Iterator[Step] = itertools.chain(steps, itertools.repeat(steps[-1]))

    def handler(_request: httpx.Request) -> httpx.Response:
        step = next(replies)
        if isinstance(step, int):
            return httpx.Response(step)
        return json_response(seed_for(provider, MESSAGE_ID, step))

    return Recorder(handler)


def _expected_sleeps(provider: str, timeout: float) -> list[float]:
    intervals, _ = CADENCE[provider]
    waits = itertools.chain(intervals, itertools.repeat(intervals[-1]))
    sleeps: list[float] = []
    elapsed = 0.0
    for wait in waits:
        left = timeout - elapsed
        if wait > left:  # one last look, LAST_LOOK_RESERVE before the deadline, if room
            last = left - LAST_LOOK_RESERVE  # and no sooner than the shortest interval
            return sleeps + ([last] if last >= min(intervals) else [])
        sleeps.append(wait)
        elapsed += wait
    raise AssertionError("unreachable")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_polling_stops_on_a_final_status_and_returns_it(provider: str, clock: FakeClock) -> None:
    pending, sent = NOT_FINAL[provider]
    server = _script(provider, [pending, sent, FINAL[provider]])
    with connect(provider, server, clock) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=600)
    assert report.is_final
    assert report.provider_status == FINAL[provider]
    assert len(server.requests) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_message_already_final_is_polled_once(provider: str, clock: FakeClock) -> None:
    server = _script(provider, [FINAL[provider]])
    with connect(provider, server, clock) as client:
        assert client.wait_for_final(MESSAGE_ID).is_final
    assert len(server.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_on_update_is_called_once_per_change_not_per_poll(provider: str, clock: FakeClock) -> None:
    pending, sent = NOT_FINAL[provider]
    server = _script(provider, [pending, pending, sent, sent, sent, FINAL[provider]])
    updates: list[StatusReport] = []
    with connect(provider, server, clock) as client:
        client.wait_for_final(MESSAGE_ID, timeout=600, on_update=updates.append)
    assert [u.provider_status for u in updates] == [pending, sent, FINAL[provider]]
    assert len(server.requests) == 6


@pytest.mark.parametrize(
    ("provider", "timeout"),
    [("telecom23", 30.0), ("roycetalk", 200.0), ("namirial", 100.0), ("seven", 200.0)],
)
def test_polls_follow_the_provider_cadence(provider: str, timeout: float, clock: FakeClock) -> None:
    server = _script(provider, [NOT_FINAL[provider][0]])
    with connect(provider, server, clock) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=timeout)
    assert not report.is_final
    assert clock.sleeps == pytest.approx(_expected_sleeps(provider, timeout))
    assert len(server.requests) == len(clock.sleeps) + 1


def test_telecom23_polls_every_3_to_5_seconds(clock: FakeClock) -> None:
    server = _script("telecom23", ["sent"])
    with connect("telecom23", server, clock) as client:
        client.wait_for_final(MESSAGE_ID, timeout=30)
    # The next 5 s would pass the deadline at 27 s; a last look at 29 s would come 2 s after
    # the one at 27 s, sooner than the documented 3 s: none.
    assert clock.sleeps == pytest.approx([3.0, 4.0, 5.0, 5.0, 5.0, 5.0])


def test_roycetalk_backs_off_5_10_30_60_seconds(clock: FakeClock) -> None:
    server = _script("roycetalk", ["sent"])
    with connect("roycetalk", server, clock) as client:
        client.wait_for_final(MESSAGE_ID, timeout=200)
    assert clock.sleeps == pytest.approx([5.0, 10.0, 30.0, 60.0, 60.0, 34.0])


def test_the_whole_timeout_is_used_with_a_last_look_before_the_deadline(
    clock: FakeClock,
) -> None:
    # roycetalk waits 5, then 10 s: with timeout=12 the third look would come at 15 s. It
    # comes at 11 s instead and sees the message delivered (it stopped at 5 s before).
    server = _script("roycetalk", ["pending", "sent", "delivered"])
    with connect("roycetalk", server, clock) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=12)
    assert report.is_final
    assert clock.sleeps == pytest.approx([5.0, 12.0 - 5.0 - LAST_LOOK_RESERVE])
    assert clock.elapsed <= 12


def test_a_last_look_never_comes_sooner_than_the_shortest_documented_interval(
    clock: FakeClock,
) -> None:
    # roycetalk waits 5, then 10 s: with timeout=6.01 a last look "1 s before the deadline"
    # came 0.01 s after the one at 5 s.
    server = _script("roycetalk", ["pending"])
    with connect("roycetalk", server, clock) as client:
        client.wait_for_final(MESSAGE_ID, timeout=6.01)
    assert clock.sleeps == pytest.approx([5.0])
    assert len(server.requests) == 2


def test_a_last_look_a_whole_shortest_interval_after_the_one_before_survives_latency(
    clock: FakeClock,
) -> None:
    # telecom23 waits 3, 4, 5 s: with timeout=11 the looks are at 0, 3, 7 and 10 s. Each
    # answer took a few milliseconds, and the last look was measured from the answer, not
    # the look: 10 - 7.005 < 3, so `watch --timeout 11` stopped at 7 s (a new user's run).
    answers = _script("telecom23", ["pending"])

    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += 0.005  # the round trip
        return answers.handler(request)

    server = Recorder(slow)
    with connect("telecom23", server, clock) as client:
        client.wait_for_final(MESSAGE_ID, timeout=11)
    assert len(server.requests) == 4
    assert clock.elapsed <= 11


def test_a_failed_look_that_took_its_interval_waits_its_interval_from_the_answer(
    clock: FakeClock,
) -> None:
    # Timed look to look, a 503 that took 4 s was followed by the next request at once:
    # a struggling server got requests back to back.
    def slow_503(_request: httpx.Request) -> httpx.Response:
        clock.now += 4.0
        return httpx.Response(503)

    server = Recorder(slow_503)
    with connect("telecom23", server, clock, max_retries=0) as client, pytest.raises(ServerError):
        client.wait_for_final(MESSAGE_ID, timeout=30)
    assert min(clock.sleeps[:-1]) >= 3.0, clock.sleeps  # the last may be the last look


def test_a_look_answered_after_its_interval_waits_its_interval_from_the_answer(
    clock: FakeClock,
) -> None:
    # A 503, then the client's own retry answered: the look counted as answered, and the
    # next went out the moment it returned (16 requests in 30 s, the cadence's 8).
    replies = itertools.cycle(
        [httpx.Response(503), json_response(seed_for("telecom23", MESSAGE_ID, "sent"))]
    )

    def slow(_request: httpx.Request) -> httpx.Response:
        clock.now += 1.5
        return next(replies)

    server = Recorder(slow, clock)
    with connect("telecom23", server, clock) as client:
        client.wait_for_final(MESSAGE_ID, timeout=30)
    # Each look: a 503 then its retry's answer, 1.5 s later; the next look's first request.
    answered = [t + 1.5 for t in server.times[1::2]]
    pauses = [nxt - end for end, nxt in zip(answered, server.times[2::2], strict=False)]
    assert min(pauses[:-1]) >= 3.0, pauses  # the last may be the last look
    assert len(server.requests) <= 10  # the cadence's 8 looks, and their retries' answers


def test_a_retry_after_past_the_last_look_ends_the_wait(clock: FakeClock) -> None:
    # A Retry-After shorter than the interval but past the deadline's last look was
    # overridden by that look (telecom23, timeout=11: a 429 at 7 s asking for 4.5 s, and
    # the next request went out at 10 s).
    replies = iter([json_response(seed_for("telecom23", MESSAGE_ID, "sent"))] * 2)

    def answer(_request: httpx.Request) -> httpx.Response:
        return next(replies, httpx.Response(429, headers={"Retry-After": "4.5"}))

    server = Recorder(answer)
    with connect("telecom23", server, clock, max_retries=0) as client:
        client.wait_for_final(MESSAGE_ID, timeout=11)
    assert len(server.requests) == 3
    assert clock.elapsed <= 11


def test_timeout_zero_looks_once_without_retrying_into_a_long_retry_after(
    clock: FakeClock,
) -> None:
    # "Look once": it retried a 429's Retry-After (60 s) twice, returning after 120 s.
    server = _rate_limited_then("roycetalk", "60", "delivered")
    with (
        connect("roycetalk", server, clock) as client,
        pytest.raises(RateLimitError),
    ):
        client.wait_for_final(MESSAGE_ID, timeout=0)
    assert clock.elapsed == 0
    assert len(server.requests) == 1


def test_lisoloo_polls_three_times_two_seconds_apart_by_default(clock: FakeClock) -> None:
    server = _script("lisoloo", ["pending"])
    with connect("lisoloo", server, clock) as client:
        report = client.wait_for_final(MESSAGE_ID)
    assert not report.is_final
    assert len(server.requests) == 3
    assert clock.sleeps == [2.0, 2.0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_default_cap_applies_when_no_timeout_is_given(provider: str, clock: FakeClock) -> None:
    server = _script(provider, [NOT_FINAL[provider][1]])
    with connect(provider, server, clock) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=None)
    _, cap = CADENCE[provider]
    assert not report.is_final
    assert report.provider_status == NOT_FINAL[provider][1]
    assert clock.elapsed <= cap
    assert clock.sleeps == pytest.approx(_expected_sleeps(provider, cap))


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("timeout", [0.0, 1.0, 2.9, 3.0, 10.0, 59.5, 61.0])
def test_timeout_returns_the_last_report_and_is_never_slept_past(
    provider: str, timeout: float, clock: FakeClock
) -> None:
    pending, sent = NOT_FINAL[provider]
    server = _script(provider, [pending, pending, sent])
    with connect(provider, server, clock) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=timeout)
    assert report.is_final is False
    assert report.provider_status == (sent if len(server.requests) >= 3 else pending)
    assert sum(clock.sleeps) <= timeout
    assert clock.elapsed <= timeout


def test_negative_timeout_is_refused(clock: FakeClock) -> None:
    server = _script("telecom23", ["sent"])
    with connect("telecom23", server, clock) as client, pytest.raises(ValueError, match="timeout"):
        client.wait_for_final(MESSAGE_ID, timeout=-1)
    assert server.requests == []


@pytest.mark.parametrize(
    "timeout", [pytest.param(10**400, id="10**400"), float("nan"), float("inf")]
)
def test_a_timeout_no_float_can_hold_is_refused_like_any_bad_one(
    clock: FakeClock, timeout: float
) -> None:
    server = _script("telecom23", ["sent"])
    with connect("telecom23", server, clock) as client, pytest.raises(ValueError, match="timeout"):
        client.wait_for_final(MESSAGE_ID, timeout=timeout)
    assert server.requests == []


def _rate_limited_then(provider: str, retry_after: str, then: str) -> Recorder:
    calls = {"n": 0}

    def handler(_request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": retry_after})
        return json_response(seed_for(provider, MESSAGE_ID, then))

    return Recorder(handler)


@pytest.mark.parametrize("max_retries", [0, 2])
def test_retry_after_longer_than_the_interval_is_honoured(
    max_retries: int, clock: FakeClock
) -> None:
    server = _rate_limited_then("telecom23", "20", "DELIVRD")
    server.clock = clock
    with connect("telecom23", server, clock, max_retries=max_retries) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=120)
    assert report.is_final
    first, second = server.times
    assert second - first >= 20.0
    assert clock.sleeps == [20.0]


def test_retry_after_beyond_the_deadline_ends_the_wait_without_oversleeping(
    clock: FakeClock,
) -> None:
    calls = {"n": 0}

    def handler(_request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return json_response(seed_for("telecom23", MESSAGE_ID, "sent"))
        return httpx.Response(429, headers={"Retry-After": "50"})

    with connect("telecom23", handler, clock) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=30)
    assert report.provider_status == "sent"
    assert not report.is_final
    assert clock.elapsed <= 30


@pytest.mark.parametrize("provider", PROVIDERS)
def test_transient_server_errors_keep_polling(provider: str, clock: FakeClock) -> None:
    pending, _ = NOT_FINAL[provider]
    steps: list[Step] = [pending, 503, 503, 503, 503, 502, 500, FINAL[provider]]
    server = _script(provider, steps)
    with connect(provider, server, clock) as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=600)
    assert report.is_final
    assert len(server.requests) == len(steps)


def test_connection_errors_keep_polling(clock: FakeClock) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= 4:
            raise httpx.ConnectError("down", request=request)
        return json_response(seed_for("roycetalk", MESSAGE_ID, "delivered"))

    with connect("roycetalk", handler, clock) as client:
        assert client.wait_for_final(MESSAGE_ID, timeout=300).is_final


def test_only_failures_until_the_deadline_raise_the_last_error(clock: FakeClock) -> None:
    server = _script("telecom23", [503])
    with connect("telecom23", server, clock) as client, pytest.raises(ServerError):
        client.wait_for_final(MESSAGE_ID, timeout=20)
    assert clock.elapsed <= 20
    assert len(server.requests) > 3  # it kept polling, retries included


def test_an_unknown_id_stops_polling_at_once(clock: FakeClock) -> None:
    server = _script("roycetalk", [404])
    with connect("roycetalk", server, clock) as client, pytest.raises(NotFoundError):
        client.wait_for_final(MESSAGE_ID, timeout=300)
    assert len(server.requests) == 1


# The async variant.


@pytest.mark.parametrize("provider", PROVIDERS)
def test_async_polling_matches_the_sync_one(provider: str) -> None:
    pending, sent = NOT_FINAL[provider]
    steps: list[Step] = [pending, pending, 503, sent, sent, FINAL[provider]]

    sync_clock = FakeClock()
    sync_updates: list[StatusReport] = []
    with connect(provider, _script(provider, steps), sync_clock, max_retries=0) as client:
        expected = client.wait_for_final(MESSAGE_ID, timeout=600, on_update=sync_updates.append)

    async_clock = FakeClock()
    async_updates: list[StatusReport] = []
    server = _script(provider, steps)

    async def handler(request: httpx.Request) -> httpx.Response:
        return server(request)

    async def main() -> StatusReport:
        async with connect_async(provider, handler, async_clock, max_retries=0) as client:
            report: StatusReport = await client.wait_for_final(
                MESSAGE_ID, timeout=600, on_update=async_updates.append
            )
            return report

    report = asyncio.run(main())
    assert report == expected
    assert async_updates == sync_updates
    assert async_clock.sleeps == sync_clock.sleeps


def test_async_timeout_returns_the_last_report_without_oversleeping() -> None:
    clock = FakeClock()
    server = _script("telecom23", ["sent"])

    async def handler(request: httpx.Request) -> httpx.Response:
        return server(request)

    async def main() -> StatusReport:
        async with connect_async("telecom23", handler, clock) as client:
            report: StatusReport = await client.wait_for_final(MESSAGE_ID, timeout=45)
            return report

    report = asyncio.run(main())
    assert not report.is_final
    assert clock.elapsed <= 45
    assert clock.sleeps == _expected_sleeps("telecom23", 45)


def test_async_polling_does_not_block_the_event_loop() -> None:
    clock = FakeClock()
    server = _script("roycetalk", ["pending", "sent", "sent", "delivered"])
    ticks = {"n": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        return server(request)

    async def counter(stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticks["n"] += 1
            await asyncio.sleep(0)

    async def main() -> StatusReport:
        stop = asyncio.Event()
        ticker = asyncio.create_task(counter(stop))
        async with connect_async("roycetalk", handler, clock) as client:
            report: StatusReport = await client.wait_for_final(MESSAGE_ID, timeout=300)
        stop.set()
        await ticker
        return report

    report = asyncio.run(main())
    assert report.is_final
    assert clock.sleeps == [5.0, 10.0, 30.0]
    assert ticks["n"] >= len(clock.sleeps)  # the other task ran while polling waited


def test_async_polls_with_real_sleep_let_other_tasks_run() -> None:
    server = _script("telecom23", ["pending", "sent", "DELIVRD"])
    ticks = {"n": 0}
    real_sleeps: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        return server(request)

    async def short_sleep(seconds: float) -> None:
        real_sleeps.append(seconds)
        await asyncio.sleep(seconds / 1000)  # the cadence, a thousand times faster

    async def counter() -> None:
        while True:
            ticks["n"] += 1
            await asyncio.sleep(0.0005)

    async def main() -> StatusReport:
        ticker = asyncio.create_task(counter())
        try:
            async with connect_async(
                "telecom23", handler, sleep=short_sleep, rate_limiter=None
            ) as client:
                report: StatusReport = await client.wait_for_final(MESSAGE_ID, timeout=60)
                return report
        finally:
            ticker.cancel()

    report = asyncio.run(main())
    assert report.is_final
    assert real_sleeps == [3.0, 4.0]
    assert ticks["n"] >= 3


def test_many_messages_polled_concurrently_in_one_loop() -> None:
    counts: dict[str, int] = {}
    slept: list[float] = []

    async def short_sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(seconds / 1000)  # the cadence, a thousand times faster

    async def handler(request: httpx.Request) -> httpx.Response:
        message_id = request.url.path.rsplit("/", 1)[-1]
        counts[message_id] = counts.get(message_id, 0) + 1
        status = "DELIVRD" if counts[message_id] >= 3 else "sent"
        await asyncio.sleep(0)
        return json_response(seed_for("telecom23", message_id, status))

    async def main() -> list[StatusReport]:
        async with connect_async(
            "telecom23", handler, sleep=short_sleep, rate_limiter=None
        ) as client:
            return list(
                await asyncio.gather(
                    *(client.wait_for_final(f"m{i}", timeout=60) for i in range(20))
                )
            )

    reports = asyncio.run(main())
    assert all(r.is_final for r in reports)
    assert [r.message_id for r in reports] == [f"m{i}" for i in range(20)]
    assert counts == {f"m{i}": 3 for i in range(20)}
    assert sorted(set(slept)) == [3.0, 4.0]  # each task kept its own cadence
