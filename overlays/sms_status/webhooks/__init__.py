"""Pushed delivery reports (webhooks), verified and read into the polling vocabulary.

    from sms_status import webhooks

    event = webhooks.parse("telecom23", body=raw_body, headers=request.headers, secret=secret)
    event.report      # a StatusReport, exactly as polling would give it
    event.event_id    # deduplicate on this (a provider retry carries the same one)

This package is the generic part: arguments, decoding, errors, replay guards, `merge` and
the receiver `app`. Each provider's scheme lives beside its polling reader, in
`sms_status.providers.<key>` (`verify_webhook`, `read_webhook`, its `Webhook`), and reads
secondary fields with the same lenient readers as polling; which providers sign is the
registry's `webhooks` capability. What each provider signs (their webhook pages, cited in
docs/providers/<key>.md; every comparison is constant-time, over the raw bytes as received,
never re-serialised JSON):

- telecom23: `X-Webhook-Signature: sha256=<hex>` = HMAC-SHA256(secret,
  "{X-Webhook-Timestamp}.{body}"); `secret` is the portal's signing secret.
- seven: `X-Signature` = hex HMAC-SHA256(secret,
  "{X-Timestamp}\\n{X-Nonce}\\n{METHOD}\\n{url}\\n{md5_hex(body)}"); `url=` is required.
- lisoloo: `Authorization: Basic ...`; `secret` is `"user:password"`.
- namirial, roycetalk: nothing documented; `secret` must be None.

telecom23, seven and lisoloo make signing optional on their side, but here a secret is
required for them: a receiver that accepts unsigned reports for a provider that can sign
them is one forged POST away from a wrong `DELIVERED`. namirial and roycetalk document no
signature at all: `secret=None` is the only value accepted, and such a receiver should sit
behind something that authenticates the sender (an unguessable URL, an IP allow-list).

Timestamps (telecom23, seven) must lie within `tolerance` seconds of `now`, in either
direction. With a `replay_guard`, a delivery whose signature (telecom23: timestamp and
signature; seven: timestamp and nonce; others: the body's digest) was seen before raises
`WebhookReplayError`. A retry of telecom23 or seven is signed afresh, so it is no replay:
deduplicate on `event.event_id`. lisoloo, namirial and roycetalk send a retry as the same
bytes: to `parse` it is a replay, so a delivery you could not store is forgotten with
`replay_guard.discard(event.replay_key)` before you answer 5xx (`app` does this itself).

Statuses map through each provider's one table (`sms_status.providers.<key>.STATUSES`), the
same as polling; lisoloo's per-recipient events give a report with `recipient` set and that
recipient's state, so merge them per (message, recipient). roycetalk publishes no callback
payload: its callback is read as its status object (see `providers/roycetalk.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from sms_status._pushed import kept
from sms_status.report import StatusReport
from sms_status.webhooks._guards import MemoryReplayGuard, RedisReplayGuard, ReplayGuard
from sms_status.webhooks._parse import (
    DEFAULT_TOLERANCE,
    WebhookEvent,
    check_arguments,
    parse,
)
from sms_status.webhooks._parse import SIGNED as SIGNED  # the registry's signed providers
from sms_status.webhooks._parse import verify_and_read as verify_and_read  # for app()

if TYPE_CHECKING:
    from sms_status.webhooks._app import Acknowledge, OnReport, OnReports, Receiver

DEFAULT_MAX_BODY_BYTES = 64 * 1024
"""The receiver app's cap on a request body; every documented payload is well under 2 KiB."""


def merge(current: StatusReport, incoming: StatusReport) -> StatusReport:
    """The report to keep when two reports of one message meet (pushed vs polled, or two
    pushed ones out of order): if exactly one is final it is kept, whichever argument it is;
    otherwise the later `updated_at` wins (a report without one counts as older); ties keep
    `current`. Reports of different messages are a ValueError, and so are two of one
    message's different recipients. lisoloo pushes one event per recipient: merge those per
    recipient, and never with the message's polled report (its `recipients` counts), whose
    state is the whole message's."""
    if (current.provider, current.message_id) != (incoming.provider, incoming.message_id):
        raise ValueError("merge() takes two reports of the same provider and message")
    if current.recipient and incoming.recipient and current.recipient != incoming.recipient:
        # One recipient's final would have read as the whole message's.
        raise ValueError("merge() takes two reports of one recipient: merge per recipient")
    return kept(current, incoming)


@overload
def app(
    provider: str,
    *,
    secret: str | None,
    on_report: OnReport,
    max_body_bytes: int = ...,
    url: str | None = ...,
    tolerance: float = ...,
    replay_guard: ReplayGuard | None = ...,
    clock: Callable[[], float] | None = ...,
    acknowledge: Acknowledge = ...,
) -> Receiver: ...


@overload
def app(
    provider: str,
    *,
    secret: str | None,
    on_reports: OnReports,
    max_body_bytes: int = ...,
    url: str | None = ...,
    tolerance: float = ...,
    replay_guard: ReplayGuard | None = ...,
    clock: Callable[[], float] | None = ...,
    acknowledge: Acknowledge = ...,
) -> Receiver: ...


def app(
    provider: str,
    *,
    secret: str | None,
    on_report: OnReport | None = None,
    on_reports: OnReports | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    url: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    replay_guard: ReplayGuard | None = None,
    clock: Callable[[], float] | None = None,
    acknowledge: Acknowledge = "on_receipt",
) -> Receiver:
    """A plain ASGI app receiving `provider`'s webhooks (needs `sms-status[webhooks]`); it
    mounts under any path of a Starlette or FastAPI app.

    Every POST is verified with `parse`. A verified delivery answers 200 (empty) and is
    handed to `on_report(event)` (a sync callable, run in a worker thread, or an async one,
    given the `WebhookEvent`). Or, instead, to `on_reports(events)`: the deliveries verified
    in the same turn of the event loop (up to 256) as one list, in one call, e.g.
    `on_reports=tracker.ingest_many` (one store transaction for them all: about twice the
    deliveries per core of `on_report=tracker.ingest`). When the 200 goes out is
    `acknowledge`, for each delivery of a batch alike:

    - `"on_receipt"` (the default): at once; `on_report` runs after the answer, and its
      failure is only logged (the provider already has its 2xx). A sync `on_report` is
      handed to a worker thread and not waited for: the app's call returns first (an
      in-process test client sees the answer before the report); an ASGI lifespan shutdown
      sent to the app, or `receiver.drain()`, waits for those still running (up to 30 s).
      At most 1,024 such deliveries wait for their report (a worker thread, or an async
      `on_report` / `on_reports` call): past that, while `on_report` is behind, a delivery
      is answered only once reported (500 if it raised), so the provider slows down.
      With an async `on_report` or `on_reports`, each request waits for its report after
      answering, so the server's own shutdown waits for them too (uvicorn's
      `timeout_graceful_shutdown` bounds that; `sms-status listen` sets 30 s).
      In either mode at most 2,048 requests are held open for their report: past that
      (a hung `on_report`), a delivery is answered 503 unread and the provider retries
      later, so memory stays bounded whatever the senders do.
    - `"after_report"`: once `on_report` returned, so "2xx" means "it is in my store"; 500
      (empty) when it raised (every delivery of the batch, with `on_reports`), so the
      provider retries (a `replay_guard` that has `discard(key)`, as both of ours do,
      forgets the delivery, so that retry is no replay; so does a request cancelled while
      it was reported). With a `RedisReplayGuard`, a delivery is claimed while reported
      and remembered once it was: a copy that another receiver sharing the guard is still
      reporting is answered 503 (the provider retries), and one whose receiver was killed
      (SIGKILL, out of memory) while reporting it is taken afresh once the guard's `lease`
      (60 s) lapsed — never answered 200 unreported. A guard of your own that has only
      `add` remembers a delivery before its report, and so does every user of the same
      Redis keys through `add` ("on_receipt" receivers, `parse(replay_guard=)`). Keep
      `on_report` well within the provider's timeout (and the lease); feeding the tracker,
      whose `ingest` is idempotent, a replay guard is not needed at all.

    With "on_receipt", a replay guard remembers a delivery before its answer: a receiver
    killed between the two (a window of one Redis round trip) leaves it remembered, and the
    provider's retry is answered 200 as a replay, unreported, as one killed after answering
    loses the report it was making. Where that matters, use "after_report" (claimed while
    reported, as above). A guard whose Redis timed out forgets only what that request
    wrote, never what another receiver remembered. Give each receiving app its own guard
    `prefix=`: two apps sharing one prefix on one Redis take each other's deliveries for
    replays.

    With a `replay_guard`, in either mode, a copy of a delivery this app is still taking
    (the provider retried a slow attempt) waits for that attempt and gets its answer; if
    that attempt ended unanswered (cancelled), the copy is taken afresh once the first's
    key is forgotten. A slow or hung sync `on_report` holds up no other delivery: one more
    worker thread starts for each delivery that waited 10 ms while all were busy, up to 40
    at once (then the others wait for one of those 40 calls to return). An async
    `on_report` cancelled after its 2xx (a server past its shutdown grace) is logged.

    The other answers: 401 with an empty body on bad or missing credentials; 400 on a
    malformed payload; 413 once the body passes `max_body_bytes` (counted while reading, so
    a huge body costs no more than the cap); 408 when the body is not whole within 10 s of
    the request head (none at all, or trickled); 405 for other methods. A replay (with a
    `replay_guard`) answers 200 and reports nothing; a guard that fails (its Redis is down)
    answers 500, logged, and nothing is reported. `url` is the public URL seven signs
    (default: the URL of the request as the app sees it, its path escaped as it was sent
    when the server gives the ASGI `raw_path`, as uvicorn does; else escaped again, which
    cannot restore an escaped `+` or `=`: give `url=` then);
    `clock` gives unix seconds (default `time.time`), e.g. a sandbox's `clock.now`.
    """
    from sms_status.webhooks._app import Receiver

    webhook = check_arguments(provider, secret, tolerance, url)  # a missing extra fails now
    size: object = max_body_bytes
    if isinstance(size, bool) or not isinstance(size, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError("max_body_bytes must be an int")
    if size < 1:
        raise ValueError("max_body_bytes must be >= 1")
    if (on_report is None) == (on_reports is None):
        raise TypeError("give exactly one of on_report or on_reports")
    deliver = on_report if on_reports is None else on_reports
    if not callable(deliver):
        raise TypeError(f"{'on_report' if on_reports is None else 'on_reports'} must be callable")
    if acknowledge not in ("on_receipt", "after_report"):
        raise ValueError("acknowledge must be 'on_receipt' or 'after_report'")
    return Receiver(
        provider,
        webhook=webhook,
        secret=secret,
        on_report=deliver,
        batched=on_reports is not None,
        max_body_bytes=max_body_bytes,
        url=url,
        tolerance=tolerance,
        replay_guard=replay_guard,
        clock=clock,
        acknowledge=acknowledge,
    )


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TOLERANCE",
    "Acknowledge",
    "MemoryReplayGuard",
    "OnReport",
    "OnReports",
    "Receiver",
    "RedisReplayGuard",
    "ReplayGuard",
    "WebhookEvent",
    "app",
    "merge",
    "parse",
]


if not TYPE_CHECKING:  # checkers see the imports above: a misspelt name is an error there

    def __getattr__(name: str) -> Any:
        # `webhooks.Receiver` (the type `app` returns) and the callback types without
        # importing the app's module, and so its extra, before `app` is called.
        if name in ("Acknowledge", "OnReport", "OnReports", "Receiver"):
            from sms_status.webhooks import _app

            return getattr(_app, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "Acknowledge", "OnReport", "OnReports", "Receiver"})
