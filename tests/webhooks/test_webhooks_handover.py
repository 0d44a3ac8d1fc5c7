"""The hand-over of sync `on_report` calls to worker threads (`webhooks._handover`): calls
awaited on a loop in one turn share one worker, and none is lost or left waiting when that
turn never comes (a loop closed first), when one receiver is awaited from several loops, or
when no thread can be started."""

from __future__ import annotations

import asyncio
import concurrent.futures.thread
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sms_status.webhooks._handover import ThreadHandOver


def recorder() -> tuple[list[str], ThreadHandOver]:
    calls: list[str] = []
    lock = threading.Lock()

    def call(item: object) -> str:
        with lock:
            calls.append(str(item))
        return f"done {item}"

    return calls, ThreadHandOver(call)


def test_each_awaited_call_gets_its_own_answer() -> None:
    calls, hand_over = recorder()

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(hand_over(loop, n) for n in range(100)))

    assert asyncio.run(main()) == [f"done {n}" for n in range(100)]
    assert sorted(calls) == sorted(str(n) for n in range(100))


def test_calls_awaited_in_one_turn_of_the_loop_share_one_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The watcher's helpers for calls that waited (a worker descheduled on a loaded machine
    # looks the same) are another test's: here no call may look stale.
    monkeypatch.setattr("sms_status.webhooks._handover.STALE", 60.0)
    threads: set[int] = set()
    hand_over = ThreadHandOver(lambda item: threads.add(threading.get_ident()))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(hand_over(loop, n) for n in range(10)))  # fewer than a batch

    asyncio.run(main())
    assert len(threads) == 1  # one thread hop for the turn, not one each


def test_calls_of_one_burst_that_wait_on_each_other_run_at_once() -> None:
    # A sync on_report making network calls: the calls of a burst run on threads of their
    # own (here each returns only once all four run), not one after another in one worker.
    together = threading.Barrier(4, timeout=10)

    def call(item: object) -> object:
        together.wait()
        return item

    hand_over = ThreadHandOver(call)

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(hand_over(loop, n) for n in range(4)))

    assert asyncio.run(main()) == [0, 1, 2, 3]


def hanging(release: threading.Event) -> Any:
    """A call that, for "hang", returns only once `release` is set (a network call with no
    timeout); any other item at once."""

    def call(item: object) -> object:
        if item == "hang":
            assert release.wait(30), "the test never released the hung call"
        return item

    return call


@pytest.mark.parametrize("hung_first", [True, False], ids=["hung first", "hung second"])
def test_a_hung_call_holds_up_no_other_delivery_of_its_burst(hung_first: bool) -> None:
    # The others are called on another worker; one called before it by the same worker is
    # answered without waiting for it.
    release = threading.Event()
    hand_over = ThreadHandOver(hanging(release))
    items = ["hang", 1, 2] if hung_first else [1, "hang", 2]

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        answers = [hand_over(loop, item) for item in items]
        others = [answer for item, answer in zip(items, answers, strict=True) if item != "hang"]
        try:
            return await asyncio.wait_for(asyncio.gather(*others), 10)
        finally:
            release.set()
            await asyncio.gather(*answers)

    assert asyncio.run(main()) == [1, 2]
    assert hand_over.wait_idle(10)


def test_an_awaited_call_fails_when_the_worker_meant_for_it_cannot_start() -> None:
    # The watcher reserved one more worker (for a delivery behind a slow call) whose start
    # then fails, after the loop's next hand-over saw that worker as about to take it and
    # started none: the call fails (the receiver answers 500), it does not wait for ever.
    release_slow = threading.Event()
    watcher_submitting, go = threading.Event(), threading.Event()
    first_worker_done = threading.Event()

    def call(item: object) -> object:
        if item == "slow":
            assert release_slow.wait(10)
        return item

    class RefusingSecondStart(ThreadPoolExecutor):
        submits = 0

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            RefusingSecondStart.submits += 1
            if RefusingSecondStart.submits == 2:  # the watcher's, for the one behind "slow"
                watcher_submitting.set()
                assert go.wait(10)
                raise RuntimeError("can't start new thread")
            return super().submit(fn, *args, **kwargs)

    hand_over = ThreadHandOver(call)
    hand_over._executor = RefusingSecondStart(4)
    work = hand_over._work

    def traced_work(ticket: Any) -> None:
        work(ticket)
        first_worker_done.set()

    hand_over._work = traced_work  # type: ignore[method-assign]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        slow, queued = hand_over(loop, "slow"), hand_over(loop, "queued")
        assert await asyncio.to_thread(watcher_submitting.wait, 10)
        release_slow.set()
        assert await asyncio.gather(slow, queued) == ["slow", "queued"]
        assert await asyncio.to_thread(first_worker_done.wait, 10)
        late = hand_over(loop, "late")
        for _ in range(10):  # its hand-over's turn of the loop: no worker started for it
            await asyncio.sleep(0)
        go.set()  # the reserved worker's start fails
        with pytest.raises(RuntimeError, match="can't start new thread"):
            await asyncio.wait_for(late, 10)

    try:
        asyncio.run(main())
    finally:
        go.set()
        release_slow.set()
        hand_over._executor.shutdown()


def test_an_awaited_call_fails_when_no_worker_thread_can_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, hand_over = recorder()
    # As once the interpreter is exiting: every executor refuses new work.
    monkeypatch.setattr(concurrent.futures.thread, "_shutdown", True)

    async def call(item: str) -> object:
        return await asyncio.wait_for(hand_over(asyncio.get_running_loop(), item), 10)

    with pytest.raises(RuntimeError, match="shutdown"):  # the receiver answers 500
        asyncio.run(call("refused"))
    # A posted one (its 2xx already sent): logged, not raised into the server after it.
    hand_over.post("posted", None)
    assert "no worker thread could start; 1 posted report(s) wait" in caplog.text
    assert not hand_over.wait_idle(0.05)  # the posted one waits for a thread: False, no raise
    monkeypatch.undo()
    assert asyncio.run(call("later")) == "done later"
    assert hand_over.wait_idle(10)  # the posted one ran with it


def test_one_failed_thread_start_stops_no_later_call(monkeypatch: pytest.MonkeyPatch) -> None:
    busy, release = threading.Event(), threading.Event()

    def call(item: object) -> object:
        if item == "slow":
            busy.set()
            assert release.wait(10)
        return item

    hand_over = ThreadHandOver(call)
    hand_over.post("slow", None)  # the executor's one thread, busy
    assert busy.wait(10)
    real_start = threading.Thread.start

    def refuse(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(concurrent.futures.thread.threading.Thread, "start", refuse)
    hand_over.post("second", None)  # logged; queued by the executor all the same
    monkeypatch.setattr(concurrent.futures.thread.threading.Thread, "start", real_start)
    release.set()  # the busy thread is free: it runs the queued start, which must not count
    assert hand_over.wait_idle(10)

    async def later() -> object:
        return await asyncio.wait_for(hand_over(asyncio.get_running_loop(), "later"), 10)

    assert asyncio.run(later()) == "later"


def test_a_call_on_a_loop_closed_before_its_turn_still_runs_and_holds_up_no_other() -> None:
    calls, hand_over = recorder()
    stranded = asyncio.new_event_loop()
    abandoned = hand_over(stranded, "stranded")  # its worker was due on the next turn
    stranded.close()  # which never comes

    async def later() -> object:
        return await hand_over(asyncio.get_running_loop(), "later")

    assert asyncio.run(asyncio.wait_for(later(), 10)) == "done later"  # not held up
    assert hand_over.wait_idle(10)
    assert sorted(calls) == ["later", "stranded"]  # the stranded call ran too
    assert not abandoned.done()  # its loop is gone: nobody to answer


def test_drain_runs_a_call_whose_loop_closed_before_its_turn() -> None:
    calls, hand_over = recorder()
    stranded = asyncio.new_event_loop()
    hand_over(stranded, "stranded")
    stranded.close()
    assert hand_over.wait_idle(10)
    assert calls == ["stranded"]


def test_calls_awaited_from_several_loops_at_once_are_each_answered_on_their_own() -> None:
    calls, hand_over = recorder()
    answers: dict[int, list[object]] = {}

    def serve(loop_number: int) -> None:
        async def main() -> list[object]:
            loop = asyncio.get_running_loop()
            items = [f"{loop_number}-{n}" for n in range(50)]
            return await asyncio.wait_for(
                asyncio.gather(*(hand_over(loop, item) for item in items)), 30
            )

        answers[loop_number] = asyncio.run(main())

    threads = [threading.Thread(target=serve, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    assert {n: len(a) for n, a in answers.items()} == {n: 50 for n in range(8)}
    for n, answered in answers.items():
        assert answered == [f"done {n}-{k}" for k in range(50)]
    assert len(calls) == 400


def test_a_returned_coroutine_whose_loop_closed_before_it_ran_is_a_failure_not_a_wait() -> None:
    # The server's loop ended (asyncio.run's last steps) after the coroutine's start was
    # queued on it: nothing will ever run it, so it is a failed report, and waiting for
    # the hand-over to be idle must not last until the timeout, every time.
    ran: list[str] = []
    failures: list[object] = []

    async def report(item: str) -> None:
        ran.append(item)

    hand_over = ThreadHandOver(report, on_failure=lambda item, exc: failures.append(item))
    loop = asyncio.new_event_loop()
    queued = threading.Event()
    call_soon_threadsafe = loop.call_soon_threadsafe

    def noting(*args: Any, **kwargs: Any) -> asyncio.Handle:
        handle = call_soon_threadsafe(*args, **kwargs)
        queued.set()  # the coroutine's start is queued on the loop
        return handle

    loop.call_soon_threadsafe = noting  # type: ignore[method-assign]
    hand_over.post("posted", loop)
    assert queued.wait(10)
    loop.close()  # before its next turn: the coroutine never runs
    assert hand_over.wait_idle(10)
    assert (ran, failures) == ([], ["posted"])
    assert hand_over.wait_idle(0)  # and idle from then on
