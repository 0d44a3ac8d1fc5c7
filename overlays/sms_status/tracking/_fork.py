"""Stores across `os.fork`: a store made before a fork is a store of its own in the child.

An app server that loads the app, then forks its workers (gunicorn's `--preload`), gives
each worker a copy of a store made at import. A copy must not act as the parent: a Redis
worker token shared by two processes lets one give back or renew the other's claims, and
an SQLite connection carried across a fork may corrupt the file (sqlite.org/howtocorrupt,
2.6): a Redis store gets a worker token of its own, an SQLite store refuses every call
(`StoreForkedError`), to be opened again after the fork. Each store registers what its
copy does; that runs in the child, before anything else does.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

_renewals: list[weakref.WeakMethod[Callable[[], None]]] = []
_guards: list[weakref.WeakMethod[Callable[[], threading.RLock]]] = []
_held: dict[int, list[list[threading.RLock]]] = {}
"""The guards each forking thread took, one list per fork under way (a signal handler may
fork within a fork's hooks), released after that fork."""
_locks = [threading.Lock()]
"""Guards the lists above; a list, so the child replaces the lock a parent thread may hold."""


def renew_in_forked_children(
    renew: Callable[[], None], *, guard: Callable[[], threading.RLock] | None = None
) -> None:
    """Call `renew` (a bound method: held weakly) in every child forked from now on. `guard`
    (a bound method too) gives a lock held across each fork: state that lock guards is
    never copied half changed (a descriptor opened but not yet recorded, say). Reentrant: a
    signal handler forking in the thread that holds it goes on (that state may be copied
    half changed then)."""
    with _locks[0]:
        _renewals[:] = [ref for ref in _renewals if ref() is not None]
        _renewals.append(weakref.WeakMethod(renew))
        if guard is not None:
            _guards[:] = [ref for ref in _guards if ref() is not None]
            _guards.append(weakref.WeakMethod(guard))


def _before() -> None:
    held: list[threading.RLock] = []
    _held.setdefault(threading.get_ident(), []).append(held)
    for ref in list(_guards):
        guard = ref()
        if guard is not None:
            lock = guard()
            lock.acquire()
            held.append(lock)


def _in_parent() -> None:
    forks = _held.get(threading.get_ident())
    if not forks:
        return
    for lock in forks.pop():
        lock.release()
    if not forks:
        del _held[threading.get_ident()]


def _in_child() -> None:
    _locks[0] = threading.Lock()
    _in_parent()  # the child's copies, held by this thread
    for ref in list(_renewals):
        renew = ref()
        if renew is not None:
            with contextlib.suppress(Exception):  # one store's failure is not the others'
                renew()


class StoreForkedError(RuntimeError):
    """An `SqliteStore` opened before `os.fork()` was used in the child: open one in each
    process, after the fork (or use `RedisStore`, which any process may share)."""


class ForkedConnection:
    """A forked child's stand-in for the parent's connection: any use says what to do."""

    def __init__(self, path: str) -> None:
        self._path = path

    def close(self) -> None:
        return None

    def error(self) -> StoreForkedError:
        return StoreForkedError(
            f"the SqliteStore {self._path!r} was opened before os.fork(): an SQLite "
            "connection must not cross a fork (sqlite.org/howtocorrupt.html); open the "
            "store in each process after the fork, or use tracking.RedisStore"
        )

    def __getattr__(self, name: str) -> Any:
        raise self.error()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before, after_in_parent=_in_parent, after_in_child=_in_child)
