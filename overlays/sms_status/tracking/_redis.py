"""`RedisStore`: the tracker's state in Redis, for any number of workers on any number of hosts.

    store = tracking.RedisStore(redis.Redis.from_url(url), name="sms", lease=60.0)
    tracking.Tracker(store, on_final=save).run()      # on every worker host

Every state change is one Lua script (`_redis_scripts`, which also lays out the keys). A
change is computed in Python by the rules (`_rules`) from the row as read, then written by a
compare-and-set script on the row's version — rewritten from a fresh read when another worker
got there first. A script that Redis ran but whose answer was lost (a dropped connection) is
sent again and recognised by its write id, so nothing is applied twice. Due ids and
hand-overs are claimed under a lease timed by the Redis server's clock (`TIME`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from sms_status._redis_kind import require_blocking
from sms_status.tracking import _redis_scripts as scripts
from sms_status.tracking._fork import renew_in_forked_children
from sms_status.tracking._model import Counts, Rest, Row
from sms_status.tracking._redis_lease import Heartbeat
from sms_status.tracking._redis_rows import (
    ATTEMPTS,
    CACHE_LIMIT,
    PURGE_CHUNK,
    STAGING_TTL,
    StoreLostError,
    StoreUnavailableError,
    counts_of,
    decode,
    delta,
    done_at,
    early_changes,
    encode,
    new_token,
    noting,
    opened,
    own_client,
    read_of,
    read_with_id,
    rest_of,
    rests_of,
    retried,
    staging_lost,
    text,
    time_arg,
    valid_seconds,
    where,
)
from sms_status.tracking._redis_scripts import SCHEMA_VERSION
from sms_status.tracking._rests import RATE_LIMIT_PAUSE
from sms_status.tracking._rules import EARLY_PUSH_TTL
from sms_status.tracking._store import ApplyEarly, Change, KeepEarly, Push

if TYPE_CHECKING:
    from sms_status._redis_kind import BlockingRedis

log = logging.getLogger("sms_status.tracking")

KEY_PREFIX: Final = "sms-status:tracking:"
"""Keys of a store are this prefix, then `{<name>}:` (a hash tag: one cluster slot)."""
DEFAULT_LEASE: Final = 60.0
DEFAULT_RETENTION: Final = 7 * 24 * 3600.0
DEFAULT_TIMEOUT: Final = 10.0
"""Socket timeout for a client given without one: a Redis that stops answering is an error
after this long, never a hang."""
INSERT_CHUNK: Final = 2_000
"""Rows per insert script: `add_many` of a million ids never blocks Redis for long."""


class RedisStore:
    """The tracker's state in Redis, shared by every worker that uses the same `name`.

    `redis_client`: a `redis.Redis` (`sms-status[redis]`); the store talks to the same server
    on a pool of its own with socket timeouts (`timeout` seconds where the client has none),
    so a Redis that stops answering raises `StoreUnavailableError`, never hangs.
    `lease`: seconds, on the Redis server's clock, a worker keeps the ids it claimed after
    its last renewal (while it runs, every `lease / 3`, however long `on_final` or a poll
    takes): a worker that dies, or stops answering, has its ids taken over this long after.
    `retention`: seconds a settled outcome is kept (`get`, `counts`), from when it settled,
    before `purge` (which `run()` calls every minute) forgets it once handed over. Run Redis
    with `maxmemory-policy noeviction`: early pushes and staged ids carry a TTL.

    Any number of processes and hosts may `run()`, `add()` and `ingest()` on one store.
    """

    def __init__(
        self,
        redis_client: BlockingRedis,
        name: str = "sms",
        *,
        lease: float = DEFAULT_LEASE,
        retention: float = DEFAULT_RETENTION,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError("name must be a non-empty string")
        if any(c in name for c in "{} \t\r\n"):
            raise ValueError(f"name must not contain braces or whitespace, got {name!r}")
        if not callable(getattr(redis_client, "register_script", None)):  # None, a URL...
            raise TypeError(f"redis_client must be redis.Redis, not {type(redis_client).__name__}")
        require_blocking(redis_client, "RedisStore")  # an AsyncTracker calls it in threads too
        self.name = name
        self.lease = valid_seconds("lease", lease)
        self._lease_ms = int(self.lease * 1000)
        self.retention = valid_seconds("retention", retention)
        self.prefix = f"{KEY_PREFIX}{{{name}}}:"
        self._rows = self.prefix + "rows"
        self._client, self._owns_client = own_client(
            redis_client, valid_seconds("timeout", timeout)
        )
        self._where = where(self._client)
        self._lock = threading.Lock()
        self._store_id = ""  # the store's own, once `opened` read it
        self._token = new_token()
        self._writes = 0
        self._runs = 0
        self._cache: dict[str, tuple[int, Row]] = {}
        """Rows this worker claimed or wrote, by key, with their version: a change starts
        from here instead of a read (the write's version check catches a stale one)."""
        self._last_now = 0.0
        self._unanswered: list[str] = []  # ids of claims whose answer never came
        self.round_trips = 0
        """Calls this store made to Redis (for benchmarks)."""
        register = self._client.register_script
        self._claim = register(scripts.CLAIM)
        self._change = register(scripts.CHANGE)
        self._insert = register(scripts.INSERT)
        self._peek = register(scripts.PEEK)
        self._early = register(scripts.EARLY)
        self._purge = register(scripts.PURGE)
        self._wake = register(scripts.WAKE)
        self._release_all = register(scripts.RELEASE_ALL)
        self._rest = register(scripts.REST)
        self._rest_over = register(scripts.REST_OVER)
        self._rests = register(scripts.RESTS)
        self._renew_lease = register(scripts.RENEW)
        self._stage_rows = register(scripts.STAGE)
        self._heartbeat = Heartbeat(self._renew, self.lease / 3)
        renew_in_forked_children(self._after_fork)
        try:  # every worker token carries the store's id: one made anew is not this one
            self._store_id = opened(
                self._call, register(scripts.SCHEMA), SCHEMA_VERSION, self._client, name
            )
        except BaseException:
            self.close()
            raise
        self._token = new_token(self._store_id)

    def _after_fork(self) -> None:
        """In a forked child: a worker of its own, holding nothing and not running."""
        self._lock, self._token, self._runs = threading.Lock(), new_token(self._store_id), 0
        self._cache.clear()
        self._unanswered = []  # the parent's claims are not this worker's to give back
        self._heartbeat = self._heartbeat.anew()

    def __repr__(self) -> str:
        return f"RedisStore(name={self.name!r}, redis={self._where})"

    # -- calls -------------------------------------------------------------------------------

    def _call(self, script: Callable[..., Any], *args: object, token: str | None = None) -> Any:
        """Run one script, sent again (up to `ATTEMPTS` times) if the connection fails.
        `token`: the worker token it runs as (default: the store object's, now)."""

        def send() -> Any:
            with self._lock:
                self.round_trips += 1
                as_token = self._token if token is None else token
            return script(keys=[self._rows], args=[self.prefix, as_token, self._lease_ms, *args])

        return retried(send, self._where, attempts=ATTEMPTS, note="nothing was half done: ")

    def _write_id(self) -> str:
        with self._lock:
            self._writes += 1
            return f"{self._token}.{self._writes}"

    # -- Store -------------------------------------------------------------------------------

    def insert(self, rows: Iterable[Row], *, now: float, apply_early: ApplyEarly) -> int:
        """New rows are stored in scripts of `INSERT_CHUNK`. When there are more than one
        chunk's worth, they are staged in Redis first (a list that expires, so a process that
        dies meanwhile leaves nothing for long) and stored only once `rows` has been read to
        its end: a bad id anywhere (`rows` raising) stores nothing."""
        chunk: list[str] = []
        staged: str | None = None
        length, write_id = 0, ""
        try:
            for row in rows:
                if not chunk:  # a write id a script: one sent again knows its own rows
                    write_id = self._write_id()
                chunk += [row.key, encode(row, 1, write_id), time_arg(row.next_poll_at)]
                if len(chunk) == 3 * INSERT_CHUNK:
                    staged = staged or f"{self.prefix}staging:{write_id}"
                    self._stage(staged, chunk, length)
                    length, chunk = length + len(chunk), []
        except BaseException:
            if staged is not None:
                self._plain(lambda: self._client.delete(staged))
            raise
        if staged is None:
            return self._insert_chunk(["", "0", "0", "0", *chunk], now, apply_early) if chunk else 0
        if chunk:
            self._stage(staged, chunk, length)
            length += len(chunk)
        new = 0
        for start in range(0, length, 3 * INSERT_CHUNK):
            where = [staged, str(length), str(start), str(3 * INSERT_CHUNK)]
            new += self._insert_chunk(where, now, apply_early)
        self._plain(lambda: self._client.delete(staged))
        return new

    def _stage(self, staged: str, values: list[str], length: int) -> None:
        """`values` appended to the list `staged` of `length` items (once, if sent again)."""
        if int(self._call(self._stage_rows, staged, length, int(STAGING_TTL), *values)) < 0:
            self._checked(lambda pipe: pipe.exists(staged))  # the whole store, or the list?
            raise staging_lost(self._where)

    def _insert_chunk(self, args: list[str], now: float, apply_early: ApplyEarly) -> int:
        new, early = self._call(self._insert, *args)
        if int(new) < 0:  # a Redis evicting keys with a TTL (maxmemory-policy volatile-*)
            raise staging_lost(self._where)
        for key, change in early_changes(early, now, apply_early):
            self._apply([(key, change)], drop_early=True)
        return int(new)

    def apply(self, changes: Sequence[tuple[str, str, Change]]) -> list[Row | None]:
        """Apply each change to its row, all in one script (several when an id comes twice);
        gives back this worker's claims on the rows as `change()` does."""
        keyed = [(f"{provider}:{message_id}", change) for provider, message_id, change in changes]
        if len({k for k, _ in keyed}) == len(keyed):
            done = self._apply(keyed, release=True)
            return [done.get(k) for k, _ in keyed]
        return [self._apply([entry], release=True).get(entry[0]) for entry in keyed]

    def change(self, provider: str, message_ids: Sequence[str], change: Change) -> list[Row]:
        keys = list(dict.fromkeys(f"{provider}:{m}" for m in message_ids))
        done = self._apply([(k, change) for k in keys], release=True)
        return [done[k] for k in keys if k in done]

    def _apply(
        self,
        entries: list[tuple[str, Change]],
        *,
        release: bool = False,
        drop_early: bool = False,
    ) -> dict[str, Row]:
        """Apply each `(key, change)` and write the results in one script (keys distinct);
        rows another worker changed meanwhile are read again and changed again (in the next
        script). Returns the rows written, by key."""
        changes = dict(entries)
        keys = list(changes)
        with self._lock:
            current = {k: self._cache.pop(k) for k in keys if k in self._cache}
        missing = [k for k in keys if k not in current]
        if missing:
            current.update(self._read(missing))
        written: dict[str, Row] = {}
        while keys:
            args: list[str] = []
            planned: dict[str, tuple[int, Row]] = {}
            for key in keys:
                found = current.get(key)
                old = None if found is None else found[1]
                new = None if old is None else changes[key](old)
                flags = "e" if drop_early else ""
                if release:  # a poll's claim always goes back; a hand-over's once it ends
                    flags += "p"  # (a change may keep the poll time: a push moved it)
                    if new is None or old is None or old.handover_at != new.handover_at:
                        flags += "h"
                if found is None or new is None:
                    args += [key, "", "", "", "", "", "", flags]
                    continue
                # A hand-over begun, a poll recorded: only while this worker holds its claim.
                flags += "H" * (new.delivery != found[1].delivery)
                flags += "P" * (new.polls != found[1].polls)
                version = found[0]
                args += [
                    key,
                    str(version),
                    encode(new, version + 1, self._write_id()),
                    time_arg(new.next_poll_at),
                    time_arg(new.handover_at),
                    done_at(new),
                    delta(old, new),
                    flags,
                ]
                planned[key] = (version + 1, new)
            conflicts, gone = self._call(self._change, *args)
            retry = [text(k) for k in conflicts]
            lost = {text(k) for k in gone} | set(retry)
            with self._lock:
                for key, entry in planned.items():
                    if key not in lost:
                        written[key] = entry[1]
                        if len(self._cache) >= CACHE_LIMIT:
                            self._cache.clear()
                        self._cache[key] = entry
            keys, current = retry, (self._read(retry) if retry else {})
        return written

    def _read(self, keys: list[str]) -> dict[str, tuple[int, Row]]:
        values = self._checked(lambda pipe: pipe.hmget(self._rows, keys))
        return {k: decode(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def _checked(self, read: Callable[[Any], object]) -> Any:
        """A read, the store's id read with it: a lost store is not read as an empty one."""
        answers = self._plain(lambda: read_with_id(self._client, self.prefix, read))
        return read_of(answers, self._store_id, self._where)

    def _plain(self, call: Callable[[], Any]) -> Any:
        """A command safe to send twice, sent again if the connection fails."""
        with self._lock:
            self.round_trips += 1
        return retried(call, self._where, attempts=ATTEMPTS)

    def push(
        self, provider: str, message_id: str, change: Change, keep_early: KeepEarly, now: float
    ) -> bool:
        key = f"{provider}:{message_id}"
        while True:
            stored, early = (text(v) for v in self._call(self._peek, key, provider, repr(now)))
            if stored:
                version, row = decode(stored)
                new = change(row)
                if new is None:
                    return False
                conflicts, gone = self._call(
                    self._change,
                    key,
                    str(version),
                    encode(new, version + 1, self._write_id()),
                    time_arg(new.next_poll_at),
                    time_arg(new.handover_at),
                    done_at(new),
                    delta(row, new),
                    "",
                )
                if not conflicts and not gone:
                    return True
                continue
            received_at, _, kept_report = early.partition(" ")
            if early and float(received_at) + EARLY_PUSH_TTL < now:  # over (skewed clocks)
                kept_report = ""
            kept = keep_early(kept_report or None)
            if kept is None:
                return False
            value = f"{now!r} {kept}"  # its hour starts again
            ttl = int(EARLY_PUSH_TTL * 1000)
            if text(self._call(self._early, key, early, value, ttl)) == "ok":
                return True

    def push_many(self, pushes: Sequence[Push]) -> list[bool]:
        """Tracked ids in three round trips (when each provider last pushed, one read, one
        compare-and-set script), not two a report. An id not stored (an early push) or gone
        meanwhile goes the way of `push`, as does every id of a batch naming one twice."""
        keys = [f"{provider}:{message_id}" for provider, message_id, *_ in pushes]
        if len(pushes) < 2 or len(set(keys)) < len(keys):
            return [self.push(*push) for push in pushes]
        latest = {provider: repr(now) for provider, *_, now in sorted(pushes, key=lambda p: p[4])}
        self._plain(lambda: self._client.hset(self.prefix + "pushes", mapping=latest))
        with self._lock:  # read fresh, as `push` does: a row this worker cached may have
            for key in keys:  # changed since, or been purged and added again (version 1)
                self._cache.pop(key, None)
        unchanged: set[str] = set()  # rows their report leaves as they are
        pairs = list(zip(keys, pushes, strict=True))
        written = self._apply([(key, noting(key, push[2], unchanged)) for key, push in pairs])
        return [
            key in written or (key not in unchanged and self.push(*push)) for key, push in pairs
        ]

    def last_push(self, provider: str) -> float | None:
        found = self._checked(lambda pipe: pipe.hget(self.prefix + "pushes", provider))
        return None if found is None else float(text(found))

    def rest(self, provider: str, retry_after: float, max_interval: float, now: float) -> Rest:
        """On the Redis server's clock (`now`, the tracker's, is not used)."""
        arguments = (repr(retry_after), repr(max_interval), repr(RATE_LIMIT_PAUSE))
        return rest_of(*self._call(self._rest, provider, *arguments, self._write_id()))

    def rest_over(self, provider: str, now: float) -> None:
        self._call(self._rest_over, provider)

    def rests(self, now: float) -> dict[str, Rest]:
        return rests_of(*self._call(self._rests))

    def _claimed(
        self, queue: str, now: float, limit: int, apply_early: ApplyEarly | None = None
    ) -> list[Row]:
        """One claim script, named: sent again after a lost answer, it answers the rows it
        took. A claim never answered at all hands its rows back with the next one. Early
        pushes an add() left (`due`) are applied, their rows given back at their new times."""
        claim = self._write_id()
        with self._lock:
            self._last_now = max(self._last_now, now)
        with self._unanswered_claims(claim) as unanswered:
            when = repr(float(now))
            keys, values, early = self._call(self._claim, queue, when, limit, claim, *unanswered)
        read = {text(key): decode(value) for key, value in zip(keys, values, strict=True)}
        with self._lock:
            if len(self._cache) + len(read) > CACHE_LIMIT:
                self._cache.clear()
            self._cache.update(read)
        changes = dict(early_changes(early, now, apply_early)) if apply_early else {}
        if changes:
            self._apply(list(changes.items()), release=True, drop_early=True)
        return [row for key, (_, row) in read.items() if key not in changes]

    @contextlib.contextmanager
    def _unanswered_claims(self, claim: str | None = None) -> Generator[list[str], None, None]:
        """Ids of claims never answered, to give back (kept, with `claim`, if this fails)."""
        with self._lock:
            ids, self._unanswered = self._unanswered, []
        try:
            yield ids
        except BaseException:
            with self._lock:
                self._unanswered += [*ids, *([claim] if claim else [])]
            raise

    def _renew(self) -> None:
        """The heartbeat: the lease renewed, unanswered claims given back (notes last a lease)."""
        with self._unanswered_claims() as unanswered:
            self._call(self._renew_lease, *unanswered)

    def due(self, now: float, limit: int, apply_early: ApplyEarly | None = None) -> list[Row]:
        """Claim up to `limit` rows due at `now` (earliest first) for this worker: no other
        worker gets them until `change()` gives them back or this worker's lease runs out."""
        return self._claimed("p", now, limit, apply_early)

    def handovers_due(self, now: float, limit: int) -> list[Row]:
        """Claim up to `limit` outcomes due to be handed over, as `due` claims polls: a
        `change()` starting a hand-over keeps the claim, one ending or moving it gives it back."""
        return self._claimed("h", now, limit)

    def next_wake(self) -> float | None:
        due, hand, held = self._call(self._wake)
        times = [float(text(t)) for t in (due, hand) if text(t)]
        if int(held):  # claimed by a worker: due already, or back once its lease runs out
            with self._lock:
                times.append(self._last_now)
        return min(times) if times else None

    def get(self, provider: str, message_id: str) -> Row | None:
        found = self._read([f"{provider}:{message_id}"])
        return next(iter(found.values()))[1] if found else None

    def counts(self) -> Counts:
        return counts_of(self._checked(lambda pipe: pipe.hgetall(self.prefix + "counts")))

    def purge(self, now: float) -> int:
        """Forget handed-over outcomes settled more than `retention` ago (early pushes expire on
        their own, an hour after they came)."""
        total = 0
        while True:
            purged = int(self._call(self._purge, repr(now - self.retention), PURGE_CHUNK))
            total += purged
            if purged < PURGE_CHUNK:
                return total

    @contextlib.contextmanager
    def running(self) -> Generator[None, None, None]:
        """Not exclusive: any number of `run()`s share the store. When the last `run()` of
        this store object ends, the ids it still holds go back at once (not at lease end)."""
        with self._lock:
            self._runs += 1
            self._heartbeat.start()  # its claims stay its own while it works, however long
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                ended = self._token if self._runs == 0 else None
                if ended is not None:  # a run starting now claims as a worker of its own
                    self._heartbeat.stop()
                    self._token, self._unanswered = new_token(self._store_id), []
                    self._cache.clear()
            if ended is not None:
                self._give_back(ended)

    def _give_back(self, token: str) -> None:
        """Every claim `token` (the runs that ended) holds, and its lease, given back."""
        try:
            self._call(self._release_all, token=token)
        except (StoreUnavailableError, StoreLostError) as exc:  # the lease runs out instead
            log.warning("could not give back claimed ids (they return at lease end): %s", exc)

    def close(self) -> None:
        self._heartbeat.stop()
        if self._owns_client:
            self._client.close()


__all__ = ["RedisStore", "StoreLostError", "StoreUnavailableError"]
