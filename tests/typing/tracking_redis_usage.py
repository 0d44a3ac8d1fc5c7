"""The tracker over Redis as users write it: one store shared by many workers."""

from __future__ import annotations

import redis
from sms_status import tracking


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
