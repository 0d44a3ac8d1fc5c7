"""webhooks.app(acknowledge=...): "on_receipt" answers before on_report runs; "after_report"
answers 2xx only once on_report returned, 500 when it raised (so the provider retries)."""

from __future__ import annotations

import asyncio
import concurrent.futures.thread
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx
import pytest
import redis
from sms_status import webhooks
from webhook_support import basic, serve, shut_down, spec_example, telecom23_headers

NOW = 1_770_978_604
SECRET = "whsec_ack_test"
BODY = json.dumps(spec_example("telecom23", "deliveryReport", "delivered")).encode()
HEADERS = telecom23_headers(SECRET, BODY, NOW)


def gated_receiver(
    acknowledge: Literal["on_receipt", "after_report"] = "on_receipt", *, batched: bool = False
) -> tuple[list[str], threading.Event, webhooks.Receiver]:
    """A telecom23 receiver whose sync on_report (on_reports, `batched`) stores a delivery's
    id only once `release` is set: (what it stored, release, the receiver)."""
    stored: list[str] = []
    release = threading.Event()

    def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        assert release.wait(10), "the test never released on_report"
        stored.extend(event.report.message_id for event in events)

    options: dict[str, Any] = (
        {"on_reports": on_reports} if batched else {"on_report": lambda e: on_reports([e])}
    )
    receiver = webhooks.app(
        "telecom23", secret=SECRET, acknowledge=acknowledge, clock=lambda: float(NOW), **options
    )
    return stored, release, receiver


@pytest.mark.parametrize("batched", [False, True], ids=["on_report", "on_reports"])
def test_after_report_answers_over_loopback_only_once_on_report_returned(batched: bool) -> None:
    stored, release, app = gated_receiver("after_report", batched=batched)
    with serve(app) as origin, ThreadPoolExecutor(1) as pool:
        answer = pool.submit(httpx.post, f"{origin}/hook", content=BODY, headers=HEADERS)
        with pytest.raises(TimeoutError):
            answer.result(timeout=0.3)  # on_report has not returned: no answer yet
        release.set()
        response = answer.result(timeout=10)
        assert (response.status_code, response.content) == (200, b"")
        assert stored == ["api_42_1743667200123456789_a3f8b2c1d9e45f67"]  # 2xx: it is stored


@pytest.mark.parametrize("batched", [False, True], ids=["on_report", "on_reports"])
def test_on_receipt_answers_over_loopback_before_on_report_returned(batched: bool) -> None:
    stored, release, app = gated_receiver(batched=batched)
    with serve(app) as origin:
        try:
            response = httpx.post(f"{origin}/hook", content=BODY, headers=HEADERS, timeout=10)
            assert (response.status_code, stored) == (200, [])  # answered, not yet stored
        finally:
            release.set()


def test_after_report_answers_500_empty_over_loopback_when_on_report_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def on_report(event: webhooks.WebhookEvent) -> None:
        raise RuntimeError("database down")

    app = webhooks.app(
        "telecom23",
        secret=SECRET,
        on_report=on_report,
        acknowledge="after_report",
        clock=lambda: float(NOW),
    )
    with caplog.at_level(logging.ERROR, "sms_status.webhooks"), serve(app) as origin:
        response = httpx.post(f"{origin}/hook", content=BODY, headers=HEADERS, timeout=10)
    assert (response.status_code, response.content) == (500, b"")
    assert "on_report failed" in caplog.text
    assert SECRET not in caplog.text


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def post(app: Any, body: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        return await client.post("/hook", content=body, headers=headers)


@pytest.mark.anyio
async def test_after_report_with_an_async_on_report_that_raises_answers_500() -> None:
    async def on_report(event: webhooks.WebhookEvent) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("database down")

    app = webhooks.app(
        "telecom23",
        secret=SECRET,
        on_report=on_report,
        acknowledge="after_report",
        clock=lambda: float(NOW),
    )
    assert (await post(app, BODY, HEADERS)).status_code == 500


@pytest.mark.anyio
@pytest.mark.parametrize("raised", [RuntimeError("database down"), SystemExit(1)], ids=repr)
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_after_a_500_the_providers_identical_retry_is_reported_not_taken_for_a_replay(
    raised: BaseException, kind: str
) -> None:
    # lisoloo signs nothing per delivery: its retry is the same body, so the same replay key.
    body = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()
    calls: list[str] = []

    def on_report(event: webhooks.WebhookEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise raised

    async def on_report_async(event: webhooks.WebhookEvent) -> None:
        on_report(event)

    guard = webhooks.MemoryReplayGuard()
    app = webhooks.app(
        "lisoloo",
        secret="u:p",
        on_report=on_report if kind == "sync" else on_report_async,
        acknowledge="after_report",
        replay_guard=guard,
    )
    assert (await post(app, body, basic("u:p"))).status_code == 500
    assert (await post(app, body, basic("u:p"))).status_code == 200  # the retry, stored
    assert (await post(app, body, basic("u:p"))).status_code == 200  # now a replay
    assert len(calls) == 2


@pytest.mark.anyio
async def test_on_receipt_logs_an_async_on_report_raising_systemexit_as_its_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def on_report(event: webhooks.WebhookEvent) -> None:
        raise SystemExit(1)

    app = webhooks.app("telecom23", secret=SECRET, on_report=on_report, clock=lambda: float(NOW))
    assert (await post(app, BODY, HEADERS)).status_code == 200  # and the app returned
    assert "on_report failed for telecom23" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_many_deliveries_at_once_are_each_reported_once(acknowledge: str) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def on_report(event: webhooks.WebhookEvent) -> None:
        with lock:
            seen.append(event.report.message_id)

    app = webhooks.app(
        "telecom23",
        secret=SECRET,
        on_report=on_report,
        acknowledge=acknowledge,
        clock=lambda: float(NOW),
    )
    payload = spec_example("telecom23", "deliveryReport", "delivered")
    bodies = []
    for n in range(300):
        payload["message_id"] = f"m-{n}"
        bodies.append(json.dumps(payload).encode())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        answers = await asyncio.gather(
            *(
                client.post("/hook", content=b, headers=telecom23_headers(SECRET, b, NOW))
                for b in bodies
            )
        )
    assert {a.status_code for a in answers} == {200}
    if acknowledge == "on_receipt":  # answered without waiting for on_report
        await shut_down(app)
    assert sorted(seen) == sorted(f"m-{n}" for n in range(300))


LISOLOO_BODY = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()


def lisoloo_receiver(
    on_report: Any, guard: Any, acknowledge: str = "after_report"
) -> webhooks.Receiver:
    """lisoloo (a retry is the same body, so the same replay key), "after_report"."""
    return webhooks.app(
        "lisoloo", secret="u:p", on_report=on_report, acknowledge=acknowledge, replay_guard=guard
    )


def recording_receiver(
    guard: Any, acknowledge: str = "on_receipt"
) -> tuple[list[str], webhooks.Receiver]:
    """A lisoloo receiver with `guard` whose sync on_report records each event id:
    (what it recorded, the receiver)."""
    reported: list[str] = []
    return reported, lisoloo_receiver(
        lambda event: reported.append(event.event_id), guard, acknowledge
    )


@pytest.mark.anyio
@pytest.mark.parametrize("first_fails", [True, False], ids=["first fails", "first stored"])
async def test_a_retry_arriving_while_the_first_attempt_is_reported_gets_that_attempts_answer(
    first_fails: bool,
) -> None:
    # The provider gave up on a slow first attempt and retried (lisoloo: the same body, so
    # the same replay key). A 200 for the retry before the first is stored would lose the
    # delivery if the first then failed.
    entered, release = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def on_report(event: webhooks.WebhookEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            entered.set()
            await release.wait()
            if first_fails:
                raise RuntimeError("database is locked")

    app = lisoloo_receiver(on_report, webhooks.MemoryReplayGuard())
    first = asyncio.ensure_future(post(app, LISOLOO_BODY, basic("u:p")))
    await entered.wait()
    retry = asyncio.ensure_future(post(app, LISOLOO_BODY, basic("u:p")))
    for _ in range(200):  # turns of the loop (no I/O in between): the retry reaches the app
        await asyncio.sleep(0)
    assert not retry.done()  # held: no answer while the first is still being reported
    release.set()
    answers = [(await first).status_code, (await retry).status_code]
    assert answers == ([500, 500] if first_fails else [200, 200])
    assert len(calls) == 1  # the retry did not report a second time
    later = await post(app, LISOLOO_BODY, basic("u:p"))  # the provider's next retry
    assert later.status_code == 200
    assert len(calls) == (2 if first_fails else 1)  # reported now; or a replay of a stored one


def asgi_scope(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/hook",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


async def call_asgi(app: Any, body: bytes, headers: dict[str, str]) -> int | None:
    """The app called as a server would, with a client that never disconnects; the status
    it answered, None if none."""
    scope = asgi_scope(headers)
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answered: list[int] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    await app(scope, receive, send)
    return answered[0] if answered else None


async def cancel_while_answering(app: Any) -> None:
    """One lisoloo delivery whose 2xx is never written: the request is cancelled while its
    answer is being sent (a server past its shutdown timeout)."""
    answering = asyncio.Event()
    messages = [{"type": "http.request", "body": LISOLOO_BODY, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop()

    async def send(message: dict[str, Any]) -> None:
        answering.set()
        await asyncio.Event().wait()  # the server's write never completes

    request = asyncio.ensure_future(app(asgi_scope(basic("u:p")), receive, send))
    await asyncio.wait_for(answering.wait(), 10)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request


async def cancel_once(app: Any, under_way: threading.Event) -> None:
    """One lisoloo delivery, its request cancelled once `under_way` is set (its replay key
    being added or forgotten in a worker thread, say): no answer goes out."""
    first = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    assert await asyncio.to_thread(under_way.wait, 10)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_attempt_cancelled_while_reported_is_forgotten_so_its_retry_is_reported(
    kind: str,
) -> None:
    # A server past its graceful-shutdown timeout cancels the request: no answer went out,
    # nothing was stored, so the provider's retry must not be taken for a replay.
    entered = threading.Event()
    stall = threading.Event()
    calls: list[str] = []

    def on_report(event: webhooks.WebhookEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            entered.set()
            assert stall.wait(10)
            raise RuntimeError("gave up")

    async def on_report_async(event: webhooks.WebhookEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            entered.set()
            await asyncio.Event().wait()

    on = on_report if kind == "sync" else on_report_async
    app = lisoloo_receiver(on, webhooks.MemoryReplayGuard())
    first = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    assert await asyncio.to_thread(entered.wait, 10)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    stall.set()
    assert await asyncio.to_thread(app.drain, 10)  # the worker's forgetting is done too
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 200
    assert len(calls) == 2  # reported, not answered as a replay


class OtherStoreGuard:
    """A replay guard in another store than memory (Redis, say: its add runs in a worker
    thread), kept here in a `MemoryReplayGuard`; subclasses make its add misbehave."""

    def __init__(self) -> None:
        self.inner = webhooks.MemoryReplayGuard()

    def add(self, key: str, *, ttl: float) -> bool:
        return self.inner.add(key, ttl=ttl)

    def discard(self, key: str) -> None:
        self.inner.discard(key)


class BlockingGuard(OtherStoreGuard):
    """Its add waits for `release`."""

    def __init__(self) -> None:
        super().__init__()
        self.adding = threading.Event()
        self.release = threading.Event()

    def add(self, key: str, *, ttl: float) -> bool:
        self.adding.set()
        assert self.release.wait(10), "the test never released add"
        return super().add(key, ttl=ttl)


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_an_attempt_cancelled_while_its_replay_key_is_added_is_forgotten(
    acknowledge: str,
) -> None:
    # Cancelled while the guard's add ran in its thread: no answer went out and nothing was
    # reported, so the add that completes afterwards must not make the retry a replay.
    guard = BlockingGuard()
    reported, app = recording_receiver(guard, acknowledge)
    await cancel_once(app, guard.adding)
    guard.release.set()  # the add completes after the request was cancelled
    assert await asyncio.to_thread(app.drain, 10)  # the key is forgotten by now
    assert reported == []
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1  # reported, not answered as a replay


class LandsThenFailsGuard(OtherStoreGuard):
    """Its first add takes the key, then fails (Redis applied the SET, and its reply timed
    out: redis-py raises)."""

    def __init__(self) -> None:
        super().__init__()
        self.adds = 0

    def add(self, key: str, *, ttl: float) -> bool:
        self.adds += 1
        added = super().add(key, ttl=ttl)
        if self.adds == 1:
            raise TimeoutError("Timeout reading from socket")
        return added


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_a_guard_that_failed_after_taking_the_key_does_not_make_the_retry_a_replay(
    acknowledge: str,
) -> None:
    reported, app = recording_receiver(LandsThenFailsGuard(), acknowledge)
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 500  # the provider retries
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1  # the retry was reported, not taken for a replay


class SlowReplyGuard(OtherStoreGuard):
    """Its first add takes the key, then waits for `release` (Redis applied the SET; its
    reply is on its way)."""

    def __init__(self) -> None:
        super().__init__()
        self.adding = threading.Event()
        self.release = threading.Event()
        self.adds = 0

    def add(self, key: str, *, ttl: float) -> bool:
        self.adds += 1
        added = super().add(key, ttl=ttl)
        if self.adds == 1:
            self.adding.set()
            assert self.release.wait(10), "the test never released add"
        return added


class SlowForgetGuard(OtherStoreGuard):
    """Its discard sets `forgetting`, then waits for `release`."""

    def __init__(self) -> None:
        super().__init__()
        self.forgetting = threading.Event()
        self.release = threading.Event()

    def discard(self, key: str) -> None:
        self.forgetting.set()
        assert self.release.wait(10), "the test never released discard"
        super().discard(key)


async def held(request: asyncio.Future[Any]) -> bool:
    """Whether `request` is still unanswered once the loop and the worker threads had many
    turns (none of them waits on a clock)."""
    for _ in range(20):
        await asyncio.to_thread(lambda: None)
        for _ in range(10):
            await asyncio.sleep(0)
    return not request.done()


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_a_retry_while_a_cancelled_attempts_key_is_still_being_added_is_reported(
    acknowledge: str,
) -> None:
    # The first attempt was cancelled while the guard's add was on its way: its key is
    # forgotten once the add returns. A retry taken for a replay meanwhile would be
    # answered 200 and never reported.
    guard = SlowReplyGuard()
    reported, app = recording_receiver(guard, acknowledge)
    await cancel_once(app, guard.adding)
    retry = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    assert await held(retry)  # no answer while the first's key may still be there
    guard.release.set()
    assert await retry == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1  # reported by the retry


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["async on_report", "on_reports", "after_report"])
async def test_a_retry_while_a_cancelled_attempts_key_is_being_forgotten_is_reported(
    kind: str,
) -> None:
    # The first attempt was cancelled unanswered and unreported: its key is being forgotten
    # in a worker thread. A retry taken for a replay before that would be lost.
    guard = SlowForgetGuard()
    reported: list[str] = []
    entered = asyncio.Event()

    async def on_report(event: webhooks.WebhookEvent) -> None:
        if kind == "after_report" and not entered.is_set():
            entered.set()
            await asyncio.Event().wait()  # the first attempt's report never ends
        reported.append(event.event_id)

    async def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        reported.extend(event.event_id for event in events)

    app = webhooks.app(
        "lisoloo",
        secret="u:p",
        acknowledge="after_report" if kind == "after_report" else "on_receipt",
        replay_guard=guard,
        **({"on_reports": on_reports} if kind == "on_reports" else {"on_report": on_report}),
    )
    if kind == "after_report":
        first = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
        await asyncio.wait_for(entered.wait(), 10)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
    else:
        await cancel_while_answering(app)  # its 2xx never went out
    retry = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    assert await held(retry)  # no answer while the first's key is still there
    guard.release.set()
    assert await retry == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1  # reported by the retry


@pytest.mark.anyio
async def test_a_retry_while_a_failed_attempts_key_is_forgotten_is_reported() -> None:
    # on_report raised, so the key is being forgotten before the 500, and the request is
    # cancelled meanwhile: the forget still runs, and the retry waits for it.
    guard = SlowForgetGuard()
    reported: list[str] = []

    async def on_report(event: webhooks.WebhookEvent) -> None:
        reported.append(event.event_id)
        if len(reported) == 1:
            raise RuntimeError("database down")

    app = lisoloo_receiver(on_report, guard)
    await cancel_once(app, guard.forgetting)  # a server's shutdown timeout, say
    retry = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    assert await held(retry)  # no answer while the key is still there
    guard.release.set()
    assert await retry == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 2  # the retry was reported, not taken for a replay


@pytest.mark.anyio
async def test_a_copy_given_up_on_leaves_the_other_copies_waiting() -> None:
    # A copy waiting for the attempt is cancelled (a timeout middleware): the other copies
    # still wait for the attempt, and get its answer.
    entered, release = asyncio.Event(), asyncio.Event()
    reported: list[str] = []

    async def on_report(event: webhooks.WebhookEvent) -> None:
        entered.set()
        await release.wait()
        reported.append(event.event_id)

    app = lisoloo_receiver(on_report, webhooks.MemoryReplayGuard())
    first = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    await asyncio.wait_for(entered.wait(), 10)
    given_up, waiting = (
        asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p"))) for _ in range(2)
    )
    assert await held(given_up)
    given_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await given_up
    assert await held(waiting)
    release.set()
    assert [await first, await waiting] == [200, 200]
    assert len(reported) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_an_add_refused_a_worker_thread_leaves_no_retry_waiting(
    acknowledge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No thread for the guard's add (the interpreter exiting): answered 500 with nothing
    # added, so the provider's retry is taken afresh, not held for an add never made.
    reported, app = recording_receiver(OtherStoreGuard(), acknowledge)
    monkeypatch.setattr(concurrent.futures.thread, "_shutdown", True)
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 500
    monkeypatch.undo()
    assert await asyncio.wait_for(call_asgi(app, LISOLOO_BODY, basic("u:p")), 10) == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1


@pytest.mark.anyio
async def test_a_delivery_remembered_and_then_cancelled_while_answered_is_still_reported() -> None:
    # Its key is stored, so the provider's retry will be answered as a replay: whether or
    # not the first 200 reached the provider, the report must be made.
    reported, app = recording_receiver(webhooks.MemoryReplayGuard())
    await cancel_while_answering(app)
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 200  # the retry: a replay
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1


class FailingGuard:
    """A replay guard whose store is down: `add` (or only `discard`) raises."""

    def __init__(self, *, add_fails: bool) -> None:
        self.add_fails = add_fails
        self.inner = webhooks.MemoryReplayGuard()

    def add(self, key: str, *, ttl: float) -> bool:
        if self.add_fails:
            raise ConnectionError("redis is down")
        return self.inner.add(key, ttl=ttl)

    def discard(self, key: str) -> None:
        raise ConnectionError("redis is down")


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_a_replay_guard_that_fails_is_answered_500_and_nothing_is_reported(
    acknowledge: str, caplog: pytest.LogCaptureFixture
) -> None:
    reported: list[str] = []
    app = webhooks.app(
        "lisoloo",
        secret="u:p",
        on_report=reported.append,
        acknowledge=acknowledge,
        replay_guard=FailingGuard(add_fails=True),
    )
    assert (await post(app, LISOLOO_BODY, basic("u:p"))).status_code == 500  # then retried
    assert await asyncio.to_thread(app.drain, 10)
    assert reported == []
    assert "the replay guard failed for lisoloo" in caplog.text


@pytest.mark.anyio
async def test_a_guard_that_cannot_forget_still_answers_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def on_report(event: webhooks.WebhookEvent) -> None:
        raise RuntimeError("database down")

    app = lisoloo_receiver(on_report, FailingGuard(add_fails=False))
    assert (await post(app, LISOLOO_BODY, basic("u:p"))).status_code == 500
    assert "could not forget a lisoloo delivery" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize("fails", [False, True], ids=["reported", "on_report raised"])
async def test_on_receipt_past_its_backlog_answers_only_once_reported(
    monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    # A sync on_report far behind: deliveries answered 2xx and queued in memory for it are
    # capped; past the cap a delivery is answered as with "after_report".
    from sms_status.webhooks import _app

    monkeypatch.setattr(_app, "POSTED_BACKLOG", 0)  # every delivery is past it
    entered, release = threading.Event(), threading.Event()

    def on_report(event: webhooks.WebhookEvent) -> None:
        entered.set()
        assert release.wait(10)
        if fails:
            raise RuntimeError("database down")

    app = webhooks.app("telecom23", secret=SECRET, on_report=on_report, clock=lambda: NOW)
    answer = asyncio.ensure_future(post(app, BODY, HEADERS))
    assert await asyncio.to_thread(entered.wait, 10)
    assert not answer.done()  # held until reported
    release.set()
    assert (await answer).status_code == (500 if fails else 200)


async def _until(done: Any) -> None:
    """Let the loop run until `done()` (no clock involved: every step here is in-process)."""
    for _ in range(10_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("the receiver never got there")


def _hung_receiver(**options: Any) -> tuple[Any, asyncio.Event, list[webhooks.WebhookEvent]]:
    """A telecom23 receiver whose async on_report notes each event, then waits for
    `release`: (the app, release, the events it was given)."""
    release, entered = asyncio.Event(), []

    async def on_report(event: webhooks.WebhookEvent) -> None:
        entered.append(event)
        await release.wait()

    options.update(secret=SECRET, on_report=on_report, clock=lambda: NOW)
    return webhooks.app("telecom23", **options), release, entered


async def _in_turn(
    app: Any, count: int, placed: Any
) -> tuple[list[asyncio.Future[None]], list[list[int]]]:
    """`count` copies of the signed delivery, each sent once the one before was answered or
    `placed(n)` (waiting where expected): their tasks, and the statuses each was answered."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
    scope = {"type": "http", "method": "POST", "path": "/hook", "headers": raw_headers}
    answers: list[list[int]] = [[] for _ in range(count)]
    tasks: list[asyncio.Future[None]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    for n in range(count):

        async def send(message: Any, answer: list[int] = answers[n]) -> None:
            if message["type"] == "http.response.start":
                answer.append(message["status"])

        tasks.append(asyncio.ensure_future(app(dict(scope), receive, send)))
        await _until(lambda n=n: tasks[n].done() or placed(n))
    return tasks, answers


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_requests_held_for_a_hung_on_report_are_capped(
    monkeypatch: pytest.MonkeyPatch, acknowledge: Literal["on_receipt", "after_report"]
) -> None:
    # With an async on_report: "on_receipt" answered every delivery 200 and kept it for a
    # report that never came (no backlog cap, as a sync on_report has), and "after_report"
    # held every request, its sender long gone: memory grew with each one.
    from sms_status.webhooks import _app

    monkeypatch.setattr(_app, "POSTED_BACKLOG", 2)
    monkeypatch.setattr(_app, "HELD_MAX", 4)
    app, release, entered = _hung_receiver(acknowledge=acknowledge)
    tasks, answers = await _in_turn(app, 6, lambda n: len(entered) == n + 1)
    # Two answered and reported, two held for their report (past the backlog), two refused.
    held = [[200], [200], [], []] if acknowledge == "on_receipt" else [[], [], [], []]
    assert answers == [*held, [503], [503]]
    release.set()
    await asyncio.gather(*tasks)
    assert answers == [[200]] * 4 + [[503]] * 2
    assert len(entered) == 4


@pytest.mark.anyio
async def test_copies_of_a_delivery_held_for_a_hung_on_report_count_toward_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With a replay guard, a copy waits for the attempt still being taken: the cap counted
    # only that attempt, so the provider's retries (or anyone resending an unsigned body)
    # were each one more request held for as long as on_report hung.
    from sms_status.webhooks import _app

    monkeypatch.setattr(_app, "HELD_MAX", 4)
    app, release, entered = _hung_receiver(
        acknowledge="after_report", replay_guard=webhooks.MemoryReplayGuard()
    )
    tasks, answers = await _in_turn(app, 6, lambda n: app._held == n + 1)  # one delivery
    assert answers == [[], [], [], [], [503], [503]]  # one reported, three copies waiting
    release.set()
    await asyncio.gather(*tasks)
    assert answers == [[200]] * 4 + [[503]] * 2
    assert len(entered) == 1


@pytest.mark.anyio
async def test_copies_cancelled_while_they_wait_leave_nothing_on_the_attempt() -> None:
    # Each copy's wake-up stayed on the attempt's outcome until the attempt ended: with a
    # hung on_report, for ever, one more per copy a server cancelled.
    import concurrent.futures

    from sms_status.webhooks._once import settled

    outcome = concurrent.futures.Future[int]()
    waits = [asyncio.ensure_future(settled(outcome)) for _ in range(100)]
    await asyncio.sleep(0)
    for wait in waits:
        wait.cancel()
    await asyncio.gather(*waits, return_exceptions=True)
    assert outcome._done_callbacks == []  # type: ignore[attr-defined]


def test_an_unknown_acknowledge_fails_when_the_app_is_built() -> None:
    with pytest.raises(ValueError, match="acknowledge"):
        webhooks.app(
            "namirial",
            secret=None,
            on_report=print,
            acknowledge="later",  # type: ignore[arg-type]
        )


@pytest.mark.anyio
async def test_a_client_gone_before_its_body_is_neither_answered_nor_reported() -> None:
    seen: list[webhooks.WebhookEvent] = []
    app = webhooks.app("telecom23", secret=SECRET, on_report=seen.append, clock=lambda: NOW)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/hook", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    assert (sent, seen) == ([], [])


@pytest.mark.anyio
async def test_on_receipt_returns_before_a_sync_on_report_and_shutdown_waits_for_it() -> None:
    stored, release, app = gated_receiver()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        response = await client.post("/hook", content=BODY, headers=HEADERS)
    assert (response.status_code, stored) == (200, [])  # the app's call returned first
    shutdown = asyncio.ensure_future(shut_down(app))
    done, _ = await asyncio.wait([shutdown], timeout=0.2)
    assert not done  # the lifespan shutdown waits for the report still being made
    release.set()
    await asyncio.wait_for(shutdown, 10)
    assert stored == ["api_42_1743667200123456789_a3f8b2c1d9e45f67"]


@pytest.mark.anyio
async def test_a_sync_on_report_returning_a_coroutine_has_it_run_on_the_loop() -> None:
    stored: list[str] = []
    done = asyncio.Event()

    async def store(event: webhooks.WebhookEvent) -> None:
        stored.append(event.report.message_id)
        done.set()

    app = webhooks.app(
        "telecom23",
        secret=SECRET,
        on_report=lambda event: store(event),  # noqa: PLW0108 - a sync wrapper, as meant
        clock=lambda: NOW,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        assert (await client.post("/hook", content=BODY, headers=HEADERS)).status_code == 200
    await asyncio.wait_for(done.wait(), 10)
    assert stored == ["api_42_1743667200123456789_a3f8b2c1d9e45f67"]


@pytest.mark.anyio
async def test_drain_waits_for_the_coroutine_a_sync_on_report_returned() -> None:
    # A shutdown drains before closing what on_report writes to: a report still running on
    # the loop (as a coroutine a sync wrapper returned) has not been made yet.
    stored: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def store(event: webhooks.WebhookEvent) -> None:
        started.set()
        await release.wait()
        stored.append(event.report.message_id)

    app = webhooks.app(
        "telecom23",
        secret=SECRET,
        on_report=lambda event: store(event),  # noqa: PLW0108 - a sync wrapper, as meant
        clock=lambda: NOW,
    )
    assert (await post(app, BODY, HEADERS)).status_code == 200
    await asyncio.wait_for(started.wait(), 10)
    assert not await asyncio.to_thread(app.drain, 0.05)  # still running: not drained
    release.set()
    assert await asyncio.to_thread(app.drain, 10)
    assert stored == ["api_42_1743667200123456789_a3f8b2c1d9e45f67"]


@pytest.mark.anyio
@pytest.mark.parametrize("raised", [RuntimeError("database down"), SystemExit(3)])
async def test_a_raising_on_report_loses_no_other_delivery_and_drain_still_ends(
    raised: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    stored: list[str] = []
    lock = threading.Lock()

    def on_report(event: webhooks.WebhookEvent) -> None:
        if event.report.message_id == "m-1":
            raise raised
        with lock:
            stored.append(event.report.message_id)

    app = webhooks.app("telecom23", secret=SECRET, on_report=on_report, clock=lambda: NOW)
    payload = spec_example("telecom23", "deliveryReport", "delivered")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        for n in range(40):
            payload["message_id"] = f"m-{n}"
            body = json.dumps(payload).encode()
            headers = telecom23_headers(SECRET, body, NOW)
            assert (await client.post("/hook", content=body, headers=headers)).status_code == 200
    with caplog.at_level(logging.ERROR, "sms_status.webhooks"):
        assert await asyncio.to_thread(app.drain, 10)  # every worker came back
    assert sorted(stored) == sorted(f"m-{n}" for n in range(40) if n != 1)
    assert "on_report failed for telecom23 event 'm-1" in caplog.text


@pytest.mark.anyio
async def test_mounted_under_starlette_drain_waits_for_the_reports() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    stored, release, receiver = gated_receiver()
    host = Starlette(routes=[Mount("/hooks", app=receiver)])
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        assert (await client.post("/hooks/t", content=BODY, headers=HEADERS)).status_code == 200
    assert not await asyncio.to_thread(receiver.drain, 0.05)  # still gated: not drained
    release.set()
    assert await asyncio.to_thread(receiver.drain, 10)
    assert stored == ["api_42_1743667200123456789_a3f8b2c1d9e45f67"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["async on_report", "on_reports"])
async def test_on_receipt_cancelled_while_answering_loses_no_delivery(kind: str) -> None:
    # Reported after the 2xx: a send cancelled leaves nothing reported, so the key must not
    # stay, or the provider's retry is answered 200 as a replay and the delivery is lost.
    reported: list[str] = []

    async def on_report(event: webhooks.WebhookEvent) -> None:
        reported.append(event.event_id)

    async def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        reported.extend(event.event_id for event in events)

    options: dict[str, Any] = (
        {"on_report": on_report} if kind == "async on_report" else {"on_reports": on_reports}
    )
    app = webhooks.app(
        "lisoloo",
        secret="u:p",
        acknowledge="on_receipt",
        replay_guard=webhooks.MemoryReplayGuard(),
        **options,
    )
    await cancel_while_answering(app)  # no 2xx reached the provider
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 200  # the provider's retry
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1  # reported once: by the first attempt or by its retry


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["async on_report", "on_reports"])
async def test_on_receipt_answers_a_copy_at_once_while_the_first_is_still_reported(
    kind: str,
) -> None:
    # The first attempt's 200 is out (lost on its way, say): the provider's retry is a
    # replay to answer 200 at once, as with a sync on_report, not held (for ever, with a
    # hung store) until the first's report returns, piling up retries meanwhile.
    entered, release = asyncio.Event(), asyncio.Event()
    reported: list[str] = []

    async def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        entered.set()
        await release.wait()
        reported.extend(event.event_id for event in events)

    async def on_report(event: webhooks.WebhookEvent) -> None:
        await on_reports([event])

    options: dict[str, Any] = (
        {"on_report": on_report} if kind == "async on_report" else {"on_reports": on_reports}
    )
    app = webhooks.app(
        "lisoloo", secret="u:p", replay_guard=webhooks.MemoryReplayGuard(), **options
    )
    first = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    await asyncio.wait_for(entered.wait(), 10)
    copy = await asyncio.wait_for(call_asgi(app, LISOLOO_BODY, basic("u:p")), 10)
    assert (copy, reported) == (200, [])  # answered while the first is still reported
    release.set()
    assert await first == 200
    assert len(reported) == 1  # the copy reported nothing


@pytest.mark.anyio
async def test_an_async_report_cancelled_after_its_2xx_is_logged_not_silently_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # uvicorn cancels requests still running past its graceful-shutdown timeout: the
    # provider has its 2xx, so the lost report must at least be said.
    entered = asyncio.Event()

    async def on_report(event: webhooks.WebhookEvent) -> None:
        entered.set()
        await asyncio.Event().wait()  # a slow database

    app = webhooks.app("lisoloo", secret="u:p", on_report=on_report)
    request = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    await asyncio.wait_for(entered.wait(), 10)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert "was cancelled after its 2xx: not reported" in caplog.text
    assert "f8a3b7c1-2e4d-4a9b-9d8f-7c6e5b4a3d2c" in caplog.text  # which delivery


class SlowBusyClaimGuard(webhooks.RedisReplayGuard):
    """A Redis guard whose first claim is slow (a round trip under load) and finds the
    delivery claimed by another receiver (`other`), which is reporting it."""

    def __init__(self, client: redis.Redis, other: webhooks.RedisReplayGuard) -> None:
        super().__init__(client, prefix="busy:")
        self.other = other
        self.claiming, self.go = threading.Event(), threading.Event()
        self.key: str | None = None

    def claim(self, key: str, *, token: str | None = None) -> str:
        if self.key is None:
            self.key = key
            assert self.other.claim(key) == "new"
            self.claiming.set()
            assert self.go.wait(10), "the test never let the claim go"
        return super().claim(key, token=token)


@pytest.mark.anyio
@pytest.mark.parametrize("then", ["reported elsewhere", "its lease lapsed"])
async def test_a_copy_after_a_busy_claim_whose_request_was_cancelled_is_answered(
    redis_client: redis.Redis, redis_url: str, then: str
) -> None:
    # Cancelled while its claim was on its way, which found the delivery being reported by
    # another receiver: nothing was taken, so the provider's next copy here is answered.
    other = webhooks.RedisReplayGuard(redis.Redis.from_url(redis_url), prefix="busy:")
    guard = SlowBusyClaimGuard(redis_client, other)
    reported, app = recording_receiver(guard, "after_report")
    first = asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    assert await asyncio.to_thread(guard.claiming.wait, 10)
    first.cancel()
    guard.go.set()  # the claim answers "busy" after the cancel
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.to_thread(app.drain, 10)  # the claim's thread is done
    assert guard.key is not None
    if then == "reported elsewhere":
        other.confirm(guard.key, ttl=600)
    else:
        other.discard(guard.key)  # as when the other receiver's lease lapses
    retry = await asyncio.wait_for(call_asgi(app, LISOLOO_BODY, basic("u:p")), 10)
    assert retry == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == (0 if then == "reported elsewhere" else 1)


@pytest.mark.anyio
async def test_a_report_made_then_cancelled_before_its_claim_was_confirmed_is_a_replay(
    redis_client: redis.Redis,
) -> None:
    # The server's cancel lands as on_report returns: the report was made, so its claim is
    # still confirmed (not left pending, which would answer 503 for the whole lease and
    # then report it again).
    reported: list[str] = []

    async def on_report(event: webhooks.WebhookEvent) -> None:
        reported.append(event.event_id)
        if len(reported) == 1:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # delivered at the receiver's next await, after the report

    guard = webhooks.RedisReplayGuard(redis_client, prefix="confirm:")
    app = lisoloo_receiver(on_report, guard, "after_report")
    with pytest.raises(asyncio.CancelledError):
        await asyncio.ensure_future(call_asgi(app, LISOLOO_BODY, basic("u:p")))
    assert await asyncio.to_thread(app.drain, 10)
    [key] = redis_client.keys("confirm:*")
    assert not (redis_client.get(key) or b"").startswith(b"p:")  # seen, not pending
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 200  # a replay
    assert len(reported) == 1


class _Lines(logging.Handler):
    """Keeps what a production handler would print (the message, whether a traceback went
    with it), not the record: the exception is freed once logged, as under a StreamHandler."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, bool]] = []

    def emit(self, record: Any) -> None:
        self.lines.append((record.getMessage(), record.exc_info is not None))


@pytest.mark.anyio
async def test_different_failures_each_log_their_traceback() -> None:
    # One traceback per failed batch, found by the exception's identity: a freed one's
    # id() is soon another's (CPython reuses its memory).
    calls = iter(range(100))
    first_in, go_on = threading.Event(), threading.Event()

    def on_report(event: webhooks.WebhookEvent) -> None:
        number = next(calls)
        if number == 0:  # holds the worker while the others queue up (one batch)
            first_in.set()
            assert go_on.wait(10)
        raise KeyError(f"failure number {number}")  # a new, unrelated failure each time

    secret, now = "whsec_x", 1_770_978_604
    payload = spec_example("telecom23", "deliveryReport", "delivered")
    app = webhooks.app("telecom23", secret=secret, on_report=on_report, clock=lambda: float(now))
    lines = _Lines()
    log = logging.getLogger("sms_status.webhooks")
    log.addHandler(lines)
    log.propagate = False  # pytest's own capture keeps records, so exceptions, alive
    try:
        for n in range(4):
            payload["message_id"] = f"m-{n}"
            body = json.dumps(payload).encode()
            assert await call_asgi(app, body, telecom23_headers(secret, body, now)) == 200
            if n == 0:
                await asyncio.to_thread(first_in.wait, 10)
        go_on.set()
        assert await asyncio.to_thread(app.drain, 10)
    finally:
        log.removeHandler(lines)
        log.propagate = True
    failures = [line for line in lines.lines if line[0].startswith("on_report failed")]
    assert len(failures) == 4
    # Four unrelated exceptions: each one's traceback is logged.
    assert all(with_traceback for _, with_traceback in failures), failures


class RepliesTimeOutGuard(webhooks.RedisReplayGuard):
    """A Redis guard whose add or claim reaches Redis, and whose reply times out (Redis
    slow): what a receiver meets when another one took the delivery meanwhile, or not."""

    def claim(self, key: str, *, token: str | None = None) -> str:
        super().claim(key, token=token)
        raise redis.TimeoutError("Timeout reading from socket")

    def add(self, key: str, *, ttl: float, token: str | None = None) -> bool:
        super().add(key, ttl=ttl, token=token)
        raise redis.TimeoutError("Timeout reading from socket")


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["after_report", "on_receipt"])
async def test_a_copy_whose_guard_timed_out_erases_only_what_it_wrote(
    redis_client: redis.Redis, redis_url: str, acknowledge: str
) -> None:
    """Receiver A reported a delivery; a copy at receiver B, whose claim's reply timed out,
    used to delete the key whatever it held: A's record of the report. The provider's next
    copy was then reported again."""
    reported_at_a, a = recording_receiver(
        webhooks.RedisReplayGuard(redis.Redis.from_url(redis_url), prefix="slow:"), acknowledge
    )
    reported_at_b, b = recording_receiver(
        RepliesTimeOutGuard(redis_client, prefix="slow:"), acknowledge
    )
    assert await call_asgi(a, LISOLOO_BODY, basic("u:p")) == 200
    assert await asyncio.to_thread(a.drain, 10)
    assert await call_asgi(b, LISOLOO_BODY, basic("u:p")) == 500
    assert redis_client.keys("slow:*")  # A's record stands
    assert await call_asgi(a, LISOLOO_BODY, basic("u:p")) == 200  # a replay
    assert await asyncio.to_thread(a.drain, 10)
    assert await asyncio.to_thread(b.drain, 10)
    assert (len(reported_at_a), reported_at_b) == (1, [])


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["after_report", "on_receipt"])
async def test_a_key_taken_by_an_add_whose_reply_timed_out_is_forgotten(
    redis_client: redis.Redis, acknowledge: str
) -> None:
    # Nobody else took it: what the timed-out add or claim wrote goes, so the retry is new.
    reported, app = recording_receiver(
        RepliesTimeOutGuard(redis_client, prefix="lost:"), acknowledge
    )
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 500
    assert await asyncio.to_thread(app.drain, 10)
    assert redis_client.keys("lost:*") == []
    assert reported == []


def passed_on(method: Any) -> Any:
    """A decorator without `functools.wraps`: its `**kwargs` would pass `token=` on."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return wrapper


class OlderSignaturesGuard(webhooks.RedisReplayGuard):
    """A user's subclass written before `token=`: its overrides take none, behind a
    decorator that shows only `**kwargs`."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(client, prefix="older:")
        self.calls: list[str] = []

    @passed_on
    def claim(self, key: str) -> str:  # type: ignore[override]
        self.calls.append("claim")
        return super().claim(key)

    @passed_on
    def add(self, key: str, *, ttl: float) -> bool:  # type: ignore[override]
        self.calls.append("add")
        return super().add(key, ttl=ttl)

    @passed_on
    def discard(self, key: str) -> None:  # type: ignore[override]
        self.calls.append("discard")
        super().discard(key)


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["after_report", "on_receipt"])
async def test_a_guard_subclass_without_tokens_is_called_as_before(
    redis_client: redis.Redis, acknowledge: str
) -> None:
    # Passed token= to overrides that take none: every delivery answered 500, unreported.
    guard = OlderSignaturesGuard(redis_client)
    reported, app = recording_receiver(guard, acknowledge)
    assert await call_asgi(app, LISOLOO_BODY, basic("u:p")) == 200
    assert await asyncio.to_thread(app.drain, 10)
    assert len(reported) == 1
    assert guard.calls == ["claim" if acknowledge == "after_report" else "add"]


@pytest.mark.anyio
async def test_deliveries_waiting_for_a_stalled_replay_guard_count_toward_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A Redis that stopped answering held each delivery in the guard's call: those were not
    # counted, so every delivery a provider gave up on stayed parked, past HELD_MAX, with
    # no 503 ever.
    import threading

    from sms_status.webhooks import _app

    monkeypatch.setattr(_app, "HELD_MAX", 4)
    stalled = threading.Event()

    class StalledGuard:  # as a RedisReplayGuard, called in a worker thread
        def __init__(self) -> None:
            self.memory = webhooks.MemoryReplayGuard()

        def add(self, key: str, *, ttl: float) -> bool:
            stalled.wait(30)
            return self.memory.add(key, ttl=ttl)

        def discard(self, key: str) -> None:
            self.memory.discard(key)

    app, release, entered = _hung_receiver(acknowledge="after_report", replay_guard=StalledGuard())
    release.set()
    tasks, answers = await _in_turn(app, 6, lambda n: app._held == n + 1)
    assert answers == [[], [], [], [], [503], [503]]  # one in the guard, three copies waiting
    stalled.set()
    await asyncio.gather(*tasks)
    assert answers == [[200]] * 4 + [[503]] * 2
    assert len(entered) == 1
