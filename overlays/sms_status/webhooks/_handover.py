"""Handing deliveries to a sync `on_report` in worker threads, many per thread hop.

One hop (`run_in_executor`, or `anyio.to_thread`) per delivery cost more CPU than verifying
it: the submit, the thread's wake-up, the `call_soon_threadsafe` back and the GIL changing
hands each time (about 60 µs of the receiver's 100 per delivery, measured in-process on
uvloop). Here a worker thread takes the deliveries waiting, one after another, and puts
each answer in an outbox that the loop empties with one call back for all those waiting by
then; it keeps taking while there are more. A new worker starts when deliveries wait and
none runs; while workers run, a watcher thread looks every `STALE` seconds and starts more
for deliveries that waited that long (the others are in slow calls: a network call, say,
or one that hangs): one each when no call ended meanwhile, else one. So slow calls run on
up to `WORKER_THREADS` threads at once, as they did one per thread, and hold up no other
delivery's call or answer; calls stay concurrent and unordered, as before.

A call awaited on an asyncio loop (acknowledge="after_report", `on_reports`, a replay
guard's check) waits for that loop's next turn, where one worker is started for the calls
queued in this one, not one for each. When no worker can be started at all (the
interpreter is exiting), those calls fail with the reason instead of waiting.

A delivery nobody waits for (`post`: acknowledge="on_receipt", whose 2xx is already sent)
has no future and no call back at all: under uvicorn that halved what the hop cost the
server per delivery (benchmarks/, section 10b).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias

logger = logging.getLogger("sms_status.webhooks")

WORKER_THREADS = 40
"""Sync `on_report` calls at once per app: anyio's (and so Starlette's) default."""

STALE = 0.01
"""Seconds a delivery may wait while every worker is busy before more start (the watcher
looks this often while workers run). Twice the interpreter's GIL switch interval, so a
loop thread holding the GIL does not make quick calls look slow."""

WATCH_LINGER = 1.0
"""Seconds the watcher stays, with no worker running, before its thread ends."""

STRANDED_LOOK = 0.1
"""Seconds between looks, while waiting idle, for coroutines whose loop has closed."""

_Outcome = tuple["asyncio.Future[object]", BaseException | None, object]
_Queued = tuple[object, "_Answer", float]  # the item, its answer, when it was queued
_OnLoop = tuple[asyncio.AbstractEventLoop, object, "Coroutine[Any, Any, Any]"]
_Answer: TypeAlias = "asyncio.Future[object] | asyncio.AbstractEventLoop | None"


class _Ticket:
    """One worker's start: "queued" until it runs, or "void" if its start failed."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = "queued"


class ThreadHandOver:
    """`await hand_over(loop, x)` runs `call(x)` in a worker thread and gives its result (or
    raises its exception) on `loop`; `hand_over.post(x, loop)` runs it with nobody waiting,
    and hands a failure to `on_failure(x, exc)`."""

    def __init__(
        self,
        call: Callable[[Any], object],
        on_failure: Callable[[Any, BaseException], None] | None = None,
    ) -> None:
        self.call = call
        self._on_failure = on_failure
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        # (item, the future to answer on, when) or, posted, (item, the loop it came from:
        # None under trio, when)
        self._pending: deque[_Queued] = deque()
        # The answers of calls made, by the loop that awaits them, and whether that loop
        # has a call back coming to settle them.
        self._outbox: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        self._watching = False
        self._last_end = 0.0  # when a call last ended (perf_counter; written without lock)
        self._starting = 0  # workers started that have not yet taken anything
        self._running = 0
        # Coroutines posted calls returned, running on their loops: loop, item, coroutine.
        self._on_loop: dict[concurrent.futures.Future[Any], _OnLoop] = {}
        # The loop a `_flush` was last queued on: calls awaited there in this turn need no
        # other (one app may be served by several loops; any flush clears it).
        self._flush_on: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None

    def __call__(self, loop: asyncio.AbstractEventLoop, item: object) -> asyncio.Future[object]:
        future: asyncio.Future[object] = loop.create_future()
        self._put(item, future, loop)
        return future

    def post(self, item: object, loop: asyncio.AbstractEventLoop | None) -> None:
        """`call(item)` in a worker thread, nobody waiting for it: no future, and no call
        back to the loop when it is done (unless `call` returned a coroutine: that is run on
        `loop`, as an awaited `on_report` would have been)."""
        self._put(item, loop, None)  # started at once: a loop busy elsewhere delays nothing

    def waiting(self) -> int:
        """How many calls wait for a worker now (read without the lock: a hint)."""
        return len(self._pending)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every delivery handed over so far was called, and every coroutine a
        posted call returned has ended on its loop (for a shutdown that should not drop
        posted ones: call it off that loop); False if `timeout` passed first. Starts a
        worker for calls whose loop closed before its flush ran."""
        self._flush()
        ends = None if timeout is None else time.monotonic() + timeout
        while True:
            self._fail_stranded()
            with self._idle:
                if self._is_idle():
                    return True
                left = None if ends is None else ends - time.monotonic()
                if left is not None and left <= 0:
                    return False
                if self._on_loop:  # look again soon: their loop may close under them
                    left = STRANDED_LOOK if left is None else min(left, STRANDED_LOOK)
                self._idle.wait(left)

    def _fail_stranded(self) -> None:
        """Coroutines whose loop closed before they ran (its last turn had been taken) will
        never end: each is a failed report, not one still running."""
        with self._lock:
            stranded = [f for f, (loop, _, _) in self._on_loop.items() if loop.is_closed()]
            gone = [self._on_loop.pop(f) for f in stranded if not f.done()]
        for _, item, coroutine in gone:
            coroutine.close()
            self._failed(
                item, RuntimeError("the event loop closed before on_report's coroutine ran")
            )

    def _is_idle(self) -> bool:  # under the lock
        return not self._running and not self._pending and not self._on_loop

    def _put(
        self, item: object, answer: _Answer, awaited_on: asyncio.AbstractEventLoop | None
    ) -> None:
        """Queue `item`: awaited on a loop, its worker starts on that loop's next turn (one
        for the whole turn's calls: under uvicorn, a tenth less of the receiver's CPU with
        acknowledge="after_report"); otherwise at once."""
        queued = time.perf_counter()
        with self._lock:
            self._pending.append((item, answer, queued))
            if awaited_on is not None:
                if self._flush_on is awaited_on and not awaited_on.is_closed():
                    return
                self._flush_on = awaited_on
            start = awaited_on is None and self._reserve()
        if awaited_on is None:
            if start:
                try:
                    self._start()
                except Exception as exc:  # the interpreter is exiting, say: its 2xx is sent
                    logger.warning(
                        "no worker thread could start; %d posted report(s) wait for the next",
                        len(self._pending),
                        exc_info=True,
                    )
                    self._fail_awaited(exc)  # awaited ones (another loop's) do not wait
            return
        try:
            awaited_on.call_soon(self._flush)
        except RuntimeError:  # the loop closed: start one now
            self._flush()

    def _flush(self) -> None:
        """Start a worker for the calls waiting, if none is about to take them. Raises
        nothing: when none can start, the awaited calls fail with the reason."""
        with self._lock:
            self._flush_on = None
            start = bool(self._pending) and self._reserve()
        if not start:
            return
        try:
            self._start()
        except Exception as exc:  # to whoever awaits: `_flush` runs as a loop callback
            self._fail_awaited(exc)

    def _fail_awaited(self, reason: Exception) -> None:
        """No worker could start: unless one is still running (it takes them), every awaited
        call fails with `reason` (the receiver answers 500, so the provider retries); posted
        ones stay for the next worker, as nobody waits for them."""
        failed: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        with self._lock:
            if self._running:
                return
            kept: deque[_Queued] = deque()
            for item, answer, queued in self._pending:
                if isinstance(answer, asyncio.Future):
                    failed.setdefault(answer.get_loop(), []).append((answer, reason, None))
                else:
                    kept.append((item, answer, queued))
            self._pending = kept
            if not kept:
                self._idle.notify_all()
        for loop, outcomes in failed.items():
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody awaits
                loop.call_soon_threadsafe(_settle, outcomes)

    def _reserve(self) -> bool:
        """Under the lock: whether to start a worker: only when none runs (a running one
        takes the next delivery after its call; for those stuck in slow calls, the
        watcher starts more)."""
        if self._running:
            return False
        self._starting += 1
        self._running += 1
        self._idle.notify_all()  # the watcher, lingering, watches again
        return True

    def _start(self) -> None:
        """Start a worker `_reserve` counted; if none can start, uncount it (the pending
        deliveries stay for the next one) and raise."""
        ticket = _Ticket()
        if not self._watching:  # first: whatever follows, no worker runs unwatched
            self._start_watcher()
        try:
            if self._executor is None:
                with self._lock:
                    if self._executor is None:
                        self._executor = ThreadPoolExecutor(
                            WORKER_THREADS, thread_name_prefix="sms_status-webhooks"
                        )
            self._executor.submit(self._work, ticket)
        except BaseException:  # no thread (interpreter exiting, or none to be had)
            with self._lock:
                # `submit` queues the work before it starts a thread: a thread that frees
                # up may run it all the same. Already running, it counts for itself.
                running = ticket.state == "running"
                ticket.state = "void"
                if not running:
                    self._starting -= 1
                    self._running -= 1
                    if self._is_idle():
                        self._idle.notify_all()
            if not running:
                raise

    def _start_watcher(self) -> None:
        with self._lock:
            if self._watching:
                return
            self._watching = True
        try:
            threading.Thread(
                target=self._watch, name="sms_status-webhooks-watch", daemon=True
            ).start()
        except RuntimeError:  # the interpreter is exiting: the workers still run
            with self._lock:
                self._watching = False

    def _work(self, ticket: _Ticket) -> None:
        with self._lock:
            if ticket.state == "void":  # its start failed and was uncounted
                return
            ticket.state = "running"
            self._starting -= 1  # it takes from here on
        while True:
            # One at a time, the others left where another worker can take them; no lock
            # (a deque's popleft is atomic), only to end: a lock per delivery, taken by the
            # loop's thread too, made the two wait on each other.
            try:
                item, answer, _ = self._pending.popleft()
            except IndexError:
                with self._lock:
                    if self._pending:  # one came meanwhile: this worker takes it
                        continue
                    self._running -= 1
                    if self._is_idle():
                        self._idle.notify_all()
                    return
            if not isinstance(answer, asyncio.Future):
                self._call_posted(item, answer)
                self._last_end = time.perf_counter()
                continue
            try:
                outcome: _Outcome = (answer, None, self.call(item))
            except BaseException as exc:
                outcome = (answer, exc, None)
            self._last_end = time.perf_counter()
            self._send_back(outcome)

    def _send_back(self, outcome: _Outcome) -> None:
        """Into the outbox of the loop that awaits it: the first one in asks that loop to
        settle them all (the worker holds the GIL meanwhile, so more join it)."""
        loop = outcome[0].get_loop()
        with self._lock:
            box = self._outbox.get(loop)
            if box is not None:
                if loop.is_closed():  # its call back will never run: nobody awaits these
                    del self._outbox[loop]
                else:
                    box.append(outcome)
                return
            self._outbox[loop] = [outcome]
        try:
            loop.call_soon_threadsafe(self._settle_outbox, loop)
        except RuntimeError:  # the loop closed meanwhile: nobody awaits these
            with self._lock:
                self._outbox.pop(loop, None)

    def _settle_outbox(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            outcomes = self._outbox.pop(loop, [])
        _settle(outcomes)

    def _watch(self) -> None:
        """While workers run, every `STALE` seconds: more workers for deliveries that waited
        that long. Ends after `WATCH_LINGER` seconds with none running."""
        try:
            with self._lock:
                while True:
                    if self._running:
                        self._idle.wait(STALE)
                    elif not self._idle.wait(WATCH_LINGER) and not self._running:
                        # Nothing ran for WATCH_LINGER: no thread kept for it. Said under
                        # the lock, so a worker reserved from now on starts a new watcher.
                        self._watching = False
                        return
                    helpers = self._stale_helpers()
                    if helpers:
                        self._lock.release()
                        try:
                            for _ in range(helpers):
                                self._start_helper()
                        finally:
                            self._lock.acquire()
        except BaseException:  # ended otherwise: the next worker's start brings a new one
            with self._lock:
                self._watching = False
            raise

    def _stale_helpers(self) -> int:
        """Under the lock: how many workers to start beside the busy ones (reserved): one
        for each delivery that waited `STALE` when no call ended for as long (all are in
        slow calls: a burst of them runs at once within `STALE`), else one (calls end, but
        too slowly for the queue)."""
        if not self._running or self._starting:
            return 0
        now = time.perf_counter()
        room = WORKER_THREADS - self._running
        waited = 0
        while waited < room:  # oldest first (by index: workers take without the lock)
            try:
                queued = self._pending[waited][2]
            except IndexError:
                break
            if now - queued <= STALE:
                break
            waited += 1
        helpers = waited if now - self._last_end > STALE else min(waited, 1)
        self._starting += helpers
        self._running += helpers
        return helpers

    def _start_helper(self) -> None:
        try:
            self._start()
        except Exception as exc:  # none to be had: the running ones go on; if none runs,
            self._fail_awaited(exc)  # the awaited calls fail rather than wait for ever

    def _call_posted(self, item: object, loop: asyncio.AbstractEventLoop | None) -> None:
        # Anything raised, SystemExit included, is a failure of this delivery: a worker that
        # died here would stay counted as running, and take nothing more.
        try:
            result = self.call(item)
            if asyncio.iscoroutine(result):  # a sync wrapper of an async function: await it
                self._run_on(loop, item, result)
        except BaseException as exc:
            self._failed(item, exc)

    def _run_on(
        self,
        loop: asyncio.AbstractEventLoop | None,
        item: object,
        coroutine: Coroutine[Any, Any, Any],
    ) -> None:
        if loop is None or loop.is_closed():
            coroutine.close()
            raise RuntimeError("on_report returned a coroutine, and no asyncio loop runs it")
        with self._lock:  # before it can end: `wait_idle` waits for it too
            try:
                done = asyncio.run_coroutine_threadsafe(coroutine, loop)
            except BaseException:  # the loop closed meanwhile
                coroutine.close()
                raise
            self._on_loop[done] = (loop, item, coroutine)

        def check(done: concurrent.futures.Future[Any]) -> None:
            failure = None if done.cancelled() else done.exception()
            if failure is not None:
                self._failed(item, failure)
            with self._lock:
                if self._on_loop.pop(done, None) is not None and self._is_idle():
                    self._idle.notify_all()

        done.add_done_callback(check)

    def _failed(self, item: object, exc: BaseException) -> None:
        if self._on_failure is not None:
            with contextlib.suppress(Exception):  # a failing logger loses no delivery
                self._on_failure(item, exc)


def _settle(outcomes: list[_Outcome]) -> None:
    for future, exc, result in outcomes:
        if future.cancelled():
            continue
        if isinstance(exc, StopIteration):  # a Future refuses it
            future.set_exception(RuntimeError(f"on_report raised {exc!r}"))
        elif exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop this runs on; None under another (trio, through anyio)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def in_thread(hand_over: ThreadHandOver, item: object) -> object:
    """`hand_over`'s call of `item` in a worker thread: under asyncio, many deliveries per
    thread hop; under another loop (trio, through anyio), one each."""
    loop = running_loop()
    if loop is None:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(hand_over.call, item)
    return await hand_over(loop, item)
