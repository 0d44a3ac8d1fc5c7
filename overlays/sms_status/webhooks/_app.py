"""The receiver: a plain ASGI app that verifies each POST and reports it, answering either
at once (the report handed over after the answer) or only once `on_report` returned.

It reads the ASGI messages itself (no Request/Response/BackgroundTask objects per delivery:
at campaign scale they were most of the server's CPU), answers on any path, and so mounts
under any prefix of a Starlette or FastAPI app."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.lowlevel
import anyio.to_thread

from sms_status._pushed import AsgiHeaders
from sms_status.errors import MalformedWebhookError, WebhookSignatureError
from sms_status.webhooks._asgi_body import ClientGone, read_body
from sms_status.webhooks._batching import Batcher
from sms_status.webhooks._guards import MemoryReplayGuard, ReplayGuard
from sms_status.webhooks._handover import ThreadHandOver
from sms_status.webhooks._once import UNANSWERED, Attempt, Attempts, Remembering, settled

if TYPE_CHECKING:
    from sms_status._pushed import Webhook
    from sms_status.webhooks._parse import WebhookEvent

OnReport = Callable[["WebhookEvent"], "Awaitable[object] | object"]
"""`on_report(event)`: a plain function (run in a worker thread) or an async one."""

OnReports = Callable[[list["WebhookEvent"]], "Awaitable[object] | object"]
"""`on_reports(events)`: the deliveries verified together, as one list (`_batching`)."""

Acknowledge = Literal["on_receipt", "after_report"]
"""When the 2xx goes out: "on_receipt" (once verified; `on_report` runs after the answer,
its failure only logged) or "after_report" (once `on_report` returned; 500 if it raised)."""

ACKNOWLEDGE: tuple[Acknowledge, ...] = ("on_receipt", "after_report")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger("sms_status.webhooks")

_EMPTY: list[tuple[bytes, bytes]] = [(b"content-length", b"0")]
_ALLOW: list[tuple[bytes, bytes]] = [(b"content-length", b"0"), (b"allow", b"POST")]
_BODY: Message = {"type": "http.response.body", "body": b""}

POSTED_BACKLOG = 1024
"""Deliveries answered 2xx and still waiting for a sync `on_report` ("on_receipt") at most:
past it, a delivery is answered only once reported (200, or 500 if `on_report` raised)."""

DRAIN_SECONDS = 30.0
"""How long a lifespan shutdown waits for reports still being made (in worker threads, or
batches of `on_reports`)."""


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]] = _EMPTY) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(_BODY)


def _url(scope: Scope) -> str:
    """The URL of the request as the app sees it, exactly as Starlette's `Request.url` has
    it (what seven signs, when no `url=` was given)."""
    from starlette.datastructures import URL

    return str(URL(scope=scope))


class Receiver:
    """The ASGI app `webhooks.app` returns (an object, not a function, so Starlette's
    `Route(path, receiver)` hands it the raw request, and `Mount(prefix, app=receiver)`
    works as well). Answers on any path.

    With acknowledge="on_receipt", a sync `on_report` runs in worker threads after the
    answer: `drain()` waits for those still running. A lifespan shutdown sent to this app
    drains it; a host app's lifespan (Starlette/FastAPI do not pass theirs on to a mounted
    app) or code that served it in a thread should call `drain()` before closing what
    `on_report` writes to."""

    def __init__(
        self,
        provider: str,
        *,
        webhook: Webhook,
        secret: str | None,
        on_report: OnReport | OnReports,
        batched: bool,
        max_body_bytes: int,
        url: str | None,
        tolerance: float,
        replay_guard: ReplayGuard | None,
        clock: Callable[[], float] | None,
        acknowledge: Acknowledge,
    ) -> None:
        from sms_status.webhooks._parse import verify_and_read

        self._verify_and_read = verify_and_read
        self._provider = provider
        self._webhook = webhook
        self._secret = secret
        # An event, or a list of them (`batched`); awaited when `_is_async`.
        self._on_report: Callable[[Any], Any] = on_report
        self._is_async = inspect.iscoroutinefunction(on_report) or inspect.iscoroutinefunction(
            getattr(on_report, "__call__", None)  # noqa: B004 - an object with an async __call__
        )
        # on_reports: `_report` takes a list, and each delivery waits for its batch's call.
        self._batcher = Batcher(self._report) if batched else None
        self._max_body_bytes = max_body_bytes
        self._url = url
        self._tolerance = tolerance
        self._replay_guard = replay_guard
        self._clock = clock
        self._after_report = acknowledge == "after_report"
        self._report_in_thread = ThreadHandOver(on_report, on_failure=self._report_failed)
        # A guard that can forget (both of ours): see `_forget`.
        self._discard: Callable[[str], object] | None = getattr(replay_guard, "discard", None)
        # "after_report", a guard that can claim (Redis): pending while reported, then seen.
        self._confirm: Callable[..., object] | None = getattr(replay_guard, "confirm", None)
        claim = getattr(replay_guard, "claim", None) if self._after_report else None
        self._claim: Callable[[str], str] | None = claim if self._confirm else None
        self._remember_in_thread = ThreadHandOver(self._add_to_guard)
        self._key_in_thread = ThreadHandOver(
            self._settle_key, on_failure=lambda _attempt, _exc: _forget_failed(provider)
        )
        # With a replay guard: the deliveries being taken now, which their copies wait for.
        self._attempts = Attempts()
        self._last_failure: BaseException | None = None  # the last logged (`_report_failed`)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await _lifespan(receive, send, self._drain)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, _ALLOW)
            return
        try:
            event, replay_key, status = await self._verify(scope, receive)
        except ClientGone:
            return
        if event is None:
            await _answer(send, status)
        elif self._replay_guard is None:
            await self._take(event, None, send)
        else:
            await self._take_once(event, replay_key, send)

    async def _take_once(self, event: WebhookEvent, replay_key: str, send: Send) -> None:
        """`_take` with a guard: a copy of a delivery still being taken here (a retry of a slow
        attempt) waits for that attempt and is answered as it was (200 once reported or
        posted); if it ended unanswered (cancelled), afresh, once its key is forgotten."""
        while True:
            attempt, mine = self._attempts.begin(replay_key)
            if mine:
                break
            status = await settled(attempt.outcome)
            if status != UNANSWERED:
                await _answer(send, status)
                return
        status = UNANSWERED
        try:
            status = await self._take(event, attempt, send)
        finally:
            attempt.release(status)

    async def _take(self, event: WebhookEvent, attempt: Attempt | None, send: Send) -> int:
        """Remember `event` (with a guard), answer, report: the status answered."""
        new = True if attempt is None else await self._remember_or_fail(attempt)
        if new is None:
            status = 500
        elif new == _BUSY:
            status = 503  # another receiver is reporting it now: the provider retries
        elif not new:
            status = 200  # seen before, not reported again
        elif self._after_report:
            status = await self._settle(event, attempt)
            if status == 200 and attempt is not None and self._claim is not None:
                await self._confirm_reported(attempt)
        elif self._is_async or self._batcher is not None:
            try:
                await _answer(send, 200)
            except BaseException:  # cancelled while answering: not reported, so not a replay
                self._forget_now(attempt)
                raise
            await self._report_answered(event)
            return 200
        elif self._report_in_thread.waiting() >= POSTED_BACKLOG:
            # on_report is this far behind: this delivery waits for its report before its
            # answer (as with "after_report"), so memory stays bounded and the provider slows.
            status = await self._settle(event, attempt)
        else:
            try:
                await _answer(send, 200)
            finally:
                # Handed to a worker thread and not waited for (this call returns first): a
                # future and a call back per delivery cost the server a third more CPU.
                # Also when the answer failed or was cancelled: its key is remembered, so
                # the provider's retry would be taken for a replay and not reported.
                self._report_in_thread.post(event, _running_loop())
            return 200
        await _answer(send, status)
        return status

    async def _report_answered(self, event: WebhookEvent) -> None:
        """ "on_receipt", awaited (an async `on_report`, or `on_reports`): the provider has
        its 2xx, so a failure is only logged."""
        try:
            await self._deliver(event)
        except anyio.get_cancelled_exc_class():  # a server past its shutdown grace, say
            logger.error(
                "on_report for %s event %s was cancelled after its 2xx: not reported",
                self._provider,
                event.event_id,
            )
            raise
        except BaseException as exc:  # SystemExit too: this delivery's failure, as in a thread
            self._report_failed(event, exc)

    def _report_failed(self, event: WebhookEvent, exc: BaseException) -> None:
        """Logged (with "on_receipt" the provider already has its 2xx: all that is left is
        to say so). The deliveries of one failed `on_reports` batch share its exception:
        its traceback is logged once, the others in a line each."""
        # The exception itself, not its id(): a freed one's address is soon reused.
        again = exc is self._last_failure
        self._last_failure = exc
        logger.error(
            "on_report failed for %s event %s%s",
            self._provider,
            event.event_id,
            " (the same failure as the delivery logged before)" if again else "",
            exc_info=None if again else exc,
        )

    def drain(self, timeout: float | None = DRAIN_SECONDS) -> bool:
        """Block until every report handed to a worker thread so far was made; False (and a
        warning) if some were still running after `timeout` seconds. From async code:
        `await asyncio.to_thread(receiver.drain)`. Replay keys still being added or
        forgotten in worker threads are waited for too."""
        ends = None if timeout is None else time.monotonic() + timeout
        hand_overs = (
            self._report_in_thread,
            self._remember_in_thread,  # may forget a key, or post a report, after its add
            self._key_in_thread,
        )
        while all(
            hand_over.wait_idle(None if ends is None else max(0.0, ends - time.monotonic()))
            for hand_over in hand_overs
        ):
            if all(hand_over.wait_idle(0) for hand_over in hand_overs):  # all at once
                return True
        logger.warning("on_report or the replay guard still running after %g s", timeout)
        return False

    async def _drain(self) -> None:
        timeout = DRAIN_SECONDS
        if self._batcher is not None and _running_loop() is not None:
            started = time.monotonic()
            if not await self._batcher.wait_idle(timeout):
                logger.warning("on_reports still running after %g s", timeout)
                return
            timeout -= time.monotonic() - started
        # Abandoned if the shutdown is cancelled: a server giving up waits no longer.
        await anyio.to_thread.run_sync(
            functools.partial(self.drain, max(timeout, 0.0)), abandon_on_cancel=True
        )

    async def _verify(self, scope: Scope, receive: Receive) -> tuple[WebhookEvent | None, str, int]:
        """(the event, its replay key, 200), or (None, "", the status to answer)."""
        headers = AsgiHeaders(scope.get("headers") or ())
        try:
            body = await read_body(headers, receive, self._max_body_bytes)
        except TimeoutError:
            return None, "", 408
        if body is None:
            return None, "", 413
        url = self._url
        if url is None and self._webhook.signs_url:
            url = _url(scope)
        try:
            event, replay_key = self._verify_and_read(
                self._provider,
                body=body,
                headers=headers,
                secret=self._secret,
                url=url,
                method=scope["method"],
                tolerance=self._tolerance,
                now=self._clock() if self._clock is not None else None,
                webhook=self._webhook,
            )
        except WebhookSignatureError:
            return None, "", 401  # empty, as 23 Telecom advises
        except MalformedWebhookError:
            return None, "", 400
        return event, replay_key, 200

    async def _report(self, item: WebhookEvent | list[WebhookEvent]) -> None:
        """`on_report(item)`, or `on_reports(item)` with a batch."""
        if self._is_async:
            await self._on_report(item)
        else:
            result = await self._in_thread(self._report_in_thread, item)
            if asyncio.iscoroutine(result):
                await result

    async def _deliver(self, event: WebhookEvent) -> None:
        """`event` reported, awaited: by `on_report`, or by the `on_reports` call of the
        batch it joins (under trio, no asyncio loop to gather one on: a batch of one)."""
        if self._batcher is None:
            await self._report(event)
        elif _running_loop() is None:
            await self._report([event])
        else:
            await self._batcher.report(event)

    async def _in_thread(self, hand_over: ThreadHandOver, item: object) -> object:
        """`hand_over`'s call of `item` in a worker thread: under asyncio, many deliveries
        per thread hop (`_handover`); under another loop (trio, through anyio), one each."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return await anyio.to_thread.run_sync(hand_over.call, item)
        return await hand_over(loop, item)

    async def _settle(self, event: WebhookEvent, attempt: Attempt | None) -> int:
        """acknowledge="after_report": 200 once `on_report` returned, 500 if it raised."""
        try:
            await self._deliver(event)
        except anyio.get_cancelled_exc_class():  # no answer goes out: its retry is no replay
            self._forget_now(attempt)
            raise
        except BaseException as exc:  # SystemExit too, as a sync on_report's in its thread
            self._report_failed(event, exc)
            if attempt is not None:
                await self._forget(attempt)  # else its retry would be taken for a replay
            return 500  # not stored: the provider retries
        return 200

    async def _confirm_reported(self, attempt: Attempt) -> None:
        """Its claim becomes "seen", in a worker thread that finishes it even if the request
        is cancelled meanwhile (its copies wait for it); a failure is logged."""
        confirmed = concurrent.futures.Future[None]()
        attempt.hold()
        self._key_in_thread.post((attempt, confirmed, True), None)
        await settled(confirmed)

    async def _remember_or_fail(self, attempt: Attempt) -> bool | str | None:
        """`_remember`, or None (logged) if the guard failed (its store is down, say): the
        delivery is answered 500 and the provider retries."""
        try:
            return await self._remember(attempt)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:
            logger.exception("the replay guard failed for %s; answered 500", self._provider)
            return None

    async def _remember(self, attempt: Attempt) -> bool | str:
        guard = self._replay_guard
        if guard is None:
            return True
        ttl = 2 * self._tolerance
        if isinstance(guard, MemoryReplayGuard):
            return guard.add(attempt.key, ttl=ttl)
        remembering = Remembering(attempt)
        try:
            got = await self._in_thread(self._remember_in_thread, remembering)
            new = got if isinstance(got, str) else bool(got)
            if _running_loop() is None:  # trio: a cancel waited for the thread; it lands here
                await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            # Cancelled, no answer goes out: a key already added is forgotten here, one still
            # being added is forgotten by its thread after the add.
            if remembering.cancel():
                self._forget_now(attempt)
            raise
        return new

    def _add_to_guard(self, remembering: Remembering) -> bool | str:
        """In a worker thread: the replay guard's add, undone at once if the request that
        asked for it was cancelled meanwhile (its retry must not be taken for a replay)."""
        assert self._replay_guard is not None
        attempt = remembering.attempt
        if not remembering.begin():  # cancelled before its turn: nothing added
            return False
        claimed = None
        try:
            if self._claim is not None:
                claimed = self._claim(attempt.key)
                added = claimed == "new"  # "busy" takes nothing either
            else:
                added = self._replay_guard.add(attempt.key, ttl=2 * self._tolerance)
        except BaseException:
            # Its store may have taken the key before failing (Redis applied the SET, and
            # its reply timed out): this delivery is answered 500 and was not reported, so
            # its retry must not be a replay. At worst an older copy is reported again.
            try:
                if self._discard is not None:
                    with contextlib.suppress(Exception):
                        self._discard(attempt.key)
            finally:
                if remembering.added(False):
                    attempt.release()
            raise
        if remembering.added(added):  # cancelled meanwhile: its copies wait for this
            try:
                if added and self._discard is not None:
                    self._discard(attempt.key)
            except Exception:
                _forget_failed(self._provider)
            finally:
                attempt.release()
        return _BUSY if claimed == _BUSY else added

    async def _forget(self, attempt: Attempt) -> None:
        """Before a 500 (lisoloo's retry is the same body, so the same key): a guard that can
        forget must, or the retry is a replay. In a worker thread for a guard in another
        store, finished even if this request is cancelled meanwhile (its copies wait)."""
        if self._discard is None:
            return
        if isinstance(self._replay_guard, MemoryReplayGuard):
            try:
                self._discard(attempt.key)
            except Exception:
                _forget_failed(self._provider)
            return
        forgotten = concurrent.futures.Future[None]()
        self._forget_now(attempt, forgotten)
        await settled(forgotten)

    def _forget_now(self, attempt: Attempt | None, forgotten: _Done = None) -> None:
        """`_forget` without awaiting (the request was cancelled): in a worker thread, its
        copies held back until then; `forgotten` is set once it is done."""
        if attempt is not None and self._discard is not None:
            attempt.hold()
            self._key_in_thread.post((attempt, forgotten, False), None)

    def _settle_key(self, item: tuple[Attempt, _Done, bool]) -> None:
        """In a worker thread: an attempt's key forgotten (or, reported, confirmed), then its
        copies let go and `done` set."""
        attempt, done, reported = item
        try:
            if reported and self._confirm is not None:
                self._confirm(attempt.key, ttl=2 * self._tolerance)
            elif not reported and self._discard is not None:
                self._discard(attempt.key)
        except Exception:  # logged before `done` is set: the answer follows the line
            if reported:  # at worst its retry, after the lease, is reported again
                logger.exception("the replay guard could not confirm a %s delivery", self._provider)
            else:
                _forget_failed(self._provider)
        finally:
            attempt.release()
            if done is not None:
                done.set_result(None)


_BUSY = "busy"  # a guard's claim of a delivery another receiver is reporting now
_Done = concurrent.futures.Future[None] | None  # set once a key's work in a thread is done


def _forget_failed(provider: str) -> None:
    logger.exception(
        "the replay guard could not forget a %s delivery that was not stored: the "
        "provider's retry of it may be taken for a replay",
        provider,
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop this runs on; None under another (trio, through anyio)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _lifespan(receive: Receive, send: Send, drain: Callable[[], Awaitable[None]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await drain()
            await send({"type": "lifespan.shutdown.complete"})
            return
