"""webhooks.app(on_reports=...): the deliveries verified together reach one call, and each
is answered as its batch's call went (200 once it returned with "after_report", 500 for every
delivery of a batch whose call raised)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sms_status import tracking, webhooks
from webhook_support import serve, shut_down, spec_example, telecom23_headers

NOW = 1_770_978_604
SECRET = "whsec_batch_test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Signed telecom23 delivery reports of the docs' example, ids m-0 .. m-<count - 1>."""
    payload = spec_example("telecom23", "deliveryReport", "delivered")
    signed = []
    for n in range(count):
        payload["message_id"] = f"m-{n}"
        body = json.dumps(payload).encode()
        signed.append((body, telecom23_headers(SECRET, body, NOW)))
    return signed


def receiver(on_reports: Callable[[list[webhooks.WebhookEvent]], Any], **options: Any) -> Any:
    return webhooks.app(
        "telecom23", secret=SECRET, on_reports=on_reports, clock=lambda: float(NOW), **options
    )


async def post_all(app: Any, signed: list[tuple[bytes, dict[str, str]]]) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        answers = await asyncio.gather(
            *(client.post("/hook", content=body, headers=headers) for body, headers in signed)
        )
    return [answer.status_code for answer in answers]


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_deliveries_arriving_together_reach_on_reports_in_batches_each_once(
    acknowledge: str, kind: str
) -> None:
    batches: list[list[str]] = []
    lock = threading.Lock()

    def record(events: list[webhooks.WebhookEvent]) -> None:
        with lock:
            batches.append([event.report.message_id for event in events])

    async def record_async(events: list[webhooks.WebhookEvent]) -> None:
        record(events)

    app = receiver(record if kind == "sync" else record_async, acknowledge=acknowledge)
    assert set(await post_all(app, deliveries(300))) == {200}
    await shut_down(app)
    reported = [message_id for batch in batches for message_id in batch]
    assert sorted(reported) == sorted(f"m-{n}" for n in range(300))  # each once
    assert len(batches) < 300  # together, not one call a delivery
    assert max(len(batch) for batch in batches) <= 256


@pytest.mark.anyio
async def test_after_report_answers_500_to_every_delivery_of_a_batch_whose_call_raised() -> None:
    calls: list[int] = []

    def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        calls.append(len(events))
        raise RuntimeError("database down")

    statuses = await post_all(receiver(on_reports, acknowledge="after_report"), deliveries(20))
    assert statuses == [500] * 20
    assert sum(calls) == 20


@pytest.mark.anyio
@pytest.mark.parametrize("acknowledge", ["on_receipt", "after_report"])
async def test_a_raising_batch_is_logged_per_delivery_with_its_traceback_once(
    acknowledge: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        calls.append(len(events))
        raise RuntimeError("database down")

    app = receiver(on_reports, acknowledge=acknowledge)
    statuses = await post_all(app, deliveries(20))
    assert statuses == [200 if acknowledge == "on_receipt" else 500] * 20
    await shut_down(app)
    failed = [r for r in caplog.records if "on_report failed" in r.getMessage()]
    assert len(failed) == 20  # each delivery named
    assert len([r for r in failed if r.exc_info]) == len(calls) < 20  # a traceback a batch


def test_into_a_tracker_over_loopback_each_200_means_settled_in_the_store(
    tmp_path: Path,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    signed = deliveries(60)
    with tracking.Tracker(tmp_path / "t.db", on_final=lambda outcome: None) as tracker:
        tracker.add_many("telecom23", (f"m-{n}" for n in range(60)))
        app = receiver(tracker.ingest_many, acknowledge="after_report")
        with serve(app) as origin, httpx.Client(base_url=origin, timeout=10) as client:

            def deliver(body: bytes, headers: dict[str, str]) -> bool:
                answer = client.post("/hook", content=body, headers=headers)
                message_id = json.loads(body)["message_id"]
                tracked = tracker.get("telecom23", message_id)  # read as the 2xx arrives
                return (
                    answer.status_code == 200
                    and tracked is not None
                    and (tracked.outcome is not None)
                )

            with ThreadPoolExecutor(16) as pool:
                assert all(pool.map(lambda d: deliver(*d), signed))
        assert tracker.counts().settled == 60


@pytest.mark.anyio
async def test_into_an_async_tracker_each_200_means_settled_in_the_store(
    tmp_path: Path,
) -> None:
    async with tracking.AsyncTracker(tmp_path / "t.db", on_final=lambda outcome: None) as tracker:
        await tracker.add_many("telecom23", (f"m-{n}" for n in range(40)))
        app = receiver(tracker.ingest_many, acknowledge="after_report")
        assert set(await post_all(app, deliveries(40))) == {200}
        assert (await tracker.counts()).settled == 40


def test_exactly_one_of_on_report_and_on_reports_is_taken() -> None:
    def one(event: webhooks.WebhookEvent) -> None: ...

    def many(events: list[webhooks.WebhookEvent]) -> None: ...

    with pytest.raises(TypeError, match="exactly one"):
        webhooks.app("telecom23", secret=SECRET)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="exactly one"):
        webhooks.app("telecom23", secret=SECRET, on_report=one, on_reports=many)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="on_reports must be callable"):
        webhooks.app("telecom23", secret=SECRET, on_reports="ingest_many")  # type: ignore[call-overload]


@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt()], ids=repr)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_batch_raising_systemexit_answers_500_and_the_server_keeps_serving(
    raised: BaseException, kind: str
) -> None:
    calls: list[int] = []

    def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        calls.append(len(events))
        if len(calls) == 1:
            raise raised

    async def on_reports_async(events: list[webhooks.WebhookEvent]) -> None:
        on_reports(events)

    app = receiver(on_reports if kind == "sync" else on_reports_async, acknowledge="after_report")
    (first, first_headers), (second, second_headers) = deliveries(2)
    with serve(app) as origin, httpx.Client(base_url=origin, timeout=10) as client:
        assert client.post("/hook", content=first, headers=first_headers).status_code == 500
        assert client.post("/hook", content=second, headers=second_headers).status_code == 200
    assert calls == [1, 1]


@pytest.mark.anyio
async def test_a_lifespan_shutdown_waits_for_a_stuck_batch_no_longer_than_the_drain_cap(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sms_status.webhooks import _app

    monkeypatch.setattr(_app, "DRAIN_SECONDS", 0.2)
    entered, release = threading.Event(), threading.Event()

    def stuck(events: list[webhooks.WebhookEvent]) -> None:
        entered.set()
        assert release.wait(10), "the test never released on_reports"

    app = receiver(stuck)
    posting = asyncio.ensure_future(post_all(app, deliveries(1)))
    try:
        assert await asyncio.to_thread(entered.wait, 10)
        await shut_down(app)  # returns: the cap, not the stuck call, ends the wait
        assert any("still running" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
        assert await posting == [200]


def test_one_receiver_serving_from_several_event_loops_answers_every_delivery() -> None:
    reported: list[str] = []
    lock = threading.Lock()

    def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        with lock:
            reported.extend(event.report.message_id for event in events)

    app = receiver(on_reports, acknowledge="after_report")
    signed = deliveries(400)
    answered: list[int] = []

    def serve_on_a_loop_of_its_own(share: list[tuple[bytes, dict[str, str]]]) -> None:
        statuses = asyncio.run(post_all(app, share))
        with lock:
            answered.extend(statuses)

    threads = [
        threading.Thread(target=serve_on_a_loop_of_its_own, args=(signed[n::8],), daemon=True)
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + 30  # a delivery settled on another loop is never answered
    for thread in threads:
        thread.join(max(0.0, give_up - time.monotonic()))
    assert sorted(answered) == [200] * 400, f"{400 - len(answered)} deliveries unanswered"
    assert sorted(reported) == sorted(f"m-{n}" for n in range(400))
