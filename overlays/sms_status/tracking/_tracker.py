"""`Tracker` and `AsyncTracker`: the engine's effects carried out by blocking or by awaiting."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import os
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from sms_status.tracking import _engine
from sms_status.tracking import _rules as rules
from sms_status.tracking._engine import IDLE_LOOK, Effect, Engine, Flow, HandOver, Poll, Wait
from sms_status.tracking._model import Counts, Outcome, Tracked
from sms_status.tracking._sqlite import SqliteStore
from sms_status.tracking._store import Store

if TYPE_CHECKING:
    from sms_status.client import AsyncStatusClient, StatusClient
    from sms_status.report import StatusReport
    from sms_status.webhooks import WebhookEvent

SYNC_POLL_STEP = 1
"""Ids per `get_statuses` call for providers looked up one a request, in the blocking
tracker: the first 429 stops the round, so a 429 storm costs one id's retries."""
ASYNC_POLL_STEP = 32
"""The same for the asyncio tracker, whose client looks up `concurrency` ids at once."""


def _open(store: str | os.PathLike[str] | Store) -> tuple[Store, bool]:
    if isinstance(store, str | os.PathLike):
        return SqliteStore(store), True
    for method in ("insert", "change", "push", "due", "running"):
        if not callable(getattr(store, method, None)):
            raise TypeError(
                "store must be a path (SQLite) or a tracking store "
                f"(SqliteStore, RedisStore), not {type(store).__name__}"
            )
    return store, False


ClientT = TypeVar("ClientT")
SleepT = TypeVar("SleepT")


class _Tracking(Generic[ClientT, SleepT]):
    """What the blocking and the asyncio tracker share: the store, the engine, the clients."""

    def __init__(
        self,
        store: str | os.PathLike[str] | Store,
        *,
        clients: Mapping[str, ClientT] | None,
        connect: Callable[[str], ClientT],
        deadline: float,
        max_interval: float,
        clock: Callable[[], float] | None,
        sleep: SleepT | None,
        webhooks: Iterable[str],
        poll_step: int,
    ) -> None:
        self._store, self._owns_store = _open(store)
        try:
            self._engine = Engine(
                self._store,
                clock=clock or time.time,
                deadline=deadline,
                max_interval=max_interval,
                poll_step=poll_step,
                webhooks=webhooks,
            )
        except BaseException:  # bad settings: the store opened from a path is closed again
            if self._owns_store:
                self._store.close()
            raise
        self._clients: dict[str, ClientT] = dict(clients or {})
        self._connect = connect
        self._owned: list[ClientT] = []
        """The clients this tracker connected itself (it closes them)."""
        self._sleep = sleep
        self._runs = 0
        self._runs_lock = threading.Lock()

    def _client(self, provider: str) -> ClientT:
        """Its failure to connect (no API key set, say) is an `Unpolled`: the run goes on
        with the other providers."""
        client = self._clients.get(provider)
        if client is None:
            try:
                client = self._clients[provider] = self._connect(provider)
            except Exception as exc:
                raise _engine.Unpolled(exc) from exc
            self._owned.append(client)
        return client

    def stop(self) -> None:
        """End every `run()` soon (from any thread or a signal handler); state stays in the
        store. A stop is spent once the runs it ended have returned: asked for while no
        `run()` is going (a shutdown during start-up, before the service's `run()` began),
        or while one ends by raising, it ends the next `run()` at once instead."""
        self._engine.stop()

    @contextlib.contextmanager
    def _running(self) -> Generator[None, None, None]:
        """One `run()`: the store's run lock, and the stop it spends. The flag is cleared by
        the last run going to return (not when one begins: a stop asked for before was lost;
        nor by the first to return: another run, waiting, missed it)."""
        with self._store.running():
            with self._runs_lock:
                self._runs += 1
            returned = False
            try:
                yield
                returned = True
            finally:
                with self._runs_lock:
                    self._runs -= 1
                    if returned and not self._runs:
                        self._engine.stopping.clear()

    def __repr__(self) -> str:
        counts = self._engine.counts()
        return (
            f"{type(self).__name__}(store={self._store!r}, in_flight={counts.in_flight}, "
            f"settled={counts.settled}, awaiting_handover={counts.awaiting_handover})"
        )


# The clients a tracker connects itself make one attempt a lookup: its rules retry a failed
# one soon (`_rules.FAILED_LOOKUP_RETRY`), and a 429's or 503's Retry-After rests the
# provider, where the client's own retries waited out each Retry-After in the middle of the
# round (a sync run() held, hand-overs and other providers waiting, stop() unheard).
OWN_CLIENT_RETRIES = 0


def _connect(provider: str) -> StatusClient[Any]:
    import sms_status

    return sms_status.connect(sms_status.provider_key(provider), max_retries=OWN_CLIENT_RETRIES)


def _connect_async(provider: str) -> AsyncStatusClient[Any]:
    import sms_status

    return sms_status.connect_async(
        sms_status.provider_key(provider), max_retries=OWN_CLIENT_RETRIES
    )


class Tracker(_Tracking["StatusClient[Any]", Callable[[float], None]]):
    """Settle every message you sent — by push, by poll or by its deadline — and hand each
    outcome to `on_final` once (again only after a crash before it returned). See
    docs/tracking.md and the README's "Tracking deliveries".

    `store`: a path (SQLite) or a store object. `clients`: the clients to poll with, by
    provider key (their rate limiters apply); a provider not given is connected from the
    environment on first need, and closed with the tracker. `deadline`: default seconds from
    `add()` to give up. `max_interval`: longest wait between two polls once a provider's
    cadence has run its course (15 minutes). `clock`/`sleep`: epoch seconds and the wait
    between looks (tests pass a FakeClock's; a given `sleep` is not cut short by a push or
    `stop()`, the default one is). `webhooks`: providers whose webhooks reach
    `ingest()`: their ids are polled only as a safety net (`max_interval` apart) from the
    first one on; without it that starts once a push of theirs is seen.
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | Store,
        *,
        on_final: Callable[[Outcome], object],
        clients: Mapping[str, StatusClient[Any]] | None = None,
        deadline: float = rules.DEFAULT_DEADLINE,
        max_interval: float = rules.DEFAULT_MAX_INTERVAL,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        webhooks: Iterable[str] = (),
    ) -> None:
        if not callable(on_final):
            raise TypeError("on_final must be callable")
        if inspect.iscoroutinefunction(on_final):
            raise TypeError("on_final is a coroutine function: use tracking.AsyncTracker")
        super().__init__(
            store,
            clients=clients,
            connect=_connect,
            deadline=deadline,
            max_interval=max_interval,
            clock=clock,
            sleep=sleep,
            webhooks=webhooks,
            poll_step=SYNC_POLL_STEP,
        )
        self._on_final = on_final

    def add(
        self,
        provider: str,
        message_id: str,
        *,
        tag: str | None = None,
        deadline: float | None = None,
    ) -> bool:
        """Track one sent message; True if it is new (adding it again changes nothing)."""
        return self._engine.add(provider, [message_id], tag=tag, deadline=deadline) == 1

    def add_many(
        self,
        provider: str,
        message_ids: Iterable[str],
        *,
        tag: str | None = None,
        deadline: float | None = None,
    ) -> int:
        """Track many sent messages in one transaction; how many were new. Every id is
        checked before any is stored."""
        return self._engine.add(provider, message_ids, tag=tag, deadline=deadline)

    def ingest(self, event: WebhookEvent | StatusReport) -> bool:
        """A pushed report (what `webhooks.parse` returns, or `webhooks.app`'s `on_report`
        hands over): True when it changed the store. Never calls `on_final`; `run()` does.
        A report naming an id `add()` would refuse (a control character, say) is a
        ValueError."""
        return self._engine.ingest(event)

    def ingest_many(self, events: Iterable[WebhookEvent | StatusReport]) -> list[bool]:
        """Many pushed reports in one store transaction (e.g. `webhooks.app(...,
        on_reports=tracker.ingest_many)`): for each, whether it changed the store. Every one
        is checked before any is written."""
        return self._engine.ingest_many(events)

    def run(self, *, until_idle: bool = True) -> None:
        """Poll what is due, settle, hand outcomes to `on_final`. `until_idle`: return once
        nothing is in flight and every outcome was handed over; otherwise run until `stop()`.
        A provider that cannot be polled (a refused key, no API key set, its extra missing)
        raises its error here once the look is done; every id stays tracked."""
        with self._running():
            self._drive(self._engine.run(until_idle=until_idle))

    def _drive(self, flow: Flow) -> None:
        with contextlib.closing(flow):  # its pending store writes run even on Ctrl-C
            self._steps(flow)

    def _steps(self, flow: Flow) -> None:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.send(result) if error is None else flow.throw(error)
            except StopIteration:
                return
            result, error = None, None
            try:
                if isinstance(effect, Poll):
                    result = self._client(effect.provider).get_statuses(effect.message_ids)
                elif isinstance(effect, HandOver):
                    result = _call(self._on_final, effect.outcome)
                else:
                    self._wait(effect)
            except Exception as exc:  # thrown into the flow, which decides
                error = exc

    def _wait(self, wait: Wait) -> None:
        if self._sleep is not None:
            # A given sleep cannot be cut short; at least a push or add since the last look
            # is acted on before it starts.
            if self._engine.woken.is_set():
                self._engine.woken.clear()
                return
            self._sleep(wait.seconds)
            return
        self._engine.woken.wait(min(wait.seconds, IDLE_LOOK))
        self._engine.woken.clear()

    def get(self, provider: str, message_id: str) -> Tracked | None:
        """Where one message stands, or None if it is not tracked."""
        return self._engine.get(provider, message_id)

    def counts(self) -> Counts:
        return self._engine.counts()

    def close(self) -> None:
        """Close the clients this tracker connected, and the store it opened from a path."""
        for client in self._owned:
            client.close()
        self._owned.clear()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _call(on_final: Callable[[Outcome], object], outcome: Outcome) -> BaseException | None:
    try:
        on_final(outcome)
    except Exception as exc:  # logged and handed over again, never dropped
        return exc
    return None


class AsyncTracker(_Tracking["AsyncStatusClient[Any]", Callable[[float], Awaitable[None]]]):
    """The asyncio twin of `Tracker`: `async with`, `await tracker.add(...)`, `await
    tracker.run()`; `on_final` may be a coroutine function. Store work runs in a worker
    thread, so a busy store never blocks the event loop."""

    def __init__(
        self,
        store: str | os.PathLike[str] | Store,
        *,
        on_final: Callable[[Outcome], Awaitable[object] | object],
        clients: Mapping[str, AsyncStatusClient[Any]] | None = None,
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
            connect=_connect_async,
            deadline=deadline,
            max_interval=max_interval,
            clock=clock,
            sleep=sleep,
            webhooks=webhooks,
            poll_step=ASYNC_POLL_STEP,
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
        with self._running():
            await self._drive(self._engine.run(until_idle=until_idle))

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
