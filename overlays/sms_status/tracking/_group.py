"""Group commit: concurrent callers share one store transaction.

A webhook receiver calls `ingest` from many threads at once; one SQLite transaction per
report would make the commit, not the work, the limit. The first caller in writes the
reports of everyone waiting, then of whoever came meanwhile; each caller returns only once
its own report is committed, so "ingest returned" still means "in the store".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Submission(Generic[Item, Result]):
    """One caller's items: written in one group, answered together."""

    __slots__ = ("done", "error", "items", "results")

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        self.done = threading.Event()
        self.results: Sequence[Result] = ()
        self.error: BaseException | None = None

    def settle(self, results: Sequence[Result], error: BaseException | None) -> None:
        self.results, self.error = results, error
        self.done.set()


class GroupCommit(Generic[Item, Result]):
    """`submit_many(items)` runs `write(...)` once for a group of concurrent callers' items."""

    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result]]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._waiting: list[_Submission[Item, Result]] = []
        self._writing = False

    def submit(self, item: Item) -> Result:
        return self.submit_many([item])[0]

    def submit_many(self, items: Sequence[Item]) -> Sequence[Result]:
        """Whatever `write` gave for `items`, once they are written (with whatever else was
        waiting, in one call)."""
        mine = _Submission[Item, Result](items)
        with self._lock:
            self._waiting.append(mine)
            lead = not self._writing
            self._writing = True
        if lead:
            self._write_groups()
        else:
            mine.done.wait()
        if mine.error is not None:
            raise mine.error
        return mine.results

    def _write_groups(self) -> None:
        while True:
            with self._lock:
                group, self._waiting = self._waiting, []
                if not group:
                    self._writing = False
                    return
            try:
                results = self._write([item for each in group for item in each.items])
            except BaseException as error:  # every caller of the group gets it
                for each in group:
                    each.settle((), error)
                if not isinstance(error, Exception):  # KeyboardInterrupt: nobody waits on
                    with self._lock:
                        left, self._waiting, self._writing = self._waiting, [], False
                    for each in left:
                        each.settle((), error)
                    raise
                continue
            start = 0
            for each in group:
                end = start + len(each.items)
                each.settle(results[start:end], None)
                start = end
