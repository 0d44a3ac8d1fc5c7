"""One of several processes sharing a lisoloo budget through Redis (section 6c).

    python -m benchmarks._budget_worker BASE_URL API_KEY REDIS_URL NAME REQUESTS PER START SECONDS

Waits until the wall-clock time START (so every process begins together), then calls
`get_status` from THREADS threads, one id after another, on one sync lisoloo client paced by
`RedisRateLimiter(NAME, RateLimit(REQUESTS, PER))`, with retries off so that a 429 would
show, until START + SECONDS. Prints one JSON line: answered (and of those, answered by
START + SECONDS), rate_limited, other errors, and when its first and last answers came.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections import Counter

from benchmarks._serve import message_id

KEY = "lisoloo"
MESSAGES = 1000
THREADS = 4
"""Lookups in flight per process, so a slot is rarely missed while one thread is late."""


def main() -> None:
    base_url, api_key, redis_url, name = sys.argv[1:5]
    requests, per = int(sys.argv[5]), float(sys.argv[6])
    start, seconds = float(sys.argv[7]), float(sys.argv[8])
    import redis
    import sms_status
    from sms_status.errors import RateLimitError, SmsStatusError
    from sms_status.pacing import RateLimit, RedisRateLimiter

    limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), name, RateLimit(requests, per))
    counts = Counter[str]()
    answers: list[float] = []
    lock = threading.Lock()
    ids = itertools.count()

    def look_up(client: sms_status.StatusClient) -> None:
        while time.time() < start + seconds:
            try:
                client.get_status(message_id(KEY, next(ids) % MESSAGES))
            except RateLimitError:
                outcome = "rate_limited"
            except SmsStatusError:
                outcome = "errors"
            else:
                outcome = "answered"
            with lock:
                counts[outcome] += 1
                if outcome == "answered":
                    answers.append(time.time())

    with sms_status.connect(
        KEY, api_key=api_key, base_url=base_url, rate_limiter=limiter, max_retries=0
    ) as client:
        time.sleep(max(0.0, start - time.time()))
        threads = [threading.Thread(target=look_up, args=(client,)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(
        json.dumps(
            {
                "answered": counts["answered"],
                "answered_in_time": sum(1 for t in answers if t <= start + seconds),
                "rate_limited": counts["rate_limited"],
                "errors": counts["errors"],
                "first": min(answers, default=0.0),
                "last": max(answers, default=0.0),
            }
        )
    )


if __name__ == "__main__":
    main()
