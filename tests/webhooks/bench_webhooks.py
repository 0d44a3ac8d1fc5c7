"""Webhook costs (#10): verification per delivery, and the receiver's throughput on loopback.

    .nox/tests/bin/python tests/webhooks/bench_webhooks.py [--seconds 5] [--concurrency 32]

Not collected by pytest (the name does not start with test_). The receiver runs under
uvicorn in its own process, so the load generator does not share its GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import timeit
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from sms_status import webhooks
from webhook_support import basic, seven_headers, spec_example, telecom23_headers

SECRET = "whsec_bench"
URL = "https://example.com/hooks/seven"


def verification_costs(number: int = 5000) -> dict[str, float]:
    now = int(time.time())
    cases = {}
    body = json.dumps(spec_example("telecom23", "deliveryReport", "delivered")).encode()
    cases["telecom23"] = {
        "body": body,
        "headers": telecom23_headers(SECRET, body, now),
        "secret": SECRET,
    }
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    cases["seven"] = {
        "body": body,
        "headers": seven_headers(SECRET, body, now, URL),
        "secret": SECRET,
        "url": URL,
    }
    body = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()
    cases["lisoloo"] = {"body": body, "headers": basic("u:p"), "secret": "u:p"}
    body = json.dumps(spec_example("namirial", "statusUpdate", "statusUpdate")).encode()
    cases["namirial"] = {"body": body, "headers": {}, "secret": None}
    results: dict[str, float] = {}
    for provider, kwargs in cases.items():
        webhooks.parse(provider, now=now, **kwargs)  # warm: imports, first-call caches
        best = min(
            timeit.repeat(
                lambda p=provider, k=kwargs: webhooks.parse(p, now=now, **k),
                number=number,
                repeat=5,
            )
        )
        results[provider] = best / number * 1e6
    # With a replay guard: distinct deliveries (a new message id each), signed beforehand.
    payload = spec_example("telecom23", "deliveryReport", "delivered")
    deliveries = []
    for n in range(number):
        payload["message_id"] = f"api_42_{n}"
        body = json.dumps(payload).encode()
        deliveries.append((body, telecom23_headers(SECRET, body, now)))
    for guard_name, make_guard in (("MemoryReplayGuard", webhooks.MemoryReplayGuard),):
        timings = []
        for _ in range(5):
            guard = make_guard()
            started = time.perf_counter()
            for body, headers in deliveries:
                webhooks.parse(
                    "telecom23",
                    body=body,
                    headers=headers,
                    secret=SECRET,
                    now=now,
                    replay_guard=guard,
                )
            timings.append(time.perf_counter() - started)
        results[f"telecom23 + {guard_name}"] = min(timings) / number * 1e6
    return results


SERVER = """
import sys, uvicorn
from sms_status import webhooks
count = 0
def on_report(event):
    global count
    count += 1
app = webhooks.app("telecom23", secret=sys.argv[2], on_report=on_report)
if sys.argv[3] == "floor":  # the same server answering 200 without reading anything
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
uvicorn.run(app, fd=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(port: int, seconds: float, concurrency: int, pid: int) -> tuple[int, int, float]:
    body = json.dumps(spec_example("telecom23", "deliveryReport", "delivered")).encode()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    ok = failed = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:

        async def worker(stop: float) -> None:
            nonlocal ok, failed
            while time.monotonic() < stop:
                headers = telecom23_headers(SECRET, body, int(time.time()))
                response = await client.post("/hook", content=body, headers=headers)
                if response.status_code == 200:
                    ok += 1
                else:
                    failed += 1

        await asyncio.gather(*(worker(time.monotonic() + 1) for _ in range(concurrency)))  # warm-up
        ok = failed = 0
        cpu = _cpu_seconds(pid)
        started = time.monotonic()
        await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        cpu = _cpu_seconds(pid) - cpu
    return ok, failed, cpu


def throughput(
    seconds: float, concurrency: int, which: str = "receiver"
) -> tuple[float, int, float]:
    """(requests/s answered, non-200 answers, server CPU µs per request)."""
    # The socket listens before the server starts: connections wait in its backlog until
    # uvicorn accepts them, so nothing polls for the server to be up.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(listener.fileno()), SECRET, which],
        env=os.environ,
        pass_fds=(listener.fileno(),),
    )
    listener.close()  # the server holds its own copy
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=30)  # answered once the server is up
        ok, failed, cpu = asyncio.run(_load(port, seconds, concurrency, server.pid))
    finally:
        server.terminate()
        server.wait(10)
    return ok / seconds, failed, cpu / max(ok, 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    for name, micros in verification_costs().items():
        print(f"verify+parse {name:32} {micros:8.1f} µs per webhook")
    for which in ("receiver", "floor"):
        rate, failed, cpu_us = throughput(args.seconds, args.concurrency, which)
        print(
            f"{which:8} on loopback: {rate:,.0f} req/s sustained over {args.seconds:g} s "
            f"({args.concurrency} connections, {failed} non-200); server CPU {cpu_us:,.0f} µs "
            f"per request = {1e6 / cpu_us:,.0f} req/s per core"
        )


if __name__ == "__main__":
    main()
