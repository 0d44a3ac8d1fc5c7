"""A sandbox in its own process, so it never shares the GIL with the client under test.

Run as ``python -m benchmarks._serve KEY N_MESSAGES [REQUESTS/SECONDS]``. It stores N messages
(ids from `message_id`, already final), serves on 127.0.0.1 with rate limiting off (or
enforcing REQUESTS per sliding window of SECONDS per key, on the real clock), prints one JSON line
``{"base_url", "api_key"}`` and then obeys one command per stdin line, answering each with one
JSON line:

- ``count``: requests logged since the last ``clear``; ``clear``: empty the log;
- ``statuses``: ``{status code: requests}`` since the last ``clear``; ``span``: when the first
  and the last of them arrived (epoch seconds), or null;
- ``rtt SECONDS``: simulate a network round trip — every request is answered SECONDS later,
  and the first request on a new connection one more SECONDS later (the TCP handshake's
  round trip; TLS would add more, so this flatters new-connection-per-call clients); 0 = off;
- ``cpu``: this process's CPU seconds so far; ``rss``: its peak RSS in bytes; ``quit``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from typing import Any

SEVEN_BASE = 77_232_000_000


def message_id(key: str, i: int) -> str:
    """The id of the i-th stored message: seven ids are numeric (as seven's are)."""
    return str(SEVEN_BASE + i) if key == "seven" else f"bench-{i:07d}"


class SimulatedRtt:
    """ASGI middleware: delay each answer by one round trip, a new connection's by two."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rtt = 0.0
        self._connections: set[object] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.rtt > 0:
            delay = self.rtt
            peer = scope.get("client")
            if peer not in self._connections:
                self._connections.add(peer)
                delay += self.rtt
            await asyncio.sleep(delay)
        await self.app(scope, receive, send)


def main() -> None:
    key, count = sys.argv[1], int(sys.argv[2])
    rate_limit = None
    if len(sys.argv) > 3:
        requests, seconds = sys.argv[3].split("/")
        rate_limit = (int(requests), float(seconds))
    from sms_status.testing import Sandbox

    sandbox = Sandbox(key, rate_limit=rate_limit, seed=False)
    final = sandbox.provider.default_statuses[-1]
    for i in range(count):
        sandbox.add_message(message_id(key, i), statuses=(final,), advance=0.0)
    rtt = SimulatedRtt(sandbox.app)
    sandbox.app = rtt  # type: ignore[assignment]  # start() serves whatever `app` is
    with sandbox.serve():
        print(json.dumps({"base_url": sandbox.base_url, "api_key": sandbox.api_key}), flush=True)
        for line in sys.stdin:
            command, *args = line.split() or [""]
            answer: object = None
            if command == "count":
                answer = len(sandbox.requests)
            elif command == "statuses":
                answer = dict(Counter(r.status for r in sandbox.requests))
            elif command == "span":
                times = [r.at for r in sandbox.requests]
                answer = [min(times), max(times)] if times else None
            elif command == "clear":
                sandbox.clear_requests()
            elif command == "rtt":
                rtt.rtt = float(args[0])
            elif command == "cpu":
                answer = time.process_time()
            elif command == "rss":
                answer = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            elif command == "quit":
                print("null", flush=True)
                break
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
