"""The tracker over Redis as users write it: one store shared by many workers.

A `# type: ignore[...]` here marks a line that MUST fail type checking (escape_hatches.py).
"""

# pyright: reportUnnecessaryTypeIgnoreComment=error

from __future__ import annotations

import redis
import redis.asyncio
from sms_status import tracking
from sms_status.pacing import AsyncRedisRateLimiter, RateLimit, RedisRateLimiter
from sms_status.webhooks import RedisReplayGuard


def save(outcome: tracking.Outcome) -> None:
    print(outcome.key, outcome.delivery)


def worker(client: redis.Redis) -> tracking.Counts:
    store = tracking.RedisStore(client, name="acme-sms", lease=60.0, retention=7 * 24 * 3600.0)
    as_protocol: tracking.Store = store  # RedisStore is a Store
    print(as_protocol, store.name, store.lease, store.retention)
    try:
        with tracking.Tracker(store, on_final=save) as tracker:
            tracker.add("telecom23", "api_42_1", tag="order-1234")
            tracker.run(until_idle=False)
            return tracker.counts()
    except tracking.StoreUnavailableError as exc:  # Redis went away: run() again later
        print(exc)
        raise
    finally:
        store.close()


def the_wrong_kind_of_redis_client_fails_type_checking(url: str) -> None:
    # Each took `Any`: an asyncio client type-checked, then raised TypeError when built.
    tracking.RedisStore(redis.asyncio.Redis.from_url(url))  # type: ignore[arg-type]
    RedisReplayGuard(redis.asyncio.Redis.from_url(url))  # type: ignore[arg-type]
    limit = RateLimit(1, 1.0)
    RedisRateLimiter(redis.asyncio.Redis.from_url(url), "n", limit)  # type: ignore[arg-type]
    AsyncRedisRateLimiter(redis.Redis.from_url(url), "n", limit)  # type: ignore[arg-type]
