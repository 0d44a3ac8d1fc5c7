"""The sandbox's webhook sender: each status change of its messages, POSTed as documented.

``sandbox.add_webhook(url, secret=...)`` starts a dispatcher thread that watches the store on
the sandbox clock (no one needs to poll): whenever a message reaches a new lifecycle step it
renders that provider's payload, signs it as the provider documents, and POSTs it; non-2xx
answers are retried on the provider's schedule, measured on the sandbox clock (so a test with
a FakeClock advances the clock to trigger a retry). Every attempt is logged.

Per provider (their webhook pages, cited in docs/providers/<key>.md):
- telecom23: final statuses only (DELIVRD, UNDELIV, REJECTD, EXPIRED, UNKNOWN); signed
  ``X-Webhook-Timestamp`` / ``X-Webhook-Signature: sha256=...`` when a secret is given;
  3 attempts in total (10 s, 30 s) on any non-2xx.
- seven: a ``dlr`` per change; ``X-Timestamp`` / ``X-Nonce`` / ``X-Signature`` over the URL.
- lisoloo: ``sms.queued`` per message, ``sms.processing|sent|delivered|failed`` per recipient
  (``recipients=[...]`` field, default one); Basic auth with ``secret="user:password"``;
  4 attempts (30 s, 2 m, 10 m) on 5xx or connection failure, 4xx dropped.
- namirial: ``STATUS_UPDATE`` per change, none for the initial PROVIDER_ACCEPTANCE; unsigned.
- roycetalk: inferred (no payload is published): the status envelope per change; unsigned.
seven, namirial and roycetalk document no retry policy: the sandbox assumes 3 attempts
(10 s, 60 s).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sms_status.testing._base import MessageView, iso_micro, iso_z, stable_uuid

if TYPE_CHECKING:
    from sms_status.testing._core import Sandbox
    from sms_status.testing._store import StoredMessage

TICK: Final = 0.01
"""Real seconds between two looks at the store (the sandbox clock decides what is due)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    waits: tuple[float, ...]
    """Sandbox-clock seconds before attempt 2, 3, ..."""
    retry_on_4xx: bool = True


POLICIES: Final[Mapping[str, RetryPolicy]] = {
    "telecom23": RetryPolicy(3, (10.0, 30.0)),
    "lisoloo": RetryPolicy(4, (30.0, 120.0, 600.0), retry_on_4xx=False),
    "seven": RetryPolicy(3, (10.0, 60.0)),
    "namirial": RetryPolicy(3, (10.0, 60.0)),
    "roycetalk": RetryPolicy(3, (10.0, 60.0)),
}
SIGNED: Final = frozenset({"telecom23", "seven", "lisoloo"})


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST attempt, as the sandbox sent it."""

    url: str
    message_id: str
    status: str
    """The lifecycle status the delivery reports."""
    kind: str
    attempt: int
    http_status: int | None
    """The receiver's answer; None when the connection failed."""
    error: str | None
    at: float
    """Sandbox clock time of the attempt."""
    body: bytes
    headers: Mapping[str, str]
    """As sent, except ``Authorization`` (masked)."""

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


@dataclass(eq=False)
class _Pending:
    url: str
    secret: str | None
    message_id: str
    status: str
    kind: str
    body: bytes
    attempt: int = 1
    due: float = 0.0


@dataclass(eq=False)
class _Subscription:
    url: str
    secret: str | None
    progress: dict[tuple[str, str], int] = field(default_factory=dict[tuple[str, str], int])


# -- payloads ------------------------------------------------------------------------------


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _telecom23(view: MessageView) -> list[tuple[str, bytes]]:
    from sms_status.testing import telecom23

    if view.status not in ("DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "UNKNOWN"):
        return []
    message = telecom23.render(view)["message"]
    body = {
        "message_id": view.id,
        "recipient": message.get("recipient"),
        "sender_id": message.get("sender_id"),
        "status": view.status,
        "status_code": message.get("status_code"),
        "num_parts": message.get("segments"),
        "cost": message.get("cost"),
        "timestamp": iso_z(view.changed_at),
    }
    return [("delivery", _dump(body))]


def _seven(view: MessageView) -> list[tuple[str, bytes]]:
    from sms_status.testing.seven import BERLIN

    local = datetime.fromtimestamp(view.changed_at, BERLIN)
    body = {
        "data": {
            "msg_id": view.id,
            "status": view.status,
            "timestamp": local.strftime("%Y-%m-%d %H:%M:%S.%f"),
        },
        "webhook_event": "dlr",
        "webhook_timestamp": local.isoformat(timespec="seconds"),
    }
    return [("dlr", _dump(body))]


LISOLOO_EVENTS: Final[Mapping[str, str]] = {
    "pending": "sms.queued",
    "scheduled": "sms.queued",
    "accepted": "sms.queued",
    "processing": "sms.processing",
    "enroute": "sms.sent",
    "sent": "sms.sent",
    "delivered": "sms.delivered",
    "undelivered": "sms.failed",
    "rejected": "sms.failed",
    "expired": "sms.failed",
    "failed": "sms.failed",
}


def _lisoloo(view: MessageView) -> list[tuple[str, bytes]]:
    kind = LISOLOO_EVENTS.get(view.status)
    if kind is None:
        return []
    at = iso_z(view.changed_at)
    recipients: list[str] = list(view.fields.get("recipients") or ["+254712345678"])

    def event(data: dict[str, Any], *parts: str) -> tuple[str, bytes]:
        envelope = {
            "event_id": stable_uuid("lisoloo", "event", view.id, str(view.step), *parts),
            "event_type": kind,
            "timestamp": at,
            "message_id": view.id,
            "data": data,
        }
        return kind, _dump(envelope)

    if kind == "sms.queued":
        data = {
            "total_recipients": len(recipients),
            "total_messages": len(recipients),
            "total_cost": 0.8 * len(recipients),
            "currency": "KES",
            "scheduled_at": None,
        }
        return [event(data)]
    stamp = {"sms.delivered": "delivered_at", "sms.sent": "sent_at"}.get(kind)
    out: list[tuple[str, bytes]] = []
    for phone in recipients:
        data = {"recipient_phone": phone, "carrier": "Safaricom", "segments": 1}
        if stamp:
            data[stamp] = at
        out.append(event(data, phone))
    return out


def _namirial(view: MessageView) -> list[tuple[str, bytes]]:
    from sms_status.testing import namirial

    if view.status == "PROVIDER_ACCEPTANCE":
        return []  # "no notification for the initial PROVIDER_ACCEPTANCE"
    body = {
        "id": stable_uuid("namirial", "webhook", view.id, str(view.step)),
        "webhookConfigurationId": stable_uuid("namirial", "webhook-configuration"),
        "type": "STATUS_UPDATE",
        "createdAt": iso_z(view.changed_at),
        "message": namirial.render(view)["message"],
    }
    return [("STATUS_UPDATE", _dump(body))]


def _roycetalk(view: MessageView) -> list[tuple[str, bytes]]:
    from sms_status.testing import roycetalk

    body: dict[str, Any] = {
        "success": True,
        "data": roycetalk.data(view),
        "message": "Message status updated",
        "meta": {"timestamp": iso_micro(view.changed_at), "api_version": "v1"},
        "errors": [],
    }
    return [("callback", _dump(body))]


PAYLOADS: Final[Mapping[str, Callable[[MessageView], list[tuple[str, bytes]]]]] = {
    "telecom23": _telecom23,
    "seven": _seven,
    "lisoloo": _lisoloo,
    "namirial": _namirial,
    "roycetalk": _roycetalk,
}


# -- signing (as each provider documents it) ---------------------------------------------------


def sign(provider: str, secret: str | None, url: str, body: bytes, now: float) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if provider == "telecom23":
        headers["User-Agent"] = "23Telecom-Webhooks/1.0"
    if secret is None:
        return headers
    timestamp = str(int(now))
    if provider == "telecom23":
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        headers["X-Webhook-Timestamp"] = timestamp
        headers["X-Webhook-Signature"] = "sha256=" + mac.hexdigest()
    elif provider == "seven":
        nonce = uuid.uuid4().hex
        md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - seven's documented scheme
        to_sign = f"{timestamp}\n{nonce}\nPOST\n{url}\n{md5}"
        headers["X-Timestamp"] = timestamp
        headers["X-Nonce"] = nonce
        headers["X-Signature"] = hmac.new(
            secret.encode(), to_sign.encode(), hashlib.sha256
        ).hexdigest()
    elif provider == "lisoloo":
        headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
    return headers


# -- the dispatcher ------------------------------------------------------------------------------


def _view_of_step(message: StoredMessage, index: int, now: float) -> MessageView:
    if message.advance is None:
        began = list(message.step_times[: index + 1])
        while len(began) <= index:
            began.append(now if began else message.created)
    else:
        step = message.advance if message.advance > 0 else 0.0
        began = [message.created + i * step for i in range(index + 1)]
    return MessageView(
        id=message.id,
        status=message.steps[index][0],
        step=index,
        final_step=index == len(message.steps) - 1,
        created_at=message.created,
        changed_at=began[index],
        timeline=tuple((message.steps[i][0], began[i]) for i in range(index + 1)),
        fields={**message.fields, **message.steps[index][1]},
        verbatim=None,
        polls=message.polls,
        seq=message.seq,
    )


class WebhookDispatcher:
    """Owned by one Sandbox; started by its first ``add_webhook``."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._subscriptions: list[_Subscription] = []
        self._queue: list[_Pending] = []
        self._log: list[WebhookDelivery] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, url: str, secret: str | None) -> None:
        key = self._sandbox.key
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook url must be an http(s) URL")
        if key in SIGNED and secret is not None and key == "lisoloo" and ":" not in secret:
            raise ValueError("lisoloo webhooks carry Basic credentials: secret='user:password'")
        if key not in SIGNED and secret is not None:
            raise ValueError(f"{key} documents no webhook signature: secret must be None")
        with self._changed:
            self._subscriptions.append(_Subscription(url, secret))
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"sms-sandbox-webhooks-{key}", daemon=True
            )
            self._thread.start()

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._changed:
            return list(self._log)

    def wait(
        self, count: int, timeout: float, predicate: Callable[[WebhookDelivery], bool] | None
    ) -> list[WebhookDelivery]:
        """Block until ``count`` logged attempts match ``predicate`` (all, if None)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matched = [d for d in self._log if predicate is None or predicate(d)]
                if len(matched) >= count:
                    return matched
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(matched)} of {count} webhook deliveries after {timeout} s"
                    )
                self._changed.wait(left)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=5.0) as client:
            while not self._stop.wait(TICK):
                self._collect()
                for pending in self._due():
                    self._send(client, pending)

    def _collect(self) -> None:
        """Queue a delivery for every step a message reached since the last look."""
        sandbox = self._sandbox
        render = PAYLOADS[sandbox.key]
        # The dispatcher is part of the sandbox core: it reads the store under the store's lock.
        with sandbox._lock:  # pyright: ignore[reportPrivateUsage]
            now = sandbox.clock.now()
            store = sandbox._messages  # pyright: ignore[reportPrivateUsage]
            messages = [m for m in store.values() if m.verbatim is None]
            reached = [(m, m.step_at(now)) for m in messages]
            new: list[_Pending] = []
            for subscription in self._subscriptions:
                for message, index in reached:
                    key = (message.tenant, message.id)
                    start = subscription.progress.get(key, -1) + 1
                    for step in range(start, index + 1):
                        view = _view_of_step(message, step, now)
                        for kind, body in render(view):
                            new.append(
                                _Pending(
                                    subscription.url,
                                    subscription.secret,
                                    message.id,
                                    view.status,
                                    kind,
                                    body,
                                    due=now,
                                )
                            )
                    subscription.progress[key] = max(index, start - 1)
        if new:
            with self._changed:
                self._queue.extend(new)

    def _due(self) -> list[_Pending]:
        now = self._sandbox.clock.now()
        with self._changed:
            due = [p for p in self._queue if p.due <= now]
            self._queue = [p for p in self._queue if p.due > now]
        return due

    def _send(self, client: Any, pending: _Pending) -> None:
        import httpx

        provider = self._sandbox.key
        now = self._sandbox.clock.now()
        headers = sign(provider, pending.secret, pending.url, pending.body, now)
        status: int | None = None
        error: str | None = None
        try:
            status = client.post(pending.url, content=pending.body, headers=headers).status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        shown = {k: ("***" if k.lower() == "authorization" else v) for k, v in headers.items()}
        record = WebhookDelivery(
            url=pending.url,
            message_id=pending.message_id,
            status=pending.status,
            kind=pending.kind,
            attempt=pending.attempt,
            http_status=status,
            error=error,
            at=now,
            body=pending.body,
            headers=shown,
        )
        policy = POLICIES[provider]
        retry = (
            not record.ok
            and pending.attempt < policy.attempts
            and (status is None or status >= 500 or policy.retry_on_4xx)
        )
        with self._changed:
            self._log.append(record)
            if retry:
                pending.due = now + policy.waits[pending.attempt - 1]
                pending.attempt += 1
                self._queue.append(pending)
            self._changed.notify_all()


__all__ = ["POLICIES", "RetryPolicy", "WebhookDelivery", "WebhookDispatcher", "sign"]
