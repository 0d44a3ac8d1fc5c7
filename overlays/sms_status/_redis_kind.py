"""Which kind of redis-py client a Redis-backed class was given: blocking or asyncio.

Each of them takes one kind, and the other fails late and obscurely: an asyncio client's
call returns a coroutine where a reply was expected, and a coroutine is truthy (a replay
guard would accept every delivery), while a blocking client's reply cannot be awaited. So
the kind is checked when the object is built, by the shape of the client (redis-py's
asyncio clients, cluster or not, have an `async def execute_command`), without importing
redis.
"""

from __future__ import annotations

import inspect
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, cast

if TYPE_CHECKING:  # redis-py is an extra: the names are for type checkers only
    import redis
    import redis.asyncio
    import redis.asyncio.cluster
    import redis.cluster

    BlockingRedis: TypeAlias = "redis.Redis | redis.cluster.RedisCluster"
    """What a blocking Redis-backed class takes (a subclass of one too; a wrapper that passes
    calls on works at run time, and is `typing.cast` to one for a type checker)."""
    AsyncioRedis: TypeAlias = "redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster"
    """What an asyncio Redis-backed class takes."""


def is_asyncio(redis_client: object) -> bool:
    # Asked of the object, not its class: a wrapper that passes calls on (`__getattr__`)
    # answers with the wrapped client's method.
    execute: object = getattr(redis_client, "execute_command", None)
    return inspect.iscoroutinefunction(execute)


def _named(redis_client: object) -> str:
    kind = type(redis_client)
    return f"{kind.__module__}.{kind.__qualname__}"


def require_blocking(redis_client: Any, owner: str) -> None:
    """TypeError unless `redis_client` is a blocking client (redis.Redis, RedisCluster)."""
    if is_asyncio(redis_client):
        raise TypeError(
            f"{owner} takes a blocking client (redis.Redis or redis.cluster.RedisCluster), "
            f"not {_named(redis_client)}: pass redis.Redis.from_url(url)"
        )


def require_asyncio(redis_client: Any, owner: str) -> None:
    """TypeError unless `redis_client` is an asyncio client (redis.asyncio.Redis)."""
    if not is_asyncio(redis_client):
        raise TypeError(
            f"{owner} takes an asyncio client (redis.asyncio.Redis), not "
            f"{_named(redis_client)}: pass redis.asyncio.Redis.from_url(url)"
        )


REPLY_TIMEOUT = 5.0
"""Seconds a rate limiter's or replay guard's Redis may take to answer a call: a Redis that
stopped answering held each lookup, or each webhook delivery, for as long as it was away
(no socket timeout: `redis.Redis.from_url(url)`), or for a minute (redis-py 8's own
retries of a timed-out command)."""


def with_reply_timeout(redis_client: Any, *, resends: bool = False) -> Any:
    """A blocking client on the same server on a pool of its own (one per pool of the
    caller's, shared by every limiter and guard on it): the same settings and cap (waited
    for, `copied_client`), a socket timeout of at most `REPLY_TIMEOUT`, and no retries of
    redis-py's (a booking sent twice books twice: one who asked gets an error instead)
    unless `resends` (the replay guard's calls must be resent: a lost reply's key is set,
    and the provider's retry would then be taken for a replay). The caller's client is
    never changed. A client on another kind of pool (a cluster's, a Sentinel's) is used as
    it is, with its own timeouts."""
    import redis
    from redis.sentinel import SentinelConnectionPool

    pool = getattr(redis_client, "connection_pool", None)
    if not isinstance(pool, redis.ConnectionPool) or isinstance(pool, SentinelConnectionPool):
        return redis_client  # a cluster's, a Sentinel's: built from more than its kwargs
    with _Derived.lock:  # one per pool of the user's and kind: its cap doubled at most
        derived = _Derived.clients.setdefault(pool, {})
        if resends not in derived:
            derived[resends] = _derived_client(pool, resends=resends)
        return derived[resends]


class _Derived:
    """The clients made so far, by the user's pool; anew in a forked child (a lock held by
    another thread at the fork would never be released there)."""

    lock: ClassVar[threading.Lock] = threading.Lock()
    clients: ClassVar[weakref.WeakKeyDictionary[Any, dict[bool, Any]]] = weakref.WeakKeyDictionary()

    @classmethod
    def forked(cls) -> None:
        cls.lock, cls.clients = threading.Lock(), weakref.WeakKeyDictionary()


os.register_at_fork(after_in_child=_Derived.forked)


def _derived_client(pool: Any, *, resends: bool) -> Any:
    return copied_client(pool, timeout=REPLY_TIMEOUT, at_most=True, resends=resends)


def copied_client(
    pool: Any, *, timeout: float, at_most: bool, resends: bool, **overrides: object
) -> Any:
    """A `redis.Redis` on a new pool with `pool`'s settings and cap (a capped pool's copy
    waits for a connection, `timeout` at most, where a plain one would fail): socket timeouts of
    `timeout` where it has none (and at most `timeout` if `at_most`), without redis-py's own
    retries unless `resends` (then one); `overrides` (decode_responses=True, say) set last. The
    limiters', the guard's (`with_reply_timeout`) and the tracker store's own pools."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    given = cast(dict[str, Any], pool.connection_kwargs)
    settings = {  # the pool's own bookkeeping is left for the new pool
        k: v
        for k, v in given.items()
        if not k.startswith("orig_") and k != "maint_notifications_pool_handler"
    }
    for name in ("socket_timeout", "socket_connect_timeout"):
        if name == "socket_timeout" or name in settings:  # a unix socket has no connect one
            kept = settings.get(name)
            settings[name] = timeout if kept is None else min(kept, timeout) if at_most else kept
    # One resend at most: redis-py 8's own retries held a replay guard's call a minute on a
    # Redis that stopped answering (each webhook delivery, then its key's cleanup as long).
    settings["retry"] = Retry(NoBackoff(), 1 if resends else 0)
    if not resends:
        settings["retry_on_error"] = []
        settings.pop("retry_on_timeout", None)
    settings.update(overrides)
    bounds: dict[str, Any] = {"max_connections": getattr(pool, "max_connections", None)}
    if isinstance(pool, redis.BlockingConnectionPool):
        # Its wait for a connection, `timeout` at most if `at_most` (None, "for ever", too:
        # dropped, it made a plain pool that failed at once when all connections were out).
        waits: float | None = getattr(pool, "timeout", None)  # typed int; None is taken too
        bounds["timeout"] = timeout if waits is None else min(waits, timeout) if at_most else waits
    elif isinstance(bounds["max_connections"], int) and bounds["max_connections"] <= WAITED_CAP:
        # A plain pool fails a call at once when all its connections are out: a receiver's
        # 40 worker threads then answered 500s through a one-second Redis slowdown. A cap
        # waits here, `timeout` at most (a blocking pool fills a slot per connection: only
        # for caps that are caps).
        bounds["timeout"] = timeout
    bounds = {k: v for k, v in bounds.items() if v is not None}
    # The base class: a subclass's own constructor may take other arguments.
    kind = redis.BlockingConnectionPool if "timeout" in bounds else redis.ConnectionPool
    own = kind(connection_class=pool.connection_class, **bounds, **settings)
    return redis.Redis(connection_pool=own)


WAITED_CAP = 10_000
"""Connection caps of a plain pool over this are taken for none (redis-py 5's default was
2**31): its copy is left a plain pool."""
