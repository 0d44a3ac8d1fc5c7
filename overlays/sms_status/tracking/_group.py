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


class _Slot(Generic[Result]):
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Result | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """`submit(item)` runs `write(items)` for a group of concurrent items, one call a group."""

    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result]]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._waiting: list[tuple[Item, _Slot[Result]]] = []
        self._writing = False

    def submit(self, item: Item) -> Result:
        slot: _Slot[Result] = _Slot()
        with self._lock:
            self._waiting.append((item, slot))
            lead = not self._writing
            self._writing = True
        if lead:
            self._write_groups()
        else:
            slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set with `done`

    def _write_groups(self) -> None:
        while True:
            with self._lock:
                group, self._waiting = self._waiting, []
                if not group:
                    self._writing = False
                    return
            try:
                results = self._write([item for item, _ in group])
            except BaseException as error:  # every caller of the group gets it
                for _, slot in group:
                    slot.error = error
                    slot.done.set()
                if not isinstance(error, Exception):  # KeyboardInterrupt: nobody waits on
                    with self._lock:
                        left, self._waiting, self._writing = self._waiting, [], False
                    for _, slot in left:
                        slot.error = error
                        slot.done.set()
                    raise
                continue
            for (_, slot), result in zip(group, results, strict=True):
                slot.result = result
                slot.done.set()
