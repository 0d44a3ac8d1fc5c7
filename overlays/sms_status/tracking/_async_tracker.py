"""`AsyncTracker`: the engine's effects carried out by awaiting them (`Tracker` blocks)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Self

from sms_status.tracking import _rules as rules
from sms_status.tracking._engine import IDLE_LOOK, Effect, Flow, HandOver, Poll, Wait
from sms_status.tracking._model import Counts, Outcome, Tracked
from sms_status.tracking._store import Store
from sms_status.tracking._tracker import OWN_CLIENT_RETRIES, Tracking, timing

if TYPE_CHECKING:
    from sms_status.client import AsyncStatusClient
    from sms_status.report import StatusReport
    from sms_status.tracking._tracker import Clients
    from sms_status.webhooks import WebhookEvent

ASYNC_POLL_STEP = 32
"""Ids per `get_statuses` call for providers looked up one a request (`SYNC_POLL_STEP` in
`_tracker`): the asyncio client looks up `concurrency` ids at once."""


def _connect_async(
    provider: str,
    clock: Callable[[], float] | None,
    sleep: Callable[[float], Awaitable[None]] | None,
) -> AsyncStatusClient[Any]:
    """`Tracker`'s own client (`_tracker._connect`), async."""
    import sms_status

    key = sms_status.provider_key(provider)
    return sms_status.connect_async(key, max_retries=OWN_CLIENT_RETRIES, **timing(clock, sleep))


class AsyncTracker(Tracking["AsyncStatusClient[Any]", Callable[[float], Awaitable[None]]]):
    """The asyncio twin of `Tracker`: `async with`, `await tracker.add(...)`, `await
    tracker.run()`; `on_final` may be a coroutine function. Store work runs in a worker
    thread, so a busy store never blocks the event loop."""

    def __init__(
        self,
        store: str | os.PathLike[str] | Store,
        *,
        on_final: Callable[[Outcome], Awaitable[object] | object],
        clients: Clients[AsyncStatusClient[Any]] | None = None,
        deadline: float = rules.DEFAULT_DEADLINE,
        max_interval: float = rules.DEFAULT_MAX_INTERVAL,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        webhooks: Iterable[str] = (),
    ) -> None:
        if not callable(on_final):
            raise TypeError("on_final must be callable")
        super().__init__(
            store,
            clients=clients,
            connect=functools.partial(_connect_async, clock=clock, sleep=sleep),
            deadline=deadline,
            max_interval=max_interval,
            clock=clock,
            sleep=sleep,
            webhooks=webhooks,
            poll_step=ASYNC_POLL_STEP,
            awaited=True,
        )
        self._on_final = on_final

    async def add(
        self,
        provider: str,
        message_id: str,
        *,
        tag: str | None = None,
        deadline: float | None = None,
    ) -> bool:
        new = await asyncio.to_thread(
            self._engine.add, provider, [message_id], tag=tag, deadline=deadline
        )
        return new == 1

    async def add_many(
        self,
        provider: str,
        message_ids: Iterable[str],
        *,
        tag: str | None = None,
        deadline: float | None = None,
    ) -> int:
        return await asyncio.to_thread(
            self._engine.add, provider, message_ids, tag=tag, deadline=deadline
        )

    async def ingest(self, event: WebhookEvent | StatusReport) -> bool:
        return await asyncio.to_thread(self._engine.ingest, event)

    async def ingest_many(self, events: Iterable[WebhookEvent | StatusReport]) -> list[bool]:
        return await asyncio.to_thread(self._engine.ingest_many, list(events))

    async def run(self, *, until_idle: bool = True) -> None:
        with self._admitted():
            # The store's run lock is taken and given back off the loop too: a RedisStore
            # gives its claims back then, retrying while Redis is away (the loop froze).
            loop = asyncio.get_running_loop()
            store_run = self._store.running()
            # A thread of its own: the default executor's may all be busy, closing trackers
            # that wait for runs like this one to end (it would never get one).
            own = ThreadPoolExecutor(1, thread_name_prefix="sms-status-run-lock")
            entered = loop.run_in_executor(own, store_run.__enter__)
            try:
                await _to_the_end(entered)  # a cancel meanwhile: raised once it is taken
                with self._spending():
                    await self._drive(self._engine.run(until_idle=until_idle))
            except BaseException as exc:
                if entered.done() and entered.exception() is None:  # taken: given back
                    given_back = functools.partial(
                        store_run.__exit__, type(exc), exc, exc.__traceback__
                    )
                    if await _to_the_end(loop.run_in_executor(own, given_back)):
                        return
                raise
            else:
                await _to_the_end(loop.run_in_executor(own, store_run.__exit__, None, None, None))
            finally:
                own.shutdown(wait=False)

    async def _drive(self, flow: Flow) -> None:
        # The flow's store work runs off the loop, on one thread, step after step, and a
        # step handed to it always runs: a run cancelled meanwhile closes the flow after it
        # (a generator cannot be closed while it runs). A step queued but dropped would
        # lose what it records: the end of a hand-over whose on_final returned, say, which
        # would then be handed over again.
        pool = ThreadPoolExecutor(1, thread_name_prefix="sms-status-tracker")
        loop = asyncio.get_running_loop()

        def queued(call: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
            # In a copy of the caller's context, as `asyncio.to_thread` runs a call.
            context = contextvars.copy_context()
            done = loop.run_in_executor(pool, functools.partial(context.run, call, *args))
            done.add_done_callback(_retrieved)  # its outcome is not awaited once cancelled
            return done

        def in_turn(call: Callable[..., Any], *args: Any) -> Awaitable[Any]:
            return asyncio.shield(queued(call, *args))  # a cancel leaves the step to run

        try:
            await self._steps(flow, in_turn)
        finally:
            try:
                # Its pending store writes, after any step queued; awaited to the end even
                # through another cancel, so the run never ends while they still write.
                await _to_the_end(queued(flow.close))
            finally:
                pool.shutdown(wait=False)

    async def _steps(self, flow: Flow, in_turn: Callable[..., Awaitable[Any]]) -> None:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = await in_turn(_step, flow, result, error)
            except _FlowDone:
                return
            result, error = None, None
            try:
                if isinstance(effect, Poll):
                    # No `SLOT_WINDOW`: a round's concurrent lookups book slots well ahead
                    # (32 on lisoloo's 2 a second: 16 s), so the round waits in the limiter,
                    # a 429's hold too, as it waits for its pacing.
                    client = self._client(effect.provider)
                    result = await client.get_statuses(effect.message_ids)
                elif isinstance(effect, HandOver):
                    result = await _call_async(self._on_final, effect.outcome)
                else:
                    await self._wait(effect)
            except Exception as exc:  # thrown into the flow, which decides
                error = exc

    async def _wait(self, wait: Wait) -> None:
        if self._sleep is not None:
            if self._engine.woken.is_set():  # see Tracker._wait
                self._engine.woken.clear()
                return
            await self._sleep(wait.seconds)
            return
        await asyncio.to_thread(self._engine.woken.wait, min(wait.seconds, IDLE_LOOK))
        self._engine.woken.clear()

    async def get(self, provider: str, message_id: str) -> Tracked | None:
        return await asyncio.to_thread(self._engine.get, provider, message_id)

    async def counts(self) -> Counts:
        return await asyncio.to_thread(self._engine.counts)

    async def aclose(self) -> None:
        """As `Tracker.close`: a `run()` going (another task's) is stopped and waited for."""
        if self._stop_runs():
            await asyncio.to_thread(self._runs_ended)
        self._engine.closed = True
        for client in self._owned:
            await client.aclose()
        self._owned.clear()
        if self._owns_store:
            self._store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _to_the_end(done: asyncio.Future[Any]) -> Any:
    """What `done` gives, awaited until it ends whatever cancels arrive meanwhile; a cancel
    that arrived is raised after it."""
    cancelled: asyncio.CancelledError | None = None
    while not done.done():
        try:
            await asyncio.wait((done,))  # never cancels what it waits for
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        raise cancelled
    return done.result()


class _FlowDone(Exception):
    """The flow returned (StopIteration cannot cross a thread's future)."""


def _retrieved(done: asyncio.Future[Any]) -> None:
    """Its exception taken, so a step nobody awaited any more is not logged as unretrieved
    (a run cancelled meanwhile ends as cancelled; the flow's close follows the step)."""
    if not done.cancelled():
        done.exception()


def _step(flow: Flow, result: object, error: BaseException | None) -> Effect:
    try:
        return flow.send(result) if error is None else flow.throw(error)
    except StopIteration:
        raise _FlowDone from None


async def _call_async(
    on_final: Callable[[Outcome], Awaitable[object] | object], outcome: Outcome
) -> BaseException | None:
    try:
        result = on_final(outcome)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:  # logged and handed over again, never dropped
        return exc
    return None
