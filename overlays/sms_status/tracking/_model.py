"""What the tracker hands out: `Outcome`, `Tracked`, `Counts`, and the stored `Row` they come from.

A `Row` is one tracked message exactly as a store keeps it (numbers, strings and the last
report as JSON text), so every store persists the same fields and the rules in `_rules` stay
the only place that decides what a change means.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple

import attrs

from sms_status.report import DeliveryState, RecipientCounts, StatusReport, unbuilt_raw

Reason = Literal["final", "deadline", "not_found"]
"""Why an `Outcome` was settled: a final report, its deadline, or an id only ever "not found"."""
Source = Literal["push", "poll"]
"""Where an `Outcome`'s report came from: a pushed one (`ingest`) or a lookup."""


class Row(NamedTuple):
    """One tracked message as stored, its fields in the store's column order. Times are the
    tracker clock's epoch seconds. (A tuple: rules change it with `_replace`, cheaply.)"""

    provider: str
    message_id: str
    tag: str | None
    added_at: float
    deadline_at: float
    next_poll_at: float | None
    """When the next poll is due; None once settled."""
    interval: float = 0.0
    """The last wait between two polls (the doubling phase doubles it)."""
    polls: int = 0
    known: bool = False
    """The provider has answered with a status (or pushed one) at least once."""
    report: str | None = None
    """The last report as JSON (`encode_report`)."""
    source: Source | None = None
    state: str | None = None
    """The last report's state, or the outcome's."""
    is_final: bool = False
    """Whether the last report is final (kept beside `report` so rules need not decode it)."""
    updated_at: float | None = None
    """The last report's `updated_at` as epoch seconds, for `webhooks.merge` order."""
    settled_at: float | None = None
    reason: Reason | None = None
    delivery: int = 0
    """How many times the outcome was handed to `on_final` (or started to be)."""
    handover_at: float | None = None
    """When the next hand-over attempt is due; None when none is pending."""
    failures: int = 0
    """Lookups in a row that failed (a reset, a 5xx): the retry's backoff. An answer, "not
    found" included, sets it back to 0."""
    due_since: float | None = None
    """When its poll came due, while its provider rests (a 429): at the rest's end, ids go
    in this order. None once polled."""

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.message_id}"

    @property
    def settled(self) -> bool:
        return self.reason is not None


@attrs.frozen(kw_only=True)
class Outcome:
    """A message's final outcome, as `on_final` receives it. Make `on_final` idempotent on
    `key`: after a crash between the record and the callback's return, the same outcome is
    handed over again with `delivery` + 1."""

    provider: str
    message_id: str
    tag: str | None
    state: DeliveryState
    """The final state; for "deadline" and "not_found" the last state seen (UNKNOWN if none)."""
    reason: Reason
    report: StatusReport | None
    """The report that settled it, or the last one seen; None if the id was never read."""
    source: Source | None
    """Where `report` came from: "push" (a webhook) or "poll"; None without a report."""
    polls: int
    """Requests this id cost."""
    added_at: datetime
    settled_at: datetime
    delivery: int
    """Which hand-over of this outcome this is: 1 the first time, 2, 3, … when handed over
    again. Each is recorded before `on_final` is called, so one cut off between its record
    and the call (a crash, a cancelled run, a store's reply lost) counts too: `on_final` may
    first see an outcome with 2."""
    key: str
    """`"<provider>:<message_id>"`: stable, the idempotency key for `on_final`."""

    @property
    def is_delivered(self) -> bool:
        return self.state in (DeliveryState.DELIVERED, DeliveryState.READ)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe data (`sms-status track --json` prints one per line)."""
        return {
            "key": self.key,
            "provider": self.provider,
            "message_id": self.message_id,
            "tag": self.tag,
            "state": self.state.value,
            "reason": self.reason,
            "source": self.source,
            "polls": self.polls,
            "delivery": self.delivery,
            "added_at": self.added_at.isoformat(),
            "settled_at": self.settled_at.isoformat(),
            "report": None if self.report is None else self.report.to_dict(),
        }


@attrs.frozen(kw_only=True)
class Tracked:
    """Where one tracked message stands (`tracker.get`)."""

    provider: str
    message_id: str
    tag: str | None
    state: DeliveryState
    """The outcome's state once settled, else the last state seen (UNKNOWN if none)."""
    report: StatusReport | None
    """The last report seen (pushed or polled)."""
    polls: int
    added_at: datetime
    next_poll_at: datetime | None
    """None once settled."""
    deadline_at: datetime
    outcome: Outcome | None


@attrs.frozen(kw_only=True)
class Counts:
    """How many messages are where (`tracker.counts()`)."""

    in_flight: int
    settled: int
    by_state: dict[str, int] = attrs.field(factory=dict[str, int])
    """Settled messages by their outcome's state."""
    by_reason: dict[str, int] = attrs.field(factory=dict[str, int])
    """Settled messages by reason: "final", "deadline", "not_found"."""
    awaiting_handover: int = 0
    """Settled messages whose `on_final` has not yet returned."""

    @property
    def total(self) -> int:
        return self.in_flight + self.settled

    @classmethod
    def of(
        cls,
        *,
        in_flight: int,
        awaiting_handover: int,
        settled: Iterable[tuple[str, str | None, int]],
    ) -> Counts:
        """Counts from a store's tallies: `settled` as (reason, state, count) groups."""
        by_state: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        for reason, state, count in settled:
            name = state or "unknown"
            by_state[name] = by_state.get(name, 0) + count
            by_reason[reason] = by_reason.get(reason, 0) + count
        return cls(
            in_flight=in_flight,
            settled=sum(by_reason.values()),
            by_state=by_state,
            by_reason=by_reason,
            awaiting_handover=awaiting_handover,
        )

    def __repr__(self) -> str:
        states = ", ".join(f"{k}={v}" for k, v in sorted(self.by_state.items()))
        return (
            f"Counts(in_flight={self.in_flight}, settled={self.settled} ({states}), "
            f"awaiting_handover={self.awaiting_handover})"
        )


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def state_of(row: Row) -> DeliveryState:
    return _state(row.state) if row.state is not None else DeliveryState.UNKNOWN


def _state(value: str) -> DeliveryState:
    try:
        return DeliveryState(value)
    except ValueError:  # written by a newer version with a state this one lacks
        return DeliveryState.UNRECOGNIZED


def outcome_of(row: Row, report: StatusReport | None = None) -> Outcome:
    """The row's outcome; `report`: its last report when the caller holds it already."""
    assert row.reason is not None
    assert row.settled_at is not None
    return Outcome(
        provider=row.provider,
        message_id=row.message_id,
        tag=row.tag,
        state=state_of(row),
        reason=row.reason,
        report=report if report is not None else decode_report(row.report),
        source=row.source,
        polls=row.polls,
        added_at=moment(row.added_at),
        settled_at=moment(row.settled_at),
        delivery=row.delivery,
        key=row.key,
    )


def tracked_of(row: Row) -> Tracked:
    return Tracked(
        provider=row.provider,
        message_id=row.message_id,
        tag=row.tag,
        state=state_of(row),
        report=decode_report(row.report),
        polls=row.polls,
        added_at=moment(row.added_at),
        next_poll_at=None if row.next_poll_at is None else moment(row.next_poll_at),
        deadline_at=moment(row.deadline_at),
        outcome=outcome_of(row) if row.settled else None,
    )


# -- reports as stored text ------------------------------------------------------------------


def encode_report(report: StatusReport) -> str:
    """The report as JSON text: the fields of `to_dict()` (written out here: this runs once per
    poll) plus the generated model (`raw`) when it can be rebuilt (`from_dict`), so a report
    read back from the store is the one that was stored."""
    counts = report.recipients
    data: dict[str, object] = {
        "provider": report.provider,
        "message_id": report.message_id,
        "state": report.state.value,
        "is_final": report.is_final,
        "provider_status": report.provider_status,
        "recipient": report.recipient,
        "segments": report.segments,
        "cost": None if report.cost is None else str(report.cost),
        "created_at": _iso(report.created_at),
        "sent_at": _iso(report.sent_at),
        "delivered_at": _iso(report.delivered_at),
        "updated_at": _iso(report.updated_at),
        "provider_code": report.provider_code,
        "recipients": None if counts is None else attrs.asdict(counts),
        "channel": report.channel,
    }
    entry = _raw_entry(report)
    if entry is not None:
        data["raw"] = entry
        try:
            return json.dumps(data, separators=(",", ":"), default=str)
        except (TypeError, ValueError):
            del data["raw"]
    return json.dumps(data, separators=(",", ":"), default=str)


def _raw_entry(report: StatusReport) -> dict[str, object] | None:
    """`raw` as stored: its model's name and its JSON — as read while the model is not built
    yet (`from_dict` rebuilds it alike), else `to_dict()`; None if it cannot be rebuilt."""
    unbuilt = unbuilt_raw(report)
    if unbuilt is not None:
        model: type = unbuilt.model
        fields: object = unbuilt.data
    else:
        raw = report.raw
        to_dict = getattr(raw, "to_dict", None)
        if raw is None or not callable(to_dict) or not hasattr(type(raw), "from_dict"):
            return None
        try:
            fields = to_dict()
        except (TypeError, ValueError):
            return None
        model = type(raw)
    return {"model": f"{model.__module__}:{model.__qualname__}", "data": fields}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def decode_report(text: str | None) -> StatusReport | None:
    """A stored report back as a `StatusReport`; fields a newer version wrote are ignored, and
    a `raw` that cannot be rebuilt (its provider's extra is gone) is None."""
    if text is None:
        return None
    data: dict[str, Any] = json.loads(text)
    recipients: dict[str, int] | None = data.get("recipients")
    return StatusReport(
        provider=data["provider"],
        message_id=data["message_id"],
        state=_state(data["state"]),
        is_final=bool(data["is_final"]),
        provider_status=data["provider_status"],
        recipient=data.get("recipient"),
        segments=data.get("segments"),
        cost=_decimal(data.get("cost")),
        created_at=_datetime(data.get("created_at")),
        sent_at=_datetime(data.get("sent_at")),
        delivered_at=_datetime(data.get("delivered_at")),
        updated_at=_datetime(data.get("updated_at")),
        provider_code=data.get("provider_code"),
        recipients=RecipientCounts(**recipients) if isinstance(recipients, dict) else None,
        channel=data.get("channel"),
        raw=_raw(data.get("raw")),
    )


def _decimal(value: object) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _datetime(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _raw(value: dict[str, Any] | None) -> object:
    if not isinstance(value, dict) or not isinstance(value.get("model"), str):
        return None
    module_name, _, name = str(value["model"]).partition(":")
    try:
        model = getattr(importlib.import_module(module_name), name)
        return model.from_dict(value["data"])
    except Exception:  # a raw we cannot rebuild is left out, never an error
        return None


class Rest(NamedTuple):
    """A provider's rest as a store keeps it, on the store's clock."""

    ends: float
    """When it ends (RedisStore: seconds on the Redis server's clock)."""
    in_a_row: int
    """The 429s in a row that led to it; 0 once a lookup was answered since."""
    length: float
    left: float
    """Seconds from when the store was asked to `ends` (0 or less: it ended)."""
