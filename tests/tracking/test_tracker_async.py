"""The asyncio twin: the same contract through `AsyncTracker`, with coroutine callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sms_status import errors, tracking
from sms_status.report import DeliveryState, StatusReport
from sms_status.testing import FakeClock, Sandbox
from tracking_support import delivered


def test_async_tracker_settles_by_push_and_poll_and_awaits_on_final(
    telecom23_sandbox: Sandbox, seven_sandbox: Sandbox, sandbox_clock: FakeClock, store_path: Path
) -> None:
    telecom23_sandbox.add_message("t-1", statuses=("pending", "DELIVRD"))
    telecom23_sandbox.add_message("t-2", statuses=("pending", "sent"))
    sevens = [str(77232007100 + n) for n in range(120)]
    for message_id in sevens:
        seven_sandbox.add_message(message_id, statuses=("DELIVERED",))
    got: list[tracking.Outcome] = []

    async def on_final(outcome: tracking.Outcome) -> None:
        await asyncio.sleep(0)
        got.append(outcome)

    async def main() -> tracking.Counts:
        async with (
            telecom23_sandbox.connect_async() as t23,
            seven_sandbox.connect_async(lookup="status") as seven,
            tracking.AsyncTracker(
                store_path,
                on_final=on_final,
                clients={"telecom23": t23, "seven": seven},
                clock=sandbox_clock.now,
                sleep=sandbox_clock.async_sleep,
            ) as tracker,
        ):
            assert await tracker.add("telecom23", "t-1")
            assert await tracker.add("telecom23", "t-2", deadline=60)
            assert await tracker.add_many("seven", sevens) == 120
            pushed = StatusReport(
                provider="telecom23",
                message_id="t-2",
                state=DeliveryState.UNDELIVERED,
                is_final=True,
                provider_status="UNDELIV",
            )
            assert await tracker.ingest(pushed)
            await tracker.run()
            tracked = await tracker.get("telecom23", "t-1")
            assert tracked is not None
            assert tracked.state is DeliveryState.DELIVERED
            return await tracker.counts()

    counts = asyncio.run(main())
    assert counts.settled == 122
    assert counts.by_reason == {"final": 122}
    by_key = {o.key: o for o in got}
    assert len(got) == 122
    assert by_key["telecom23:t-2"].source == "push"
    assert by_key["telecom23:t-2"].polls == 0
    assert by_key["telecom23:t-1"].polls == 2
    assert [len(r.query_params["msg_id"][0].split(",")) for r in seven_sandbox.requests] == [
        100,
        20,
    ]


def test_async_tracker_retries_a_raising_coroutine_and_raises_a_refused_key(
    telecom23_sandbox: Sandbox, sandbox_clock: FakeClock, store_path: Path
) -> None:
    telecom23_sandbox.add_message("m", statuses=("DELIVRD",))
    deliveries: list[int] = []

    async def flaky(outcome: tracking.Outcome) -> None:
        deliveries.append(outcome.delivery)
        if outcome.delivery < 3:
            raise RuntimeError("not yet")

    async def main() -> None:
        async with (
            telecom23_sandbox.connect_async() as client,
            tracking.AsyncTracker(
                store_path,
                on_final=flaky,
                clients={"telecom23": client},
                clock=sandbox_clock.now,
                sleep=sandbox_clock.async_sleep,
            ) as tracker,
        ):
            await tracker.add("telecom23", "m")
            await tracker.run()
            telecom23_sandbox.api_key = "sk_test_rotated"  # the client's key is refused now
            await tracker.add("telecom23", "later")
            with pytest.raises(errors.AuthenticationError):
                await tracker.run()
            assert (await tracker.counts()).in_flight == 1

    asyncio.run(main())
    assert deliveries == [1, 2, 3]


def test_stop_ends_a_run_that_waits_for_work(store_path: Path) -> None:
    async def main() -> None:
        async with tracking.AsyncTracker(store_path, on_final=print) as tracker:
            running = asyncio.ensure_future(tracker.run(until_idle=False))
            await asyncio.sleep(0)
            tracker.stop()
            await asyncio.wait_for(running, timeout=30)

    asyncio.run(main())


def test_a_provider_at_its_rate_limit_rests_a_second_not_longer_and_longer(
    telecom23_sandbox: Sandbox, sandbox_clock: FakeClock, store_path: Path
) -> None:
    # An async poll makes many lookups at once: a provider answering 10 of them and 429ing
    # the rest (a token bucket, no Retry-After) counted as a 429 "in a row" each round, so
    # its rests doubled to 15 minutes: 100 ids took hours instead of seconds.
    ids = [f"bucket-{n}" for n in range(100)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))

    async def main() -> float:
        async with telecom23_sandbox.connect_async(max_retries=0) as client:
            looks = client.get_statuses

            async def ten_a_round(message_ids: list[str]) -> list[StatusReport]:
                over = len(message_ids) - 10
                if over > 0:
                    telecom23_sandbox.inject_fault("rate_limit", retry_after=None, times=over)
                try:
                    return await looks(message_ids)
                finally:
                    telecom23_sandbox.clear_faults()

            client.get_statuses = ten_a_round  # type: ignore[method-assign]
            async with tracking.AsyncTracker(
                store_path,
                on_final=print,
                clients={"telecom23": client},
                clock=sandbox_clock.now,
                sleep=sandbox_clock.async_sleep,
            ) as tracker:
                started = sandbox_clock.now()
                await tracker.add_many("telecom23", ids)
                await tracker.run()
                assert (await tracker.counts()).settled == len(ids)
                return sandbox_clock.now() - started

    assert asyncio.run(main()) < 60


def test_a_stop_before_run_begins_ends_that_run(store_path: Path) -> None:
    # It was cleared when run() began: a shutdown asked for during start-up was lost.
    async def main() -> None:
        async with tracking.AsyncTracker(store_path, on_final=print) as tracker:
            tracker.stop()
            await asyncio.wait_for(tracker.run(until_idle=False), timeout=30)
            await tracker.add("telecom23", "m1")
            await tracker.ingest(delivered("m1"))
            await asyncio.wait_for(tracker.run(), timeout=30)  # the stop was spent
            assert (await tracker.counts()).settled == 1

    asyncio.run(main())


def test_cancelling_run_mid_store_step_raises_cancelled_and_closes_after_the_step(
    store_path: Path,
) -> None:
    """A service shutting down cancels `run()` while a store step runs in its thread: the
    flow is closed only once that step ended (a generator cannot be closed mid-step), so
    CancelledError comes out and the finished hand-over's end is written."""
    in_step, release = threading.Event(), threading.Event()
    overlapped: list[bool] = []
    stepping = threading.Event()
    got: list[tracking.Outcome] = []

    async def on_final(outcome: tracking.Outcome) -> None:
        got.append(outcome)

    class Watched:
        """The engine's flow, noting whether it is closed while a step runs in it."""

        def __init__(self, flow: Any) -> None:
            self.flow = flow

        def send(self, value: object) -> Any:
            stepping.set()
            try:
                return self.flow.send(value)
            finally:
                stepping.clear()

        def throw(self, error: BaseException) -> Any:
            return self.flow.throw(error)

        def close(self) -> None:
            overlapped.append(stepping.is_set())
            release.set()  # a close mid-step: let the step go on, as it would
            self.flow.close()

    async def main() -> None:
        async with tracking.AsyncTracker(store_path, on_final=on_final) as tracker:
            store, engine = await _two_hand_overs_due(tracker)
            real_apply, real_run = store.apply, engine.run
            calls = 0

            def apply(changes: Any) -> Any:
                nonlocal calls
                calls += 1
                if calls == 2:  # a's end and b's start: held until run() is cancelled
                    in_step.set()
                    release.wait(10)
                return real_apply(changes)

            store.apply = apply  # type: ignore[method-assign]
            engine.run = lambda **kw: Watched(real_run(**kw))  # type: ignore[method-assign]
            task = asyncio.create_task(tracker.run())
            await asyncio.to_thread(in_step.wait, 10)
            await _cancel_into_its_close(task)
            release.set()
            with pytest.raises(asyncio.CancelledError):
                await task
            store.apply, engine.run = real_apply, real_run  # type: ignore[method-assign]
            assert overlapped == [False]
            await tracker.run()  # b, whose hand-over had started, comes again; a does not

    asyncio.run(main())
    assert [o.key for o in got] == ["telecom23:a", "telecom23:b"]
    assert got[0].delivery == 1


def test_a_run_cancelled_twice_ends_only_after_its_step_and_the_flows_close(
    store_path: Path,
) -> None:
    """A shutdown that cancels `run()` again while it closes (a second Ctrl-C, a timeout
    around the first cancel) must not end it while its store step and the flow's close still
    run on its thread: a caller would start another run, or close the store, under them."""
    in_step, release = threading.Event(), threading.Event()
    closed = threading.Event()
    ended_after_close: list[bool] = []

    async def main() -> None:
        async with tracking.AsyncTracker(store_path, on_final=print) as tracker:
            store, engine = await _two_hand_overs_due(tracker)
            real_apply, real_run = store.apply, engine.run

            def apply(changes: Any) -> Any:
                if not in_step.is_set():
                    in_step.set()
                    release.wait(10)
                return real_apply(changes)

            class Closing:
                def __init__(self, flow: Any) -> None:
                    self.flow = flow

                def send(self, value: object) -> Any:
                    return self.flow.send(value)

                def throw(self, error: BaseException) -> Any:
                    return self.flow.throw(error)

                def close(self) -> None:
                    self.flow.close()
                    closed.set()

            store.apply = apply  # type: ignore[method-assign]
            engine.run = lambda **kw: Closing(real_run(**kw))  # type: ignore[method-assign]
            task = asyncio.create_task(tracker.run())
            task.add_done_callback(lambda _: ended_after_close.append(closed.is_set()))
            await asyncio.to_thread(in_step.wait, 10)
            await _cancel_into_its_close(task)
            task.cancel()  # the second cancel, while the step still holds the thread
            for _ in range(100):
                await asyncio.sleep(0)
            assert not task.done(), "run() ended while its step still ran"
            release.set()
            with pytest.raises(asyncio.CancelledError):
                await task
            store.apply, engine.run = real_apply, real_run  # type: ignore[method-assign]

    asyncio.run(main())
    assert ended_after_close == [True]


def test_a_run_cancelled_as_on_final_returns_never_hands_that_outcome_over_again(
    store_path: Path,
) -> None:
    # The step recording the hand-over's end was queued for the run's thread when the cancel
    # came, and was dropped with it: the next run handed the outcome over again, delivery 2.
    deliveries: dict[str, list[int]] = {}
    running: list[asyncio.Task[None]] = []

    async def on_final(outcome: tracking.Outcome) -> None:
        deliveries.setdefault(outcome.key, []).append(outcome.delivery)
        running[-1].cancel()  # a shutdown landing as the callback returns

    async def main() -> None:
        async with tracking.AsyncTracker(store_path, on_final=on_final) as tracker:
            for n in range(30):
                message_id = f"api_{n}"
                await tracker.add("telecom23", message_id)
                await tracker.ingest(delivered(message_id))
                running.append(asyncio.create_task(tracker.run()))
                with pytest.raises(asyncio.CancelledError):
                    await running[-1]
            running.append(asyncio.create_task(tracker.run()))  # hands over what is left
            await running[-1]

    asyncio.run(main())
    assert deliveries == {f"telecom23:api_{n}": [1] for n in range(30)}


def test_a_runs_store_steps_see_the_callers_context_variables(store_path: Path) -> None:
    # As `asyncio.to_thread` runs a call: a request id set by the caller reaches the
    # tracker's log lines and the user's clock, which run in those steps.
    request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("rid", default=None)
    seen: set[str | None] = set()

    def clock() -> float:
        seen.add(request_id.get())
        return time.time()

    async def main() -> None:
        request_id.set("req-42")
        async with tracking.AsyncTracker(store_path, on_final=print, clock=clock) as tracker:
            await tracker.add("telecom23", "api_1")
            await tracker.ingest(delivered("api_1"))
            seen.clear()
            await tracker.run()

    asyncio.run(main())
    assert seen == {"req-42"}


def _awaiting(task: asyncio.Task[Any]) -> list[str]:
    """The coroutines `task` is suspended in, outermost first (`Task.get_stack` shows only
    the outermost frame of a suspended coroutine)."""
    names: list[str] = []
    coroutine: Any = task.get_coro()
    while coroutine is not None and getattr(coroutine, "cr_frame", None) is not None:
        names.append(coroutine.cr_frame.f_code.co_name)
        coroutine = coroutine.cr_await
    return names


async def _two_hand_overs_due(tracker: tracking.AsyncTracker) -> tuple[Any, Any]:
    """a and b tracked and pushed final: two hand-overs due. The store and the engine."""
    await tracker.add_many("telecom23", ["a", "b"])
    await tracker.ingest_many([delivered("a"), delivered("b")])
    return tracker._store, tracker._engine


async def _cancel_into_its_close(task: asyncio.Task[None]) -> None:
    """Cancel a `run()` and wait, turn by turn of the loop, until it left its steps for the
    flow's close."""
    task.cancel()
    for _ in range(100):
        if "_steps" not in _awaiting(task):
            break
        await asyncio.sleep(0)


def test_a_run_cancelled_mid_round_keeps_the_answers_it_had(
    telecom23_sandbox: Sandbox, sandbox_clock: FakeClock, store_path: Path
) -> None:
    # The round's answers were kept in memory until its last lookup: a run cancelled on a
    # slow id threw away every final status it had read (polled again by the next run).
    ids = [f"m{n}" for n in range(40)]  # two lookups of 32 ids at once: the second stalls
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault("stall", message_id="m39", seconds=30, times=None)

    async def main() -> tracking.Counts:
        async with telecom23_sandbox.connect_async(max_retries=0) as client:
            tracker = tracking.AsyncTracker(
                store_path,
                on_final=print,
                clients={"telecom23": client},
                clock=sandbox_clock.now,
                sleep=sandbox_clock.async_sleep,  # their first poll at once
            )
            async with tracker:
                await tracker.add_many("telecom23", ids)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):  # the first 32 answered long before
                        await tracker.run()
                return await tracker.counts()

    counts = asyncio.run(main())
    assert counts.settled >= 32


class _RunLockSeen:
    """A SQLite store whose run lock, once taken (`taken`) and once given back
    (`given_back`), lets a test see it: which thread, whether the loop was free."""

    def __init__(self, path: Path) -> None:
        self._inner = tracking.SqliteStore(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @contextlib.contextmanager
    def running(self) -> Any:
        with self._inner.running():
            self.taken()
            yield
        self.given_back()

    def taken(self) -> None:
        pass

    def given_back(self) -> None:
        pass


def test_the_store_run_lock_is_taken_and_given_back_off_the_event_loop(store_path: Path) -> None:
    # A RedisStore gives its claims back as run() ends, retrying while Redis is away: on
    # the loop's thread, the whole loop (a mounted webhook receiver too) froze meanwhile.
    answered = threading.Event()

    class SlowToGiveBack(_RunLockSeen):
        loop: asyncio.AbstractEventLoop

        def given_back(self) -> None:
            # Only a loop left free runs this callback while the give-back waits for it.
            self.loop.call_soon_threadsafe(answered.set)
            assert answered.wait(30), "the event loop was blocked while the store gave back"

    async def main() -> None:
        store = SlowToGiveBack(store_path)
        store.loop = asyncio.get_running_loop()
        async with tracking.AsyncTracker(store, on_final=print) as tracker:  # type: ignore[arg-type]
            await tracker.run()
        store._inner.close()

    asyncio.run(main())
    assert answered.is_set()


def test_a_closed_tracker_says_so_instead_of_its_stores_errors(store_path: Path) -> None:
    async def main() -> tracking.AsyncTracker:
        tracker = tracking.AsyncTracker(store_path, on_final=print)
        await tracker.aclose()
        for call in (
            tracker.add("telecom23", "m1"),
            tracker.get("telecom23", "m1"),
            tracker.counts(),
            tracker.ingest(delivered("m1")),
        ):
            with pytest.raises(RuntimeError, match="closed"):
                await call
        return tracker

    tracker = asyncio.run(main())
    assert repr(tracker).endswith(", closed)")  # a log line of it raised


def test_closing_a_tracker_when_the_default_executor_is_busy_ends(store_path: Path) -> None:
    # aclose() waits for its run in a default-executor thread, and the run gave its store's
    # run lock back in one too: with every such thread taken by waiting closes (as many
    # trackers closed at once as it has threads), no run could end: a hang.
    from concurrent.futures import ThreadPoolExecutor

    loop = asyncio.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(1))  # one thread: one waiting close fills it
    entered = asyncio.Event()

    class Entered(_RunLockSeen):
        def taken(self) -> None:
            loop.call_soon_threadsafe(entered.set)

    store = Entered(store_path)
    tracker = tracking.AsyncTracker(store, on_final=print)  # type: ignore[arg-type]

    async def main() -> None:
        run = asyncio.create_task(tracker.run(until_idle=False))
        await entered.wait()  # its store's run lock taken
        await tracker.aclose()
        await run

    try:
        loop.run_until_complete(asyncio.wait_for(main(), 30))
    finally:
        with tracker._runs_lock:  # on failure, free the waiting close so the test can end
            tracker._run_owners.clear()
            tracker._runs_lock.notify_all()
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        store._inner.close()


def test_an_on_final_under_way_as_the_tracker_closes_can_still_use_it(store_path: Path) -> None:
    # close() marked the tracker closed at once: an on_final that called get() or add()
    # (tracking a resend, say) raised "closed", and its outcome was handed over again.
    inside, release = threading.Event(), threading.Event()
    seen: list[object] = []

    def on_final(outcome: tracking.Outcome) -> None:
        inside.set()
        assert release.wait(30)
        seen.append(tracker.get(outcome.provider, outcome.message_id))
        seen.append(tracker.add("telecom23", "resend-1"))

    tracker = tracking.Tracker(store_path, on_final=on_final)
    tracker.add("telecom23", "m1")
    tracker.ingest(delivered("m1"))
    runner = threading.Thread(target=lambda: tracker.run(until_idle=False))
    runner.start()
    assert inside.wait(30)
    closing = threading.Thread(target=tracker.close)
    closing.start()
    release.set()
    closing.join(30)
    runner.join(30)
    assert seen[1] is True
    with tracking.Tracker(store_path, on_final=print) as again:
        counts = again.counts()
    assert (counts.awaiting_handover, counts.in_flight) == (0, 1)  # m1 handed over; resend-1


def test_a_round_paced_by_the_budget_sends_every_lookup_and_rests_for_none(
    lisoloo_sandbox: Sandbox, sandbox_clock: FakeClock, tmp_path: Path
) -> None:
    # A round's 32 concurrent lookups book slots well ahead (lisoloo: 2 a second): with a
    # 5 s slot window the later ones failed as BUDGET_HELD, resting the provider and counting
    # polls never sent, with no 429 anywhere. An async round waits for its pacing.
    ids = [f"507f1f77bcf86cd7994390{n:02d}" for n in range(64)]
    for message_id in ids:
        lisoloo_sandbox.add_message(message_id, statuses=("delivered",))

    async def main() -> list[tracking.Outcome]:
        settled: list[tracking.Outcome] = []
        client = lisoloo_sandbox.connect_async(max_retries=0)
        async with tracking.AsyncTracker(
            tmp_path / "t.db",
            on_final=settled.append,
            clients={"lisoloo": client},
            clock=sandbox_clock.now,
            sleep=sandbox_clock.async_sleep,
        ) as tracker:
            for message_id in ids:
                await tracker.add("lisoloo", message_id)
            await tracker.run(until_idle=True)
        await client.aclose()
        return settled

    settled = asyncio.run(main())
    assert sorted(o.message_id for o in settled) == ids
    assert {o.polls for o in settled} == {1}  # one lookup each, each sent
    assert len([r for r in lisoloo_sandbox.requests if r.route == "status"]) == len(ids)
