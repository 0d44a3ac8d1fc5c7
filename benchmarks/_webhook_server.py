"""One webhook receiver in its own process, for section 10 (`benchmarks.webhooks`).

    python -m benchmarks._webhook_server <contender> <listening fd> <secret> [<db> <ids>]

Serves on uvicorn with httptools and uvloop (the `receiver` extra; what `sms-status listen`
runs on) from the socket it is handed. Contenders: `bare` (an ASGI app answering 200 with
nothing read: the floor); `on_receipt` and `after_report` (`webhooks.app` for telecom23, a
counting sync `on_report`); `on_receipt_async` (the same, `on_report` async); `tracker`
(`webhooks.app(..., on_report=tracker.ingest, acknowledge="after_report")`, the tracker on
SQLite at <db>, the ids telecom23-bench-0 .. <ids>-1 added first); `tracker_many` (the same
with `on_reports=tracker.ingest_many`: one transaction per batch); `tracker_many_full` (the
same on `SqliteStore(synchronous="FULL")`: each commit waits for the disk); `verifying` (a second
floor: an app doing only the HMAC, the comparison and `json.loads`). Each line on its stdin
is answered with a line `cpu <seconds>` (its own process CPU time); once its stdin closes it
stops serving and prints one JSON line: how many reports it got and, for `tracker`, what the
tracker holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from sms_status import webhooks

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_EMPTY_LENGTH = (b"content-length", b"0")


async def _answer(send: Send, status: int) -> None:
    """An empty answer, with the content-length header the receiver sends too."""
    await send({"type": "http.response.start", "status": status, "headers": [_EMPTY_LENGTH]})
    await send({"type": "http.response.body", "body": b""})


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: answers 200 (empty, the same content-length header) without reading."""
    if scope["type"] == "http":
        await _answer(send, 200)


def verifying(secret: str) -> Any:
    """A second floor: the work no receiver can skip, in an ASGI app of its own: read the
    body, HMAC it with the signed timestamp, compare, `json.loads`, answer 200 (or 401)."""
    key = secret.encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = (await receive())["body"]
        signature = timestamp = b""
        for name, value in scope["headers"]:
            if name == b"x-webhook-signature":
                signature = value.removeprefix(b"sha256=")
            elif name == b"x-webhook-timestamp":
                timestamp = value
        mac = hmac.new(key, timestamp + b"." + body, hashlib.sha256).hexdigest().encode()
        ok = hmac.compare_digest(mac, signature) and json.loads(body)
        await _answer(send, 200 if ok else 401)

    return app


class Tally:
    """What the receiver's `on_report` saw (worker threads call it at once)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reported = 0
        self.ingested_new = 0
        self.batches = 0  # on_reports calls
        self.finals: list[str] = []

    def count(self, event: webhooks.WebhookEvent, changed: bool = False) -> None:
        with self.lock:
            self.reported += 1
            self.ingested_new += changed


def build(contender: str, secret: str, tally: Tally) -> tuple[Any, Any]:
    """The contender's ASGI app, and its tracker (`tracker` only)."""
    if contender == "bare":
        return bare, None
    if contender == "verifying":
        return verifying(secret), None
    if contender in ("on_receipt", "after_report"):
        app = webhooks.app("telecom23", secret=secret, on_report=tally.count, acknowledge=contender)
        return app, None
    if contender == "on_receipt_async":

        async def count_async(event: webhooks.WebhookEvent) -> None:
            tally.count(event)

        return webhooks.app("telecom23", secret=secret, on_report=count_async), None
    if contender in ("tracker", "tracker_many", "tracker_many_full"):
        from sms_status import tracking

        store: str | tracking.SqliteStore = sys.argv[4]
        if contender == "tracker_many_full":  # each commit waits for the disk
            store = tracking.SqliteStore(sys.argv[4], synchronous="FULL")
        tracker = tracking.Tracker(store, on_final=lambda o: tally.finals.append(o.message_id))
        ids = int(sys.argv[5])
        added = tracker.add_many("telecom23", (f"telecom23-bench-{i}" for i in range(ids)))
        assert added == ids, added

        def ingest(event: webhooks.WebhookEvent) -> None:
            tally.count(event, tracker.ingest(event))  # the public call, nothing else

        def ingest_many(events: list[webhooks.WebhookEvent]) -> None:
            tally.batches += 1
            for event, changed in zip(events, tracker.ingest_many(events), strict=True):
                tally.count(event, changed)

        if contender != "tracker":
            app = webhooks.app(
                "telecom23", secret=secret, on_reports=ingest_many, acknowledge="after_report"
            )
        else:
            app = webhooks.app(
                "telecom23", secret=secret, on_report=ingest, acknowledge="after_report"
            )
        return app, tracker
    raise SystemExit(f"unknown contender {contender!r}")


def main() -> None:
    contender, fd, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    tally = Tally()
    app, tracker = build(contender, secret, tally)
    listener = socket.socket(fileno=fd)
    # Lifespan as uvicorn has it by default: at shutdown the receiver waits for the reports
    # still running in worker threads (the bare apps do not speak it, which "auto" allows).
    config = uvicorn.Config(
        app, http="httptools", loop="uvloop", log_level="warning", lifespan="auto"
    )
    server = uvicorn.Server(config)

    def answer_then_stop_on_eof() -> None:
        # Each line the bench writes asks for this process's CPU seconds so far (every
        # thread's, ended ones too, to the nanosecond: /proc's clock ticks of 10 ms were a
        # microsecond a delivery over 10,000). Its closing our stdin stops the server.
        for _ in sys.stdin:
            print(f"cpu {time.process_time()!r}", flush=True)
        server.should_exit = True

    threading.Thread(target=answer_then_stop_on_eof, daemon=True).start()
    server.run(sockets=[listener])
    result: dict[str, Any] = {"reported": tally.reported}
    if tally.batches:
        result["batches"] = tally.batches
    if tracker is not None:
        if tracker.counts().in_flight == 0:  # else run() would poll the rest: report them
            tracker.run(until_idle=True)  # hands every settled outcome to on_final, once
        counts = tracker.counts()
        result.update(
            ingested_new=tally.ingested_new,
            in_flight=counts.in_flight,
            settled=counts.settled,
            by_reason=counts.by_reason,
            finals=len(tally.finals),
            distinct_finals=len(set(tally.finals)),
        )
        tracker.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
