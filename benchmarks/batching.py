"""3. seven batching: requests and wall time for 1,000 ids, batched vs one request per id.

seven's `GET /api/status?msg_id=a,b,...` takes up to 100 comma-separated ids; `get_statuses`
packs them, `get_status` per id (and a raw per-id loop) is what it saves. Requests are counted
by the sandbox's own log.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks._common import Row, Section, Target, serve, set_ratio
from benchmarks._serve import message_id

KEY = "seven"


def run(*, ids: int = 1_000, repetitions: int = 3) -> Section:
    import httpx
    import sms_status

    section = Section(f"3. seven batching, {ids:,} ids (sync unless noted)")
    message_ids = [message_id(KEY, i) for i in range(ids)]
    with serve(KEY, ids) as server:
        base, key = server.base_url, server.api_key
        client = sms_status.connect(KEY, api_key=key, base_url=base, rate_limiter=None)
        raw = httpx.Client(headers={"X-Api-Key": key})

        def batched() -> int:
            reports = client.get_statuses(message_ids)
            return sum(1 for r in reports if r.error is None and r.is_final)

        def batched_async() -> int:
            async def go() -> int:
                async with sms_status.connect_async(
                    KEY, api_key=key, base_url=base, rate_limiter=None
                ) as c:
                    reports = await c.get_statuses(message_ids)
                return sum(1 for r in reports if r.error is None and r.is_final)

            return asyncio.run(go())

        def per_id() -> int:
            return sum(1 for mid in message_ids if client.get_status(mid).is_final)

        def raw_per_id() -> int:
            ok = 0
            for mid in message_ids:
                body: Any = json.loads(
                    raw.get(f"{base}/api/status", params={"msg_id": mid}).content
                )
                ok += body.get("status") == "DELIVERED"
            return ok

        contenders: dict[str, Callable[[], int]] = {
            "floor: raw httpx, one request per id": raw_per_id,
            "ours: client.get_status per id": per_id,
            "ours: client.get_statuses": batched,
            "ours: async get_statuses": batched_async,
        }
        walls: dict[str, list[float]] = {n: [] for n in contenders}
        counts: dict[str, int] = {}
        for fn in contenders.values():  # warm-up
            fn()
        for _ in range(repetitions):
            for name, fn in contenders.items():
                server.clear()
                start = time.perf_counter()
                ok = fn()
                walls[name].append((time.perf_counter() - start) * 1000)
                counts[name] = server.requests()
                if ok != ids:
                    raise RuntimeError(f"{name}: {ok} of {ids} final statuses")
        client.close()
        raw.close()

    rows = [
        Row(
            section.title,
            name,
            f"ms per {ids:,} ids",
            walls[name],
            note=f"{counts[name]:,} requests",
        )
        for name in contenders
    ]
    set_ratio(rows, rows[0])
    section.rows = rows
    batched_requests = counts["ours: client.get_statuses"]
    section.targets.append(
        Target(
            "seven batching",
            f"≤ 10 requests for {ids:,} ids",
            f"{batched_requests} requests (async: {counts['ours: async get_statuses']}); "
            f"{statistics.median(walls['ours: client.get_statuses']):.0f} ms vs "
            f"{statistics.median(walls['ours: client.get_status per id']):.0f} ms one per id",
            batched_requests <= 10,
        )
    )
    return section
