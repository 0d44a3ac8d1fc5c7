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
_locks = [threading.Lock()]
"""Guards `_renewals`; a list, so the child replaces the lock a parent thread may hold."""


def renew_in_forked_children(renew: Callable[[], None]) -> None:
    """Call `renew` (a bound method: held weakly) in every child forked from now on."""
    with _locks[0]:
        _renewals[:] = [ref for ref in _renewals if ref() is not None]
        _renewals.append(weakref.WeakMethod(renew))


def _in_child() -> None:
    _locks[0] = threading.Lock()
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
    os.register_at_fork(after_in_child=_in_child)
