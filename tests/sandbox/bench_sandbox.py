"""Sandbox figures: start-up time and requests/s on loopback (not collected by pytest).

    .venv/bin/python tests/sandbox/bench_sandbox.py [seconds]

Start-up: ``Sandbox(key)`` construction plus ``start()`` until a TCP connection is accepted
and the first status GET answered. Throughput: one thread, one keep-alive connection, a plain
status GET of a stored message, for ``seconds`` (default 3) with httpx and with the stdlib's
http.client (less client overhead, closer to what the server can do).
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time

import httpx
from sms_status.testing import PROVIDER_KEYS, FakeClock, Sandbox

PATHS = {
    "telecom23": ("/api/v1/sms/status/m1", "X-API-Key", "{}"),
    "namirial": ("/api/messagestatus/m1", "X-Api-Key", "{}"),
    "roycetalk": ("/api/v1/sms-api/messages/m1/", "Authorization", "Bearer {}"),
    "lisoloo": ("/api/v1/lisoloo/sms-api/status/m1", "app-key", "{}"),
    "seven": ("/api/status?msg_id=m1", "X-Api-Key", "{}"),
}


def startup(key: str) -> tuple[float, float]:
    started = time.perf_counter()
    sb = Sandbox(key, clock=FakeClock(), rate_limit=None)
    sb.start()
    accepting = time.perf_counter() - started
    path, header, value = PATHS[key]
    host, port = sb.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", path, headers={header: value.format(sb.api_key)})
    conn.getresponse().read()
    conn.close()
    answered = time.perf_counter() - started
    sb.stop()
    return accepting, answered


def throughput(key: str, seconds: float) -> tuple[float, float]:
    with Sandbox(key, clock=FakeClock(), rate_limit=None).serve() as sb:
        sb.add_message("m1", statuses=("pending", "sent", "delivered"))
        path, header, value = PATHS[key]
        headers = {header: value.format(sb.api_key)}
        with httpx.Client(base_url=sb.base_url, headers=headers) as client:
            n, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                client.get(path).raise_for_status()
                n += 1
            via_httpx = n / (time.perf_counter() - started)
        host, port = sb.base_url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port))
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            n += 1
        conn.close()
        via_stdlib = n / (time.perf_counter() - started)
    return via_httpx, via_stdlib


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    startup("telecom23")  # warm imports
    for key in PROVIDER_KEYS:
        runs = [startup(key) for _ in range(5)]
        accepting = statistics.median(r[0] for r in runs) * 1000
        answered = statistics.median(r[1] for r in runs) * 1000
        via_httpx, via_stdlib = throughput(key, seconds)
        print(
            f"{key:10} start-up {accepting:5.1f} ms (first answer {answered:5.1f} ms)  "
            f"{via_httpx:6.0f} req/s httpx  {via_stdlib:6.0f} req/s http.client"
        )


if __name__ == "__main__":
    main()
