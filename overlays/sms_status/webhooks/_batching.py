"""`on_reports`: the deliveries verified in one turn of the event loop, handed over as one list.

A sync `on_report` called once per delivery costs what its own work costs, once per
delivery: for `Tracker.ingest`, a store transaction (a commit is most of an ingest's CPU)
and, with a receiver's worker threads calling it at once, the GIL changing hands on every
one. `on_reports(events)` gets every delivery verified in the same turn of the loop (up to
`MAX_BATCH`), so a store writes them in one transaction and one thread hop carries them
all. Each delivery still waits for its own batch: "after_report" answers 2xx once the call
that held it returned (500 for every delivery of a batch whose call raised).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_status.webhooks._parse import WebhookEvent

MAX_BATCH = 256
"""Deliveries per call at most: a store transaction of a few hundred rows stays short."""

Call = Callable[[list["WebhookEvent"]], Awaitable[object]]
"""How one batch is carried out on the loop (the receiver's: a thread hop, or an await)."""


class Batcher:
    """`await batcher.report(event)` returns once the batch holding `event` was reported
    (or raises what that call raised). Batches of one turn run at once, not one after the
    other: a slow `on_reports` holds up only its own deliveries."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._waiting: list[tuple[WebhookEvent, asyncio.Future[None]]] = []
        self._flush_scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    def report(self, event: WebhookEvent) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((event, done))
        if not self._flush_scheduled:
            # After the deliveries already scheduled in this turn have joined the batch.
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return done

    def _flush(self) -> None:
        self._flush_scheduled = False
        waiting, self._waiting = self._waiting, []
        for start in range(0, len(waiting), MAX_BATCH):
            task = asyncio.ensure_future(self._run(waiting[start : start + MAX_BATCH]))
            self._running.add(task)  # held until done: the loop keeps only a weak reference
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[WebhookEvent, asyncio.Future[None]]]) -> None:
        try:
            await self._call([event for event, _ in batch])
        except BaseException as exc:
            for _, done in batch:
                if done.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    done.cancel()
                elif isinstance(exc, StopIteration):  # a Future refuses it
                    done.set_exception(RuntimeError(f"on_reports raised {exc!r}"))
                else:
                    done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def wait_idle(self) -> None:
        """Until every batch handed over so far was reported (a lifespan shutdown)."""
        while self._running or self._waiting:
            await asyncio.gather(*self._running, return_exceptions=True)
            await asyncio.sleep(0)  # a flush still scheduled runs
