"""A receiver killed (SIGKILL) while it reports a delivery, with a shared `RedisReplayGuard`
and acknowledge="after_report": the provider's retry, taken by a receiver started on the
same Redis, is never answered 200 unreported. Real processes, a real Redis, real sockets."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import redis
from webhook_support import basic, spec_example

BODY = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()
EVENT_ID = json.loads(BODY)["event_id"]

RECEIVER = r"""
import socket, sys, threading
import redis, uvicorn
from sms_status import webhooks

url, fd, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def on_report(event):
    print("reporting", event.event_id, flush=True)
    if mode == "hang":
        threading.Event().wait()  # a slow database: the process is killed in here
    print("reported", event.event_id, flush=True)

guard = webhooks.RedisReplayGuard(redis.Redis.from_url(url), prefix="killed:")
app = webhooks.app(
    "lisoloo", secret="u:p", on_report=on_report, acknowledge="after_report", replay_guard=guard
)
config = uvicorn.Config(app, http="httptools", loop="uvloop", log_level="warning")
uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])
"""


class Receiver:
    """A receiver process and the lines it printed, as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put("(exited)")

    def next_line(self) -> str:
        return self._lines.get(timeout=30)


@contextmanager
def receiver(redis_url: str, mode: str) -> Iterator[tuple[Receiver, int]]:
    """A receiver process on a socket bound here (requests wait in its backlog until it
    serves): (it, its port)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = listener.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, redis_url, str(listener.fileno()), mode],
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=(listener.fileno(),),
    )
    listener.close()
    try:
        yield Receiver(process), port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def post(port: int) -> int:
    headers = {**basic("u:p"), "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as client:
        return client.post(f"http://127.0.0.1:{port}/", content=BODY, headers=headers).status_code


def test_the_retry_of_a_delivery_whose_receiver_was_killed_is_reported(
    redis_url: str, redis_client: redis.Redis
) -> None:
    with receiver(redis_url, "hang") as (first, port):
        # The provider's first attempt: never answered (its receiver dies in on_report).
        attempt = socket.create_connection(("127.0.0.1", port))
        request = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}\r\n"
        request += "".join(f"{k}: {v}\r\n" for k, v in basic("u:p").items())
        attempt.sendall(request.encode() + b"\r\n" + BODY)
        assert first.next_line() == f"reporting {EVENT_ID}"
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        attempt.close()
    with receiver(redis_url, "record") as (second, port):
        # Within the dead receiver's lease: not reported, and not answered as if it were.
        assert post(port) == 503
        [claim] = redis_client.keys("killed:*")
        redis_client.pexpire(claim, 1)  # the lease lapses (rather than waiting 60 s)
        while redis_client.exists(claim):
            pass
        assert post(port) == 200
        assert second.next_line() == f"reporting {EVENT_ID}"
        assert second.next_line() == f"reported {EVENT_ID}"
        assert post(port) == 200  # now a replay: answered, not reported again
        second.process.send_signal(signal.SIGTERM)
        # Shut down gracefully (uvicorn raises the signal again once done).
        assert second.process.wait(30) in (0, -signal.SIGTERM)
        assert second.next_line() == "(exited)"  # nothing reported twice
