"""Replay guards: remember each signed delivery for as long as its timestamp stays acceptable."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sms_status import _validation
from sms_status._redis_kind import require_blocking, with_reply_timeout

if TYPE_CHECKING:
    from sms_status._redis_kind import BlockingRedis


@runtime_checkable
class ReplayGuard(Protocol):
    """What `parse(..., replay_guard=)` needs: a set with expiry, shared by the receivers."""

    def add(self, key: str, *, ttl: float) -> bool:
        """Remember `key` for `ttl` seconds; True if it was new, False if already there."""
        ...


class MemoryReplayGuard:
    """A replay guard in this process's memory (one receiver process; thread-safe).

    At most `max_entries` keys are kept: expired ones are dropped first, then those that
    expire soonest (with one `ttl`, the oldest). Each `add` costs O(log n), full or not.
    """

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_entries = _validation.whole_number(max_entries, "max_entries", minimum=1)
        self._clock = clock
        self._expiry: dict[str, float] = {}
        # (expiry, order added, key), soonest first; an entry whose key was since added
        # again or discarded no longer matches `_expiry` and is skipped when it comes up.
        self._by_expiry: list[tuple[float, int, str]] = []
        self._added = itertools.count()
        self._lock = threading.Lock()

    def add(self, key: str, *, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            expires = self._expiry.get(key)
            if expires is not None and expires > now:
                return False
            expires = self._expiry[key] = now + ttl
            heapq.heappush(self._by_expiry, (expires, next(self._added), key))
            self._evict(now)
            return True

    def discard(self, key: str) -> None:
        """Forget `key` (a delivery that was not stored after all, so its retry is new)."""
        with self._lock:
            self._expiry.pop(key, None)

    def _evict(self, now: float) -> None:
        # Only what is due comes off the heap: never a walk over every key (under the lock,
        # on the receiver's event loop).
        by_expiry, expiry = self._by_expiry, self._expiry
        while by_expiry and (by_expiry[0][0] <= now or len(expiry) > self._max_entries):
            expires, _, key = heapq.heappop(by_expiry)
            if expiry.get(key) == expires:
                del expiry[key]
        if len(by_expiry) > 2 * len(expiry) + 1024:  # discarded keys' entries: rebuild
            self._by_expiry = [entry for entry in by_expiry if expiry.get(entry[2]) == entry[0]]
            heapq.heapify(self._by_expiry)

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def __repr__(self) -> str:
        return f"MemoryReplayGuard(entries={len(self)}, max_entries={self._max_entries})"


_ADD_ONCE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""
"""SET NX with this add's own token; a key holding that token is this add's too (a resend
of it after its reply was lost: redis-py retries on a dropped connection by default)."""

_CLAIM = """
local held = redis.call('GET', KEYS[1])
if not held then
    redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
    return 'new'
end
if held == 'p:' .. ARGV[1] then return 'new' end
if string.sub(held, 1, 2) == 'p:' then return 'busy' end
return 'seen'
"""
"""The key, pending for the lease, unless it is held: 'busy' while another claim's report is
being made, 'seen' once one was (a resend of this claim finds its own token: 'new')."""

_CONFIRM = """
local held = redis.call('GET', KEYS[1])
if not held or string.sub(held, 1, 2) == 'p:' then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""
"""Pending (or lapsed) becomes seen for the ttl: this delivery's report was made."""

_DISCARD_OWN = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or held == 'p:' .. ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
"""The key deleted only while it holds this add's or claim's token: a receiver whose add timed
out (Redis slow) must not erase what another receiver remembered of a copy it reported."""


class RedisReplayGuard:
    """A replay guard in Redis, for receivers behind a load balancer (`sms-status[redis]`).

    One atomic `SET key token NX PX ttl` per delivery (in a script), so two receivers given
    the same delivery at once cannot both accept it; each add writes a token of its own, so
    the client's resend of an add whose reply was lost finds its own key, not a replay.
    Takes a synchronous `redis.Redis` client.

    With acknowledge="after_report" the receiver `claim`s a delivery before its report and
    `confirm`s it after: a receiver killed meanwhile leaves it pending for `lease` seconds
    only (its copies are answered 503 meanwhile, so the provider retries), not remembered
    as reported. Each add or claim may be given a `token` of the caller's, and
    `discard(key, token=)` then deletes the key only while it holds that token (a subclass
    overriding them without `token` is called without one, as before).

    `prefix`: one per receiving app. Two apps taking the same provider's deliveries on one
    Redis with one prefix share their keys, and the second answers each delivery 200 as a
    replay, unreported. Remembered keys are lost with the Redis data: a Redis without
    persistence that restarts takes a delivery reported before as new.
    """

    def __init__(
        self,
        redis_client: BlockingRedis,
        *,
        prefix: str = "sms_status:webhook:",
        lease: float = 60.0,
    ) -> None:
        require_blocking(redis_client, "RedisReplayGuard")  # it is called in a worker thread
        lease = _validation.seconds(lease, "lease")
        if not isinstance(prefix, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        # A socket timeout (5 s at most) and one resend of redis-py's (each add or claim
        # carries a token of its own for it): a Redis that stopped answering held each
        # delivery (and a worker thread) for as long as it was away, or a minute a call.
        redis_client = with_reply_timeout(redis_client, resends=True)
        self._redis = redis_client
        self._prefix = prefix
        self._lease_ms = max(1, int(lease * 1000))
        self._add_once = redis_client.register_script(_ADD_ONCE)
        self._claim = redis_client.register_script(_CLAIM)
        self._confirm = redis_client.register_script(_CONFIRM)
        self._discard_own = redis_client.register_script(_DISCARD_OWN)

    def add(self, key: str, *, ttl: float, token: str | None = None) -> bool:
        # This add's own, drawn each time: a guard made before a fork (gunicorn --preload)
        # is copied into every worker, and a counter with it.
        token = secrets.token_hex(16) if token is None else token
        created = self._add_once(keys=[self._name(key)], args=[token, max(1, int(ttl * 1000))])
        return bool(created)

    def claim(self, key: str, *, token: str | None = None) -> str:
        """Take `key` while its report is made: "new" (pending for the lease, until
        `confirm` or `discard`), "busy" (another receiver is reporting it) or "seen"."""
        token = secrets.token_hex(16) if token is None else token  # as `add`'s
        held = self._claim(keys=[self._name(key)], args=[token, self._lease_ms])
        return held.decode() if isinstance(held, bytes) else str(held)

    def confirm(self, key: str, *, ttl: float) -> None:
        """`key`'s report was made: remembered as seen for `ttl` seconds."""
        token = secrets.token_hex(16)
        self._confirm(keys=[self._name(key)], args=[token, max(1, int(ttl * 1000))])

    def discard(self, key: str, *, token: str | None = None) -> None:
        """Forget `key` (a delivery that was not stored after all, so its retry is new);
        with `token`, only while it holds what the add or claim given that token wrote."""
        if token is None:
            self._redis.delete(self._name(key))
        else:
            self._discard_own(keys=[self._name(key)], args=[token])

    def _name(self, key: str) -> str:
        # Hashed: keys hold signatures and nonces; a bounded, opaque name is all Redis needs.
        return self._prefix + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def __repr__(self) -> str:
        return f"RedisReplayGuard(prefix={self._prefix!r})"


__all__ = ["MemoryReplayGuard", "RedisReplayGuard", "ReplayGuard"]
