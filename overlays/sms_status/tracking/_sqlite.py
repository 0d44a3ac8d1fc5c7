"""`SqliteStore`: the tracker's default store, one SQLite file (standard library, WAL).

Every change is one `BEGIN IMMEDIATE` transaction (no lock upgrade between processes sharing
the file), so a process killed at any moment leaves each message as it was before or after a
change. With WAL and `synchronous=NORMAL` a committed transaction survives the process being
killed; a power cut may lose the last few (use `synchronous="FULL"` to rule that out).

Any number of processes may `add` and `ingest` on one file (webhook receivers beside the
sender); one `run()` at a time polls and hands over — a second one is refused with an error
naming the first's pid, and the lock goes with its process, `kill -9` included. For many
workers, use `RedisStore`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sqlite3
import threading
from collections.abc import Generator, Iterable, Sequence
from typing import Any, Final, Literal, cast

from sms_status import __version__
from sms_status.tracking._fork import ForkedConnection, renew_in_forked_children
from sms_status.tracking._model import Counts, Row
from sms_status.tracking._rests import OwnRests
from sms_status.tracking._rules import EARLY_PUSH_TTL, valid_deadline
from sms_status.tracking._sqlite_early import apply_early_pushes, keep_early_push
from sms_status.tracking._sqlite_layout import (
    COLUMNS,
    FORGET,
    INSERT_NEW,
    MIGRATIONS,
    SCHEMA_VERSION,
    SELECT,
)
from sms_status.tracking._sqlite_run_lock import StoreBusyError, lock_file, run_lock_path
from sms_status.tracking._store import ApplyEarly, Change, KeepEarly, Push

PURGE_CHUNK: Final = 1_000
"""Outcomes forgotten per transaction."""

_KNOWN_AT_MOST: Final = 2_000
"""Past this many rows, `SqliteStore._known` starts again (so it holds at most this and one
batch more: `due()` reads 500)."""

_FEW: Final = 2_000
"""Ids an add reads at a time. Up to this many, it looks their early pushes up one by one;
past it, they are staged and one join finds them (it reads every early push kept: with
150,000 of other ids', 90 ms an add, where 2,000 lookups take 17)."""
_STAGINGS = itertools.count()


class StoreVersionError(RuntimeError):
    """The store was written by a newer sms-status whose layout this version cannot read."""


def _row(values: Sequence[Any]) -> Row:
    # `known` and `is_final` come back as 0/1, which compare and test as the bools they were.
    return Row._make(values)


def _values(row: Row) -> tuple[Any, ...]:
    return tuple(row)  # the columns, in order (sqlite3 stores a bool as 0 or 1)


class SqliteStore(OwnRests):
    """The tracker's state in one SQLite file: `tracking.SqliteStore("deliveries.db")`.

    `synchronous`: "NORMAL" (default; survives a killed process) or "FULL" (also a power
    cut). `busy_timeout`: seconds to wait for another process's write to finish.
    `retention`: seconds a settled, handed-over outcome is kept (`get`, `counts`; an `add()`
    of its id is refused as known) before `purge` (which `run()` calls every minute) forgets
    it; None (the default) keeps every outcome, so a store of a long-running service grows
    by a row (~0.7 kB) a message. `RedisStore` keeps them 7 days by default.

    Open one in each process: in a child forked after it was opened (an app server's
    workers, after `--preload`), every call but `close()` raises `StoreForkedError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 30.0,
        retention: float | None = None,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be 'NORMAL' or 'FULL'")
        self.retention = None if retention is None else valid_deadline(retention, "retention")
        self.path = os.fspath(path)
        # Resolved now: a relative path read after a chdir (a daemon's) named another lock.
        self._run_lock_path = run_lock_path(self.path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._run_lock: int | None = None
        # Rows as this connection last read or wrote them, valid while no other connection
        # has committed (`PRAGMA data_version` unchanged): a hand-over's transaction then
        # reads nothing back (a third of its cost). Bounded: emptied past `_KNOWN_AT_MOST`.
        self._known: dict[tuple[str, str], Sequence[Any]] = {}
        self._known_as_of: int | None = None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._migrate()
        except BaseException:
            self._db.close()
            raise
        self._run_guard = threading.RLock()
        """Held while the run lock's descriptor is opened and recorded, or closed and
        forgotten, and across a fork: a child never copies one not yet recorded."""
        renew_in_forked_children(self._after_fork, guard=self._fork_guard)

    def _fork_guard(self) -> threading.RLock:
        return self._run_guard

    def _after_fork(self) -> None:
        """In a forked child: every call raises `StoreForkedError`. SQLite's locks are the
        process's, so a connection carried across a fork, and any new one to the same file
        beside it, may corrupt the file (sqlite.org/howtocorrupt.html, 2.6). The inherited
        connection is kept, never used nor closed here."""
        _carried_across_forks.append(self._db)
        self._lock = threading.RLock()  # a parent thread may have held it at the fork
        self._run_guard = threading.RLock()  # held by the forking thread: its copy, anew
        if self._run_lock is not None:  # the parent's run: its lock, kept while any copy is
            os.close(self._run_lock)  # open, is the parent's alone again
            self._run_lock = None
        self._db = cast(sqlite3.Connection, ForkedConnection(self.path))

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    # -- the layout --------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._lock:  # the usual case, a store of this layout and version: no write lock
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION and _meta(self._db, "written_by") == __version__:
                return
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                written_by = _meta(db, "written_by")
                raise StoreVersionError(
                    f"{self.path} has tracker schema {version} (written by sms-status "
                    f"{written_by or 'newer'}); sms-status {__version__} reads schema "
                    f"{SCHEMA_VERSION} and older: upgrade sms-status on every tracker that "
                    f"shares this store"
                )
            if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreVersionError(f"{self.path} is an SQLite file, but not a tracker store")
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
                version += 1
                db.execute(f"PRAGMA user_version={version}")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('written_by', ?)", (__version__,))

    @contextlib.contextmanager
    def _transaction(
        self, *, keeps_known: bool = False
    ) -> Generator[sqlite3.Connection, None, None]:
        """One write transaction. Only `apply` (`keeps_known`) keeps `_known` up to date;
        any other write, and any that fails, empties it: this connection's own commits do
        not change its `data_version`."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            if not keeps_known:
                self._known.clear()
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._known.clear()
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _read(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(query, args).fetchall()

    def _read_rows(self, query: str, args: Sequence[Any]) -> list[Row]:
        """Rows read, and kept in `_known` as of the data version read first (a commit
        between the two makes them newer than that version says: then only re-read)."""
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            found = self._db.execute(query, args).fetchall()
            if version != self._known_as_of or len(self._known) > _KNOWN_AT_MOST:
                self._known.clear()
                self._known_as_of = version
            for values in found:
                self._known[values[0], values[1]] = values
        return [_row(values) for values in found]

    def _current(
        self, db: sqlite3.Connection, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Sequence[Any]]:
        """In a write transaction: the stored rows of `keys`, from `_known` while no other
        connection has committed since it was filled, else read."""
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._known_as_of:
            self._known.clear()
            self._known_as_of = version
        known = self._known
        found = {key: known[key] for key in keys if key in known}
        if len(found) < len(keys):
            found.update(_rows_of(db, [key for key in keys if key not in found]))
        return found

    # -- Store -------------------------------------------------------------------------------

    def insert(self, rows: Iterable[Row], *, now: float, apply_early: ApplyEarly) -> int:
        """`rows` is read a chunk at a time outside any lock (a generator yielding ids as they
        are sent holds no writer up: the store's file is locked only for the insert). Past
        one chunk, they are staged in a temporary table of this connection (its writes lock
        nothing of the store's), then inserted in one transaction; nothing is stored if
        `rows` raises."""
        read = iter(rows)
        chunk = [_values(row) for row in itertools.islice(read, _FEW)]
        if len(chunk) < _FEW:
            return self._insert(chunk, None, now, apply_early)
        staged = f"temp.staged_{next(_STAGINGS)}"
        with self._lock:
            self._db.execute(f"CREATE TEMP TABLE {staged} ({', '.join(COLUMNS)})")
        try:
            while chunk:
                with self._lock:
                    self._db.execute("BEGIN")
                    try:
                        self._db.executemany(INSERT_NEW.replace("messages", staged, 1), chunk)
                    finally:
                        self._db.execute("COMMIT")
                chunk = [_values(row) for row in itertools.islice(read, _FEW)]
            return self._insert([], staged, now, apply_early)
        finally:
            with self._lock:
                self._db.execute(f"DROP TABLE IF EXISTS {staged}")

    def _insert(
        self, values: list[tuple[Any, ...]], staged: str | None, now: float, apply_early: ApplyEarly
    ) -> int:
        """`values`, or the rows `staged`, inserted where new, with any early push of theirs."""
        with self._transaction() as db:
            before = db.total_changes
            if staged is None:
                db.executemany(INSERT_NEW, values)
            else:
                columns = ", ".join(COLUMNS)
                db.execute(
                    f"INSERT OR IGNORE INTO messages ({columns}) "  # noqa: S608
                    f"SELECT {columns} FROM {staged} ORDER BY rowid"
                )
            new = db.total_changes - before
            keys = [v[:2] for v in values] if staged is None else None  # provider, id
            apply_early_pushes(db, keys, now, apply_early)
        return new

    def apply(self, changes: Sequence[tuple[str, str, Change]]) -> list[Row | None]:
        written: list[Row | None] = []
        with self._transaction(keeps_known=True) as db:
            # The rows as of this transaction (read in one statement per provider, unless
            # this connection holds them as it last wrote them).
            current = self._current(
                db, [(provider, message_id) for provider, message_id, _ in changes]
            )
            for provider, message_id, change in changes:
                found = current.get((provider, message_id))
                changed = None if found is None else change(_row(found))
                if found is not None and changed is not None:
                    _update(db, found, _values(changed))
                    current[provider, message_id] = _values(changed)  # named again: this one
                written.append(changed)
            if len(self._known) > _KNOWN_AT_MOST:
                self._known.clear()
            self._known.update(current)  # emptied again if the commit fails
        return written

    def change(self, provider: str, message_ids: Sequence[str], change: Change) -> list[Row]:
        written = self.apply([(provider, message_id, change) for message_id in message_ids])
        return [row for row in written if row is not None]

    def push(
        self, provider: str, message_id: str, change: Change, keep_early: KeepEarly, now: float
    ) -> bool:
        return self.push_many([(provider, message_id, change, keep_early, now)])[0]

    def push_many(self, pushes: Sequence[Push]) -> list[bool]:
        written: list[bool] = []
        with self._transaction() as db:
            latest: dict[str, float] = {}
            current = _rows_of(db, [(provider, message_id) for provider, message_id, *_ in pushes])
            for provider, message_id, change, keep_early, now in pushes:
                latest[provider] = max(now, latest.get(provider, now))
                found = current.get((provider, message_id))
                if found is None:
                    written.append(keep_early_push(db, provider, message_id, keep_early, now))
                    continue
                changed = change(_row(found))
                if changed is not None:
                    _update(db, found, _values(changed))
                    current[provider, message_id] = _values(changed)  # named again: this one
                written.append(changed is not None)
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [(f"last_push:{provider}", repr(at)) for provider, at in latest.items()],
            )
        return written

    def last_push(self, provider: str) -> float | None:
        found = self._read("SELECT value FROM meta WHERE key = ?", (f"last_push:{provider}",))
        return float(found[0][0]) if found else None

    def due(self, now: float, limit: int, apply_early: ApplyEarly | None = None) -> list[Row]:
        # An insert applies early pushes in its own transaction: none is ever left behind.
        return self._read_rows(
            f"{SELECT} WHERE next_poll_at IS NOT NULL AND next_poll_at <= ? "
            "ORDER BY next_poll_at LIMIT ?",
            (now, limit),
        )

    def handovers_due(self, now: float, limit: int) -> list[Row]:
        return self._read_rows(
            f"{SELECT} WHERE handover_at IS NOT NULL AND handover_at <= ? "
            "ORDER BY handover_at LIMIT ?",
            (now, limit),
        )

    def next_wake(self) -> float | None:
        poll, handover = self._read(
            "SELECT (SELECT min(next_poll_at) FROM messages WHERE next_poll_at IS NOT NULL), "
            "(SELECT min(handover_at) FROM messages WHERE handover_at IS NOT NULL)"
        )[0]
        times = [t for t in (poll, handover) if t is not None]
        return min(times) if times else None

    def get(self, provider: str, message_id: str) -> Row | None:
        found = self._read(
            f"{SELECT} WHERE provider = ? AND message_id = ?", (provider, message_id)
        )
        return _row(found[0]) if found else None

    def counts(self) -> Counts:
        with self._lock:
            # One snapshot: another process may settle ids between the reads. Within this
            # connection's own transaction (`counts()` from a callback of a write), it is one.
            begun = not self._db.in_transaction
            if begun:
                self._db.execute("BEGIN")
            try:
                in_flight = self._scalar(
                    "SELECT count(*) FROM messages WHERE next_poll_at IS NOT NULL"
                )
                awaiting = self._scalar(
                    "SELECT count(*) FROM messages WHERE handover_at IS NOT NULL"
                )
                groups = self._db.execute(
                    "SELECT reason, state, count(*) FROM messages WHERE reason IS NOT NULL "
                    "GROUP BY reason, state"
                ).fetchall()
            finally:
                if begun:
                    self._db.execute("COMMIT")
        return Counts.of(in_flight=in_flight, awaiting_handover=awaiting, settled=groups)

    def _scalar(self, query: str) -> int:
        return cast(int, self._db.execute(query).fetchone()[0])

    def purge(self, now: float) -> int:
        """Forget early pushes older than an hour and, with a `retention`, handed-over
        outcomes settled longer ago than that (a transaction per `PURGE_CHUNK`, so writers
        wait for no more than one); returns how many."""
        with self._transaction() as db:
            purged = db.execute(
                "DELETE FROM early_pushes WHERE received_at < ?", (now - EARLY_PUSH_TTL,)
            ).rowcount
        if self.retention is None:
            return purged
        while True:
            with self._transaction() as db:
                forgotten = db.execute(FORGET, (now - self.retention, PURGE_CHUNK)).rowcount
            purged += forgotten
            if forgotten < PURGE_CHUNK:
                return purged

    @contextlib.contextmanager
    def running(self) -> Generator[None, None, None]:
        """Hold the store's run lock (an exclusive `flock` on `<file>.run-lock`, released by
        the kernel when the process ends, however it ends)."""
        with self._run_guard:
            if isinstance(self._db, ForkedConnection):  # as every other call, in a child
                raise self._db.error()
            if self._run_lock is not None:
                raise StoreBusyError(f"run() is already running on {self.path} in this process")
            fd = lock_file(self._run_lock_path)
            self._run_lock = fd
        try:
            yield
        finally:
            with self._run_guard:
                if self._run_lock == fd:  # else a forked child closed it (`_after_fork`)
                    self._run_lock = None
                    os.close(fd)

    def close(self) -> None:
        with self._lock:
            self._db.close()


_KEYS_A_READ: Final = 400
"""Ids per `_rows_of` statement: well under SQLite's limit of bound parameters (999 before
3.32)."""


def _rows_of(
    db: sqlite3.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Sequence[Any]]:
    """The stored rows of `keys` (provider, message id), by key; keys not stored are absent."""
    by_provider: dict[str, list[str]] = {}
    for provider, message_id in keys:
        by_provider.setdefault(provider, []).append(message_id)
    found: dict[tuple[str, str], Sequence[Any]] = {}
    for provider, ids in by_provider.items():
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _KEYS_A_READ):
            chunk = unique[start : start + _KEYS_A_READ]
            marks = ", ".join("?" * len(chunk))
            for values in db.execute(
                f"{SELECT} WHERE provider = ? AND message_id IN ({marks})",
                (provider, *chunk),
            ):
                found[values[0], values[1]] = values
    return found


_CHANGEABLE: Final = range(2, len(COLUMNS))  # all but the key


@functools.lru_cache(maxsize=256)
def _update_of(changed: tuple[int, ...]) -> str:
    """The UPDATE of the columns numbered `changed` (a few dozen combinations occur)."""
    assignments = ", ".join(f"{COLUMNS[i]} = ?" for i in changed)
    return f"UPDATE messages SET {assignments} WHERE provider = ? AND message_id = ?"  # noqa: S608


def _update(db: sqlite3.Connection, old: Sequence[Any], new: Sequence[Any]) -> None:
    """Write only the columns that changed: an index is touched only when its column is."""
    changed = tuple([i for i in _CHANGEABLE if old[i] != new[i]])
    if changed:
        db.execute(_update_of(changed), [*[new[i] for i in changed], new[0], new[1]])


_carried_across_forks: list[sqlite3.Connection] = []
"""Connections a forked child inherited: never finalised there (which would close them)."""


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    try:
        found = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return None if found is None else cast(str, found[0])


__all__ = ["SqliteStore", "StoreBusyError", "StoreVersionError"]
