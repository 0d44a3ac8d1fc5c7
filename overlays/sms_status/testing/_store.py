"""The sandbox's message store: scripted lifecycles, stored messages and their live handles.

A message is a list of steps (a status, plus fields for that step only) that advance either
one per status poll or one per ``advance`` seconds of the sandbox clock. ``MessageStore``
owns the messages and the lock every reader takes: the request handlers (through
``_dispatch.RequestContext``) and the webhook sender (``_webhooks``) are handed the store,
never the ``Sandbox``.
"""

from __future__ import annotations

import heapq
import math
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
        # Kept once a webhook sender watches (`watch`), so that it looks only at messages
        # that may have moved: at 20,000 messages a look at every one each 10 ms took
        # two thirds of a core, the store's lock held all the while.
        self._watched = False
        self._touched: dict[int, StoredMessage] = {}  # added or polled since the last look
        self._next_step: list[tuple[float, int, StoredMessage]] = []  # timed: when, seq
        self._scheduled: dict[int, float] = {}  # seq: its one live entry in `_next_step`

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
            replaced = self._messages.get((message.tenant, message_id))
            self._messages[(message.tenant, message_id)] = message
            if self._watched:
                if replaced is not None:
                    self._touched.pop(replaced.seq, None)
                    self._scheduled.pop(replaced.seq, None)
                self._touched[message.seq] = message
        return MessageHandle(message, self.lock, self._now)

    def remove(self, message_id: str, tenant: str | None = None) -> None:
        with self.lock:
            key = (tenant if tenant is not None else DEFAULT_TENANT, message_id)
            removed = self._messages.pop(key, None)
            if removed is not None:
                self._touched.pop(removed.seq, None)
                self._scheduled.pop(removed.seq, None)

    def clear(self) -> None:
        with self.lock:
            self._messages.clear()
            self._watched = False  # reset() closed the webhook sender first
            self._touched.clear()
            self._next_step.clear()
            self._scheduled.clear()

    def look_up(
        self,
        tenant: str,
        message_id: str,
        now: float,
        *,
        advance: bool,
        status_override: str | None,
    ) -> MessageView | None:
        """The message as a status GET sees it (`advance`: counted as a poll, which moves a
        message that advances per poll)."""
        with self.lock:
            message = self._messages.get((tenant, message_id))
            if message is None:
                return None
            if advance and self._watched and message.advance is None:
                self._touched[message.seq] = message
            return message.view(now, advance=advance, status_override=status_override)

    def get(self, tenant: str, message_id: str) -> StoredMessage | None:
        with self.lock:
            return self._messages.get((tenant, message_id))

    def of_tenant(self, tenant: str) -> list[StoredMessage]:
        with self.lock:
            return [m for (t, _), m in self._messages.items() if t == tenant]

    def steps_reached(self) -> tuple[float, list[tuple[StoredMessage, int]]]:
        """The clock time and, for every scripted (not seeded-verbatim) message, the index
        of the step it has reached: what a new webhook subscription starts from. From the
        first call on, the store keeps what `steps_moved` needs."""
        with self.lock:
            now = self._now()
            self._watched = True
            self._touched.update((m.seq, m) for m in self._messages.values())
            return now, [(m, m.step_at(now)) for m in self._messages.values() if m.verbatim is None]

    def steps_moved(self) -> tuple[float, list[tuple[StoredMessage, int]]]:
        """`steps_reached` of only the messages that may have moved since the last call:
        those added or polled since, and those whose next timed step is due. Every message
        it may leave out has the step it had at the last call (or a lower one, when the
        clock was set back)."""
        with self.lock:
            now = self._now()
            moved = self._touched
            self._touched = {}
            due = self._next_step
            scheduled = self._scheduled
            while due and due[0][0] <= now:
                at, seq, message = heapq.heappop(due)
                if scheduled.get(seq) == at:
                    del scheduled[seq]
                    moved.setdefault(seq, message)
            reached: list[tuple[StoredMessage, int]] = []
            for message in moved.values():
                if self._messages.get((message.tenant, message.id)) is not message:
                    continue  # removed or replaced since
                index = message.step_at(now)
                if message.verbatim is None:
                    reached.append((message, index))
                advance = message.advance
                if advance is not None and advance > 0 and index < len(message.steps) - 1:
                    # `step_at` rounds; never a time already past, or this would spin.
                    at = max(message.created + (index + 1) * advance, math.nextafter(now, math.inf))
                    if scheduled.get(message.seq) != at:
                        scheduled[message.seq] = at
                        heapq.heappush(due, (at, message.seq, message))
            return now, reached


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
