"""The drivers: run the flows of `sms_status._flows` by blocking (`SyncDriver`) or by awaiting
(`AsyncDriver`).

A flow is a generator of effects; a driver performs each one and hands back its outcome:

    reply = yield Send(request)    # the driver sends it and returns a Reply, or throws in
                                   # what sending raised (AttemptTimeout, DeadlineReached, ...)
    yield Sleep(2.0)               # the driver sleeps (time.sleep, or asyncio.sleep)
    yield Hold(30.0)               # after a 429: the rate limiter's `hold`, if it has one
    yield Emit(report)             # an iterating driver hands `report` to its caller
    return report                  # the flow's result: what `run` returns

`advance` is that protocol, written once; so is the decision of how an attempt is sent
(`_Driver._route`: the fast sender for a plain GET, else a request httpx builds and the
signer signs, sent by the fast sender when it accepts it, else by httpx). The two drivers
differ only in blocking or awaiting. The clients inherit a driver, so the hot path reads
the client's own settings with no layer in between.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar, cast

import httpx

from sms_status import _flows
from sms_status._flows import Emit, Flow, Hold, Send, Sleep
from sms_status._provider import RequestKwargs
from sms_status._signing import RequestSigner
from sms_status._transport.base import AsyncSender, Sender
from sms_status._transport.httpx import build
from sms_status.pacing import AsyncRateLimiter, RateLimiter, Unlimited
from sms_status.report import StatusReport

T = TypeVar("T")

REQUEST_ROOM = 0.001
"""Seconds a request needs at least before its deadline: a rate-budget slot later than that
is not booked (it would be slept for, and then nothing sent)."""
S = TypeVar("S", Sender, AsyncSender)


def advance(
    flow: Flow[Any], value: object, error: BaseException | None
) -> Send | Sleep | Hold | Emit | StopIteration:
    """Hand `flow` the outcome of its last effect — `value`, or `error` thrown in — and return
    its next effect, or the StopIteration whose `value` is what the flow returned."""
    try:
        return flow.throw(error) if error is not None else flow.send(value)
    except StopIteration as done:
        # Its traceback would keep this frame alive past the return, which Python pays for
        # by copying the frame out: 1.4 µs instead of 0.85 µs to run a one-request flow.
        done.__traceback__ = None
        return done


def joined(request: RequestKwargs, base_url: httpx.URL) -> RequestKwargs:
    """`request` with its path ("/api/...") joined to the base URL here.

    httpx would parse the relative URL and then parse the merge again; handing it the joined
    string costs one parse (~50 µs less per call, a fifth of the overlay's overhead over raw
    httpx: benchmarks/). The URL is the same: httpx's merge is base path + path without its
    leading "/", and both routes quote and normalise the result alike.
    """
    url = request.get("url")
    if not (isinstance(url, str) and url.startswith("/")):
        return request
    base = str(base_url)
    return {**request, "url": (base if base.endswith("/") else base + "/") + url[1:]}


class _Driver(Generic[S]):
    """What both drivers read from the client that inherits them (set by its constructor)."""

    _clock: Callable[[], float]
    _attempt_limit: float
    """No attempt (connect, send, the whole body) lasts longer than this, in seconds."""
    _phases: httpx.Timeout
    _max_response_bytes: int
    _signer: RequestSigner | None
    _fast: S | None
    """Sends plain GETs (and the requests it accepts) without httpx's client layers
    (`sms_status._transport`: http.client, or aiohttp); None: httpx sends everything."""
    _httpx: S
    """Sends any request httpx built: `client.api`'s client, its pools, or the user's."""

    def _mask_logs_again(self) -> None:
        """Masks the key in logs again, for a closed client used again (`BaseClient`, first
        in the client's bases, has it)."""

    def _route(
        self, http: httpx.Client | httpx.AsyncClient, request: RequestKwargs, left: float
    ) -> tuple[S, str | httpx.Request]:
        """Which sender sends this attempt, and what: a plain GET's target, or the request
        `http` built (phase timeouts cut to `left`) and the signer signed."""
        fast = self._fast
        if fast is not None and self._signer is None:
            target = fast.plain_target(request)
            if target is not None:  # no httpx.Request to build: a third of the CPU saved
                return fast, target
        built = build(http, joined(request, http.base_url), self._phases, left)
        if self._signer is not None:
            self._signer.sign(built)
        return (fast if fast is not None and fast.accepts(built) else self._httpx), built

    def _slot_wait(self, send: Send, wait: float | None, *, checked: bool) -> float:
        """How long to wait for a booked slot. DeadlineReached if the limiter booked none (its
        slot would have come after the deadline), or if a slot booked without that check
        (`reserve()`) comes at or past it; one booked in time is kept (the limiter's own
        round trip may have taken some of the room: the attempt's limit tells)."""
        if wait is None and send.deadline is None:
            raise _flows.BudgetHeld  # booked within `SLOT_WINDOW` only: none came
        if wait is None or (
            not checked and send.deadline is not None and self._clock() + wait >= send.deadline
        ):
            raise _flows.DeadlineReached("no slot of the rate budget before the deadline")
        return wait

    def _within(self, limiter: object, send: Send) -> Callable[[float], Any] | None:
        """The limiter's `reserve_within`, for a request with a deadline or a slot window
        (see `RateLimiter`, `SLOT_WINDOW`)."""
        if send.deadline is None and _flows.SLOT_WINDOW.get() is None:
            return None
        return getattr(limiter, "reserve_within", None)

    def _until_deadline(self, send: Send) -> float:
        """How long a slot may wait: until the flow's deadline, less the least room a request
        needs (not the attempt's limit, which bounds the request once its slot came);
        DeadlineReached when there is no such room, before any slot is booked. Without a
        deadline: the `SLOT_WINDOW`."""
        if send.deadline is None:
            window = _flows.SLOT_WINDOW.get()
            assert window is not None  # `_within` asked for it
            return window
        left = send.deadline - self._clock() - REQUEST_ROOM
        if left < 0:
            raise _flows.DeadlineReached
        return left

    def _time_left(self, send: Send) -> float:
        """How long this attempt may take: the client's timeout, cut to the flow's deadline."""
        left = self._attempt_limit
        if send.deadline is not None:
            left = min(left, send.deadline - self._clock())
            if left <= 0:
                raise _flows.DeadlineReached
        return left


class SyncDriver(_Driver[Sender]):
    """Runs flows by blocking: `time.sleep` (or the `sleep` option), and the sync senders
    (http.client directly, or httpx)."""

    _limiter: RateLimiter
    _sleep: Callable[[float], None]
    _http: httpx.Client
    """Builds every request (URL, credentials, headers, timeouts): `client.api`'s client."""

    def _perform(self, effect: Send | Sleep | Hold) -> Any:
        if isinstance(effect, Sleep):
            self._sleep(effect.seconds)
            return None
        if isinstance(effect, Hold):
            hold = getattr(self._limiter, "hold", None)
            past = effect.deadline is not None and self._clock() >= effect.deadline
            if hold is not None and not past:
                try:
                    hold(effect.seconds)
                except Exception as exc:  # the next booking meets it too, and says so
                    _not_held(self._limiter, exc)
            return None
        wait = self._book(effect)
        if wait > 0:
            self._sleep(wait)
            # Its slot, booked before another call's 429 held the budget, fell in the hold:
            # booked again, once (the new slot is past the hold's end), not sent into 429s.
            if _held(getattr(self._limiter, "hold_left", None)):
                wait = self._book(effect)
                if wait > 0:
                    self._sleep(wait)
        left = self._time_left(effect)
        cap, phases = self._max_response_bytes, self._phases
        sender, what = self._route(self._http, effect.request, left)
        if isinstance(what, str):
            return sender.send_plain(what, left=left, cap=cap, phases=phases)
        return sender.send(what, left=left, cap=cap, phases=phases)

    def _book(self, effect: Send) -> float:
        """Book `effect`'s slot: how long to wait for it (`_slot_wait`)."""
        within = self._within(self._limiter, effect)
        try:
            booked = (
                self._limiter.reserve() if within is None else within(self._until_deadline(effect))
            )
        except _flows.DeadlineReached:  # no room before the deadline: not the limiter's
            raise
        except Exception as exc:  # a shared budget's Redis, say: named, not the provider's
            raise _unbooked(exc) from exc
        return self._slot_wait(effect, booked, checked=within is not None)

    def _steps(self, flow: Flow[T]) -> Generator[StatusReport, None, T]:
        """Run `flow`, yielding the reports it emits and returning what it returns."""
        self._mask_logs_again()
        value: Any = None
        error: Exception | None = None
        while not isinstance(effect := advance(flow, value, error), StopIteration):
            value, error = None, None
            if isinstance(effect, Emit):
                yield effect.report
                continue
            try:
                value = self._perform(effect)
            except Exception as exc:  # the flow turns it into an SmsStatusError
                error = _thrown(effect, exc)
        result: T = effect.value
        return result

    def _run(self, flow: Flow[T]) -> T:
        """Run `flow` (one that emits no report) and return what it returns."""
        steps = self._steps(flow)
        try:
            next(steps)
        except StopIteration as stop:
            result: T = stop.value
            return result
        raise AssertionError("a flow that returns a value emitted a report")


class AsyncDriver(_Driver[AsyncSender]):
    """Runs flows by awaiting: `asyncio.sleep` (or the `sleep` option) and the async senders
    (aiohttp directly, or httpx over several small pools)."""

    rate_limiter: RateLimiter | AsyncRateLimiter
    _sleep: Callable[[float], Awaitable[None]]
    _http: httpx.AsyncClient
    """Builds every request (see `SyncDriver._http`)."""

    async def _perform(self, effect: Send | Sleep | Hold) -> Any:
        if isinstance(effect, Sleep):
            await self._sleep(effect.seconds)
            return None
        if isinstance(effect, Hold):
            hold = getattr(self.rate_limiter, "hold", None)
            left = None if effect.deadline is None else effect.deadline - self._clock()
            if hold is not None and (left is None or left > 0):
                try:
                    held = hold(effect.seconds)  # None, or awaitable (AsyncRateLimiter)
                    if held is not None:
                        await _within_time(held, left)
                except Exception as exc:  # see SyncDriver._perform
                    _not_held(self.rate_limiter, exc)
            return None
        limiter = self.rate_limiter
        if not isinstance(limiter, Unlimited):  # unpaced (bulk lookups, say): no booking
            wait = await self._book(limiter, effect)
            if wait > 0:
                await self._sleep(wait)
                # See SyncDriver._perform: a slot that fell in a hold is booked again, once.
                left = None if effect.deadline is None else effect.deadline - self._clock()
                if await _held_async(getattr(limiter, "hold_left", None), left):
                    wait = await self._book(limiter, effect)
                    if wait > 0:
                        await self._sleep(wait)
        # Without a deadline (every bulk lookup's attempt) the client's limit, as it is.
        left = self._attempt_limit if effect.deadline is None else self._time_left(effect)
        cap, phases = self._max_response_bytes, self._phases
        fast = self._fast
        if fast is not None and self._signer is None:  # `_route`'s first case, inline
            target = fast.plain_target(effect.request)
            if target is not None:
                return await fast.send_plain(target, left=left, cap=cap, phases=phases)
        sender, what = self._route(self._http, effect.request, left)
        if isinstance(what, str):
            return await sender.send_plain(what, left=left, cap=cap, phases=phases)
        return await sender.send(what, left=left, cap=cap, phases=phases)

    async def _book(self, limiter: RateLimiter | AsyncRateLimiter, effect: Send) -> float:
        """`SyncDriver._book`, awaited where the limiter's booking is."""
        within = self._within(limiter, effect)
        # A float, or an awaitable one (AsyncRateLimiter); None: nothing booked.
        try:
            booked = limiter.reserve() if within is None else within(self._until_deadline(effect))
            # A tuple, not `float | int`: that builds a union object on every request.
            got = booked if booked is None or isinstance(booked, (float, int)) else await booked
        except _flows.DeadlineReached:
            raise
        except Exception as exc:  # see SyncDriver._book
            raise _unbooked(exc) from exc
        return self._slot_wait(effect, got, checked=within is not None)

    async def _steps(self, flow: Flow[Any]) -> AsyncIterator[StatusReport]:
        """Run `flow`, yielding the reports it emits (what it returns is dropped)."""
        self._mask_logs_again()
        value: Any = None
        error: Exception | None = None
        while not isinstance(effect := advance(flow, value, error), StopIteration):
            value, error = None, None
            if isinstance(effect, Emit):
                yield effect.report
                continue
            try:
                value = await self._perform(effect)
            except Exception as exc:  # the flow turns it into an SmsStatusError
                error = _thrown(effect, exc)

    async def _run_each(self, flows: Iterator[Flow[T]], count: int, concurrency: int) -> list[T]:
        """Run `count` flows, at most `concurrency` at once, and return what each returns, in
        their order. The first error (one a flow raises: an authentication error) cancels
        the others, which finish closing their responses before it is raised."""
        import asyncio  # kept off the sync client's import path (~50 ms)

        results: list[T | None] = [None] * count
        done = [False] * count
        numbered = enumerate(flows)

        async def worker() -> None:
            for position, flow in numbered:  # shared iterator: each flow is taken once
                results[position] = await self._run(flow)
                done[position] = True

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, count))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if not all(done):  # every worker ended normally, so every flow must have returned
            raise AssertionError(f"lost the results of {done.count(False)} flow(s)")
        return cast(list[T], results)

    async def _run(self, flow: Flow[T]) -> T:
        """Run `flow` (one that emits no report) and return what it returns."""
        self._mask_logs_again()
        value: Any = None
        error: Exception | None = None
        while not isinstance(effect := advance(flow, value, error), StopIteration):
            if isinstance(effect, Emit):
                raise AssertionError("a flow that returns a value emitted a report")
            value, error = None, None
            try:
                value = await self._perform(effect)
            except Exception as exc:  # the flow turns it into an SmsStatusError
                error = _thrown(effect, exc)
        result: T = effect.value
        return result


def _thrown(effect: object, error: Exception) -> Exception:
    """What the flow is handed for `effect`'s failure: a failed send without its frames (the
    flow reads what failed, not where, and the sender's frames, a body read so far, stayed
    in a cycle with the driver's frame until the GC ran); a user's `sleep=` raising, whole."""
    return error.with_traceback(None) if isinstance(effect, Send) else error


async def _within_time(awaited: Awaitable[object], left: float | None) -> None:
    """Await `awaited`, for no longer than `left` seconds (None: its own bound): a call's
    deadline holds while its limiter's Redis is slow to hold the budget."""
    import asyncio

    if left is None:
        await awaited
        return
    async with asyncio.timeout(left):
        await awaited


def _held(hold_left: Callable[[], float] | None) -> bool:
    """Whether the limiter holds its budget now (`hold_left`, if it has one); a limiter that
    cannot say (its Redis down) holds nothing: the request goes out as booked."""
    try:
        return hold_left is not None and hold_left() > 0
    except Exception:  # the next booking meets it, and says so
        return False


async def _held_async(hold_left: Callable[[], object] | None, within: float | None) -> bool:
    """`_held`, for a limiter whose `hold_left` may be awaited: for no longer than `within`
    seconds (the call's deadline; None: the limiter's own bound). Past it, not held."""
    import asyncio

    try:
        held = None if hold_left is None else hold_left()
        if held is not None and not isinstance(held, (float, int)):
            async with asyncio.timeout(None if within is None else max(within, 0.0)):
                held = await cast("Awaitable[float]", held)
        return isinstance(held, (float, int)) and held > 0
    except Exception:  # see _held (a TimeoutError past `within` too)
        return False


def _not_held(limiter: object, error: Exception) -> None:
    """A limiter that could not hold its budget after a 429: logged, not raised (the call
    goes on as it would have; the next booking fails the attempt if the limiter is down)."""
    logging.getLogger("sms_status").warning(
        "%r could not hold the rate budget after a 429: %r", limiter, error
    )


def _unbooked(error: Exception) -> ConnectionError:
    """A rate limiter that could not book a request (its Redis down, say): a failure to send,
    whose message says it was the limiter, not the provider."""
    return ConnectionError(f"the rate limiter could not book this request ({error!r})")
