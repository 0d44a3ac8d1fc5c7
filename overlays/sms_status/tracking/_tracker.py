"""`Tracker`: the engine's effects carried out by blocking (`_async_tracker` awaits them), and
what both trackers share."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Self, TypeAlias, TypeVar, cast

from sms_status import _validation
from sms_status._request import SLOT_WINDOW
from sms_status.tracking import _engine
from sms_status.tracking import _rules as rules
from sms_status.tracking._engine import IDLE_LOOK, Engine, Flow, HandOver, Poll, Wait
from sms_status.tracking._model import Counts, Outcome, Tracked
from sms_status.tracking._sqlite import SqliteStore
from sms_status.tracking._store import Store

if TYPE_CHECKING:
    from sms_status.client import ProviderKey, StatusClient
    from sms_status.report import StatusReport
    from sms_status.webhooks import WebhookEvent

SYNC_POLL_STEP = 1
"""Ids per `get_statuses` call for providers looked up one a request, in the blocking
tracker: the first 429 stops the round, so a 429 storm costs one id's retries."""
SLOT_WAIT = 15.0
"""The longest a poll waits for its slot of the client's rate budget (`SLOT_WINDOW`):
further off (a 429 holds the budget for its Retry-After, up to `retry_after_cap`), its lookup
is not sent and the provider rests instead, so the run goes on meanwhile. Long enough for
the pacing of a budget shared by many workers (16 on lisoloo's: 8.5 s ahead at most)."""


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
if TYPE_CHECKING:
    # Either key type: a dict typed by `ProviderKey` is no `Mapping[str, ...]` (its keys are
    # invariant), and one built from plain strings is no `Mapping[ProviderKey, ...]`.
    Clients: TypeAlias = Mapping[ProviderKey, ClientT] | Mapping[str, ClientT]


class Tracking(Generic[ClientT, SleepT]):
    """What the blocking and the asyncio tracker share: the store, the engine, the clients."""

    def __init__(
        self,
        store: str | os.PathLike[str] | Store,
        *,
        clients: Clients[ClientT] | None,
        connect: Callable[[str], ClientT],
        deadline: float,
        max_interval: float,
        clock: Callable[[], float] | None,
        sleep: SleepT | None,
        webhooks: Iterable[str],
        poll_step: int,
        awaited: bool,
    ) -> None:
        checked = _checked_clients(clients, awaited=awaited)  # before a store is opened
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
        self._clients = checked
        self._connect = connect
        self._owned: list[ClientT] = []
        """The clients this tracker connected itself (it closes them)."""
        self._sleep = sleep
        self._runs = 0
        self._runs_lock = threading.Condition()
        self._run_owners: list[object] = []  # the thread or task of each run() going
        self._closed = False

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
    def _admitted(self) -> Generator[None, None, None]:
        """One `run()`, known before it touches the store (`close()` waits for it; after
        `close()`, refused)."""
        owner = _owner()
        with self._runs_lock:
            if self._closed:
                raise RuntimeError("this tracker is closed")
            self._run_owners.append(owner)
        try:
            yield
        finally:
            with self._runs_lock:
                self._run_owners.remove(owner)
                self._runs_lock.notify_all()

    @contextlib.contextmanager
    def _spending(self) -> Generator[None, None, None]:
        """One `run()` holding the store's run lock, and the stop it spends: cleared by the
        last such run to return (not when one begins: a stop asked for before was lost; nor
        by the first to return: another run, waiting, missed it; nor by a run the store
        refused: it ended nothing)."""
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

    def _stop_runs(self) -> bool:
        """For closing: `stop()` the runs going, if any (then True: wait for them with
        `_runs_ended`). Closing from inside a run (in `on_final`) is refused: the store it
        records into would close under it."""
        with self._runs_lock:
            if _owner() in self._run_owners:
                raise RuntimeError("close() from inside run(): stop() it, close once it returned")
            self._closed = True  # a run() from now on; add() and the rest once runs ended
            if not self._run_owners:
                return False
        self.stop()
        return True

    def _runs_ended(self) -> None:
        with self._runs_lock:
            self._runs_lock.wait_for(lambda: not self._run_owners)

    def __repr__(self) -> str:
        if self._closed:
            return f"{type(self).__name__}(store={self._store!r}, closed)"
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


def _connect(
    provider: str, clock: Callable[[], float] | None, sleep: Callable[[float], None] | None
) -> StatusClient[Any]:
    """A client of the tracker's own (`timing`)."""
    import sms_status

    key = sms_status.provider_key(provider)
    return sms_status.connect(key, max_retries=OWN_CLIENT_RETRIES, **timing(clock, sleep))


def timing(clock: object, sleep: object) -> dict[str, Any]:
    """The options of a client the tracker connects itself: its clock and sleep when given
    (a FakeClock's), so the client's rate budget and its holds keep the tracker's time."""
    given = {"clock": clock, "sleep": sleep}
    return {name: value for name, value in given.items() if value is not None}


class Tracker(Tracking["StatusClient[Any]", Callable[[float], None]]):
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
        clients: Mapping[ProviderKey, StatusClient[Any]]
        | Mapping[str, StatusClient[Any]]
        | None = None,
        deadline: float = rules.DEFAULT_DEADLINE,
        max_interval: float = rules.DEFAULT_MAX_INTERVAL,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        webhooks: Iterable[str] = (),
    ) -> None:
        if not callable(on_final):
            raise TypeError("on_final must be callable")
        if _validation.is_coroutine_function(on_final):
            raise TypeError("on_final is a coroutine function: use tracking.AsyncTracker")
        super().__init__(
            store,
            clients=clients,
            connect=functools.partial(_connect, clock=clock, sleep=sleep),
            deadline=deadline,
            max_interval=max_interval,
            clock=clock,
            sleep=sleep,
            webhooks=webhooks,
            poll_step=SYNC_POLL_STEP,
            awaited=False,
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
        with self._admitted(), self._store.running(), self._spending():
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
                    client = self._client(effect.provider)
                    window = SLOT_WINDOW.set(SLOT_WAIT)
                    try:
                        result = client.get_statuses(effect.message_ids)
                    finally:
                        SLOT_WINDOW.reset(window)
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
        """Close the clients this tracker connected, and the store it opened from a path. A
        `run()` going in another thread is stopped first, and waited for (an `on_final`
        under way returns, and is recorded, before the store closes); a `run()` called
        after (or starting as) it closes raises RuntimeError."""
        if self._stop_runs():
            self._runs_ended()  # an on_final under way may still add() or get()
        self._engine.closed = True
        for client in self._owned:
            client.close()
        self._owned.clear()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _checked_clients(clients: Clients[ClientT] | None, *, awaited: bool) -> dict[str, ClientT]:
    """`clients`, each the provider's own and of the tracker's kind: one of another provider
    polled none of its ids (each ended at its deadline), an async one in a `Tracker` raised
    "'coroutine' object is not iterable" from `run()`."""
    checked: dict[str, ClientT] = {}
    # dict(): pairs are taken too, and anything else is dict()'s TypeError or ValueError.
    for key, client in dict(cast("Mapping[str, ClientT]", clients or {})).items():
        if getattr(client, "provider", None) != key:
            raise ValueError(f"clients[{key!r}] is not a {key!r} client: {client!r}")
        if inspect.iscoroutinefunction(getattr(client, "get_statuses", None)) != awaited:
            kind = "an AsyncStatusClient (connect_async)" if awaited else "a client of connect()"
            raise TypeError(f"clients[{key!r}] must be {kind} for this tracker")
        checked[key] = client
    return checked


def _owner() -> object:
    """What runs a `run()`: its asyncio task, or its thread."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        task = None
    return task or threading.get_ident()


def _call(on_final: Callable[[Outcome], object], outcome: Outcome) -> BaseException | None:
    try:
        result = on_final(outcome)
    except Exception as exc:  # logged and handed over again, never dropped
        return exc
    if inspect.isawaitable(result):  # a partial of a coroutine function, say: never run
        if inspect.iscoroutine(result):
            result.close()
        return TypeError(
            "on_final returned an awaitable, which a Tracker never awaits: "
            "use tracking.AsyncTracker"
        )
    return None
