"""What a client does, written once for sync and async alike.

Each flow (a status lookup, a batch, polling, history paging) is a generator that yields
effects — `Send` a request, `Sleep`, `Hold` the rate budget, `Emit` a report — and receives
their results.
`sms_status._drivers` runs the same flows by blocking or by awaiting, so the policy below is
the only copy of it. One request with retries, the effects and the `Context` are
`_request`'s; the switch from a deprecated status endpoint to its successor is
`_successor`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from sms_status import _validation
from sms_status._request import (
    DEFAULT_RETRY_AFTER_CAP,
    SLOT_WINDOW,
    BudgetHeld,
    Context,
    DeadlineReached,
    Effect,
    Emit,
    Flow,
    Hold,
    RetryEvent,
    Send,
    Sleep,
    failed_report,
    log,
    read_or_malformed,
    request_with_retries,
)
from sms_status._successor import (
    StatusEndpointGone,
    status_call,
    successor_status,
    successor_statuses,
)
from sms_status.errors import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SmsStatusError,
    TransportError,
)
from sms_status.report import StatusReport

LOOK_ROOM = 0.01
"""Seconds a look needs before the deadline at least: one due later is moved a second before
it (or not made), rather than sent with no time to answer (nothing sent: a "no time left"
then replaced the server's last answer as the error a wait ended with)."""
LAST_LOOK_RESERVE = 1.0
"""Seconds before `wait_for_final`'s deadline that its last look starts, for the answer."""


def lookup(ctx: Context, message_id: str, *, deadline: float | None = None) -> Flow[StatusReport]:
    """One id's report, on whichever endpoint the client uses (a batch of one for seven)."""
    if ctx.lookup.on_successor:
        return (yield from successor_status(ctx, message_id, deadline=deadline))
    if ctx.provider.batch is not None:
        (report,) = yield from batch_statuses(ctx, [message_id], deadline=deadline)
        if report.error is not None:
            raise report.error
        return report
    try:
        data = yield from status_call(ctx, ctx.provider.status_request(message_id), deadline)
    except StatusEndpointGone:
        return (yield from successor_status(ctx, message_id, deadline=deadline))
    return read_or_malformed(ctx, data, lambda: ctx.provider.read_status(message_id, data))


def lookup_or_report_failure(ctx: Context, message_id: str) -> Flow[StatusReport]:
    """One id of a bulk lookup: only a bad key stops the whole run; anything else is
    reported on that id's `error` so the other results are kept."""
    try:
        return (yield from lookup(ctx, message_id))
    except AuthenticationError:
        raise
    except SmsStatusError as exc:
        return failed_report(ctx, message_id, exc)


def batches(
    ids: Sequence[str], *, max_ids: int, max_joined_length: int, separator: str = ","
) -> Iterator[list[str]]:
    """Split ids into batches of at most `max_ids`, whose joined value stays within
    `max_joined_length` bytes once percent-encoded (what the URL really carries)."""
    separator_length = _validation.encoded_length(separator)
    batch: list[str] = []
    length = 0
    for message_id in ids:
        size = _validation.encoded_length(message_id)
        added = size + (separator_length if batch else 0)
        if batch and (len(batch) >= max_ids or length + added > max_joined_length):
            yield batch
            batch, length, added = [], 0, size
        batch.append(message_id)
        length += added
    if batch:
        yield batch


def batch_statuses(
    ctx: Context, message_ids: Sequence[str], *, deadline: float | None = None
) -> Flow[list[StatusReport]]:
    """Look up many ids with one request per batch (seven), keeping input order.

    Duplicates are looked up once. An id missing from the reply gets a NotFoundError report;
    a batch answered with "unknown id" as a whole is split in halves until the unknown ids
    are isolated, so they never cost the others their results: unless this client saw a
    reply leave unknown ids out (then "unknown id" means none of the batch is known); and a
    half after a first half of unknown ids only goes id by id (100 ids seven does not
    know cost 112 requests, not 199).
    """
    lookup = ctx.provider.batch
    assert lookup is not None
    if ctx.lookup.on_successor:
        return (yield from successor_statuses(ctx, message_ids, deadline=deadline))
    unique = list(dict.fromkeys(message_ids))
    results: dict[str, StatusReport] = {}
    try:
        for batch in batches(
            unique,
            max_ids=lookup.max_ids,
            max_joined_length=lookup.max_joined_length,
            separator=lookup.separator,
        ):
            yield from _lookup_batch(ctx, batch, results, deadline)
    except StatusEndpointGone:
        return (yield from successor_statuses(ctx, message_ids, deadline=deadline))
    return [results[i] for i in message_ids]


def _lookup_batch(
    ctx: Context,
    batch: list[str],
    results: dict[str, StatusReport],
    deadline: float | None,
    *,
    one_by_one: bool = False,
) -> Flow[bool]:
    """Look `batch` up into `results`; True when every id of it was answered "unknown id".
    `one_by_one`: a batch answered so is looked up id by id rather than halved again."""
    lookup = ctx.provider.batch
    assert lookup is not None
    try:
        joined = lookup.separator.join(batch)
        data = yield from status_call(ctx, ctx.provider.status_request(joined), deadline)
        items = read_or_malformed(ctx, data, lambda: lookup.items(data))
    except AuthenticationError:
        raise
    except NotFoundError as exc:
        if len(batch) == 1 or ctx.lookup.unknown_left_out:
            for message_id in batch:
                results[message_id] = failed_report(ctx, message_id, exc)
            return True
        if one_by_one:
            every = True
            for message_id in batch:
                every &= yield from _lookup_batch(ctx, [message_id], results, deadline)
            return every
        middle = len(batch) // 2
        first = yield from _lookup_batch(ctx, batch[:middle], results, deadline)
        # A first half of unknown ids only: the second is likely the same, and id by id
        # certifies that in fewer requests than halving (n + 1, not 2n - 1).
        second = yield from _lookup_batch(ctx, batch[middle:], results, deadline, one_by_one=first)
        return first and second
    except SmsStatusError as exc:
        for message_id in batch:
            results[message_id] = failed_report(ctx, message_id, exc)
        return False
    found, unplaced = _read_items(ctx, items, batch)
    if unplaced is None and any(message_id not in found for message_id in batch):
        ctx.lookup.unknown_left_out = True
    for message_id in batch:
        got = found.get(message_id)
        if isinstance(got, StatusReport):
            results[message_id] = got
            continue
        results[message_id] = failed_report(
            ctx,
            message_id,
            got
            or unplaced  # maybe this id's item
            or NotFoundError(
                "the provider did not report this id",
                provider=ctx.provider.key,
                status_code=200,
                error_code="NOT_FOUND",
            ),
        )
    return False


def _read_items(
    ctx: Context, items: Sequence[object], asked: Sequence[str]
) -> tuple[dict[str, StatusReport | MalformedResponseError], MalformedResponseError | None]:
    """A batch reply read item by item: one that does not fit costs its own id its report,
    not the batch's. Also the failure of an item that names no id `asked` for (whose it
    was is unknown)."""
    lookup = ctx.provider.batch
    assert lookup is not None
    found: dict[str, StatusReport | MalformedResponseError] = {}
    unplaced: MalformedResponseError | None = None
    for item in items:
        try:
            report = read_or_malformed(ctx, item, functools.partial(lookup.read_item, item))
        except MalformedResponseError as exc:
            named = lookup.item_id(item)
            if named is None or named not in asked:
                unplaced = exc
            else:
                found.setdefault(named, exc)
            continue
        found[report.message_id] = report
    return found, unplaced


TRANSIENT = (RateLimitError, ServerError, TransportError)


def wait_for_final(
    ctx: Context,
    message_id: str,
    *,
    timeout: float | None,
    on_update: Callable[[StatusReport], None] | None,
    look_limit: float = 10.0,  # the clients pass their own attempt limit
) -> Flow[StatusReport]:
    """Poll on the provider's cadence until a final status or the deadline.

    Stops on a final status; on timeout returns the last report seen (not final). When the
    next interval would pass the deadline, one last look is made `LAST_LOOK_RESERVE` before
    it, so the whole budget is used (roycetalk's 5, 10 s cadence with `timeout=12` looks at
    0, 5 and 11 s), unless that is sooner after the previous one than the cadence's
    shortest interval (with `timeout=6`: at 0 and 5 s only). `timeout=0` looks once: one
    attempt, no retries, within `look_limit` (the client's attempt limit: its slot of the
    rate budget too, which a busy budget put minutes away). Transient failures (429 after
    its retries, 5xx, transport, and a 404 once the message was reported) keep polling
    until the deadline, but for a server certificate refused (`TransportError.retryable`
    False), which ends the wait; a
    Retry-After (429, 503) longer than the next interval is honoured, and one reaching past
    the last look (`LAST_LOOK_RESERVE` before the deadline) ends the wait. Nothing sleeps
    past the deadline, and the request in flight when it comes is cut to the time left.
    """
    cadence = ctx.provider.cadence
    limit = cadence.default_timeout if timeout is None else timeout
    deadline = ctx.clock() + limit
    # timeout=0 means "look once": one attempt, no retries, bounded by the client's timeout
    # (its retries' waits, a Retry-After of a minute say, would take it past any margin).
    retried: list[RetryEvent] = []  # this look's own retries: the server struggles
    user_on_retry = ctx.on_retry

    def noted(event: RetryEvent) -> None:
        retried.append(event)
        if user_on_retry is not None:
            user_on_retry(event)

    look = attrs.evolve(ctx, max_retries=ctx.max_retries if limit else 0, on_retry=noted)
    shortest = min(cadence.intervals)
    last: StatusReport | None = None
    last_error: SmsStatusError | None = None
    for interval in cadence.waits():
        looked_at = ctx.clock()
        retried.clear()
        asked = 0.0  # a Retry-After (a 429, a 503 in maintenance): the wait stretches to it
        rest = 0.0  # after a failed look (the server struggling): its interval from the answer
        try:
            report = yield from lookup(
                look, message_id, deadline=deadline if limit else ctx.clock() + look_limit
            )
        except (*TRANSIENT, NotFoundError) as exc:
            if isinstance(exc, TransportError) and not exc.retryable:
                raise  # the server's certificate refused: looking again cannot help
            if isinstance(exc, NotFoundError) and last is None:
                raise  # never known; once reported, a 404 is the server's hiccup (as a 5xx)
            last_error = exc
            rest = interval
            if not isinstance(exc, TransportError) and exc.retry_after is not None:
                asked = min(exc.retry_after, ctx.retry_after_cap)
        else:
            if on_update is not None and report != last:
                on_update(report)
            last = report
            if report.is_final:
                return report
        now = ctx.clock()
        if retried:  # the server struggles: the next interval runs from this answer
            rest = interval
        wait = next_wait(
            interval, looked_at, now, deadline, rest=rest, asked=asked, shortest=shortest
        )
        if wait is None:
            break
        yield Sleep(wait)
    if last is None:
        assert last_error is not None
        raise last_error
    return last


def next_wait(
    interval: float,
    looked_at: float,
    now: float,
    deadline: float,
    *,
    rest: float,
    asked: float,
    shortest: float,
) -> float | None:
    """Seconds to sleep before the next look of a wait on a cadence (`wait_for_final`, and
    `sms-status watch` of a batch), or None: no look is left before `deadline`.

    `interval`: the cadence's next; `rest`: a pause from this answer (after a failed or
    retried look, the server struggling); `asked`: a Retry-After, capped."""
    if now - looked_at > interval:  # answered slowly: the server struggles
        rest = max(rest, interval)
    # An answered look's cadence runs from look to look: its own time is part of it.
    wait = max(looked_at + interval - now, rest, asked)
    left = deadline - now
    if wait > left - LOOK_ROOM:
        # The next look would come after the deadline, or at it (cut to nothing, after
        # sleeping there; or so close that no request fits): look once more before it,
        # unless the server asked for a longer pause than the cadence's, or one past
        # that last look (Retry-After), or there is no room left for one (this was it)
        # at least the provider's shortest documented interval after this one.
        if asked > interval or asked > left - LAST_LOOK_RESERVE:
            return None
        wait = left - LAST_LOOK_RESERVE
        if wait <= 0 or deadline - LAST_LOOK_RESERVE - looked_at < shortest:
            return None
    return wait


def history_page(
    ctx: Context, by: str, key: str, count: int, before: datetime | None
) -> Flow[list[StatusReport]]:
    history = ctx.provider.history
    assert history is not None
    build = history.by_phone if by == "phone" else history.by_reference
    data = yield from request_with_retries(ctx, build(key, count, before))
    return read_or_malformed(ctx, data, lambda: history.read_page(data))


def _whole_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


ASKS_AT_ONE_CURSOR = 4
"""Pages a history walk asks at one `sendDate` at most: the page, the whole second at the
largest count, and that again while new messages come. A server still serving new ones
there does not honour `count` or `sendDate`: the walk steps back rather than loop."""


def iter_history(
    ctx: Context,
    by: str,
    key: str,
    *,
    page_size: int,
    before: datetime | None,
    limit: int | None,
) -> Flow[None]:
    """Page backwards through history by send date, newest first, emitting each message once.

    A page edge can fall among messages that share a timestamp, and the server's "before"
    may be strict or not. So each next page asks for everything before the *next* whole
    second after the oldest message seen, and drops ids already emitted: no gaps, no
    duplicates. A page that brings nothing new there (a second holding more than a page)
    is asked again for the whole second, at the API's largest count (100); only a second
    holding more than that makes the cursor step strictly back, so the walk always ends,
    and skips some of them (logged); with send times to a fraction of a second and a server
    whose "before" is inclusive, that second is the one up to the cursor, its own second
    included. The cursor never moves forward: not past the caller's `before`, nor back over
    messages already forgotten.
    """
    seen: dict[str, datetime] = {}
    emitted = 0
    cursor = before
    count = page_size
    asks = 0  # pages asked at this cursor
    while limit is None or emitted < limit:
        page = yield from history_page(ctx, by, key, count, cursor)
        asks += 1
        if cursor is not None:  # the caller's `before` too (aware: `_validation.before`)
            ignored = [r for r in page if r.created_at is not None and r.created_at > cursor]
            if ignored:
                # The server does not honour sendDate: paging on would loop forever and
                # repeat messages once they are forgotten below.
                raise MalformedResponseError(
                    f"a history page asked for messages sent before {cursor.isoformat()} "
                    f"holds one sent at {ignored[0].created_at}: sendDate was not honoured",
                    provider=ctx.provider.key,
                    status_code=200,
                )
        fresh = 0
        for report in page:
            if report.message_id in seen:  # from an earlier page, or listed twice on this one
                continue
            if report.created_at is None:
                raise MalformedResponseError(
                    "a history entry has no send timestamp",
                    provider=ctx.provider.key,
                    status_code=200,
                )
            seen[report.message_id] = report.created_at
            yield Emit(report)
            fresh += 1
            emitted += 1
            if limit is not None and emitted >= limit:
                return
        if len(page) < count:
            return
        oldest = min(r.created_at for r in page if r.created_at is not None)
        try:
            next_cursor = _whole_second(oldest) + timedelta(seconds=1)
            if cursor is not None:  # never forward: past `before`, or back over the forgotten
                next_cursor = min(next_cursor, cursor)
            if (
                next_cursor == cursor
                and asks < ASKS_AT_ONE_CURSOR
                and (fresh or count < _validation.MAX_PAGE_SIZE)
            ):
                count = _validation.MAX_PAGE_SIZE  # stuck in one second: ask for the whole of it
                continue
            if next_cursor == cursor:
                assert cursor is not None
                log.warning(
                    "%s: more than %d messages share %s; some may be skipped",
                    ctx.provider.key,
                    count,
                    _whole_second(oldest),
                )
                # Strictly back: to its second's start when it has a fraction (a caller's
                # `before`), a whole second back from a whole second.
                whole = _whole_second(cursor)
                next_cursor = whole if whole < cursor else whole - timedelta(seconds=1)
        except OverflowError:  # a send time at the very end (or start) of the calendar
            raise MalformedResponseError(
                f"a history entry's send time is out of range: {oldest.isoformat()}",
                provider=ctx.provider.key,
                status_code=200,
            ) from None
        cursor, count, asks = next_cursor, page_size, 0
        # Only messages sent at or before the cursor can be served again: forget the rest.
        seen = {i: t for i, t in seen.items() if t <= cursor}


__all__ = [
    "DEFAULT_RETRY_AFTER_CAP",
    "LAST_LOOK_RESERVE",
    "SLOT_WINDOW",
    "TRANSIENT",
    "BudgetHeld",
    "Context",
    "DeadlineReached",
    "Effect",
    "Emit",
    "Flow",
    "Hold",
    "RetryEvent",
    "Send",
    "Sleep",
    "batch_statuses",
    "batches",
    "history_page",
    "iter_history",
    "lookup",
    "lookup_or_report_failure",
    "next_wait",
    "wait_for_final",
]
