"""What the tracker needs from a store: `SqliteStore` (the default) and `RedisStore` both
provide it. Every method is one atomic step: a crash (`kill -9`) leaves each either done or
not done, never half done."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from sms_status.tracking._model import Counts, Rest, Row

Change = Callable[[Row], "Row | None"]
"""A rule applied to one stored row: the row to write, or None to leave it as it is."""
KeepEarly = Callable[["str | None"], "str | None"]
"""Given the early push already kept for an id (its report JSON, or None), the one to keep."""
ApplyEarly = Callable[[Row, str], "Row | None"]
Push = tuple[str, str, Change, KeepEarly, float]
"""One pushed report for `push_many`: provider, message id, change, keep_early, now."""
"""Apply an early push (report JSON) to a row just added."""


class Store(Protocol):
    """Persistent tracker state. Methods are called from any thread; each is atomic."""

    def insert(self, rows: Iterable[Row], *, now: float, apply_early: ApplyEarly) -> int:
        """Store the rows whose (provider, message_id) is new, in one transaction, and apply
        any unexpired early push of theirs (`apply_early`); returns how many were new. `rows`
        may raise while it is read (a bad id): then nothing is stored."""
        ...

    def apply(self, changes: Sequence[tuple[str, str, Change]]) -> list[Row | None]:
        """Apply each `(provider, message_id, change)` to its row (skipping ids not stored),
        all in one transaction; the row written for each, or None where nothing was."""
        ...

    def change(self, provider: str, message_ids: Sequence[str], change: Change) -> list[Row]:
        """Apply `change` to each existing row of `message_ids` and write what it returns, all
        in one transaction; returns the rows written. A store whose `due()` and
        `handovers_due()` claim rows (`RedisStore`) gives the claims of these rows back here
        and in `apply()`, except a hand-over claim whose row keeps its `handover_at` (a
        hand-over started: it is ended or rescheduled by a later change)."""
        ...

    def push(
        self, provider: str, message_id: str, change: Change, keep_early: KeepEarly, now: float
    ) -> bool:
        """One pushed report, atomically: `change` the row if the id is tracked, else keep the
        report for the `add()` it beat (`keep_early`); and note that `provider`'s webhooks
        arrive (`last_push`). True when the row or an early push was written."""
        ...

    def push_many(self, pushes: Sequence[Push]) -> list[bool]:
        """Several pushes (`push`'s arguments each), in one transaction where the store has
        them (a webhook receiver's concurrent reports: group commit)."""
        ...

    def last_push(self, provider: str) -> float | None:
        """When the last push of `provider` was received (recorded by `push`), if ever."""
        ...

    def due(self, now: float, limit: int, apply_early: ApplyEarly | None = None) -> list[Row]:
        """Up to `limit` unsettled rows whose next poll is due at `now`, earliest first. A
        store shared by many workers claims them for this one until `change()` (or its lease
        ends); the engine passes every row it gets to `change()`, unchanged if it skips it.
        A store whose `insert` may store a row without the early push kept for it (`RedisStore`:
        its process killed between the two) applies that push here (`apply_early`), and
        leaves the row out: it is due again at its new time, if any."""
        ...

    def rest(self, provider: str, retry_after: float, max_interval: float, now: float) -> Rest:
        """A 429 (or a 503 with Retry-After) at `now`: the rest that holds now, after
        `_rests.next_rest`, applied atomically to the one the store holds (a shared store:
        for every worker, on one clock of its own)."""
        ...

    def rest_over(self, provider: str, now: float) -> None:
        """A lookup of `provider` was answered: its rest ends, and its row of 429s."""
        ...

    def rests(self, now: float) -> dict[str, Rest]:
        """The rest each provider had last, `left` counted from now."""
        ...

    def handovers_due(self, now: float, limit: int) -> list[Row]:
        """Up to `limit` settled rows whose hand-over to `on_final` is due at `now`."""
        ...

    def next_wake(self) -> float | None:
        """The earliest time a poll or a hand-over is due; None when none is pending."""
        ...

    def get(self, provider: str, message_id: str) -> Row | None: ...

    def counts(self) -> Counts: ...

    def purge(self, now: float) -> int:
        """Forget early pushes older than an hour, and handed-over outcomes older than the
        store's retention (if it has one); returns how many."""
        ...

    def running(self) -> AbstractContextManager[None]:
        """Held by `run()` for as long as it runs (exclusive for SQLite; for Redis, not: its
        end gives back whatever this worker still holds)."""
        ...

    def close(self) -> None: ...
