"""9. Tracking over one Redis store (issue #18): worker processes settling ids together.

- 9a: `n` telecom23 ids (each final at its first poll) are added to one `RedisStore`, due at
  once; then 1, 2 and 4 `benchmarks._tracking_worker` processes, each a sync `Tracker` with its
  own client and Redis connection, run until the store is idle, against a sandbox in its own
  process (rate limiting off). Outcomes/s is `n` over the time from the common start to the
  last outcome; round trips are the store's calls to Redis (scripts and reads) while settling,
  over `n`; duplicates are hand-overs beyond one per id plus requests beyond one per id.
- 9b: the same with 4 workers sharing one `pacing.RedisRateLimiter` against a sandbox that
  enforces REQUESTS per WINDOW (retries off, so any 429 shows). The share of the budget used
  is the requests the sandbox answered over REQUESTS × (time from its first request to its
  last) / WINDOW: the budget while the workers poll (the share from the common start to the
  last outcome, start-up and the last hand-overs included, is in the note). The budget is set
  below what four sync workers reach unpaced on a small machine (9a), so it is the limit.

`n` defaults to 100,000 (`--quick`: 2,000). Each worker claims up to the engine's BATCH (500)
due ids a time under a lease on the Redis server's clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from benchmarks._common import ROOT, Row, Section, Target, child_env, fmt, serve
from benchmarks._serve import message_id

KEY = "telecom23"
START_DELAY = 3.0
"""Seconds from spawning the workers to their common start: imported and connected by then."""


def _add(redis_url: str, name: str, n: int) -> None:
    import redis
    from sms_status import tracking

    store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
    # Added a minute ago: every id is due at once (telecom23's first poll is 3 s after add).
    with tracking.Tracker(store, on_final=lambda o: None, clock=lambda: time.time() - 60) as t:
        t.add_many(KEY, (message_id(KEY, i) for i in range(n)))
    store.close()


def _settle(
    redis_url: str,
    name: str,
    server: Any,
    workers: int,
    n: int,
    limit: tuple[int, float] | None = None,
) -> dict[str, Any]:
    import redis
    from sms_status import tracking

    _add(redis_url, name, n)
    server.clear()
    start = time.time() + START_DELAY
    extra = [str(limit[0]), str(limit[1])] if limit else []
    procs = [
        subprocess.Popen(  # noqa: S603 - our own module
            [
                sys.executable,
                "-m",
                "benchmarks._tracking_worker",
                redis_url,
                name,
                server.base_url,
                server.api_key,
                str(start),
                *extra,
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=child_env(),
        )
        for _ in range(workers)
    ]
    results = [json.loads(p.communicate(timeout=3600)[0]) for p in procs]
    statuses: dict[str, int] = server.command("statuses")
    span: list[float] | None = server.command("span")
    requests = sum(statuses.values())
    store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
    counts = store.counts()
    store.close()
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()  # 100,000 rows with their reports: not kept for the next run
    handed = Counter(k for r in results for k in r["keys"])
    last = max(r["last"] for r in results)
    first = min(r["first"] for r in results if r["keys"])
    return {
        "n": n,
        "seconds": last - start,
        "steady": last - first,
        "polling": (span[1] - span[0]) if span else 0.0,
        "rate": n / (last - start),
        "round_trips": sum(r["round_trips"] for r in results) / n,
        "duplicate_handovers": sum(handed.values()) - len(handed),
        "extra_requests": max(0, requests - n),
        "missing": n - len(handed),
        "settled": counts.settled,
        "awaiting": counts.awaiting_handover,
        "per_worker": [len(r["keys"]) for r in results],
        "429": statuses.get("429", 0),
        "requests": requests,
    }


def run_workers(*, n: int = 100_000, workers: tuple[int, ...] = (1, 2, 4)) -> Section:
    from sms_status.testing.redis_server import redis_server

    section = Section(f"9a. Tracking {n:,} ids over one RedisStore (telecom23 sandbox, loopback)")
    results: dict[int, dict[str, Any]] = {}
    with redis_server() as redis_url, serve(KEY, n) as server:
        for count in workers:
            results[count] = _settle(redis_url, f"bench-{count}w-{time.time()}", server, count, n)
    for count, r in results.items():
        section.rows.append(
            Row(
                section.title,
                f"{count} worker process{'es' if count > 1 else ''} (sync Tracker each)",
                "outcomes/s",
                [r["rate"]],
                note=(
                    f"{fmt(r['round_trips'])} Redis round trips/outcome; duplicates "
                    f"{r['duplicate_handovers']} hand-overs, {r['extra_requests']} requests; "
                    f"{r['seconds']:.1f} s; per worker {', '.join(map(str, r['per_worker']))}"
                ),
            )
        )
    worst = max(r["round_trips"] for r in results.values())
    each = ", ".join(f"{c}w {fmt(r['round_trips'])}" for c, r in results.items())
    dupes = sum(r["duplicate_handovers"] + r["extra_requests"] for r in results.values())
    missing = sum(r["missing"] + (n - r["settled"]) + r["awaiting"] for r in results.values())
    section.targets.append(
        Target(
            "RedisStore: Redis round trips per outcome",
            "≤ 3",
            f"{fmt(worst)} at most ({each})",
            worst <= 3,
        )
    )
    section.targets.append(
        Target(
            "RedisStore: duplicates across workers",
            "0 hand-overs or polls beyond one per id; every id settled",
            f"{dupes} duplicates, {missing} not settled or not handed over",
            dupes == 0 and missing == 0,
        )
    )
    section.notes.append(
        "Round trips count every call the store makes (claims, compare-and-set writes, reads, "
        "the idle look for work): a hand-over is one (the end of one and the start of the "
        "next share a script), a poll round's write is shared by its 100 ids, a claim by up "
        "to 500."
    )
    return section


def run_budget(
    *, n: int = 10_000, workers: int = 4, requests: int = 300, window: float = 1.0
) -> Section:
    from sms_status.testing.redis_server import redis_server

    section = Section(
        f"9b. {workers} tracker workers sharing one RedisRateLimiter ({requests} per "
        f"{window:g} s, enforced by the sandbox), {n:,} ids"
    )
    with redis_server() as redis_url, serve(KEY, n, (requests, window)) as server:
        r = _settle(redis_url, "bench-budget", server, workers, n, (requests, window))
    # One budget slot is the request at the start of the span: n requests fill n - 1 slots.
    share = (r["requests"] - 1) / (requests * r["polling"] / window)
    overall = n / (requests * r["seconds"] / window)
    section.rows.append(
        Row(
            section.title,
            f"{workers} × sync Tracker, RedisStore + RedisRateLimiter, retries off",
            "outcomes/s",
            [r["rate"]],
            note=(
                f"429s {r['429']}; budget used {share:.1%} from the first request to the last "
                f"({overall:.1%} from the common start to the last outcome: imports, first "
                f"claims and the last hand-overs included); "
                f"{r['requests']} requests for {n} ids; "
                f"{fmt(r['round_trips'])} store round trips/outcome (+1 per request for the "
                f"limiter); duplicate hand-overs {r['duplicate_handovers']}"
            ),
        )
    )
    section.targets.append(
        Target(
            "tracker workers under a shared budget",
            "0 × 429 and ≥ 90 % of the budget used",
            f"{r['429']} × 429, {share:.1%} used",
            r["429"] == 0 and share >= 0.9 and r["duplicate_handovers"] == 0,
        )
    )
    return section


def run(*, quick: bool = False, n: int | None = None) -> list[Section]:
    if quick:
        return [run_workers(n=n or 2_000), run_budget(n=n or 2_000, requests=200)]
    return [run_workers(n=n or 100_000), run_budget(n=min(n or 10_000, 10_000))]
