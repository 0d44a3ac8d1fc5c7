"""One delivery taken at a time by one receiver (with a replay guard): while an attempt at
it is being taken (its replay key added, its answer sent, and its report made where the
answer waits for it), a copy of it (the provider's retry of a slow attempt) waits for that
attempt's outcome. An attempt that ends unanswered (cancelled) holds its copies back until
its key is forgotten: taken for a replay meanwhile, a copy would be answered 200 and never
reported."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar, cast

import anyio
import anyio.to_thread

T = TypeVar("T")

UNANSWERED = 0
"""The outcome of an attempt that ended without an answer: a copy waiting for it is taken
afresh (its replay key was forgotten, or its report posted: the guard tells which)."""


class Attempt:
    """One attempt at a delivery, as its copies see it: `outcome` is the status it answered
    (or UNANSWERED), set once the attempt and every forget of its key it started are done."""

    __slots__ = ("_end", "_holds", "_lock", "_status", "key", "outcome", "token")

    def __init__(self, key: str, end: Callable[[Attempt], None]) -> None:
        self.key = key
        self.token = ""
        """What this attempt's add or claim wrote in a guard that takes tokens (`_keys`), so
        its forget deletes only that."""
        self.outcome = concurrent.futures.Future[int]()
        self._end = end
        self._holds = 1  # the attempt's own, released when it ends
        self._status = UNANSWERED
        self._lock = threading.Lock()

    def hold(self) -> None:
        """Something still to be done with the key (its add, or its forget, in a thread)."""
        with self._lock:
            self._holds += 1

    def release(self, status: int | None = None) -> None:
        """One hold done (the attempt's own with the status it answered); the last one
        settles `outcome`."""
        with self._lock:
            if status is not None:
                self._status = status
            self._holds -= 1
            if self._holds:
                return
        self._end(self)
        self.outcome.set_result(self._status)


class Attempts:
    """The attempts being taken by one receiver, by replay key."""

    def __init__(self) -> None:
        self._taking: dict[str, Attempt] = {}
        self._lock = threading.Lock()

    def begin(self, key: str) -> tuple[Attempt, bool]:
        """(a new attempt, True), or (the one already being taken, False): wait for its
        `outcome`, then begin again if it was UNANSWERED."""
        mine = Attempt(key, self._end)
        with self._lock:
            first = self._taking.setdefault(key, mine)
        return first, first is mine

    def _end(self, attempt: Attempt) -> None:
        with self._lock:
            if self._taking.get(attempt.key) is attempt:
                del self._taking[attempt.key]


class Remembering:
    """An attempt's replay key to be added in a worker thread while the request may be
    cancelled: cancelled before the add began, it is not made; while it runs, the thread
    forgets the key after it, and the attempt is held until then; after it, the request
    forgets it."""

    __slots__ = ("_added", "_adding", "_cancelled", "_lock", "attempt")

    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt
        self._lock = threading.Lock()
        self._adding = False
        self._added: bool | None = None  # None until the add returned
        self._cancelled = False

    def begin(self) -> bool:
        """In the thread: whether to make the add (not if the request is gone already:
        a thread may start long after, or never, when none can be had)."""
        with self._lock:
            self._adding = not self._cancelled
            return self._adding

    def added(self, added: bool) -> bool:
        """The add returned `added` (False if it failed): whether the request was cancelled
        meanwhile (then the thread forgets a key it added, and releases the attempt)."""
        with self._lock:
            self._added = added
            return self._cancelled

    def cancel(self) -> bool:
        """The request ends unanswered: whether to forget the key now (its add is done, and
        took it). While the add runs, the attempt is held for its thread to release."""
        with self._lock:
            self._cancelled = True
            if self._added is None:
                if self._adding:
                    self.attempt.hold()
                return False
            return self._added


async def settled(future: concurrent.futures.Future[T]) -> T:
    """`future`'s result, set in any thread, awaited on the loop this runs on; a cancelled
    wait leaves `future` as it is (others wait for it too)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # trio, through anyio: a thread of its own waits (its own limiter:
        # copies waiting must not take the threads the attempt they wait for needs)
        return await anyio.to_thread.run_sync(
            future.result, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1)
        )
    woken = loop.create_future()

    def wake(_: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
            loop.call_soon_threadsafe(_set_done, woken)

    future.add_done_callback(wake)
    try:
        await woken
    except BaseException:
        _forget(future, wake)
        raise
    return future.result()


def _forget(future: concurrent.futures.Future[T], callback: Callable[..., object]) -> None:
    """A cancelled wait's callback off `future` (concurrent.futures has no public way): each
    copy cancelled while the attempt it waits for hangs would stay on it until it ends."""
    lock = getattr(future, "_condition", None)
    callbacks: object = getattr(future, "_done_callbacks", None)
    if lock is not None and isinstance(callbacks, list):
        with lock, contextlib.suppress(ValueError):
            cast("list[object]", callbacks).remove(callback)


def _set_done(woken: asyncio.Future[None]) -> None:
    if not woken.done():  # its wait was cancelled
        woken.set_result(None)
