"""The tracker's rules, as pure functions of a stored `Row`: when to poll next, and what a
pushed report, a poll's answer or the deadline does to a message. Stores only persist what
these return, so every store behaves the same.

Each function returns the changed row, or None when the event changes nothing (the message
is settled already, or a report is older than the one kept): the caller writes nothing then.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs

from sms_status._provider import Cadence
from sms_status._registry import PROVIDERS
from sms_status.errors import ApiError, NotFoundError
from sms_status.report import StatusReport
from sms_status.tracking._model import Reason, Row, Source, encode_report

DEFAULT_DEADLINE = 72 * 3600.0
"""Seconds from `add()` to give up on a final: what Vonage and GOV.UK Notify settle on."""
DEFAULT_MAX_INTERVAL = 15 * 60.0
"""Longest wait between two polls of one id, once the provider's cadence has run its course."""
NOT_FOUND_AFTER = 15 * 60.0
"""An id the provider has only ever answered "not found" for is settled this long after add()."""
EARLY_PUSH_TTL = 3600.0
"""How long a push for an id not yet added is kept for the `add()` it beat."""
HANDOVER_BACKOFF_CAP = 300.0
"""Longest wait before handing an outcome to an `on_final` that raised, again."""
FAILED_LOOKUP_RETRY = 1.0
"""Seconds from a failed lookup (a reset, a timeout, a 5xx) to its retry; each failure in a
row doubles it, until it reaches the id's next poll had the lookup been answered: from then
on a failure is that poll, and the schedule goes on (an outage costs what polling would)."""

PER_RECIPIENT_PUSHES: Mapping[str, frozenset[str]] = {
    # lisoloo's per-recipient events report one recipient, not the message: a final one is a
    # hint to look (one poll, now) at the message-level totals, never a settlement.
    "lisoloo": frozenset({"sms.processing", "sms.sent", "sms.delivered", "sms.failed"}),
}


@attrs.frozen
class Schedule:
    """One provider's polling schedule: its documented cadence (what `wait_for_final` uses)
    for as long as `wait_for_final`'s default cap, then doubling up to `max_interval`."""

    cadence: Cadence
    max_interval: float = DEFAULT_MAX_INTERVAL

    @property
    def first_wait(self) -> float:
        return min(self.cadence.intervals[0], self.max_interval)

    def wait_after(self, row: Row, now: float) -> float:
        """Seconds from `now` to the next poll of `row` (whose `polls` counts this one)."""
        intervals = self.cadence.intervals
        if now - row.added_at < self.cadence.default_timeout:
            wait = intervals[min(row.polls, len(intervals) - 1)]
        else:
            wait = max(row.interval, intervals[-1]) * 2
        return min(wait, self.max_interval)


class AddedAt:
    """When each id of one `add_many` is added: read from `clock` as it comes, but the same
    time for ids within `together` seconds of the first of their group (a file of ids read
    in a burst polls as one batch; a generator yielding them as sent gets their own times)."""

    def __init__(self, clock: Callable[[], float], start: float, together: float = 1.0) -> None:
        self._clock, self._group, self._together = clock, start, together

    def __call__(self) -> float:
        now = self._clock()
        if not 0 <= now - self._group < self._together:  # later, or a clock stepped back
            self._group = now
        return self._group


def new_row(
    provider: str, message_id: str, *, tag: str | None, now: float, deadline: float, first: float
) -> Row:
    deadline_at = now + deadline
    return Row(
        provider=provider,
        message_id=message_id,
        tag=tag,
        added_at=now,
        deadline_at=deadline_at,
        next_poll_at=min(now + first, deadline_at),
        interval=first,
    )


def settle(row: Row, reason: Reason, now: float) -> Row:
    return row._replace(reason=reason, settled_at=now, next_poll_at=None, handover_at=now)


def _with_report(row: Row, report: StatusReport, source: Source) -> Row:
    return row._replace(
        report=encode_report(report),
        source=source,
        state=report.state.value,
        is_final=report.is_final,
        updated_at=None if report.updated_at is None else report.updated_at.timestamp(),
        known=True,
    )


def _keeps_current(row: Row, incoming: StatusReport) -> bool:
    """`webhooks.merge` on what the row keeps of its report: True when it keeps the current
    one. (The same rule as `merge`, read from the row's columns instead of a decoded report.)"""
    if row.report is None:
        return False
    if row.is_final != incoming.is_final:
        return row.is_final
    incoming_at = None if incoming.updated_at is None else incoming.updated_at.timestamp()
    return not (
        incoming_at is not None and (row.updated_at is None or incoming_at > row.updated_at)
    )


def is_per_recipient(report: StatusReport) -> bool:
    return report.provider_status in PER_RECIPIENT_PUSHES.get(report.provider, frozenset())


def _hinted(row: Row, report: StatusReport, now: float) -> Row | None:
    """A per-recipient final (lisoloo): a hint to poll the message now, not its outcome."""
    if not report.is_final or row.next_poll_at is None:
        return None
    if row.next_poll_at <= now and row.interval == 0:
        return None  # due, and marked already
    # interval 0 marks the hint: this poll is not deferred for a push (`waits_for_push`);
    # a row due already is marked too (a worker behind), else the push would defer it.
    return row._replace(
        next_poll_at=min(row.next_poll_at, now), interval=0.0, known=True, due_since=None
    )


def apply_push(row: Row, report: StatusReport, now: float, schedule: Schedule) -> Row | None:
    """A pushed report (a webhook): a final one settles the message at once; a non-final one
    defers the next poll to `max_interval` (webhooks work: polling is only the safety net)."""
    if row.settled:
        return None
    if is_per_recipient(report):
        return _hinted(row, report, now)
    if _keeps_current(row, report):
        return None
    changed = _with_report(row, report, "push")
    if report.is_final:
        return settle(changed, "final", now)
    return changed._replace(
        next_poll_at=min(now + schedule.max_interval, row.deadline_at),
        interval=schedule.max_interval,
        due_since=None,
    )


def apply_poll(
    row: Row, report: StatusReport, now: float, schedule: Schedule, *, pushes_live: bool = False
) -> Row | None:
    """A poll's answer for one id: `report.error` set means the lookup failed (as
    `get_statuses` reports it). A final report settles; "not found" for an id the provider
    never knew settles 15 minutes after add(); any other failure is transient: the lookup is
    retried soon (`FAILED_LOOKUP_RETRY`, doubling over failures in a row) and the schedule
    stays where it was, until the retry's wait reaches the schedule's. Whatever happens, a
    message still unsettled at its deadline is settled with reason "deadline".
    `pushes_live`: the provider's webhooks are arriving, so the next poll is only the safety
    net, `max_interval` away."""
    if row.settled:
        return None  # settled meanwhile (a push): a late poll changes nothing
    error = report.error
    answered = error is None or isinstance(error, NotFoundError)
    row = row._replace(
        polls=row.polls + 1, failures=0 if answered else row.failures + 1, due_since=None
    )
    not_before = now
    if error is None:
        if row.source == "push" and _keeps_current(row, report):
            row = row._replace(known=True)
        else:
            row = _with_report(row, report, "poll")
            if report.is_final:
                return settle(row, "final", now)
    elif isinstance(error, NotFoundError):
        # Whichever is due first, also when polled late (downtime): a deadline under 15
        # minutes comes before "not found".
        not_found_at = row.added_at + NOT_FOUND_AFTER
        if not row.known and now >= not_found_at and not_found_at <= row.deadline_at:
            return settle(row, "not_found", now)
    elif isinstance(error, ApiError) and error.retry_after is not None:  # a 429, a 503's
        # Capped, as the provider's rest is: a Retry-After of days (or 1e300) must not keep
        # a delivered message unpolled until its deadline.
        not_before = now + min(error.retry_after, schedule.max_interval)
    if now >= row.deadline_at:
        return settle(row, "deadline", now)
    wait = schedule.wait_after(row, now)
    if pushes_live:
        wait = max(wait, schedule.max_interval)
    interval = wait
    retry = FAILED_LOOKUP_RETRY * 2.0 ** min(row.failures - 1, 30)
    if not answered and retry < wait:  # a blip must not cost a whole interval (to 15 min)
        wait = retry
        interval = row.interval  # the schedule resumes where it was, once answered
    due = max(now + wait, not_before)
    if not row.known and now - row.added_at < NOT_FOUND_AFTER:
        due = min(due, row.added_at + NOT_FOUND_AFTER)  # settle "not found" on time
    return row._replace(next_poll_at=min(due, row.deadline_at), interval=interval)


DUE_ORDER_WINDOW = 0.05
DUE_ORDER_SPAN = 3 * 3600.0
"""Ids moved to a rest's end keep the order they came due in (`Row.due_since`): each goes
25 to 50 ms after the end, the sooner the longer it had waited (a second apart stays a few
float steps apart, up to `DUE_ORDER_SPAN` of waiting). Tied at the end, they went by
message id, so ids added later took the few requests a rate-limited provider let through
from ids waiting longer."""


def rest(row: Row, until: float, now: float, *, polled: bool = False) -> Row | None:
    """The row's provider rests (a 429) until `until`: its due poll waits for the rest's
    end (`DUE_ORDER_WINDOW`). One whose deadline has come is settled now, as its poll would
    have settled it.
    `polled`: its lookup was the one answered 429 (a request it cost, not a failure): it
    queues again behind the ids already waiting."""
    due = row.next_poll_at
    if row.settled or due is None:
        return None
    # The refused id waits as one due now: kept at the head, an id the provider always
    # refuses went first at every rest's end, and no other id was polled again.
    since = now if polled else due if row.due_since is None else row.due_since
    row = row._replace(due_since=since, polls=row.polls + 1 if polled else row.polls)
    if now >= row.deadline_at:
        return settle(row, "deadline", now)
    waited = min(max(until - since, 0.0), DUE_ORDER_SPAN)
    at = until + DUE_ORDER_WINDOW * (1.0 - waited / (2 * DUE_ORDER_SPAN))
    return row._replace(next_poll_at=min(max(due, at), row.deadline_at))


def _safety_net_at(row: Row, schedule: Schedule) -> float:
    """When a message that waits for its push is polled: `max_interval` after its add, by
    when its push should have come — or its deadline, or its "not found" time, if sooner."""
    due = min(row.added_at + schedule.max_interval, row.deadline_at)
    if not row.known:
        due = min(due, row.added_at + NOT_FOUND_AFTER)
    return due


def waits_for_push(row: Row, now: float, schedule: Schedule) -> bool:
    """Webhooks arrive for the row's provider: whether the due `row` waits for its push
    instead of being polled now: not once its safety-net poll is due (its deadline or its
    "not found" time included), nor when a per-recipient push asked for a look (interval 0)."""
    return not row.settled and row.interval > 0 and now < _safety_net_at(row, schedule)


def defer_for_push(row: Row, now: float, schedule: Schedule) -> Row | None:
    """Webhooks arrive for the row's provider: a message added less than `max_interval` ago
    is not polled now but at its safety-net poll (`waits_for_push`)."""
    if not waits_for_push(row, now, schedule):
        return None
    return row._replace(
        next_poll_at=_safety_net_at(row, schedule), interval=schedule.max_interval, due_since=None
    )


def begin_handover(row: Row, claimed: int) -> Row | None:
    """The next hand-over of `row`, whose claim read it at delivery `claimed`: none if a
    hand-over began since (another worker's, once this one's lease lapsed: a worker paused
    past it would otherwise hand the outcome over beside it)."""
    if row.handover_at is None or row.delivery != claimed:
        return None
    return row._replace(delivery=row.delivery + 1)


def end_handover(row: Row, delivery: int) -> Row | None:
    if row.handover_at is None or row.delivery != delivery:
        return None
    return row._replace(handover_at=None)


def retry_handover(row: Row, delivery: int, now: float) -> Row | None:
    """`on_final` raised: hand the outcome over again after a backoff (1, 2, 4 … 300 s)."""
    if row.handover_at is None or row.delivery != delivery:
        return None
    wait = min(HANDOVER_BACKOFF_CAP, 2.0 ** min(max(delivery - 1, 0), 16))
    return row._replace(handover_at=now + wait)


MAX_SPAN = 100 * 365.25 * 86400
"""The longest deadline, interval or retention taken: a time much further out has no date
(`get()` would raise an OverflowError past the year 9999)."""


def valid_deadline(value: object, name: str = "deadline") -> float:
    """`value` as seconds: a finite number > 0, at most `MAX_SPAN` (TypeError/ValueError naming
    `name` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    try:
        seconds, shown = float(value), repr(value)
    except OverflowError:  # an int no float holds: past the cap below
        seconds, shown = math.inf, "an integer too large for a float"
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {shown}")
    if seconds > MAX_SPAN:
        raise ValueError(f"{name} must be at most 100 years ({MAX_SPAN:.0f} s), got {shown}")
    return seconds


MAX_TAG_LENGTH = 256


def valid_provider(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"provider must be a str, not {type(value).__name__}")
    if value not in PROVIDERS:
        raise ValueError(f"unknown provider {value!r}; expected one of: {', '.join(PROVIDERS)}")
    return value


def valid_tag(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"tag must be a str or None, not {type(value).__name__}")
    if len(value) > MAX_TAG_LENGTH:
        raise ValueError(f"tag is {len(value)} characters long; at most {MAX_TAG_LENGTH}")
    try:  # a lone surrogate: JSON Redis's scripts cannot read (and SQLite cannot store)
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("tag must be valid Unicode text (it has a lone surrogate)") from None
    return value
