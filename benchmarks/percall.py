"""1. One status call, sync, keep-alive: `client.get_status` against the floor.

Contenders, all against one telecom23 sandbox process on 127.0.0.1:
- floor: `httpx.Client.get` on a kept-alive connection + `json.loads` of the body;
- ours: `sms_status.connect("telecom23", ..., rate_limiter=None).get_status(id)`;
- ours with the provider's default pacing (a token bucket at ~958 requests/s);
- seed style: `requests.get(url, headers=...)` then `.json()` per call, a new connection each
  time, as the seed pages' examples (002, 003) are written.

Each repetition times every contender for `calls` calls, in a rotating order so drift in the
machine's load is shared; wall time per call is sampled call by call, CPU per call
(`time.process_time`) over the whole batch.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks._common import Row, Section, Server, Target, fmt, serve, set_ratio
from benchmarks._serve import message_id

KEY = "telecom23"
PATH = "/api/v1/sms/status/"
MESSAGES = 2000


def _contenders(server: Server) -> tuple[dict[str, Callable[[str], Any]], Callable[[], None]]:
    import httpx
    import requests
    import sms_status

    base, key = server.base_url, server.api_key
    headers = {"X-API-Key": key}
    raw = httpx.Client(headers=headers)
    ours = sms_status.connect(KEY, api_key=key, base_url=base, rate_limiter=None)
    paced = sms_status.connect(KEY, api_key=key, base_url=base)

    def floor(mid: str) -> Any:
        return json.loads(raw.get(f"{base}{PATH}{mid}").content)

    def seed(mid: str) -> Any:
        response = requests.get(f"{base}{PATH}{mid}", headers=headers, timeout=10)
        return response.json()

    def close() -> None:
        raw.close()
        ours.close()
        paced.close()

    return {
        "floor: httpx.Client.get + json.loads (keep-alive)": floor,
        "ours: client.get_status": ours.get_status,
        "ours: client.get_status, default pacing": paced.get_status,
        "seed style: requests.get per call (new connection)": seed,
    }, close


def run(*, repetitions: int = 5, calls: int = 300) -> Section:
    section = Section("1. Per call, sync (telecom23)")
    with serve(KEY, MESSAGES) as server:
        contenders, close = _contenders(server)
        names = list(contenders)
        wall: dict[str, list[list[float]]] = {n: [] for n in names}
        cpu: dict[str, list[float]] = {n: [] for n in names}
        server_cpu: dict[str, list[float]] = {n: [] for n in names}
        cursor = 0
        for name in names:  # warm-up: connections, caches, lazy imports
            for i in range(50):
                contenders[name](message_id(KEY, i))
        for rep in range(repetitions):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for name in order:
                call = contenders[name]
                samples: list[float] = []
                server_before = server.cpu()
                cpu_before = time.process_time()
                for _ in range(calls):
                    mid = message_id(KEY, cursor % MESSAGES)
                    cursor += 1
                    start = time.perf_counter_ns()
                    call(mid)
                    samples.append((time.perf_counter_ns() - start) / 1000)
                cpu[name].append((time.process_time() - cpu_before) / calls * 1e6)
                server_cpu[name].append((server.cpu() - server_before) / calls * 1e6)
                wall[name].append(samples)
        close()
        server.clear()

    rows: dict[str, Row] = {}
    for name in names:
        every = [s for rep in wall[name] for s in rep]
        rows[name] = Row(
            section.title,
            name,
            "µs/call",
            [statistics.median(rep) for rep in wall[name]],
            p95=sorted(every)[int(len(every) * 0.95)],
            note=(
                f"client CPU {fmt(statistics.median(cpu[name]))} µs/call; "
                f"sandbox CPU {fmt(statistics.median(server_cpu[name]))} µs/call"
            ),
        )
    floor = rows[names[0]]
    set_ratio(list(rows.values()), floor)
    section.rows = list(rows.values())

    ours = rows[names[1]]
    assert ours.ratio is not None
    cpu_ratio = statistics.median(cpu[names[1]]) / statistics.median(cpu[names[0]])
    worst = max(ours.ratio_runs) if ours.ratio_runs else ours.ratio
    section.targets.append(
        Target(
            "per call, ours vs floor",
            "≤ 1.15× the floor (median µs/call)",
            f"{ours.ratio:.2f}× (paired per-run ratios {fmt(min(ours.ratio_runs))}–"
            f"{fmt(worst)}); client CPU {cpu_ratio:.2f}×",
            ours.ratio <= 1.15,
        )
    )
    seed = rows[names[3]]
    assert seed.ratio is not None
    section.notes.append(
        f"`{calls}` calls per contender per run, {repetitions} runs, order rotated each run. "
        f"The seed-style call costs {seed.ratio:.1f}× the floor: a new TCP connection "
        "and a new `requests` session per call (on loopback the handshake is nearly free; "
        "over a real network each one adds a round trip, TLS one or two more)."
    )
    return section
