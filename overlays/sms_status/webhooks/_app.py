"""The receiver: a plain ASGI app that verifies each POST and reports it, answering either
at once (the report handed over after the answer) or only once `on_report` returned.

It reads the ASGI messages itself (no Request/Response/BackgroundTask objects per delivery:
at campaign scale they were most of the server's CPU), answers on any path, and so mounts
under any prefix of a Starlette or FastAPI app."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, quote_from_bytes, urlsplit

import anyio
import anyio.to_thread

from sms_status._pushed import AsgiHeaders, PushedRequest
from sms_status._validation import is_coroutine_function
from sms_status.errors import MalformedWebhookError, WebhookSignatureError
from sms_status.webhooks._asgi_body import BodyReader, ClientGone
from sms_status.webhooks._batching import Batcher
from sms_status.webhooks._guards import ReplayGuard
from sms_status.webhooks._handover import ThreadHandOver, in_thread, running_loop
from sms_status.webhooks._keys import BUSY, ReplayKeys
from sms_status.webhooks._once import UNANSWERED, Attempt, Attempts, settled

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

# What a URL path may hold unescaped (RFC 3986 pchar and "/"): the rest of a decoded
# `path` is escaped again, for a server that gives no `raw_path`.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?%"

# Templates only: each answer sends a list and a body message of its own, as middleware may
# edit them in place (Starlette's BaseHTTPMiddleware appends its headers to that very list).
_EMPTY: tuple[tuple[bytes, bytes], ...] = ((b"content-length", b"0"),)
_ALLOW: tuple[tuple[bytes, bytes], ...] = ((b"content-length", b"0"), (b"allow", b"POST"))
_CLOSE: tuple[tuple[bytes, bytes], ...] = ((b"content-length", b"0"), (b"connection", b"close"))
"""A body too slow (408) or too large (413, its rest unread): the connection is closed, or a
client trickling the body would go on holding it (RFC 9110, 15.5.9), past the body's
deadline once answered. A sender still writing may meet a reset instead of the 413 (RFC
9112, 9.6): for a body it must not send again as it is, the lesser harm."""

POSTED_BACKLOG = 1024
"""Deliveries answered 2xx and still waiting for `on_report` ("on_receipt") at most: past
it, a delivery is answered only once reported (200, or 500 if `on_report` raised)."""

HELD_MAX = 2 * POSTED_BACKLOG
"""Requests held open for their report at most (acknowledge="after_report", or past the
backlog): past it, a delivery is answered 503 unread, and the provider retries later. A
hung `on_report` so holds some 25 MB, not one request more for each its senders gave up on."""

DRAIN_SECONDS = 30.0
"""How long a lifespan shutdown waits for reports still being made (in worker threads, or
batches of `on_reports`)."""


def _refused(provider: str, status: int, why: object) -> None:
    """A refused delivery, logged at INFO (never its headers; a malformed body's reason may
    quote a little of it, escaped: an unsigned provider's sender is anyone): a wrong secret
    or a proxy mangling bodies shows here, not only in the provider's retry log."""
    if logger.isEnabledFor(logging.INFO):
        reason = str(why)
        if not reason.isprintable():  # no forged log lines, no terminal escapes
            reason = reason.encode("unicode_escape").decode("ascii")
        extra = {"status": status}
        logger.info("%s delivery refused: %d, %s", provider, status, reason, extra=extra)


async def _answer(
    send: Send, status: int, headers: tuple[tuple[bytes, bytes], ...] = _EMPTY
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": b""})


def _url(scope: Scope, host: str | None) -> str:
    """The URL the request was sent to, as seven signs it when no `url=` was given: its path
    as received, escapes and all (`raw_path`; `path` is decoded, so a hook URL with `%2B`
    in it never matched), put together as Starlette's `Request.url` does. `host`: its Host
    header, as already read, for `scope["headers"]` may be an iterable that reads once."""
    from starlette.datastructures import URL

    raw_path = scope.get("raw_path")  # optional in ASGI: else `path`, escaped again
    query = scope.get("query_string", b"")
    if not query.isascii():  # raw bytes no client sends (some servers pass them): escaped,
        query = quote_from_bytes(query, _QUERY_SAFE).encode()  # never a UnicodeDecodeError
    path = raw_path.decode("latin-1") if raw_path else quote(scope["path"], _PATH_SAFE)
    # The server's root path (a proxy's prefix; Starlette's Mount keeps it as app_root_path):
    # ASGI puts it in `path` too, as uvicorn does; hypercorn and FastAPI(root_path=) do not,
    # and every delivery failed its signature there.
    root = scope.get("app_root_path", scope.get("root_path")) or ""
    if root and scope["path"] != root and not scope["path"].startswith(root.rstrip("/") + "/"):
        path = quote(root.rstrip("/"), _PATH_SAFE) + path
    request = {
        "scheme": scope.get("scheme", "http"),
        "server": scope.get("server"),
        "path": path,
        "query_string": query,
        "headers": () if host is None else ((b"host", host.encode("latin-1")),),
    }
    return str(URL(scope=request))


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
        from sms_status.webhooks._parse import read_verified

        self._read_verified = read_verified
        self._provider = provider
        self._webhook = webhook
        self._secret = secret
        # An event, or a list of them (`batched`); awaited when `_is_async`.
        self._on_report: Callable[[Any], Any] = on_report
        self._is_async = is_coroutine_function(on_report)
        # on_reports: `_report` takes a list, and each delivery waits for its batch's call.
        self._batcher = Batcher(self._report) if batched else None
        self._max_body_bytes = max_body_bytes
        self._bodies = BodyReader()
        self._url = url
        self._tolerance = tolerance
        self._clock = clock
        self._after_report = acknowledge == "after_report"
        self._report_in_thread = ThreadHandOver(on_report, on_failure=self._report_failed)
        self._keys = (
            None
            if replay_guard is None
            else ReplayKeys(
                provider, replay_guard, tolerance=tolerance, after_report=self._after_report
            )
        )
        # With a replay guard: the deliveries being taken now, which their copies wait for.
        self._attempts = Attempts()
        self._held = 0  # requests waiting for their report (`_settle`, `_report_answered`)
        self._answered_unreported = 0  # of them, those answered already ("on_receipt")
        self._last_failure: BaseException | None = None  # the last logged (`_report_failed`)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await _lifespan(receive, send, self._drain)
            return
        if scope["method"] != "POST":
            _refused(self._provider, 405, f"method {scope['method']!r}, not POST")
            await _answer(send, 405, _ALLOW)
            return
        headers = AsgiHeaders(scope.get("headers") or ())
        try:
            body = await self._bodies.read(headers, receive, self._max_body_bytes)
        except ClientGone:
            return
        except TimeoutError:
            _refused(self._provider, 408, "its body did not arrive in time")
            await _answer(send, 408, _CLOSE)
            return
        if body is None:
            _refused(self._provider, 413, f"its body is over {self._max_body_bytes} bytes")
            await _answer(send, 413, _CLOSE)
            return
        if self._held >= HELD_MAX:  # on_report is stuck, or far behind: retried later
            _refused(self._provider, 503, f"{self._held} deliveries wait for on_report")
            await _answer(send, 503)
            return
        event, replay_key, status = self._verify(scope, headers, body)
        if event is None:
            await _answer(send, status)
        elif self._keys is None:
            _, to_report = await self._take(event, None, send, True)
            if to_report:
                await self._report_answered(event)
        else:
            await self._take_once(event, replay_key, send)

    async def _take_once(self, event: WebhookEvent, replay_key: str, send: Send) -> None:
        """`_take` with a guard: a copy of a delivery still being taken here (a retry of a slow
        attempt) waits for that attempt and is answered as it was (200 once reported or
        posted, or once answered when reported after the answer); if it ended unanswered
        (cancelled), afresh, once its key is forgotten."""
        while True:
            attempt, mine = self._attempts.begin(replay_key)
            if mine:
                break
            self._held += 1  # a copy waiting is a request held too (`HELD_MAX`)
            try:
                status = await settled(attempt.outcome)
            finally:
                self._held -= 1
            if status != UNANSWERED:
                await _answer(send, status)
                return
        status, to_report = UNANSWERED, False
        try:
            self._held += 1  # waiting for its guard (a slow Redis) is held too (`HELD_MAX`)
            try:
                new = await cast(ReplayKeys, self._keys).remember_or_fail(attempt)
            finally:
                self._held -= 1
            status, to_report = await self._take(event, attempt, send, new)
        finally:
            attempt.release(status)
        if to_report:
            # Its 200 is out: a copy is answered 200 at once, as with a sync on_report,
            # not held for as long as (maybe for ever) this report runs.
            await self._report_answered(event)

    async def _take(
        self, event: WebhookEvent, attempt: Attempt | None, send: Send, new: bool | str | None
    ) -> tuple[int, bool]:
        """Answer and report `event`, `new` as its guard said (`remember_or_fail`; True
        without one): the status answered, and whether `event` is still to be reported,
        awaited (`_report_answered`: "on_receipt" with an async `on_report` or `on_reports`)."""
        keys = self._keys
        if new is None:
            status = 500
        elif new == BUSY:
            status = 503  # another receiver is reporting it now: the provider retries
        elif not new:
            status = 200  # seen before, not reported again
        elif self._after_report:
            status = await self._settle(event, attempt)
            if status == 200 and attempt is not None and keys is not None and keys.claims:
                await keys.confirm_reported(attempt)
        elif self._answered_unreported >= POSTED_BACKLOG:
            # on_report is this far behind: this delivery waits for its report before its
            # answer (as with "after_report"), so memory stays bounded and the provider slows.
            status = await self._settle(event, attempt)
        elif self._is_async or self._batcher is not None:
            try:
                await _answer(send, 200)
            except BaseException:  # cancelled while answering: not reported, so not a replay
                if keys is not None:
                    keys.forget_now(attempt)
                raise
            return 200, True
        elif self._report_in_thread.waiting() >= POSTED_BACKLOG:  # as above, in threads
            status = await self._settle(event, attempt)
        else:
            try:
                await _answer(send, 200)
            finally:
                # Handed to a worker thread and not waited for (this call returns first): a
                # future and a call back per delivery cost the server a third more CPU.
                # Also when the answer failed or was cancelled: its key is remembered, so
                # the provider's retry would be taken for a replay and not reported.
                self._report_in_thread.post(event, running_loop())
            return 200, False
        await _answer(send, status)
        return status, False

    async def _report_answered(self, event: WebhookEvent) -> None:
        """ "on_receipt", awaited (an async `on_report`, or `on_reports`): the provider has
        its 2xx, so a failure is only logged."""
        self._held += 1
        self._answered_unreported += 1
        try:
            if self._batcher is None and self._is_async:
                await self._on_report(event)  # as `_deliver` would, a coroutine or two fewer
            else:
                await self._deliver(event)
        except anyio.get_cancelled_exc_class():  # a server past its shutdown grace, say
            logger.error(
                "on_report for %s event %r was cancelled after its 2xx: not reported",
                self._provider,
                event.event_id,
            )
            raise
        except BaseException as exc:  # SystemExit too: this delivery's failure, as in a thread
            self._report_failed(event, exc)
        finally:
            self._held -= 1
            self._answered_unreported -= 1

    def _report_failed(self, event: WebhookEvent, exc: BaseException) -> None:
        """Logged (with "on_receipt" the provider already has its 2xx: all that is left is
        to say so). The deliveries of one failed `on_reports` batch share its exception:
        its traceback is logged once, the others in a line each."""
        # The exception itself, not its id(): a freed one's address is soon reused.
        again = exc is self._last_failure
        self._last_failure = exc
        logger.error(
            "on_report failed for %s event %r%s",
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
        keys = () if self._keys is None else self._keys.hand_overs
        hand_overs = (self._report_in_thread, *keys)
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
        if self._batcher is not None and running_loop() is not None:
            started = time.monotonic()
            if not await self._batcher.wait_idle(timeout):
                logger.warning("on_reports still running after %g s", timeout)
                return
            timeout -= time.monotonic() - started
        # Abandoned if the shutdown is cancelled: a server giving up waits no longer.
        await anyio.to_thread.run_sync(
            functools.partial(self.drain, max(timeout, 0.0)), abandon_on_cancel=True
        )

    def _verify(
        self, scope: Scope, headers: AsgiHeaders, body: bytes
    ) -> tuple[WebhookEvent | None, str, int]:
        """(the event, its replay key, 200), or (None, "", the status to answer). Not a
        coroutine: each one a delivery awaits costs the server about a microsecond."""
        url = self._url
        if url is None and self._webhook.signs_url:
            url = _url(scope, headers.get("host"))
        now = None if self._clock is None else self._clock()  # None, as parse() reads it: now
        request = PushedRequest(
            provider=self._provider,
            body=body,
            headers=headers,
            secret=self._secret,
            url=url,
            method=scope["method"],
            now=time.time() if now is None else float(now),
            tolerance=self._tolerance,
        )
        try:
            event, replay_key = self._read_verified(self._webhook, request)
        except WebhookSignatureError as exc:
            reason = exc.message
            if url is not None and self._url is None and "does not match" in reason:
                # A proxy in front (TLS, another host or prefix) changes the URL seven signed:
                # said, or it reads as a wrong secret. Its origin only: a path may be secret.
                origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
                reason += (
                    f" (without url=, checked against {origin}/..., the URL this request "
                    "reached: behind a proxy, pass url=, the URL seven calls)"
                )
            _refused(self._provider, 401, reason)
            return None, "", 401  # empty, as 23 Telecom advises
        except MalformedWebhookError as exc:
            _refused(self._provider, 400, exc.message)
            return None, "", 400
        return event, replay_key, 200

    async def _report(self, item: WebhookEvent | list[WebhookEvent]) -> None:
        """`on_report(item)`, or `on_reports(item)` with a batch."""
        if self._is_async:
            await self._on_report(item)
        else:
            result = await in_thread(self._report_in_thread, item)
            if asyncio.iscoroutine(result):
                await result

    async def _deliver(self, event: WebhookEvent) -> None:
        """`event` reported, awaited: by `on_report`, or by the `on_reports` call of the
        batch it joins (under trio, no asyncio loop to gather one on: a batch of one)."""
        if self._batcher is None:
            await self._report(event)
        elif running_loop() is None:
            await self._report([event])
        else:
            await self._batcher.report(event)

    async def _settle(self, event: WebhookEvent, attempt: Attempt | None) -> int:
        """acknowledge="after_report": 200 once `on_report` returned, 500 if it raised."""
        self._held += 1
        try:
            await self._deliver(event)
        except anyio.get_cancelled_exc_class():  # no answer goes out: its retry is no replay
            if self._keys is not None:
                self._keys.forget_now(attempt)
            raise
        except BaseException as exc:  # SystemExit too, as a sync on_report's in its thread
            self._report_failed(event, exc)
            if attempt is not None and self._keys is not None:
                await self._keys.forget(attempt)  # else its retry would be a replay
            return 500  # not stored: the provider retries
        finally:
            self._held -= 1
        return 200


async def _lifespan(receive: Receive, send: Send, drain: Callable[[], Awaitable[None]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await drain()
            await send({"type": "lifespan.shutdown.complete"})
            return
