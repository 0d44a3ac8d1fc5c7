"""The sandbox's webhook sender: each status change of its messages, POSTed as documented.

``sandbox.add_webhook(url, secret=...)`` starts a dispatcher thread that watches the store on
the sandbox clock (no one needs to poll): whenever a message reaches a new lifecycle step it
asks the provider's fake (``testing/<key>.py``, its ``FakeWebhook``) for that step's payloads,
signs them as the fake says, and POSTs them; non-2xx answers are retried on the fake's
``RetryPolicy``, measured on the sandbox clock (so a test with a FakeClock advances the clock
to trigger a retry). Every attempt is logged. Nothing here knows a provider by name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sms_status._registry import REGISTRY
from sms_status.testing._base import FakeWebhook, RetryPolicy

if TYPE_CHECKING:
    from sms_status.testing._store import MessageStore, StoredMessage

TICK: Final = 0.01
"""Real seconds between two looks at the store (the sandbox clock decides what is due)."""


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
    progress: dict[int, int] = field(default_factory=dict[int, int])
    """The last step sent, by the stored message's `seq` (one `add_message`)."""


# -- the dispatcher ------------------------------------------------------------------------------


class WebhookDispatcher:
    """Owned by one Sandbox (started by its first ``add_webhook``): watches its message store
    and sends what the provider's fake renders for each step reached."""

    def __init__(self, key: str, webhook: FakeWebhook, store: MessageStore) -> None:
        self._key = key
        self._webhook = webhook
        self._store = store
        self._subscriptions: list[_Subscription] = []
        self._joining: list[_Subscription] = []  # added, and not yet sent what came before
        self._queue: list[_Pending] = []
        self._log: list[WebhookDelivery] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, url: str, secret: str | None) -> None:
        key = self._key
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook url must be an http(s) URL")
        import httpx

        try:  # what the sender will parse: refused here, not by a dead sender thread
            httpx.URL(url).host.encode("idna")
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise ValueError(f"the webhook url cannot be sent to: {exc}") from None
        if secret is not None:
            if REGISTRY[key].webhooks != "signed":
                raise ValueError(f"{key} documents no webhook signature: secret must be None")
            problem = self._webhook.check_secret(secret)
            if problem is not None:
                raise ValueError(problem)
        with self._changed:
            self._joining.append(_Subscription(url, secret))
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
        matched: list[WebhookDelivery] = []
        looked = 0  # attempts logged so far that were offered to `predicate`
        while len(matched) < count:
            with self._changed:
                fresh = self._log[looked:]
                if not fresh:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(
                            f"{len(matched)} of {count} webhook deliveries after {timeout} s"
                        )
                    self._changed.wait(left)
                    continue
            looked += len(fresh)
            # Outside the lock: a predicate may read the sandbox (a handle's status), whose
            # lock the sender holds while it takes this one.
            matched += [d for d in fresh if predicate is None or predicate(d)]
        return matched

    def close(self) -> None:
        """Stops sending: nothing more is sent, and a delivery under way (up to its 5 s
        timeout, on a receiver that never answers) is waited for a second at most: it ends
        on its own, and its thread with it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=5.0) as client:
            while not self._stop.wait(TICK):
                self._collect()
                for pending in self._due():
                    if self._stop.is_set():  # the rest is not sent (nor logged)
                        break
                    self._send(client, pending)

    def _collect(self) -> None:
        """Queue a delivery for every step a message reached since the last look: of the
        messages that moved since (`steps_moved`), or, for a subscription just added, of
        them all."""
        new: list[_Pending] = []
        with self._changed:  # never taken under the store's lock: `wait` holds it while
            joining, self._joining = self._joining, []  # a predicate may read the store
        with self._store.lock:  # the messages stay as they are while their steps render
            now, moved = self._store.steps_moved()
            self._queue_steps(self._subscriptions, moved, now, new)
            if joining:
                now, reached = self._store.steps_reached()
                self._queue_steps(joining, reached, now, new)
                self._subscriptions.extend(joining)
        if new:
            with self._changed:
                self._queue.extend(new)

    def _queue_steps(
        self,
        subscriptions: list[_Subscription],
        reached: list[tuple[StoredMessage, int]],
        now: float,
        new: list[_Pending],
    ) -> None:
        render = self._webhook.render
        for subscription in subscriptions:
            for message, index in reached:
                key = message.seq  # a message replaced by add_message starts again
                start = subscription.progress.get(key, -1) + 1
                for step in range(start, index + 1):
                    view = message.view_at_step(step, now)
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

    def _due(self) -> list[_Pending]:
        now = self._store.now()
        with self._changed:
            due = [p for p in self._queue if p.due <= now]
            self._queue = [p for p in self._queue if p.due > now]
        return due

    def _send(self, client: Any, pending: _Pending) -> None:

        now = self._store.now()
        headers = {"Content-Type": "application/json"}
        headers |= self._webhook.sign(pending.secret, pending.url, pending.body, now)
        status: int | None = None
        error: str | None = None
        try:
            status = client.post(pending.url, content=pending.body, headers=headers).status_code
        except Exception as exc:  # anything one delivery meets ends it, never the sender
            if self._stop.is_set():
                return  # cut off by close(): not an attempt to log
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
        policy = self._webhook.retry
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


__all__ = ["RetryPolicy", "WebhookDelivery", "WebhookDispatcher"]
