"""The delivery tracker as users write it: sync and async, callbacks, stores, results."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sms_status import DeliveryState, StatusReport, tracking, webhooks


def save(outcome: tracking.Outcome) -> None:
    state: DeliveryState = outcome.state
    settled: datetime = outcome.settled_at
    report: StatusReport | None = outcome.report
    key: str = outcome.key
    delivery: int = outcome.delivery
    reason: tracking.Reason = outcome.reason  # its Literal, by a public name
    source: tracking.Source | None = outcome.source
    print(reason, source)
    print(state, settled, report, key, delivery, outcome.reason, outcome.source, outcome.to_dict())


def track_sync(ids: list[str]) -> int:
    with tracking.Tracker("deliveries.db", on_final=save, deadline=3600.0) as tracker:
        new: int = tracker.add_many("seven", ids, tag="campaign-7")
        added: bool = tracker.add("telecom23", "api_42_1", tag=None, deadline=600)
        tracker.run(until_idle=True)
        tracked: tracking.Tracked | None = tracker.get("telecom23", "api_42_1")
        if tracked is not None and tracked.outcome is not None:
            print(tracked.outcome.reason, tracked.polls, tracked.next_poll_at)
        counts: tracking.Counts = tracker.counts()
        print(counts.in_flight, counts.by_state.get("delivered", 0), counts.awaiting_handover)
        return new + int(added)


def in_a_forked_worker(store: tracking.SqliteStore) -> int | None:
    try:
        return store.counts().in_flight
    except tracking.StoreForkedError as exc:  # opened before the fork: open one here
        message: str = str(exc)
        print(message)
        return None


def receiver(tracker: tracking.Tracker) -> object:
    return webhooks.app("telecom23", secret="whsec_x", on_report=tracker.ingest)


def batched_receiver(tracker: tracking.Tracker) -> webhooks.Receiver:
    return webhooks.app(
        "telecom23", secret="whsec_x", on_reports=tracker.ingest_many, acknowledge="after_report"
    )


def async_batched_receiver(tracker: tracking.AsyncTracker) -> webhooks.Receiver:
    return webhooks.app("seven", secret="whsec_y", on_reports=tracker.ingest_many)


def on_event(tracker: tracking.Tracker, event: webhooks.WebhookEvent) -> bool:
    return tracker.ingest(event)


def on_events(tracker: tracking.Tracker, events: list[webhooks.WebhookEvent]) -> int:
    changed: list[bool] = tracker.ingest_many(events)
    return sum(changed)


async def track_async(ids: list[str]) -> None:
    async def save_async(outcome: tracking.Outcome) -> None:
        await asyncio.sleep(0)
        print(outcome.key)

    store = tracking.SqliteStore("deliveries.db", synchronous="FULL", retention=7 * 86400)
    async with tracking.AsyncTracker(store, on_final=save_async, webhooks=["seven"]) as tracker:
        await tracker.add_many("seven", ids)
        changed: bool = await tracker.ingest(
            StatusReport(
                provider="seven",
                message_id=ids[0],
                state=DeliveryState.DELIVERED,
                is_final=True,
                provider_status="DELIVERED",
            )
        )
        print(changed)
        await tracker.run()
        tracker.stop()
