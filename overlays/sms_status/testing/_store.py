"""The sandbox's message store: scripted lifecycles, stored messages and their live handles.

A message is a list of steps (a status, plus fields for that step only) that advance either
one per status poll or one per ``advance`` seconds of the sandbox clock. ``MessageStore``
owns the messages and the lock every reader takes: the request handlers (through
``_dispatch.RequestContext``) and the webhook sender (``_webhooks``) are handed the store,
never the ``Sandbox``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sms_status.testing._base import MessageView

__all__ = [
    "DEFAULT_TENANT",
    "Lifecycle",
    "MessageHandle",
    "MessageStore",
    "StoredMessage",
    "parse_lifecycle",
]

DEFAULT_TENANT: Final = "default"

Lifecycle = list[tuple[str, dict[str, Any]]]
"""``(status, fields of that step only)`` per step, first to last."""


def parse_lifecycle(statuses: Sequence[str | Mapping[str, Any]]) -> Lifecycle:
    """``add_message(statuses=...)`` as steps: each a status string or ``{"status": ...}``."""
    if isinstance(statuses, str | bytes):
        raise TypeError("statuses must be a sequence of statuses, not a string")
    steps: Lifecycle = []
    for item in statuses:
        if isinstance(item, str):
            steps.append((item, {}))
        elif isinstance(item, Mapping) and isinstance(item.get("status"), str):  # pyright: ignore[reportUnnecessaryIsInstance]
            extra = {k: v for k, v in item.items() if k != "status"}
            steps.append((item["status"], extra))
        else:
            raise TypeError(
                f"a lifecycle step is a status string or a mapping with 'status': {item!r}"
            )
    if not steps:
        raise ValueError("a lifecycle needs at least one status")
    return steps


@dataclass(eq=False)
class StoredMessage:
    """One message in the store, keyed by ``(tenant, id)``."""

    id: str
    tenant: str
    steps: Lifecycle
    advance: float | None  # None: one step per status poll
    fields: dict[str, Any]
    created: float
    seq: int
    verbatim: Any = None
    polls: int = 0
    step_times: list[float] = field(default_factory=list[float])

    def step_at(self, now: float) -> int:
        last = len(self.steps) - 1
        if self.advance is None:
            return min(self.polls, last)
        if self.advance <= 0:
            return last
        return max(0, min(int((now - self.created) / self.advance), last))

    def view_at_step(self, index: int, now: float) -> MessageView:
        """The message as it was when it reached step ``index`` (the webhook of that step)."""
        if self.advance is None:
            began = list(self.step_times[: index + 1])
            while len(began) <= index:
                began.append(now if began else self.created)
        else:
            step = self.advance if self.advance > 0 else 0.0
            began = [self.created + i * step for i in range(index + 1)]
        return MessageView(
            id=self.id,
            status=self.steps[index][0],
            step=index,
            final_step=index == len(self.steps) - 1,
            created_at=self.created,
            changed_at=began[index],
            timeline=tuple((self.steps[i][0], began[i]) for i in range(index + 1)),
            fields={**self.fields, **self.steps[index][1]},
            verbatim=None,
            polls=self.polls,
            seq=self.seq,
        )

    def view(self, now: float, *, advance: bool, status_override: str | None) -> MessageView:
        index = self.step_at(now)
        if self.advance is None:
            while len(self.step_times) <= index:
                self.step_times.append(now if self.step_times else self.created)
            began = self.step_times[: index + 1]
        else:
            step = self.advance if self.advance > 0 else 0.0
            began = [self.created + i * step for i in range(index + 1)]
        if advance:
            self.polls += 1
        status = self.steps[index][0]
        fields = {**self.fields, **self.steps[index][1]}
        timeline = tuple((self.steps[i][0], began[i]) for i in range(index + 1))
        return MessageView(
            id=self.id,
            status=status if status_override is None else status_override,
            step=index,
            final_step=index == len(self.steps) - 1,
            created_at=self.created,
            changed_at=began[index],
            timeline=timeline,
            fields=fields,
            verbatim=None if status_override is not None else self.verbatim,
            polls=self.polls,
            seq=self.seq,
        )


class MessageStore:
    """Every stored message, keyed by ``(tenant, id)``, and the lock that guards them.

    The lock is re-entrant: the sandbox holds it while it answers a request (its own state —
    tenants, faults, the request log — shares it, so one request sees one consistent
    sandbox), and the handlers read messages through the store under it.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self.lock = threading.RLock()
        self._now = now
        self._messages: dict[tuple[str, str], StoredMessage] = {}
        self._seq = 0

    def now(self) -> float:
        """The sandbox clock (read through the callable: the clock is settable)."""
        return self._now()

    def add(
        self,
        message_id: str,
        steps: Lifecycle,
        advance: float | None,
        tenant: str | None,
        fields: Mapping[str, Any],
        verbatim: Any,
    ) -> MessageHandle:
        """Store a message (replacing one with the same tenant and id)."""
        with self.lock:
            self._seq += 1
            message = StoredMessage(
                id=message_id,
                tenant=tenant if tenant is not None else DEFAULT_TENANT,
                steps=steps,
                advance=advance,
                fields=dict(fields),
                created=self._now(),
                seq=self._seq,
                verbatim=verbatim,
            )
            self._messages[(message.tenant, message_id)] = message
        return MessageHandle(message, self.lock, self._now)

    def remove(self, message_id: str, tenant: str | None = None) -> None:
        with self.lock:
            self._messages.pop((tenant if tenant is not None else DEFAULT_TENANT, message_id), None)

    def clear(self) -> None:
        with self.lock:
            self._messages.clear()

    def get(self, tenant: str, message_id: str) -> StoredMessage | None:
        with self.lock:
            return self._messages.get((tenant, message_id))

    def of_tenant(self, tenant: str) -> list[StoredMessage]:
        with self.lock:
            return [m for (t, _), m in self._messages.items() if t == tenant]

    def steps_reached(self) -> tuple[float, list[tuple[StoredMessage, int]]]:
        """The clock time and, for every scripted (not seeded-verbatim) message, the index
        of the step it has reached: what the webhook sender compares with what it sent."""
        with self.lock:
            now = self._now()
            return now, [(m, m.step_at(now)) for m in self._messages.values() if m.verbatim is None]


class MessageHandle:
    """What ``Sandbox.add_message`` returns: a live view of one stored message."""

    def __init__(
        self, message: StoredMessage, lock: threading.RLock, now: Callable[[], float]
    ) -> None:
        self._message = message
        self._lock = lock
        self._now = now

    @property
    def id(self) -> str:
        return self._message.id

    @property
    def tenant(self) -> str:
        return self._message.tenant

    @property
    def polls(self) -> int:
        """Status GETs of this message so far."""
        with self._lock:
            return self._message.polls

    @property
    def status(self) -> str:
        """The status the next GET would see (without counting a poll)."""
        with self._lock:
            return self._message.steps[self._message.step_at(self._now())][0]

    def __repr__(self) -> str:
        return f"MessageHandle({self.id!r}, tenant={self.tenant!r}, polls={self.polls})"
