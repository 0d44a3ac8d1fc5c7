"""`RedisStore`: the tracker's state in Redis, for any number of workers on any number of hosts.

    store = tracking.RedisStore(redis.Redis.from_url(url), name="sms", lease=60.0)
    tracking.Tracker(store, on_final=save).run()      # on every worker host

Layout (every key starts with `sms-status:tracking:{<name>}:`, one hash slot):

- `rows` (hash): `"<provider>:<message_id>"` -> `"<version>:<write id>:<row as a JSON list>"`.
- `due` / `hand` (sorted sets): unclaimed rows by next poll / next hand-over time (the
  tracker's clock).
- `pheld` / `hheld` (hashes): claimed rows -> `"<worker token> <due time or ->"`; a claimed row
  is in `pheld`/`hheld` instead of `due`/`hand`, so two workers never hold it at once.
- `leases` (sorted set): worker token -> lease end, in milliseconds on the Redis server's clock
  (`TIME`), renewed by every call the worker makes; `w:<token>` (set): what it holds. A worker
  whose lease ran out (it died) has its claims put back by the next claim any worker makes.
- `counts` (hash): maintained counters (`counts()` is one HGETALL, exact: each changes in the
  script that changes the row). `done` (sorted set): handed-over rows by settle time, deleted
  after `retention` by `purge()`. `e:<key>` (string): an early push, expiring after an hour.
  `pushes` (hash): provider -> when its last push came (`last_push`). `staging:<id>` (list):
  a large `add_many` being read, stored once it is read to its end (expires if abandoned).

Every state change is one Lua script. A change is computed in Python by the rules
(`_rules`) from the row as read, then written by a compare-and-set script on the row's
version — rewritten from a fresh read when another worker got there first. A script that
Redis ran but whose answer was lost (a dropped connection) is sent again and recognised by
its write id, so nothing is applied twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any, Final, cast

from sms_status import __version__
from sms_status.tracking._model import Counts, Row
from sms_status.tracking._rules import EARLY_PUSH_TTL
from sms_status.tracking._store import ApplyEarly, Change, KeepEarly

log = logging.getLogger("sms_status.tracking")

SCHEMA_VERSION: Final = 1
KEY_PREFIX: Final = "sms-status:tracking:"
"""Keys of a store are this prefix, then `{<name>}:` (a hash tag: one cluster slot)."""
DEFAULT_LEASE: Final = 60.0
DEFAULT_RETENTION: Final = 7 * 24 * 3600.0
DEFAULT_TIMEOUT: Final = 10.0
"""Socket timeout for a client given without one: a Redis that stops answering is an error
after this long, never a hang."""
ATTEMPTS: Final = 3
"""Tries of one call when the connection fails (a restart, a failover), with a short pause;
a timeout (a server that stopped answering) is raised at once."""
INSERT_CHUNK: Final = 2_000
"""Rows per insert script: `add_many` of a million ids never blocks Redis for long."""
STAGING_TTL: Final = 3600.0
"""Seconds a large `add_many`'s staged rows live in Redis if the process adding dies."""
PURGE_CHUNK: Final = 1_000
CACHE_LIMIT: Final = 5_000

# The fields of a row, in the order they are stored (a JSON list).
_FIELDS: Final = (
    "provider",
    "message_id",
    "tag",
    "added_at",
    "deadline_at",
    "next_poll_at",
    "interval",
    "polls",
    "known",
    "report",
    "source",
    "state",
    "is_final",
    "updated_at",
    "settled_at",
    "reason",
    "delivery",
    "handover_at",
)

# -- the scripts -----------------------------------------------------------------------------
# ARGV[1] the key prefix, ARGV[2] the worker token, ARGV[3] the lease in ms; then each
# script's own. KEYS[1] is the rows hash (cluster routing; every key shares its slot).

_PRELUDE = """
local P = ARGV[1]
local token = ARGV[2]
local lease = tonumber(ARGV[3])
local clock = redis.call('TIME')
local srv = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local Q = {p = {P .. 'due', P .. 'pheld'}, h = {P .. 'hand', P .. 'hheld'}}
local mine = P .. 'w:' .. token

-- Put a row where it belongs in queue qn after a change. `new`: its new time there ('' for
-- none), or nil when the row was not written. `release`: give up this worker's claim on it.
local function place(qn, k, new, release)
    local q = Q[qn]
    local held = redis.call('HGET', q[2], k)
    if held then
        local who, kept = string.match(held, '^(%S+) (%S+)$')
        if release and who == token then
            redis.call('HDEL', q[2], k)
            redis.call('SREM', mine, qn .. '|' .. k)
            local score = new or kept
            if score ~= '' and score ~= '-' then
                redis.call('ZADD', q[1], score, k)
            end
        elseif new then
            if new == '' then new = '-' end
            redis.call('HSET', q[2], k, who .. ' ' .. new)
        end
    elseif new then
        if new == '' then
            redis.call('ZREM', q[1], k)
        else
            redis.call('ZADD', q[1], new, k)
        end
    end
end

-- Claims of workers whose lease ran out go back to their queues.
local function expire_dead()
    local dead = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', srv, 'LIMIT', 0, 16)
    for _, owner in ipairs(dead) do
        local set = P .. 'w:' .. owner
        for _, m in ipairs(redis.call('SMEMBERS', set)) do
            local q = Q[string.sub(m, 1, 1)]
            local k = string.sub(m, 3)
            local held = redis.call('HGET', q[2], k)
            if held then
                local who, kept = string.match(held, '^(%S+) (%S+)$')
                if who == owner then
                    redis.call('HDEL', q[2], k)
                    if kept ~= '-' then
                        redis.call('ZADD', q[1], kept, k)
                    end
                end
            end
        end
        redis.call('DEL', set)
        redis.call('ZREM', P .. 'leases', owner)
    end
end
"""

# ARGV[4] queue ('p' | 'h'), ARGV[5] now (tracker clock), ARGV[6] limit.
_CLAIM = (
    _PRELUDE
    + """
expire_dead()
local qn = ARGV[4]
local q = Q[qn]
local found = redis.call('ZRANGEBYSCORE', q[1], '-inf', ARGV[5], 'WITHSCORES', 'LIMIT', 0,
    tonumber(ARGV[6]))
local keys, values = {}, {}
if #found > 0 then
    redis.call('ZADD', P .. 'leases', srv + lease, token)
    for i = 1, #found, 2 do
        local k, score = found[i], found[i + 1]
        redis.call('ZREM', q[1], k)
        local value = redis.call('HGET', P .. 'rows', k)
        if value then
            redis.call('HSET', q[2], k, token .. ' ' .. score)
            redis.call('SADD', mine, qn .. '|' .. k)
            keys[#keys + 1] = k
            values[#values + 1] = value
        end
    end
else
    redis.call('ZADD', P .. 'leases', 'XX', srv + lease, token)
end
return {keys, values}
"""
)

# Groups of 8 from ARGV[4]: key, expected version ('' = write nothing, only release), the
# value to write, its poll time, its hand-over time, its `done` time ('' = none), the counter
# changes ("+tag,-tag"), flags ('p'/'h': release this worker's claim in that queue; 'e': drop
# the key's early push). Returns the keys whose version moved on (to be read and tried again)
# and the keys no longer stored.
_CHANGE = (
    _PRELUDE
    + """
redis.call('ZADD', P .. 'leases', 'XX', srv + lease, token)
local conflicts, gone = {}, {}
for i = 4, #ARGV, 8 do
    local k, expect, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local flags = ARGV[i + 7]
    local state = 'release'
    if expect ~= '' then
        local current = redis.call('HGET', P .. 'rows', k)
        if not current then
            gone[#gone + 1] = k
        elseif current == value then
            state = 'again'  -- this very write is in already: a call sent again
        elseif string.match(current, '^(%d+):') ~= expect then
            conflicts[#conflicts + 1] = k
            state = 'conflict'
        else
            state = 'write'
        end
    end
    if state == 'write' then
        redis.call('HSET', P .. 'rows', k, value)
        for sign, tag in string.gmatch(ARGV[i + 6], '([+-])([^,]+)') do
            redis.call('HINCRBY', P .. 'counts', tag, sign == '+' and 1 or -1)
        end
        if ARGV[i + 5] ~= '' then
            redis.call('ZADD', P .. 'done', ARGV[i + 5], k)
        else
            redis.call('ZREM', P .. 'done', k)
        end
    end
    if state == 'write' or state == 'again' then
        place('p', k, ARGV[i + 3], string.find(flags, 'p', 1, true) ~= nil)
        place('h', k, ARGV[i + 4], string.find(flags, 'h', 1, true) ~= nil)
    elseif state == 'release' then
        place('p', k, nil, string.find(flags, 'p', 1, true) ~= nil)
        place('h', k, nil, string.find(flags, 'h', 1, true) ~= nil)
    end
    if state ~= 'conflict' and string.find(flags, 'e', 1, true) then
        redis.call('DEL', P .. 'e:' .. k)
    end
end
return {conflicts, gone}
"""
)

# ARGV[4] a staging list ('' for none) and ARGV[5] how many of its items to take (a
# multiple of 3); then triples from ARGV[6]: key, value, poll time. The triples (the list's
# first ones, then the given ones) are stored and queued if new. Returns how many were new,
# every given key's early push (key, value, ...), and 1 while the staging list has more.
_INSERT = (
    _PRELUDE
    + """
local items = {}
local more = 1
if ARGV[4] ~= '' then
    local take = tonumber(ARGV[5])
    items = redis.call('LRANGE', ARGV[4], 0, take - 1)
    redis.call('LTRIM', ARGV[4], take, -1)
    if redis.call('LLEN', ARGV[4]) == 0 then
        more = 0
        redis.call('DEL', ARGV[4])
    end
end
for i = 6, #ARGV do
    items[#items + 1] = ARGV[i]
end
local new = 0
local early = {}
for i = 1, #items, 3 do
    local k = items[i]
    if redis.call('HSETNX', P .. 'rows', k, items[i + 1]) == 1 then
        new = new + 1
        redis.call('ZADD', P .. 'due', items[i + 2], k)
    end
    local e = redis.call('GET', P .. 'e:' .. k)
    if e then
        early[#early + 1] = k
        early[#early + 1] = e
    end
end
if new > 0 then
    redis.call('HINCRBY', P .. 'counts', 'in_flight', new)
end
return {new, early, more}
"""
)

# ARGV[4] key, ARGV[5] provider, ARGV[6] now: notes that the provider's webhooks arrive
# (`last_push`); returns the row and the early push kept for it.
_PEEK = (
    _PRELUDE
    + """
redis.call('HSET', P .. 'pushes', ARGV[5], ARGV[6])
local row = redis.call('HGET', P .. 'rows', ARGV[4])
local early = redis.call('GET', P .. 'e:' .. ARGV[4])
return {row or '', early or ''}
"""
)

# ARGV[4] key, ARGV[5] the early push read ('' none), ARGV[6] the one to keep, ARGV[7] its TTL
# in ms (from the first push's arrival, on the server's clock).
_EARLY = (
    _PRELUDE
    + """
local k = ARGV[4]
if redis.call('HEXISTS', P .. 'rows', k) == 1 then
    return 'row'
end
local current = redis.call('GET', P .. 'e:' .. k)
if (current or '') ~= ARGV[5] then
    return 'conflict'
end
if current then
    redis.call('SET', P .. 'e:' .. k, ARGV[6], 'KEEPTTL')
else
    redis.call('SET', P .. 'e:' .. k, ARGV[6], 'PX', ARGV[7])
end
return 'ok'
"""
)

# ARGV[4] cutoff (tracker clock), ARGV[5] limit: forget handed-over rows settled before it.
_PURGE = (
    _PRELUDE
    + """
local found = redis.call('ZRANGEBYSCORE', P .. 'done', '-inf', ARGV[4], 'LIMIT', 0,
    tonumber(ARGV[5]))
for _, k in ipairs(found) do
    local value = redis.call('HGET', P .. 'rows', k)
    if value then
        local a = string.find(value, ':', 1, true)
        local b = string.find(value, ':', a + 1, true)
        local row = cjson.decode(string.sub(value, b + 1))
        local state, reason = row[12], row[16]
        if type(state) ~= 'string' then state = 'unknown' end
        if type(reason) == 'string' then
            redis.call('HINCRBY', P .. 'counts', 's|' .. reason .. '|' .. state, -1)
        end
        if type(row[6]) == 'number' then
            redis.call('HINCRBY', P .. 'counts', 'in_flight', -1)
        end
        if type(row[18]) == 'number' then
            redis.call('HINCRBY', P .. 'counts', 'awaiting', -1)
        end
        redis.call('HDEL', P .. 'rows', k)
        redis.call('ZREM', P .. 'due', k)
        redis.call('ZREM', P .. 'hand', k)
    end
    redis.call('ZREM', P .. 'done', k)
end
return #found
"""
)

# The earliest poll and hand-over times, and how many rows are claimed.
_WAKE = (
    _PRELUDE
    + """
local due = redis.call('ZRANGE', P .. 'due', 0, 0, 'WITHSCORES')
local hand = redis.call('ZRANGE', P .. 'hand', 0, 0, 'WITHSCORES')
local held = redis.call('HLEN', P .. 'pheld') + redis.call('HLEN', P .. 'hheld')
return {due[2] or '', hand[2] or '', held}
"""
)

# Give back every claim of this worker (run() ending).
_RELEASE_ALL = (
    _PRELUDE
    + """
for _, m in ipairs(redis.call('SMEMBERS', mine)) do
    place(string.sub(m, 1, 1), string.sub(m, 3), nil, true)
end
redis.call('DEL', mine)
redis.call('ZREM', P .. 'leases', token)
return 1
"""
)

# ARGV[4] this version's schema, ARGV[5] its version string: the store's schema (set if new).
_SCHEMA = (
    _PRELUDE
    + """
redis.call('HSETNX', P .. 'meta', 'schema', ARGV[4])
local schema = redis.call('HGET', P .. 'meta', 'schema')
if tonumber(schema) <= tonumber(ARGV[4]) then
    redis.call('HSET', P .. 'meta', 'written_by', ARGV[5])
end
return {schema, redis.call('HGET', P .. 'meta', 'written_by') or ''}
"""
)


class StoreUnavailableError(RuntimeError):
    """The tracker's Redis did not answer (down, unreachable, or too slow). Nothing is lost:
    each change is atomic, so it happened entirely or not at all; call again once Redis is
    back (a `run()` that raised this can simply be started again)."""


# -- rows as stored --------------------------------------------------------------------------


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _encode(row: Row, version: int, write_id: str) -> str:
    values = [getattr(row, name) for name in _FIELDS]
    return f"{version}:{write_id}:{json.dumps(values, separators=(',', ':'))}"


def _decode(value: object) -> tuple[int, Row]:
    version, _, rest = _text(value).partition(":")
    _, _, data = rest.partition(":")
    fields = dict(zip(_FIELDS, json.loads(data), strict=True))
    fields["known"] = bool(fields["known"])
    fields["is_final"] = bool(fields["is_final"])
    return int(version), Row(**fields)


def _time(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _tags(row: Row | None) -> Counter[str]:
    """The counters a row adds to: `counts()` sums them."""
    tags = Counter[str]()
    if row is None:
        return tags
    if row.next_poll_at is not None:
        tags["in_flight"] += 1
    if row.reason is not None:
        tags[f"s|{row.reason}|{row.state or 'unknown'}"] += 1
    if row.handover_at is not None:
        tags["awaiting"] += 1
    return tags


def _delta(old: Row | None, new: Row) -> str:
    before, after = _tags(old), _tags(new)
    return ",".join(
        [f"+{t}" for t in (after - before).elements()]
        + [f"-{t}" for t in (before - after).elements()]
    )


def _done_at(row: Row) -> str:
    return _time(row.settled_at) if row.settled and row.handover_at is None else ""


def _valid_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def _own_client(redis_client: Any, timeout: float) -> tuple[Any, bool]:
    """A client on the same server as `redis_client`, with socket timeouts (a hang becomes an
    error) and without redis-py's own retries (the store retries, knowing what is safe to
    send again). The caller's client is never changed. A client whose pool cannot be copied
    (a cluster client, say) is used as it is."""
    pool = getattr(redis_client, "connection_pool", None)
    kwargs: object = getattr(pool, "connection_kwargs", None)
    connection_class = getattr(pool, "connection_class", None)
    if not isinstance(kwargs, dict) or connection_class is None:
        return redis_client, False
    given = cast(dict[str, Any], kwargs)
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    settings: dict[str, Any] = {  # the pool's own bookkeeping is left for the new pool
        k: v
        for k, v in given.items()
        if not k.startswith("orig_") and k != "maint_notifications_pool_handler"
    }
    if settings.get("socket_timeout") is None:
        settings["socket_timeout"] = timeout
    if "socket_connect_timeout" in settings and settings["socket_connect_timeout"] is None:
        settings["socket_connect_timeout"] = timeout  # TCP only: a unix socket has none
    settings["retry"] = Retry(NoBackoff(), 0, (redis.ConnectionError, redis.TimeoutError))
    settings["retry_on_error"] = []
    settings.pop("retry_on_timeout", None)
    settings["decode_responses"] = True
    own = redis.ConnectionPool(connection_class=connection_class, **settings)
    return redis.Redis(connection_pool=own), True


class RedisStore:
    """The tracker's state in Redis, shared by every worker that uses the same `name`.

    `redis_client`: a `redis.Redis` (`sms-status[redis]`); the store talks to the same server
    on a pool of its own with socket timeouts (`timeout` seconds where the client has none),
    so a Redis that stops answering raises `StoreUnavailableError`, never hangs.
    `lease`: seconds a worker holds the ids it claimed after its last word to Redis, on the
    Redis server's clock: a worker that dies has its ids taken over this long after.
    `retention`: seconds a settled, handed-over outcome is kept (`get`, `counts`) before
    `purge` (which `run()` calls every minute) forgets it.

    Any number of processes and hosts may `run()`, `add()` and `ingest()` on one store.
    """

    def __init__(
        self,
        redis_client: Any,
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
        if redis_client is None or not callable(getattr(redis_client, "register_script", None)):
            raise TypeError(
                f"redis_client must be a redis.Redis, not {type(redis_client).__name__}"
            )
        self.name = name
        self.lease = _valid_seconds("lease", lease)
        self.retention = _valid_seconds("retention", retention)
        self.prefix = f"{KEY_PREFIX}{{{name}}}:"
        self._rows = self.prefix + "rows"
        self._client, self._owns_client = _own_client(
            redis_client, _valid_seconds("timeout", timeout)
        )
        self._where = _where(self._client)
        self._lock = threading.Lock()
        self._token = _new_token()
        self._writes = 0
        self._runs = 0
        self._cache: dict[str, tuple[int, Row]] = {}
        """Rows this worker claimed or wrote, by key, with their version: a change starts
        from here instead of a read (the write's version check catches a stale one)."""
        self._last_now = 0.0
        self.round_trips = 0
        """Calls this store made to Redis (for benchmarks)."""
        register = self._client.register_script
        self._claim = register(_CLAIM)
        self._change = register(_CHANGE)
        self._insert = register(_INSERT)
        self._peek = register(_PEEK)
        self._early = register(_EARLY)
        self._purge = register(_PURGE)
        self._wake = register(_WAKE)
        self._release_all = register(_RELEASE_ALL)
        try:
            self._check_schema(register(_SCHEMA))
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"RedisStore(name={self.name!r}, redis={self._where})"

    # -- calls -------------------------------------------------------------------------------

    def _call(self, script: Callable[..., Any], *args: object, rotate: bool = False) -> Any:
        """Run one script, sent again (up to `ATTEMPTS` times) if the connection fails.
        `rotate`: the script claims rows: a new worker token before sending it again, so a
        first send that ran leaves claims nobody renews (they expire with the old lease)."""
        import redis

        for attempt in range(ATTEMPTS):
            with self._lock:
                token = self._token
                self.round_trips += 1
            try:
                return script(
                    keys=[self._rows],
                    args=[self.prefix, token, int(self.lease * 1000), *args],
                )
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if rotate:
                    self._rotate(token)
                if attempt + 1 == ATTEMPTS or isinstance(exc, redis.TimeoutError):
                    raise StoreUnavailableError(
                        f"the tracker's Redis at {self._where} did not answer "
                        f"({type(exc).__name__}: {exc}); nothing was half done: call again "
                        f"once it is back"
                    ) from exc
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _rotate(self, old: str) -> None:
        with self._lock:
            if self._token == old:
                self._token = _new_token()
                self._cache.clear()

    def _write_id(self) -> str:
        with self._lock:
            self._writes += 1
            return f"{self._token}.{self._writes}"

    def _check_schema(self, script: Callable[..., Any]) -> None:
        from sms_status.tracking._sqlite import StoreVersionError

        schema, written_by = self._call(script, SCHEMA_VERSION, __version__)
        if int(schema) > SCHEMA_VERSION:
            raise StoreVersionError(
                f"the Redis store {self.name!r} has tracker schema {_text(schema)} (written by "
                f"sms-status {_text(written_by) or 'newer'}); sms-status {__version__} reads "
                f"schema {SCHEMA_VERSION} and older: upgrade sms-status on every tracker that "
                f"shares this store"
            )

    # -- Store -------------------------------------------------------------------------------

    def insert(self, rows: Iterable[Row], *, now: float, apply_early: ApplyEarly) -> int:
        """New rows are stored in scripts of `INSERT_CHUNK`. When there are more than one
        chunk's worth, they are staged in Redis first (a list that expires, so a process that
        dies meanwhile leaves nothing for long) and stored only once `rows` has been read to
        its end: a bad id anywhere (`rows` raising) stores nothing."""
        write_id = self._write_id()
        chunk: list[str] = []
        staged: str | None = None
        try:
            for row in rows:
                chunk += [row.key, _encode(row, 1, write_id), _time(row.next_poll_at)]
                if len(chunk) == 3 * INSERT_CHUNK:
                    staged = staged or f"{self.prefix}staging:{write_id}"
                    self._stage(staged, chunk)
                    chunk = []
        except BaseException:
            if staged is not None:
                self._plain(lambda: self._client.delete(staged))
            raise
        if staged is None:
            return self._insert_chunk(chunk, [], now, apply_early) if chunk else 0
        if chunk:
            self._stage(staged, chunk)
        new = 0
        while True:
            stored = self._insert_chunk([], [staged, str(3 * INSERT_CHUNK)], now, apply_early)
            if stored < 0:  # the staging list is used up (and deleted)
                return new + (-stored - 1)
            new += stored

    def _stage(self, staged: str, values: list[str]) -> None:
        with self._lock:
            self.round_trips += 1

        def send() -> None:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.rpush(staged, *values)
                pipe.expire(staged, int(STAGING_TTL))
                pipe.execute()

        self._plain(send)

    def _insert_chunk(
        self, values: list[str], staged: list[str], now: float, apply_early: ApplyEarly
    ) -> int:
        new, early, more = self._call(self._insert, *(staged or ["", "0"]), *values)
        pending = [(_text(early[i]), _text(early[i + 1])) for i in range(0, len(early), 2)]
        for key, value in pending:
            received_at, _, report = value.partition(" ")
            expired = float(received_at) + EARLY_PUSH_TTL < now
            self._apply([(key, _early_change(apply_early, report, expired))], drop_early=True)
        return int(new) if int(more) else -int(new) - 1

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
                if release:
                    if new is None or old is None or old.next_poll_at != new.next_poll_at:
                        flags += "p"
                    if new is None or old is None or old.handover_at != new.handover_at:
                        flags += "h"
                if found is None or new is None:
                    args += [key, "", "", "", "", "", "", flags]
                    continue
                version = found[0]
                args += [
                    key,
                    str(version),
                    _encode(new, version + 1, self._write_id()),
                    _time(new.next_poll_at),
                    _time(new.handover_at),
                    _done_at(new),
                    _delta(old, new),
                    flags,
                ]
                planned[key] = (version + 1, new)
            conflicts, gone = self._call(self._change, *args)
            retry = [_text(k) for k in conflicts]
            lost = {_text(k) for k in gone} | set(retry)
            with self._lock:
                for key, entry in planned.items():
                    if key not in lost:
                        written[key] = entry[1]
                        if len(self._cache) >= CACHE_LIMIT:
                            self._cache.clear()
                        self._cache[key] = entry
            keys = retry
            current = self._read(retry) if retry else {}
        return written

    def _read(self, keys: list[str]) -> dict[str, tuple[int, Row]]:
        with self._lock:
            self.round_trips += 1
        values = self._plain(lambda: self._client.hmget(self._rows, keys))
        return {k: _decode(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def _plain(self, call: Callable[[], Any]) -> Any:
        """A read-only command, sent again if the connection fails."""
        import redis

        for attempt in range(ATTEMPTS):
            try:
                return call()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if attempt + 1 == ATTEMPTS or isinstance(exc, redis.TimeoutError):
                    raise StoreUnavailableError(
                        f"the tracker's Redis at {self._where} did not answer "
                        f"({type(exc).__name__}: {exc}); call again once it is back"
                    ) from exc
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def push(
        self, provider: str, message_id: str, change: Change, keep_early: KeepEarly, now: float
    ) -> bool:
        key = f"{provider}:{message_id}"
        while True:
            stored, early = (_text(v) for v in self._call(self._peek, key, provider, repr(now)))
            if stored:
                version, row = _decode(stored)
                new = change(row)
                if new is None:
                    return False
                conflicts, gone = self._call(
                    self._change,
                    key,
                    str(version),
                    _encode(new, version + 1, self._write_id()),
                    _time(new.next_poll_at),
                    _time(new.handover_at),
                    _done_at(new),
                    _delta(row, new),
                    "",
                )
                if not conflicts and not gone:
                    return True
                continue
            received_at, _, kept_report = early.partition(" ")
            kept = keep_early(kept_report or None)
            if kept is None:
                return False
            value = f"{received_at if early else repr(now)} {kept}"
            ttl = int(EARLY_PUSH_TTL * 1000)
            if _text(self._call(self._early, key, early, value, ttl)) == "ok":
                return True

    def last_push(self, provider: str) -> float | None:
        with self._lock:
            self.round_trips += 1
        found = self._plain(lambda: self._client.hget(self.prefix + "pushes", provider))
        return None if found is None else float(_text(found))

    def _claimed(self, queue: str, now: float, limit: int) -> list[Row]:
        with self._lock:
            self._last_now = max(self._last_now, now)
        keys, values = self._call(self._claim, queue, repr(float(now)), limit, rotate=True)
        rows: list[Row] = []
        with self._lock:
            if len(self._cache) + len(keys) > CACHE_LIMIT:
                self._cache.clear()
            for key, value in zip(keys, values, strict=True):
                version, row = _decode(value)
                self._cache[_text(key)] = (version, row)
                rows.append(row)
        return rows

    def due(self, now: float, limit: int) -> list[Row]:
        """Claim up to `limit` rows due at `now` (earliest first) for this worker: no other
        worker gets them until `change()` gives them back or this worker's lease runs out."""
        return self._claimed("p", now, limit)

    def handovers_due(self, now: float, limit: int) -> list[Row]:
        """Claim up to `limit` outcomes due to be handed over, as `due` claims polls; a
        `change()` that starts a hand-over (leaves `handover_at` as it was) keeps the claim,
        one that ends or reschedules it gives it back."""
        return self._claimed("h", now, limit)

    def next_wake(self) -> float | None:
        due, hand, held = self._call(self._wake)
        times = [float(_text(t)) for t in (due, hand) if _text(t)]
        if int(held):  # claimed by a worker: due already, or back once its lease runs out
            with self._lock:
                times.append(self._last_now)
        return min(times) if times else None

    def get(self, provider: str, message_id: str) -> Row | None:
        found = self._read([f"{provider}:{message_id}"])
        return next(iter(found.values()))[1] if found else None

    def counts(self) -> Counts:
        with self._lock:
            self.round_trips += 1
        raw: dict[Any, Any] = self._plain(lambda: self._client.hgetall(self.prefix + "counts"))
        by_state: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        in_flight = awaiting = 0
        for field, count in raw.items():
            name, number = _text(field), int(count)
            if name == "in_flight":
                in_flight = number
            elif name == "awaiting":
                awaiting = number
            elif name.startswith("s|") and number:
                _, reason, state = name.split("|", 2)
                by_state[state] = by_state.get(state, 0) + number
                by_reason[reason] = by_reason.get(reason, 0) + number
        return Counts(
            in_flight=in_flight,
            settled=sum(by_reason.values()),
            by_state=by_state,
            by_reason=by_reason,
            awaiting_handover=awaiting,
        )

    def purge(self, now: float) -> int:
        """Forget outcomes handed over more than `retention` ago (early pushes expire on
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
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                last = self._runs == 0
            if last:
                self._give_back()

    def _give_back(self) -> None:
        with self._lock:
            token = self._token
            self._cache.clear()
        try:
            self._call(self._release_all)
        except StoreUnavailableError as exc:  # the lease runs out instead
            log.warning("could not give back claimed ids (they return at lease end): %s", exc)
        self._rotate(token)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _early_change(apply_early: ApplyEarly, report: str, expired: bool) -> Change:
    def change(row: Row) -> Row | None:
        return None if expired else apply_early(row, report)

    return change


def _new_token() -> str:
    return f"{os.getpid()}-{secrets.token_hex(6)}"


def _where(client: Any) -> str:
    found: object = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if isinstance(found, dict):
        kwargs = cast(dict[str, Any], found)
        if kwargs.get("path"):
            return f"unix:{kwargs['path']}"
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
    return type(client).__name__


__all__ = ["RedisStore", "StoreUnavailableError"]
