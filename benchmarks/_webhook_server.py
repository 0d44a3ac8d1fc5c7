"""One webhook receiver in its own process, for section 10 (`benchmarks.webhooks`).

    python -m benchmarks._webhook_server <contender> <listening fd> <secret> [<db> <ids>]

Serves on uvicorn with httptools and uvloop (the `receiver` extra; what `sms-status listen`
runs on) from the socket it is handed. Contenders: `bare` (an ASGI app answering 200 with
nothing read: the floor); `on_receipt` and `after_report` (`webhooks.app` for telecom23, a
counting sync `on_report`); `on_receipt_async` (the same, `on_report` async); `tracker`
(`webhooks.app(..., on_report=tracker.ingest, acknowledge="after_report")`, the tracker on
SQLite at <db>, the ids telecom23-bench-0 .. <ids>-1 added first). Once its stdin closes it
stops serving and prints one JSON line: how many reports it got and, for `tracker`, what the
tracker holds.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from sms_status import webhooks

Message = MutableMapping[str, Any]


async def bare(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """The floor: answers 200 (empty, the same content-length header) without reading."""
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def main() -> None:
    contender, fd, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lock = threading.Lock()
    reported = 0
    ingested_new = 0

    def count(event: webhooks.WebhookEvent) -> None:
        nonlocal reported
        with lock:
            reported += 1

    tracker = None
    finals: list[str] = []
    app: Any
    if contender == "bare":
        app = bare
    elif contender in ("on_receipt", "after_report"):
        app = webhooks.app("telecom23", secret=secret, on_report=count, acknowledge=contender)
    elif contender == "on_receipt_async":

        async def count_async(event: webhooks.WebhookEvent) -> None:
            count(event)

        app = webhooks.app("telecom23", secret=secret, on_report=count_async)
    elif contender == "tracker":
        from sms_status import tracking

        tracker = tracking.Tracker(sys.argv[4], on_final=lambda o: finals.append(o.message_id))
        ids = int(sys.argv[5])
        added = tracker.add_many("telecom23", (f"telecom23-bench-{i}" for i in range(ids)))
        assert added == ids, added

        def ingest(event: webhooks.WebhookEvent) -> None:
            nonlocal reported, ingested_new
            changed = tracker.ingest(event)  # the public call, nothing else
            with lock:
                reported += 1
                ingested_new += changed

        app = webhooks.app("telecom23", secret=secret, on_report=ingest, acknowledge="after_report")
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    listener = socket.socket(fileno=fd)
    config = uvicorn.Config(
        app, http="httptools", loop="uvloop", log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)

    def stop_on_eof() -> None:  # the bench closes our stdin when it is done
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()
    server.run(sockets=[listener])
    result: dict[str, Any] = {"reported": reported}
    if tracker is not None:
        if tracker.counts().in_flight == 0:  # else run() would poll the rest: report them
            tracker.run(until_idle=True)  # hands every settled outcome to on_final, once
        counts = tracker.counts()
        result.update(
            ingested_new=ingested_new,
            in_flight=counts.in_flight,
            settled=counts.settled,
            by_reason=counts.by_reason,
            finals=len(finals),
            distinct_finals=len(set(finals)),
        )
        tracker.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
