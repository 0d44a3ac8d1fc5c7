"""One tracker worker over a shared RedisStore, for test_redis_store.py (run as a script).

    python tests/tracking/_redis_worker.py CONFIG_JSON

Runs `Tracker(RedisStore(...)).run()` until the store is idle, polling a telecom23 sandbox
the test serves. Its clock runs `speed` times faster than real time from `base`, shifted by
`skew` seconds (another host's clock). It appends one JSON line per `on_final` call to `log`
— `[key, delivery, state, settled_at, source, pid]` — and one per claimed row to `claims` —
`[key, polls]` (a row's poll count names the due time it was claimed for); `batch` rows are
claimed at a time (the engine's `BATCH`, made small so that workers contend); `max_interval`
is the tracker's (pushes arriving defer young ids' polls that long). With `die` > 0,
`on_final` SIGKILLs its own process at random, before or after writing its line: a worker
dying mid-hand-over. A Redis that went away is waited for: `run()` is started again.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from typing import Any


def main() -> None:
    config: dict[str, Any] = json.loads(sys.argv[1])
    import redis
    import sms_status
    from sms_status import tracking
    from sms_status.tracking import _engine
    from sms_status.tracking._model import Row

    _engine.BATCH = int(config.get("batch", _engine.BATCH))  # smaller claims: more contention

    base, speed, skew = config["base"], config["speed"], config["skew"]
    rng = random.Random(config["seed"])
    die = float(config.get("die", 0.0))
    log = os.open(config["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    claims = os.open(config["claims"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    idle = threading.Event()  # never set: the tracker's wait between looks

    def clock() -> float:
        return base + (time.time() - base) * speed + skew

    def wait(seconds: float) -> None:
        idle.wait(min(seconds, 1.0) / speed)

    def on_final(outcome: tracking.Outcome) -> None:
        if rng.random() < die / 2:
            os.kill(os.getpid(), signal.SIGKILL)
        line = [
            outcome.key,
            outcome.delivery,
            outcome.state.value,
            outcome.settled_at.timestamp(),
            outcome.source,
            os.getpid(),
        ]
        os.write(log, (json.dumps(line) + "\n").encode())
        if rng.random() < die / 2:
            os.kill(os.getpid(), signal.SIGKILL)

    class ClaimLog(tracking.RedisStore):
        def due(self, now: float, limit: int, apply_early: Any = None) -> list[Row]:
            rows = super().due(now, limit, apply_early)
            if rows:
                text = "".join(json.dumps([r.key, r.polls]) + "\n" for r in rows)
                os.write(claims, text.encode())
            return rows

    client = sms_status.connect(
        "telecom23", api_key=config["api_key"], base_url=config["base_url"], max_retries=0
    )
    while True:  # Redis may be restarting
        try:
            store = ClaimLog(
                redis.Redis.from_url(config["redis"]),
                name=config["name"],
                lease=config["lease"],
                timeout=2.0,
            )
            break
        except tracking.StoreUnavailableError:
            continue
    tracker = tracking.Tracker(
        store,
        on_final=on_final,
        clients={"telecom23": client},
        clock=clock,
        sleep=wait,
        max_interval=float(config.get("max_interval", tracking.DEFAULT_MAX_INTERVAL)),
    )
    while True:
        try:
            tracker.run()
            break
        except tracking.StoreUnavailableError:
            continue
    store.close()
    client.close()


if __name__ == "__main__":
    main()
