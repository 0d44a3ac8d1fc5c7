"""Signers and verifiers written from the providers' own descriptions, independently of
`sms_status.webhooks` (they must not share its code: a test that signs with the code under
test proves nothing); and, at the end, the docs' examples signed that way and the one call
that parses them (`parse_signed`), shared by tests/webhooks and tests/providers/<key>."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from sms_status import webhooks

ROOT = Path(__file__).resolve().parents[1]


def spec_example(provider: str, webhook: str, name: str) -> dict[str, Any]:
    """A webhook payload example exactly as the spec (the provider's docs) gives it."""
    spec = yaml.safe_load((ROOT / "specs" / f"{provider}.yaml").read_text())
    content = spec["webhooks"][webhook]["post"]["requestBody"]["content"]["application/json"]
    value: dict[str, Any] = content["examples"][name]["value"]
    return value


# -- 23 Telecom: as the docs' receiver example (docs …/webhooks/security) ----------------------


def telecom23_headers(secret: str, body: bytes, timestamp: int | str) -> dict[str, str]:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": f"sha256={mac.hexdigest()}",
    }


def telecom23_verify(
    secret: str, body: bytes, headers: Mapping[str, str], now: float, max_age: float = 300
) -> bool:
    """The docs' receiver: header names as sent, prefix required, constant-time compare."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp, signature = lower.get("x-webhook-timestamp"), lower.get("x-webhook-signature")
    if not timestamp or not signature or not signature.startswith("sha256="):
        return False
    if abs(now - int(timestamp)) > max_age:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), signature.removeprefix("sha256="))


# -- seven: as seven-io/js-client src/lib/WebhookVerifier.ts computes it ------------------------


def _seven_to_sign(timestamp: int, nonce: str, method: str, url: str, body: bytes) -> str:
    # [timestampNum, nonce, httpVerb, params.url, hashMD5].join('\n')
    # Buffer.toString("utf8") then UTF-8 again: invalid bytes become U+FFFD, as in Node.
    md5 = hashlib.md5(body.decode("utf-8", "replace").encode("utf-8")).hexdigest()
    return "\n".join([str(timestamp), nonce, method.upper(), url, md5])


def seven_headers(
    secret: str, body: bytes, timestamp: int, url: str, method: str = "POST"
) -> dict[str, str]:
    nonce = uuid.uuid4().hex
    to_sign = _seven_to_sign(timestamp, nonce, method, url, body)
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": str(timestamp), "X-Nonce": nonce, "X-Signature": signature}


def seven_verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    method: str,
    now: float,
    max_age: int = 300,
) -> bool:
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp, nonce, signature = (lower.get(n) for n in ("x-timestamp", "x-nonce", "x-signature"))
    if not timestamp or not nonce or not signature:
        return False
    timestamp_num = int(timestamp)  # parseInt(timestamp, 10)
    age = int(now) - timestamp_num
    if age > max_age or age < -max_age:
        return False
    to_sign = _seven_to_sign(timestamp_num, nonce, method, url, body)
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.lower(), signature.lower())


# -- lisoloo: HTTP Basic ------------------------------------------------------------------------


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


# -- what an app reported ------------------------------------------------------------------


class Reports(list[webhooks.WebhookEvent]):
    """A sync `on_report` that keeps each event. With acknowledge="on_receipt" the app hands
    it to a worker thread and answers without waiting, so a test waits for what it expects
    (`wait`), or shuts the app down (`shut_down`), which waits for all of them."""

    def __init__(self) -> None:
        super().__init__()
        self._arrived = threading.Condition()

    def __call__(self, event: webhooks.WebhookEvent) -> None:
        with self._arrived:
            self.append(event)
            self._arrived.notify_all()

    def wait(self, count: int, timeout: float = 10) -> list[webhooks.WebhookEvent]:
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self) >= count, timeout), (
                f"{len(self)} of {count} reports"
            )
        return list(self)


async def shut_down(app: Any) -> None:
    """The ASGI lifespan shutdown a server sends: the app returns from it once every report
    handed to a worker thread was made."""
    import asyncio

    messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        messages.put_nowait({"type": kind})
    sent: list[dict[str, str]] = []

    async def send(message: dict[str, str]) -> None:
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# -- a receiver on a real loopback socket ---------------------------------------------------


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn on 127.0.0.1; yields its origin."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    while not server.started:  # uvicorn's own flag; checked every few ms, no fixed sleep
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        ready.wait(0.002)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Recorder:
    """An ASGI receiver that keeps every request raw and answers from a script of statuses."""

    def __init__(self, answers: tuple[int, ...] = (200,)) -> None:
        self.answers = answers  # the last one repeats
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        url = f"http://{host}{scope['path']}"
        status = self.answers[min(len(self.received), len(self.answers) - 1)]
        self.received.append((scope["method"], url, headers, body))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


# -- signed deliveries of the docs' examples, and parsing them ------------------------------

NOW = 1_770_978_604  # 2026-02-13T10:30:04Z
SECRET = "whsec_test_5f1c0d9e"
SEVEN_URL = "https://example.com/hooks/seven"
LISOLOO_CREDENTIALS = "hooks:s3cr3t-pass"


def dump(value: Any) -> bytes:
    return json.dumps(value).encode()


def signed_telecom23() -> tuple[bytes, dict[str, str]]:
    body = dump(spec_example("telecom23", "deliveryReport", "delivered"))
    return body, telecom23_headers(SECRET, body, NOW)


def signed_seven(method: str = "POST", url: str = SEVEN_URL) -> tuple[bytes, dict[str, str]]:
    body = dump(spec_example("seven", "dlr", "dlr"))
    return body, seven_headers(SECRET, body, NOW, url, method)


def parse_signed(provider: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> Any:
    options: dict[str, Any] = {"secret": SECRET, "now": NOW}
    if provider == "seven":
        options["url"] = SEVEN_URL
    options.update(kwargs)
    return webhooks.parse(provider, body=body, headers=headers, **options)
