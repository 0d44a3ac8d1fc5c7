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
from typing import TYPE_CHECKING, Any, TypeAlias

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
