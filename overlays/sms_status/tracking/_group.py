"""Group commit: concurrent callers share one store transaction.

A webhook receiver calls `ingest` from many threads at once; one SQLite transaction per
report would make the commit, not the work, the limit. The first caller in (the leader)
writes the reports of everyone waiting in one call; whoever came meanwhile waits, and once
the leader's group is written the first of them leads the next group, with all who are
waiting then. Each caller returns once its own report is committed ("ingest returned" still
means "in the store"), and no sooner: a leader never writes past its own group, so under a
steady stream it is answered after one write, not when the stream ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Submission(Generic[Item, Result]):
    """One caller's items: written in one group, answered together."""

    __slots__ = ("done", "error", "items", "leads", "results", "turn")

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        self.turn = threading.Event()
        """Set when the caller's items are written (`done`) or it is to lead (`leads`)."""
        self.done = False
        self.leads = False
        self.results: Sequence[Result] = ()
        self.error: BaseException | None = None

    def settle(self, results: Sequence[Result], error: BaseException | None) -> None:
        self.results, self.error, self.done = results, error, True
        self.turn.set()


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
        try:  # the queueing too: an interrupt anywhere here must not strand the others
            with self._lock:
                self._waiting.append(mine)
                mine.leads = not self._writing
                self._writing = True
            if not mine.leads:
                mine.turn.wait()
            if not mine.done:  # the lead came to it: its items are in the group it writes
                self._write_group()
        except BaseException:  # interrupted (Ctrl-C, a signal handler's exception): gone
            self._withdraw(mine)
            raise
        if mine.error is not None:
            raise mine.error
        return mine.results

    def _withdraw(self, mine: _Submission[Item, Result]) -> None:
        """`mine`'s caller left before its items were taken: they are not written, and a
        lead it held goes on to the next caller waiting (else every later one waited on)."""
        with self._lock:
            if mine.done or mine not in self._waiting:
                return
            self._waiting.remove(mine)
            if mine.leads:
                self._pass_lead()

    def _pass_lead(self) -> None:  # under the lock
        if self._waiting:
            self._waiting[0].leads = True
            self._waiting[0].turn.set()
        else:
            self._writing = False

    def _write_group(self) -> None:
        group: list[_Submission[Item, Result]] = []
        results: Sequence[Result] = ()
        failure: BaseException | None = None
        try:
            with self._lock:  # taken inside: interrupted after, the group still hears
                group, self._waiting = self._waiting, []
            results = self._write([item for each in group for item in each.items])
        except BaseException as error:  # every caller of the group gets it
            failure = error
        finally:  # interrupted anywhere (a signal), the group is answered, the lead moves on
            try:
                start = 0
                for each in group:
                    end = start + len(each.items)
                    each.settle(results[start:end] if failure is None else (), failure)
                    start = end
            finally:
                self._after_group(failure)
        if failure is not None and not isinstance(failure, Exception):
            raise failure

    def _after_group(self, failure: BaseException | None) -> None:
        """The next group is led by the first caller waiting for it, if any; after a
        KeyboardInterrupt (or the like) every caller waiting gets it and none leads."""
        if failure is None or isinstance(failure, Exception):
            with self._lock:
                self._pass_lead()
            return
        with self._lock:
            left, self._waiting, self._writing = self._waiting, [], False
        for each in left:
            each.settle((), failure)
