"""What a client does, written once for sync and async alike.

Each flow (one call with retries, a status lookup, a batch, polling, history paging) is a
generator that yields effects — `Send` a request, `Sleep`, `Emit` a report — and receives
their results. `sms_status._drivers` runs the same flows by blocking or by awaiting, so
the policy below is the only copy of it.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import random
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs

from sms_status import _validation
from sms_status._exchange import AttemptTimeout, BodyRejected, Reply, header_items
from sms_status._fields import is_overlay_bug, redacting
from sms_status._provider import Provider, RequestKwargs
from sms_status._redact import masked_headers, redact
from sms_status._responses import excerpt, interpret
from sms_status.errors import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SmsStatusError,
    TransportError,
)
from sms_status.report import DeliveryState, StatusReport

log = logging.getLogger("sms_status")

T = TypeVar("T")

DEFAULT_RETRY_AFTER_CAP = 60.0
"""Longest wait honoured from a Retry-After header or body, in seconds."""
LAST_LOOK_RESERVE = 1.0
"""Seconds before `wait_for_final`'s deadline that its last look starts, for the answer."""
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


@attrs.frozen
class Send:
    request: RequestKwargs
    deadline: float | None = None
    """No request goes out after this clock time: a driver whose rate limiter would make it
    wait past the deadline throws `DeadlineReached` into the flow instead."""


class DeadlineReached(Exception):
    """Thrown into a flow when its request could not be sent before its deadline."""


@attrs.frozen
class Sleep:
    seconds: float


@attrs.frozen
class Emit:
    report: StatusReport


Effect = Send | Sleep | Emit
Flow = Generator[Effect, Any, T]


@attrs.frozen
class RetryEvent:
    """Passed to `on_retry` before each retry sleep."""

    provider: str
    attempt: int
    """The retry about to happen: 1 for the first retry."""
    delay: float
    error: SmsStatusError


@attrs.define
class LookupState:
    """Which endpoint a client's status lookups use; remembered for the client's life."""

    on_successor: bool = False
    chosen: bool = False
    """The user named the endpoint (`lookup=`): no DeprecationWarning then."""


def lookup_state(provider: Provider, choice: str | None) -> LookupState:
    """The starting state for `connect(..., lookup=choice)`: None or "status" start on the
    status endpoint; the successor's name (seven: "logbook") starts on the successor."""
    names = ("status",) if provider.successor is None else ("status", provider.successor.name)
    if choice is not None and choice not in names:
        raise ValueError(
            f"lookup must be one of {', '.join(map(repr, names))} for {provider.key}, "
            f"got {choice!r}"
        )
    return LookupState(on_successor=choice not in (None, "status"), chosen=choice is not None)


@attrs.frozen(kw_only=True)
class Context:
    """One client's settings, shared by every flow it runs."""

    provider: Provider
    secret: str = attrs.field(repr=False)
    max_retries: int
    retry_after_cap: float
    clock: Callable[[], float]
    on_retry: Callable[[RetryEvent], None] | None = None
    jitter: Callable[[], float] = random.random
    lookup: LookupState = attrs.field(factory=LookupState)


def _backoff(attempt: int, ctx: Context) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling: float = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
    return ceiling * ctx.jitter()


def _describe(exc: BaseException, secret: str) -> str:
    """A scrubbed one-line description of a transport failure (its text may quote the
    request's headers, so the raw exception is never chained onto ours)."""
    kind = "Timeout" if isinstance(exc, AttemptTimeout) else type(exc).__name__
    detail = redact(str(exc) or "no detail", secret)[:300]
    return f"{kind}: {detail}"


def call(ctx: Context, request: RequestKwargs, *, deadline: float | None = None) -> Flow[object]:
    """Send one idempotent GET, retrying connection errors and 408/429/502/503/504.

    Returns the decoded JSON body; raises an `sms_status.errors` exception otherwise. A retry
    waits for Retry-After (capped at `retry_after_cap`) or an exponential backoff with
    jitter, and never past `deadline`. Providers may cap 429 retries (lisoloo: one).
    """
    provider = ctx.provider
    rate_limited = 0
    attempt = 0
    while True:
        # Errors are raised after the handlers, never inside them: the raw exception (whose
        # text or headers may quote the key) must not stay reachable as __context__.
        error: SmsStatusError
        delay = 0.0
        retryable = True
        try:
            reply: Reply = yield Send(request, deadline)
        except DeadlineReached:
            retryable = False
            error = TransportError(
                "no time left for a request before the deadline", provider=provider.key
            )
        except BodyRejected as exc:
            retryable = False
            error = MalformedResponseError(
                redact(exc.reason, ctx.secret),
                provider=provider.key,
                status_code=exc.status_code,
                headers=masked_headers(
                    header_items(exc.headers),
                    ctx.secret,
                    extra_sensitive=(provider.credentials(ctx.secret).header,),
                ),
            )
        except Exception as exc:  # anything the network stack raised: connect, TLS, timeout
            error = TransportError(_describe(exc, ctx.secret), provider=provider.key)
            delay = _backoff(attempt, ctx)
        else:
            log.debug("%s %s -> %s", provider.key, request.get("url"), reply.status_code)
            try:
                return interpret(
                    provider,
                    status_code=reply.status_code,
                    headers=reply.headers,
                    content=reply.content,
                    secret=ctx.secret,
                )
            except RateLimitError as exc:
                error = exc
                rate_limited += 1
                limit = provider.max_rate_limit_retries
                if limit is not None and rate_limited > limit:
                    raise
                delay = (
                    min(exc.retry_after, ctx.retry_after_cap)
                    if exc.retry_after is not None
                    else _backoff(attempt, ctx)
                )
            except ApiError as exc:
                if not exc.retryable:
                    raise
                error = exc
                delay = _backoff(attempt, ctx)
        if (
            not retryable
            or attempt >= ctx.max_retries
            or (deadline is not None and ctx.clock() + delay > deadline)
        ):
            raise error
        attempt += 1
        log.info("%s: retry %d in %.2fs after %s", provider.key, attempt, delay, error)
        if ctx.on_retry is not None:
            ctx.on_retry(RetryEvent(provider.key, attempt, delay, error))
        yield Sleep(delay)


def _read(ctx: Context, data: object, reader: Callable[[], T]) -> T:
    """Run a provider reader; any type or shape mismatch becomes MalformedResponseError.
    A reader failing on our own objects is a bug in this SDK and propagates as such."""
    try:
        with redacting(ctx.secret):
            return reader()
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as exc:
        if is_overlay_bug(exc):
            exc.add_note(
                f"sms_status bug: the {ctx.provider.key} reader uses a field its generated "
                "model lacks (spec changed? update sms_status/providers/"
                f"{ctx.provider.key}.py); not a problem with the provider's response"
            )
            raise
        detail = redact(f"{type(exc).__name__}: {exc}", ctx.secret)[:200]
    # Raised outside the handler so that neither __cause__ nor __context__ keeps the reader's
    # exception: its text may quote a field holding an echoed key.
    raise MalformedResponseError(
        f"the body does not fit the {ctx.provider.key} spec: {detail}",
        provider=ctx.provider.key,
        status_code=200,
        body_excerpt=excerpt(_dumped(data), ctx.secret),
    )


def _dumped(data: object) -> bytes:
    try:
        return json.dumps(data, default=str)[: 4 * 500].encode("utf-8", "replace")
    except (ValueError, RecursionError):
        return b""


def failed_report(ctx: Context, message_id: str, error: SmsStatusError) -> StatusReport:
    """The report `get_statuses` returns for an id it could not look up."""
    return StatusReport(
        provider=ctx.provider.key,
        message_id=message_id,
        state=DeliveryState.UNKNOWN,
        is_final=False,
        provider_status="",
        error=error,
    )


def status(ctx: Context, message_id: str, *, deadline: float | None = None) -> Flow[StatusReport]:
    if ctx.lookup.on_successor:
        return (yield from successor_status(ctx, message_id, deadline=deadline))
    if ctx.provider.batch is not None:
        (report,) = yield from batch_statuses(ctx, [message_id], deadline=deadline)
        if report.error is not None:
            raise report.error
        return report
    try:
        data = yield from _status_call(ctx, ctx.provider.status_request(message_id), deadline)
    except _StatusEndpointGone:
        return (yield from successor_status(ctx, message_id, deadline=deadline))
    return _read(ctx, data, lambda: ctx.provider.read_status(message_id, data))


def status_or_failure(ctx: Context, message_id: str) -> Flow[StatusReport]:
    """One id of a bulk lookup: only a bad key stops the whole run; anything else is
    reported on that id's `error` so the other results are kept."""
    try:
        return (yield from status(ctx, message_id))
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
    are isolated, so they never cost the others their results.
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
    except _StatusEndpointGone:
        return (yield from successor_statuses(ctx, message_ids, deadline=deadline))
    return [results[i] for i in message_ids]


def _lookup_batch(
    ctx: Context,
    batch: list[str],
    results: dict[str, StatusReport],
    deadline: float | None,
) -> Flow[None]:
    lookup = ctx.provider.batch
    assert lookup is not None
    try:
        joined = lookup.separator.join(batch)
        data = yield from _status_call(ctx, ctx.provider.status_request(joined), deadline)
        found = _read(ctx, data, lambda: lookup.read(batch, data))
    except AuthenticationError:
        raise
    except NotFoundError as exc:
        if len(batch) == 1:
            results[batch[0]] = failed_report(ctx, batch[0], exc)
            return
        middle = len(batch) // 2
        yield from _lookup_batch(ctx, batch[:middle], results, deadline)
        yield from _lookup_batch(ctx, batch[middle:], results, deadline)
        return
    except SmsStatusError as exc:
        for message_id in batch:
            results[message_id] = failed_report(ctx, message_id, exc)
        return
    for message_id in batch:
        report = found.get(message_id)
        results[message_id] = report or failed_report(
            ctx,
            message_id,
            NotFoundError(
                "the provider did not report this id",
                provider=ctx.provider.key,
                status_code=200,
                error_code="NOT_FOUND",
            ),
        )


_TRANSIENT = (RateLimitError, ServerError, TransportError)


def wait_for_final(
    ctx: Context,
    message_id: str,
    *,
    timeout: float | None,
    on_update: Callable[[StatusReport], None] | None,
) -> Flow[StatusReport]:
    """Poll on the provider's cadence until a final status or the deadline.

    Stops on a final status; on timeout returns the last report seen (not final). When the
    next interval would pass the deadline, one last look is made `LAST_LOOK_RESERVE` before
    it, so the whole budget is used (roycetalk's 5, 10 s cadence with `timeout=12` looks at
    0, 5 and 11 s). Transient failures (429 after its retries, 5xx, transport) keep polling
    until the deadline; a Retry-After longer than the next interval is honoured, and one
    reaching past the deadline ends the wait. Nothing sleeps past the deadline, and the
    request in flight when it comes is cut to the time left.
    """
    cadence = ctx.provider.cadence
    limit = cadence.default_timeout if timeout is None else timeout
    deadline = ctx.clock() + limit
    last: StatusReport | None = None
    last_error: SmsStatusError | None = None
    for interval in cadence.waits():
        wait = interval
        try:
            # timeout=0 means "look once": that one look is bounded by the client's timeout.
            report = yield from status(ctx, message_id, deadline=deadline if limit else None)
        except _TRANSIENT as exc:
            last_error = exc
            if isinstance(exc, RateLimitError) and exc.retry_after is not None:
                wait = max(wait, min(exc.retry_after, ctx.retry_after_cap))
        else:
            if on_update is not None and report != last:
                on_update(report)
            last = report
            if report.is_final:
                return report
        left = deadline - ctx.clock()
        if wait > left:
            # The next look would come after the deadline: look once more just before it,
            # unless there is no room left for one (this was it) or the server asked for a
            # longer pause than the cadence's (Retry-After).
            if wait > interval or left <= LAST_LOOK_RESERVE:
                break
            wait = left - LAST_LOOK_RESERVE
        yield Sleep(wait)
    if last is None:
        assert last_error is not None
        raise last_error
    return last


def history_page(
    ctx: Context, by: str, key: str, count: int, before: datetime | None
) -> Flow[list[StatusReport]]:
    history = ctx.provider.history
    assert history is not None
    build = history.by_phone if by == "phone" else history.by_reference
    data = yield from call(ctx, build(key, count, before))
    return _read(ctx, data, lambda: history.read_page(data))


def _whole_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


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
    duplicates. If a page brings nothing new (more than a page of messages in one second),
    the cursor steps strictly back so the walk always ends.
    """
    seen: dict[str, datetime] = {}
    emitted = 0
    cursor = before
    own_cursor = False  # True once the cursor is one we computed (aware, UTC)
    while limit is None or emitted < limit:
        page = yield from history_page(ctx, by, key, page_size, cursor)
        if own_cursor and cursor is not None:
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
        fresh = [r for r in page if r.message_id not in seen]
        for report in fresh:
            if report.created_at is None:
                raise MalformedResponseError(
                    "a history entry has no send timestamp",
                    provider=ctx.provider.key,
                    status_code=200,
                )
            seen[report.message_id] = report.created_at
            yield Emit(report)
            emitted += 1
            if limit is not None and emitted >= limit:
                return
        if len(page) < page_size:
            return
        oldest = min(r.created_at for r in page if r.created_at is not None)
        next_cursor = _whole_second(oldest) + timedelta(seconds=1)
        if not fresh:
            assert cursor is not None
            log.warning(
                "%s: more than %d messages share %s; some may be skipped",
                ctx.provider.key,
                page_size,
                _whole_second(oldest),
            )
            next_cursor = min(next_cursor, cursor - timedelta(seconds=1))
        cursor, own_cursor = next_cursor, True
        # Only messages sent at or before the cursor can be served again: forget the rest.
        seen = {i: t for i, t in seen.items() if t <= cursor}


# A deprecated status endpoint and its successor (seven's /api/status and logbook).

_deprecation_warned: set[str] = set()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _first_caller_outside_the_package() -> int:
    """The `stacklevel` that points a warning at the user's line (sync or async), so
    Python's default filters show it when that line is in `__main__`."""
    current = inspect.currentframe()
    level, frame = 1, current.f_back if current is not None else None
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


class _StatusEndpointGone(Exception):
    """The status endpoint was switched off; the client has moved to the successor."""


def _status_call(ctx: Context, request: RequestKwargs, deadline: float | None) -> Flow[object]:
    """`call` on the status endpoint; for a provider with a successor, warn that the endpoint
    is deprecated (once per process, unless the user chose it with `lookup="status"`) and
    move this client over when it is gone."""
    successor = ctx.provider.successor
    if successor is None:
        return (yield from call(ctx, request, deadline=deadline))
    if not ctx.lookup.chosen and ctx.provider.key not in _deprecation_warned:
        _deprecation_warned.add(ctx.provider.key)
        level = _first_caller_outside_the_package()
        warnings.warn(successor.deprecation, DeprecationWarning, stacklevel=level)
    try:
        return (yield from call(ctx, request, deadline=deadline))
    except ApiError as exc:
        if not successor.is_gone(exc):
            raise
        ctx.lookup.on_successor = True
        log.warning(
            "%s: the status endpoint is gone (HTTP %d); this client uses the %s from now on",
            ctx.provider.key,
            exc.status_code,
            successor.name,
        )
        raise _StatusEndpointGone from exc


def successor_status(
    ctx: Context, message_id: str, *, deadline: float | None = None
) -> Flow[StatusReport]:
    """One id looked up on the successor endpoint (seven: the logbook, one id a request)."""
    successor = ctx.provider.successor
    assert successor is not None
    request = successor.request(message_id)
    if request is not None:
        data = yield from call(ctx, request, deadline=deadline)
        report = _read(ctx, data, lambda: successor.read(message_id, data))
        if report is not None:
            return report
    raise NotFoundError(
        f"the {successor.name} has no message with this id",
        provider=ctx.provider.key,
        status_code=200,
        error_code="NOT_FOUND",
    )


def successor_statuses(
    ctx: Context, message_ids: Sequence[str], *, deadline: float | None = None
) -> Flow[list[StatusReport]]:
    """Many ids on the successor, one request each, in input order; as in a batch, only an
    authentication error stops the run, any other failure is that id's `error`."""
    results: dict[str, StatusReport] = {}
    for message_id in dict.fromkeys(message_ids):
        try:
            results[message_id] = yield from successor_status(ctx, message_id, deadline=deadline)
        except AuthenticationError:
            raise
        except SmsStatusError as exc:
            results[message_id] = failed_report(ctx, message_id, exc)
    return [results[i] for i in message_ids]
