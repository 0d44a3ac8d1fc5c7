"""One request with retries, and what every flow is made of: the effects (`Send`, `Sleep`,
`Emit`), the client's `Context`, and reading a reply into a report or a clean error.

`request_with_retries` is the transport policy — which failures retry, how Retry-After and
backoff are honoured, never past a deadline — written once; the flows (`_flows`,
`_successor`) are built on it.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Generator
from contextvars import ContextVar
from typing import Any, TypeVar

import attrs

from sms_status._exchange import AttemptTimeout, BodyRejected, Reply, header_items
from sms_status._generated import is_overlay_bug
from sms_status._provider import Provider, RequestKwargs
from sms_status._redact import masked_headers, redact
from sms_status._responses import decode_or_raise, excerpt
from sms_status._warnings import READING_SECRET
from sms_status.errors import (
    ApiError,
    MalformedResponseError,
    RateLimitError,
    SmsStatusError,
    TransportError,
)
from sms_status.report import DeliveryState, StatusReport

log = logging.getLogger("sms_status")

T = TypeVar("T")

DEFAULT_RETRY_AFTER_CAP = 60.0
"""Longest wait honoured from a Retry-After header or body, in seconds."""
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


# Not frozen: a frozen attrs class takes ~3k more instructions to build. No __eq__ or
# __repr__: an internal record, and each generated method costs import time (bench 4).
@attrs.define(eq=False, repr=False)
class Send:
    """Send `request` (the effect a flow yields, once per attempt)."""

    request: RequestKwargs
    deadline: float | None = None
    """No request goes out after this clock time: a driver whose rate limiter would make it
    wait past the deadline throws `DeadlineReached` into the flow instead."""


class DeadlineReached(Exception):
    """Thrown into a flow when its request could not be sent before its deadline."""


SLOT_WINDOW: ContextVar[float | None] = ContextVar("sms_status_slot_window", default=None)
"""Set (seconds) by a caller that rests a provider itself rather than wait (the blocking
tracker): a request without a deadline books its rate-budget slot only within that long,
else fails at once as `BUDGET_HELD` (a `RateLimitError`), booking nothing. A 429 holds the
budget for its Retry-After: a sync `run()` sat that long in the limiter, deaf to `stop()`,
hand-overs and other providers waiting."""


class BudgetHeld(Exception):
    """Thrown into a flow when no slot came within `SLOT_WINDOW`."""


@attrs.frozen(eq=False, repr=False)
class Sleep:
    seconds: float


@attrs.frozen(eq=False, repr=False)
class Hold:
    """The provider refused a request for its rate (429): the client's rate budget books no
    slot for `seconds` (the limiter's `hold`, where it has one), so every request sharing it
    waits too instead of meeting a 429 of its own. The driver's answer is None, always."""

    seconds: float
    deadline: float | None = None
    """The call's: a limiter's hold is waited for no longer (skipped once it passed)."""


@attrs.frozen(eq=False, repr=False)
class Emit:
    report: StatusReport


Effect = Send | Sleep | Hold | Emit
Flow = Generator[Effect, Any, T]


@attrs.frozen
class RetryEvent:
    """Passed to `on_retry` before each retry sleep."""

    provider: str
    attempt: int
    """The retry about to happen: 1 for the first retry."""
    delay: float
    error: SmsStatusError


@attrs.define(eq=False, repr=False)
class LookupState:
    """Which endpoint a client's status lookups use; remembered for the client's life."""

    on_successor: bool = False
    chosen: bool = False
    """The user named the endpoint (`lookup=`): no DeprecationWarning then."""
    unknown_left_out: bool = False
    """A batch reply left out ids it was asked for: the provider answers "unknown id" for a
    batch only when it knows none of it, so such a batch is not split (seven)."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
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


def _retry_delay(error: ApiError, attempt: int, ctx: Context) -> float:
    """The server's Retry-After (any retryable status), capped at `retry_after_cap`; else
    backoff."""
    if error.retry_after is not None:
        return min(error.retry_after, ctx.retry_after_cap)
    return _backoff(attempt, ctx)


def _describe(exc: BaseException, secret: str) -> str:
    """A scrubbed one-line description of a transport failure (its text may quote the
    request's headers, so the raw exception is never chained onto ours)."""
    kind = "Timeout" if isinstance(exc, AttemptTimeout) else type(exc).__name__
    detail = redact(_detail(exc), secret)[:300]
    return f"{kind}: {detail}"


def _detail(exc: BaseException) -> str:
    """The first text along `exc`'s causes, naming the one that had it: httpx's ReadError of
    a reset says nothing itself ("no detail"), its cause does (ConnectionResetError)."""
    inner: BaseException | None = exc
    named = ""
    for _ in range(8):  # a chain of causes, never a loop
        if inner is None:
            break
        text = str(inner)
        if text and text != "[None]":  # aiohttp's text of an OSError without one
            return text if inner is exc else f"{type(inner).__name__}: {text}"
        if inner is not exc:
            named = type(inner).__name__
        inner = inner.__cause__ or inner.__context__
    return named or "no detail"


def _certificate_refused(exc: BaseException | None) -> bool:
    """Whether `exc` is, or came of, the server's certificate failing verification (as
    raised, or wrapped by httpx or aiohttp): sent again, it fails again."""
    import ssl

    for _ in range(8):  # a chain of causes, never a loop
        if exc is None:
            return False
        if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
            getattr(exc, "certificate_error", None), ssl.SSLCertVerificationError
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def request_with_retries(
    ctx: Context, request: RequestKwargs, *, deadline: float | None = None
) -> Flow[object]:
    """Send one idempotent GET, retrying connection errors and 408/429/502/503/504.

    Returns the decoded JSON body; raises an `sms_status.errors` exception otherwise. A retry
    waits for Retry-After (capped at `retry_after_cap`) or an exponential backoff with
    jitter, and never past `deadline`. Providers may cap 429 retries (lisoloo: one).
    """
    provider = ctx.provider
    rate_limited = 0
    attempt = 0
    answered: SmsStatusError | None = None  # what the last attempt sent met
    while True:
        # Errors are raised after the handlers, never inside them: the raw exception (whose
        # text or headers may quote the key) must not stay reachable as __context__.
        error: SmsStatusError
        delay = hold = 0.0
        retryable = True
        sent = attempt + 1
        try:
            reply: Reply = yield Send(request, deadline)
        except (DeadlineReached, BudgetHeld) as exc:
            # Not sent: a retry that found no time (or no slot) ends with what the attempt
            # before it met (a 503, say), not with this.
            retryable, sent = False, attempt
            error = answered or _unsent(exc, provider.key)
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
            retryable = not _certificate_refused(exc)
            error = TransportError(
                _describe(exc, ctx.secret), provider=provider.key, retryable=retryable
            )
            delay = _backoff(attempt, ctx)
        else:
            if log.isEnabledFor(logging.DEBUG):  # one call per reply, not two
                log.debug("%s %s -> %s", provider.key, request.get("url"), reply.status_code)
            try:
                return decode_or_raise(
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
                retryable = limit is None or rate_limited <= limit
                delay = hold = _retry_delay(exc, attempt, ctx)
            except ApiError as exc:
                if not exc.retryable:
                    raise
                error = exc
                delay = _retry_delay(exc, attempt, ctx)
        if hold > 0:  # whether or not this call retries: lisoloo suspends keys that loop on 429
            yield Hold(hold, deadline)
        if (
            not retryable
            or attempt >= ctx.max_retries
            or (deadline is not None and ctx.clock() + delay > deadline)
        ):
            raise _given_up(error, sent)
        answered = error
        attempt += 1
        log.info("%s: retry %d in %.2fs after %s", provider.key, attempt, delay, error)
        if ctx.on_retry is not None:
            ctx.on_retry(RetryEvent(provider.key, attempt, delay, error))
        yield Sleep(delay)


BUDGET_HELD = "BUDGET_HELD"
"""The `error_code` of a lookup not sent for want of a slot of the rate budget soon."""


def _unsent(exc: Exception, provider: str) -> SmsStatusError:
    """Why a request was not sent: no time before the deadline, or no slot of the rate
    budget within `SLOT_WINDOW` (a RateLimitError `BUDGET_HELD`: the caller rests)."""
    if isinstance(exc, BudgetHeld):
        window = SLOT_WINDOW.get()
        return RateLimitError(
            f"no slot of the rate budget within {window} s (held after a 429 another call "
            "met, or booked ahead): not sent",
            provider=provider,
            status_code=429,
            error_code=BUDGET_HELD,
            retry_after=window,
        )
    return TransportError(
        str(exc) or "no time left for a request before the deadline", provider=provider
    )


def _given_up(error: SmsStatusError, attempts: int) -> SmsStatusError:
    """The error a call ends with: a failed send says it was the last of its attempts (three
    timeouts of 10 s read "no complete response within 10 s" after 30)."""
    if attempts > 1 and isinstance(error, TransportError):
        return TransportError(
            f"{error.message} (the last of {attempts} attempts)",
            provider=error.provider,
            retryable=error.retryable,  # a certificate refused after a 503 stays refused
        )
    return error


def read_or_malformed(ctx: Context, data: object, reader: Callable[[], T]) -> T:
    """Run a provider reader; any type or shape mismatch becomes MalformedResponseError.
    A reader failing on our own objects is a bug in this SDK and propagates as such."""
    # While the reader runs, its warnings scrub the key (`_warnings`): the context variable
    # set and reset here directly, not through a context manager's three calls per read.
    reading = READING_SECRET.set(ctx.secret)
    try:
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
    finally:
        READING_SECRET.reset(reading)
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
    # Its traceback holds the flow's frames, and so the reply: a whole error page kept per
    # failed id for as long as the caller keeps the reports (the error has its excerpt).
    error.__traceback__ = None
    return StatusReport(
        provider=ctx.provider.key,
        message_id=message_id,
        state=DeliveryState.UNKNOWN,
        is_final=False,
        provider_status="",
        error=error,
    )
