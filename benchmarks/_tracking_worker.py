"""One of several tracker workers over one Redis store (section 8).

    python -m benchmarks._tracking_worker REDIS_URL NAME BASE_URL API_KEY START [REQUESTS PER]

Waits until the wall-clock time START (so every worker begins together), then runs
`Tracker(RedisStore(...)).run()` until the store is idle, polling the telecom23 sandbox at
BASE_URL with one sync client: paced by a `RedisRateLimiter(REQUESTS per PER)` shared with the
other workers when REQUESTS is given, else unpaced; retries off, so a 429 would show. Prints
one JSON line: the keys it handed to `on_final`, the store's Redis round trips, and when its
first and last outcomes came (429s are counted by the sandbox).
"""

from __future__ import annotations

import json
import sys
import time

KEY = "telecom23"


def main() -> None:
    redis_url, name, base_url, api_key = sys.argv[1:5]
    start = float(sys.argv[5])
    import redis
    import sms_status
    from sms_status import tracking
    from sms_status.pacing import RateLimit, RedisRateLimiter

    limiter = None  # unlimited: the store's own speed, not a client-side budget
    if len(sys.argv) > 7:
        limit = RateLimit(int(sys.argv[6]), float(sys.argv[7]))
        limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), f"{name}:budget", limit)
    keys: list[str] = []
    times: list[float] = []

    def on_final(outcome: tracking.Outcome) -> None:
        keys.append(outcome.key)
        times.append(time.time())

    store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
    client = sms_status.connect(
        KEY, api_key=api_key, base_url=base_url, rate_limiter=limiter, max_retries=0
    )
    with tracking.Tracker(store, on_final=on_final, clients={KEY: client}) as tracker:
        time.sleep(max(0.0, start - time.time()))
        store.round_trips = 0
        tracker.run()
    client.close()
    store.close()
    print(
        json.dumps(
            {
                "keys": keys,
                "round_trips": store.round_trips,
                "first": min(times, default=0.0),
                "last": max(times, default=0.0),
            }
        )
    )


if __name__ == "__main__":
    main()
