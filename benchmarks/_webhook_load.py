"""The pieces of section 10 that are not the receiver: the providers' documented payloads,
signed as their docs sign them (written from the docs, not with `sms_status`'s code), and a
keep-alive load generator on raw asyncio streams (so the load costs little CPU of its own:
the figure is the server's CPU, but a slow generator would leave it idle between bursts),
whose loop never sleeps while it sends (`_send_all`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from benchmarks._common import ROOT, child_env

SECRET = "whsec_bench"  # noqa: S105 - a bench fixture
SEVEN_URL = "https://example.com/hooks/seven"
LISOLOO_SECRET = "bench:password"  # noqa: S105 - a bench fixture


def spec_example(provider: str, webhook: str, name: str) -> dict[str, Any]:
    """A webhook payload exactly as the provider's docs (its spec's example) give it."""
    import yaml

    spec = yaml.safe_load((ROOT / "specs" / f"{provider}.yaml").read_text())
    content = spec["webhooks"][webhook]["post"]["requestBody"]["content"]["application/json"]
    value: dict[str, Any] = content["examples"][name]["value"]
    return value


def telecom23_headers(body: bytes, timestamp: int) -> dict[str, str]:
    """docs.23telecom.co.uk …/webhooks/security: HMAC-SHA256(secret, "{ts}.{body}")."""
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": f"sha256={mac.hexdigest()}",
    }


def seven_headers(body: bytes, timestamp: int) -> dict[str, str]:
    """seven-io/js-client's WebhookVerifier: "{ts}\\n{nonce}\\n{METHOD}\\n{url}\\n{md5(body)}"."""
    nonce = uuid.uuid4().hex
    md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - seven's scheme
    to_sign = "\n".join((str(timestamp), nonce, "POST", SEVEN_URL, md5))
    signature = hmac.new(SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": str(timestamp), "X-Nonce": nonce, "X-Signature": signature}


def lisoloo_headers() -> dict[str, str]:
    """docs.lisoloo.com/webhooks/overview: HTTP Basic credentials."""
    return {"Authorization": "Basic " + base64.b64encode(LISOLOO_SECRET.encode()).decode()}


# -- the receiver in its own process --------------------------------------------------------


class Receiver:
    """`benchmarks._webhook_server <contender>` on a socket bound here (connections wait in
    its backlog until uvicorn accepts them, so nothing polls for the server to be up)."""

    def __init__(self, contender: str, *extra: str) -> None:
        listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.port: int = listener.getsockname()[1]
        self._proc = subprocess.Popen(  # noqa: S603 - our own module
            [
                sys.executable,
                "-m",
                "benchmarks._webhook_server",
                contender,
                str(listener.fileno()),
                SECRET,
                *extra,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=child_env(),
            pass_fds=(listener.fileno(),),
        )
        listener.close()  # the server holds its own copy
        self.pid = self._proc.pid

    def cpu(self) -> float:
        """User + system CPU seconds of the server process so far, as it reads them itself
        (`time.process_time`: every thread's, to the nanosecond)."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write("cpu\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line.startswith("cpu "):
            raise RuntimeError(f"the webhook receiver answered {line!r} for its CPU time")
        return float(line[4:])

    def finish(self) -> dict[str, Any]:
        """Stop it (its stdin closed: uvicorn finishes what it has) and read its report."""
        out, _ = self._proc.communicate(timeout=120)
        lines = [line for line in out.strip().splitlines() if not line.startswith("cpu ")]
        if not lines:
            raise RuntimeError(f"the webhook receiver exited {self._proc.returncode} silently")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def telecom23_requests(port: int, ids: Sequence[str], timestamp: int) -> list[bytes]:
    """One signed delivery report per id: the docs' `delivered` example, its message_id
    replaced, as raw HTTP/1.1 requests."""
    payload = spec_example("telecom23", "deliveryReport", "delivered")
    out = []
    for message_id in ids:
        payload["message_id"] = message_id
        body = json.dumps(payload).encode()
        head = [
            "POST /hooks/telecom23 HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in telecom23_headers(body, timestamp).items()),
        ]
        out.append("\r\n".join(head).encode() + b"\r\n\r\n" + body)
    return out


async def _send_all(port: int, requests: Sequence[bytes], connections: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    pending = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in pending:  # shared: each connection takes the next one
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                statuses[status] = statuses.get(status, 0) + 1
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                        if length:
                            await reader.readexactly(length)
                        break
        finally:
            writer.close()

    # The generator's loop never sleeps while it sends: on loopback the kernel charges the
    # wake-up of a sleeping reader to whoever writes to it, so a sleeping generator billed
    # the server for waking it after each answer (a remote provider costs it nothing of the
    # kind): ~10 µs of system time a delivery for the receivers, ~0 for the bare app,
    # which answers before the generator has gone to sleep (profiles.md).
    sending = True

    async def spin() -> None:
        while sending:  # noqa: ASYNC110 - the point is a loop that never waits
            await asyncio.sleep(0)

    spinner = asyncio.ensure_future(spin())
    try:
        await asyncio.gather(*(connection() for _ in range(connections)))
    finally:
        sending = False
        await spinner
    return statuses


def load(
    receiver: Receiver, requests: Sequence[bytes], connections: int
) -> tuple[float, float, dict[int, int]]:
    """Send every request over `connections` keep-alive connections: (server CPU seconds,
    wall seconds, answers by status)."""
    cpu = receiver.cpu()
    started = time.perf_counter()
    statuses = _run(_send_all(receiver.port, requests, connections))
    wall = time.perf_counter() - started
    return receiver.cpu() - cpu, wall, statuses


def _run(coroutine: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the bench group installs it
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
