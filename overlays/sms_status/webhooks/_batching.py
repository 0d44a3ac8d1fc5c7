"""`on_reports`: the deliveries verified in one turn of the event loop, handed over as one list.

A sync `on_report` called once per delivery costs what its own work costs, once per
delivery: for `Tracker.ingest`, a store transaction (a commit is most of an ingest's CPU)
and, with a receiver's worker threads calling it at once, the GIL changing hands on every
one. `on_reports(events)` gets every delivery verified in the same turn of the loop (up to
`MAX_BATCH`), so a store writes them in one transaction and one thread hop carries them
all. Each delivery still waits for its own batch: "after_report" answers 2xx once the call
that held it returned (500 for every delivery of a batch whose call raised).

A receiver may serve from several loops at once (a test client runs one per request): each
loop gathers and settles only its own deliveries.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_status.webhooks._parse import WebhookEvent

MAX_BATCH = 256
"""Deliveries per call at most: a store transaction of a few hundred rows stays short."""

Call = Callable[[list["WebhookEvent"]], Awaitable[object]]
"""How one batch is carried out on the loop (the receiver's: a thread hop, or an await)."""

_Waiting = list[tuple["WebhookEvent", "asyncio.Future[None]"]]


class _Turns:
    """One loop's deliveries waiting for the next batch, and its batches running."""

    __slots__ = ("flush_scheduled", "running", "waiting")

    def __init__(self) -> None:
        self.waiting: _Waiting = []
        self.flush_scheduled = False
        self.running: set[asyncio.Task[None]] = set()

    def idle(self) -> bool:
        return not (self.waiting or self.flush_scheduled or self.running)


class Batcher:
    """`await batcher.report(event)` returns once the batch holding `event` was reported
    (or raises what that call raised). Batches of one turn run at once, not one after the
    other: a slow `on_reports` holds up only its own deliveries."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._lock = threading.Lock()  # over `_loops`: loops in other threads add and drop
        self._loops: dict[asyncio.AbstractEventLoop, _Turns] = {}  # only while not idle

    def report(self, event: WebhookEvent) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._lock:
            turns = self._loops.get(loop)
            if turns is None:
                turns = self._loops[loop] = _Turns()
        # From here on only this loop's thread touches `turns`.
        turns.waiting.append((event, done))
        if not turns.flush_scheduled:
            # After the deliveries already scheduled in this turn have joined the batch.
            turns.flush_scheduled = True
            loop.call_soon(self._flush, loop, turns)
        return done

    def _flush(self, loop: asyncio.AbstractEventLoop, turns: _Turns) -> None:
        turns.flush_scheduled = False
        waiting, turns.waiting = turns.waiting, []
        for start in range(0, len(waiting), MAX_BATCH):
            task = loop.create_task(self._run(waiting[start : start + MAX_BATCH]))
            turns.running.add(task)  # held until done: the loop keeps only a weak reference
            task.add_done_callback(functools.partial(self._finished, loop, turns))

    def _finished(
        self, loop: asyncio.AbstractEventLoop, turns: _Turns, task: asyncio.Task[None]
    ) -> None:
        turns.running.discard(task)
        if turns.idle():
            with self._lock:
                if self._loops.get(loop) is turns:
                    del self._loops[loop]

    async def _run(self, batch: _Waiting) -> None:
        try:
            await self._call([event for event, _ in batch])
        except asyncio.CancelledError:
            for _, done in batch:
                done.cancel()
            raise
        except BaseException as exc:
            # Each delivery's failure, as a sync `on_report`'s is (SystemExit included): a
            # detached task re-raising it would stop the loop, and with it the server.
            failure = exc
            if isinstance(exc, StopIteration) or not isinstance(exc, Exception):
                failure = RuntimeError(f"on_reports raised {exc!r}")  # a Future refuses them
                failure.__cause__ = exc
            for _, done in batch:
                if not done.done():
                    done.set_exception(failure)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def wait_idle(self, timeout: float) -> bool:
        """Until every batch this loop gathered so far was reported (a lifespan shutdown);
        False if some were still running after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self._lock:
                turns = self._loops.get(loop)
            if turns is None or turns.idle():
                return True
            if not turns.running:
                await asyncio.sleep(0)  # its flush is scheduled: let it start the batches
                continue
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.wait(set(turns.running), timeout=left)
