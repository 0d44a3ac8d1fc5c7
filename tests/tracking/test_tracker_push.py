"""Push first: pushed reports settle at once, defer polling, beat `add()`, and nothing after an
outcome changes it — under every arrival order (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sms_status import tracking
from sms_status.report import DeliveryState, StatusReport
from sms_status.testing import FakeClock, Sandbox
from sms_status.tracking._rules import DEFAULT_MAX_INTERVAL, EARLY_PUSH_TTL
from tracking_support import MakeTracker

T0 = datetime(2026, 2, 13, 10, 30, tzinfo=UTC)


def pushed(
    message_id: str,
    state: DeliveryState,
    *,
    final: bool,
    at: float,
    provider: str = "telecom23",
    status: str | None = None,
) -> StatusReport:
    return StatusReport(
        provider=provider,
        message_id=message_id,
        state=state,
        is_final=final,
        provider_status=status or state.value.upper(),
        updated_at=T0 + timedelta(seconds=at),
    )


def _status_requests(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.route == "status")


def test_a_final_push_settles_at_once_with_no_poll(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "m1")
        assert tracker.ingest(pushed("m1", DeliveryState.DELIVERED, final=True, at=2))
        assert outcomes == []  # on_final is only ever called from run()
        tracker.run()
    (outcome,) = outcomes
    assert (outcome.reason, outcome.source, outcome.polls) == ("final", "push", 0)
    assert outcome.state is DeliveryState.DELIVERED
    assert _status_requests(telecom23_sandbox) == 0


def test_a_non_final_push_defers_the_next_poll_to_the_cap(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    telecom23_sandbox.add_message("m1", statuses=("DELIVRD",))
    start = sandbox_clock.now()
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "m1")
        assert tracker.ingest(pushed("m1", DeliveryState.SENT, final=False, at=1))
        tracked = tracker.get("telecom23", "m1")
        assert tracked is not None
        assert tracked.next_poll_at is not None
        assert tracked.next_poll_at.timestamp() - start == DEFAULT_MAX_INTERVAL
        assert tracked.state is DeliveryState.SENT
        tracker.run()
    (outcome,) = outcomes
    assert (outcome.source, outcome.polls) == ("poll", 1)
    (poll,) = [r for r in telecom23_sandbox.requests if r.route == "status"]
    assert poll.at - start == DEFAULT_MAX_INTERVAL


def test_a_push_that_beats_add_is_kept_for_an_hour_and_applied_on_add(
    make_tracker: MakeTracker, sandbox_clock: FakeClock, outcomes: list[tracking.Outcome]
) -> None:
    tracker = make_tracker()
    assert tracker.ingest(pushed("early", DeliveryState.DELIVERED, final=True, at=1))
    assert tracker.get("telecom23", "early") is None
    assert tracker.counts().in_flight == 0
    sandbox_clock.advance(EARLY_PUSH_TTL - 1)
    assert tracker.add("telecom23", "early", tag="t")
    tracker.run()
    (outcome,) = outcomes
    assert (outcome.source, outcome.reason, outcome.tag) == ("push", "final", "t")


def test_an_early_push_older_than_an_hour_is_forgotten(
    telecom23_sandbox: Sandbox,
    make_tracker: MakeTracker,
    sandbox_clock: FakeClock,
    outcomes: list[tracking.Outcome],
) -> None:
    telecom23_sandbox.add_message("late-add", statuses=("UNDELIV",))
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.ingest(pushed("late-add", DeliveryState.DELIVERED, final=True, at=1))
        sandbox_clock.advance(EARLY_PUSH_TTL + 1)
        tracker.add("telecom23", "late-add")
        tracker.run()
    (outcome,) = outcomes
    assert (outcome.source, outcome.state) == ("poll", DeliveryState.UNDELIVERED)


def test_an_early_push_that_replaces_the_kept_one_is_kept_an_hour_from_its_own_arrival(
    make_tracker: MakeTracker, sandbox_clock: FakeClock, outcomes: list[tracking.Outcome]
) -> None:
    # The hour was counted from the first push: a final one that came 4 minutes before
    # add() was dropped, and the id was polled (maybe to "not found").
    tracker = make_tracker()
    assert tracker.ingest(pushed("early", DeliveryState.SENT, final=False, at=1))
    sandbox_clock.advance(58 * 60)
    assert tracker.ingest(pushed("early", DeliveryState.DELIVERED, final=True, at=3480))
    sandbox_clock.advance(4 * 60)
    tracker.add("telecom23", "early")
    tracker.run()
    (outcome,) = outcomes
    assert (outcome.source, outcome.state) == ("push", DeliveryState.DELIVERED)


def test_an_early_push_past_its_hour_and_not_yet_purged_does_not_decide_a_new_one(
    make_tracker: MakeTracker, sandbox_clock: FakeClock, outcomes: list[tracking.Outcome]
) -> None:
    # The provider's retry of a final push an hour and a minute on was refused as a copy
    # of the stale one (no run() had purged it), and add() then found only that: polled.
    tracker = make_tracker()
    assert tracker.ingest(pushed("stale", DeliveryState.DELIVERED, final=True, at=1))
    sandbox_clock.advance(EARLY_PUSH_TTL + 60)
    assert tracker.ingest(pushed("stale", DeliveryState.DELIVERED, final=True, at=1))
    sandbox_clock.advance(10)
    tracker.add("telecom23", "stale")
    tracker.run()
    (outcome,) = outcomes
    assert (outcome.source, outcome.state) == ("push", DeliveryState.DELIVERED)


def test_reports_after_the_outcome_change_nothing_and_call_nothing(
    make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    tracker = make_tracker()
    tracker.add("telecom23", "m1")
    assert tracker.ingest(pushed("m1", DeliveryState.DELIVERED, final=True, at=5))
    tracker.run()
    assert not tracker.ingest(pushed("m1", DeliveryState.SENT, final=False, at=9))  # late
    assert not tracker.ingest(pushed("m1", DeliveryState.DELIVERED, final=True, at=5))  # dup
    assert not tracker.ingest(pushed("m1", DeliveryState.UNDELIVERED, final=True, at=7))
    tracker.run()
    assert len(outcomes) == 1
    tracked = tracker.get("telecom23", "m1")
    assert tracked is not None
    assert tracked.state is DeliveryState.DELIVERED


def test_ingest_takes_what_webhooks_parse_returns(
    make_tracker: MakeTracker, sandbox_clock: FakeClock, outcomes: list[tracking.Outcome]
) -> None:
    import hashlib
    import hmac
    import json

    from sms_status import webhooks

    body = json.dumps(
        {  # the docs' example payload (specs/telecom23.yaml), for our id
            "message_id": "api_42_1",
            "recipient": "+14155551234",
            "sender_id": "MyApp",
            "status": "DELIVRD",
            "status_code": "000",
            "num_parts": 1,
            "cost": 0.0085,
            "timestamp": "2026-02-13T10:30:04Z",
        }
    ).encode()
    timestamp = str(int(sandbox_clock.now()))
    signature = hmac.new(b"whsec_x", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    event = webhooks.parse(
        "telecom23",
        body=body,
        headers={"X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": f"sha256={signature}"},
        secret="whsec_x",
        now=sandbox_clock.now(),
    )
    tracker = make_tracker()
    tracker.add("telecom23", "api_42_1")
    assert tracker.ingest(event)
    tracker.run()
    (outcome,) = outcomes
    assert outcome.source == "push"
    with pytest.raises(TypeError, match="WebhookEvent or a StatusReport"):
        tracker.ingest({"message_id": "x"})  # type: ignore[arg-type]


# -- every arrival order -----------------------------------------------------------------------

EVENTS = (
    "add",
    "poll",
    "poll again",
    "sent@1",
    "delivered@5",
    "delivered@5 again",
    "sent@9 late",
    "undeliv@7",
)


@pytest.mark.slow  # hypothesis: ~100 orders over loopback
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations(EVENTS), poll_answers_delivered=st.booleans())
def test_once_under_every_arrival_order(
    tmp_path: Path,
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    order: list[str],
    poll_answers_delivered: bool,
) -> None:
    """Whatever order the add, the polls and the pushes (final, duplicate, conflicting, late;
    before or after add) come in: one outcome, handed over once, and it is the first final
    that reached the tracker; nothing after it changes the store."""
    message_id = f"m{len(list(tmp_path.iterdir()))}"
    telecom23_sandbox.add_message(
        message_id, statuses=("DELIVRD",) if poll_answers_delivered else ("sent",)
    )
    reports = {
        "sent@1": pushed(message_id, DeliveryState.SENT, final=False, at=1),
        "delivered@5": pushed(message_id, DeliveryState.DELIVERED, final=True, at=5),
        "delivered@5 again": pushed(message_id, DeliveryState.DELIVERED, final=True, at=5),
        "sent@9 late": pushed(message_id, DeliveryState.SENT, final=False, at=9),
        "undeliv@7": pushed(message_id, DeliveryState.UNDELIVERED, final=True, at=7),
    }
    got: list[tracking.Outcome] = []
    stepping = True

    def sleep(seconds: float) -> None:
        if stepping:  # a "poll" event runs what is due now, then stops at the first wait
            tracker.stop()
        else:
            sandbox_clock.sleep(seconds)

    expected: tuple[DeliveryState, str] | None = None
    early_final: DeliveryState | None = None
    added = False
    with (
        telecom23_sandbox.connect() as client,
        tracking.Tracker(
            tmp_path / f"{message_id}.db",
            on_final=got.append,
            clients={"telecom23": client},
            clock=sandbox_clock.now,
            sleep=sleep,
            deadline=7200,
        ) as tracker,
    ):
        for event in order:
            if event == "add":
                tracker.add("telecom23", message_id)
                added = True
                if expected is None and early_final is not None:
                    expected = (early_final, "push")
            elif event.startswith("poll"):
                tracked = tracker.get("telecom23", message_id)
                if tracked is not None and tracked.next_poll_at is not None:
                    sandbox_clock.advance(
                        max(0.0, tracked.next_poll_at.timestamp() - sandbox_clock.now())
                    )
                    tracker.run()
                    if expected is None and poll_answers_delivered:
                        expected = (DeliveryState.DELIVERED, "poll")
                    after = tracker.get("telecom23", message_id)
                    assert after is not None
                    assert (after.outcome is not None) == (expected is not None)
            else:
                report = reports[event]
                settled_before = expected is not None
                changed = tracker.ingest(report)
                if settled_before:
                    assert not changed, f"{event} changed a settled message"
                elif report.is_final:
                    if added:
                        expected = (report.state, "push")
                    elif early_final is None:
                        early_final = report.state
        stepping = False
        tracker.run()
        tracker.run()
    note(f"order={order} poll_answers_delivered={poll_answers_delivered}")
    (outcome,) = got
    assert outcome.delivery == 1
    if expected is None:
        assert outcome.reason == ("final" if poll_answers_delivered else "deadline")
    else:
        assert (outcome.state, outcome.source, outcome.reason) == (*expected, "final")


def test_while_webhooks_arrive_polling_is_only_the_safety_net(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    """telecom23 pushes finals only, so no non-final push defers polling: once its webhooks
    are seen to arrive, a new id's first poll (and any next one) is `max_interval` away."""
    telecom23_sandbox.add_message("before", statuses=("sent", "sent", "DELIVRD"))
    telecom23_sandbox.add_message("unpushed", statuses=("sent", "DELIVRD"))
    start = sandbox_clock.now()
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "before")  # no webhook seen yet: the cadence, 3 s
        before = tracker.get("telecom23", "before")
        assert before is not None
        assert before.next_poll_at is not None
        assert before.next_poll_at.timestamp() - start == 3.0
        tracker.ingest(pushed("other", DeliveryState.DELIVERED, final=True, at=1))  # a webhook
        tracker.add("telecom23", "unpushed")
        tracker.add("telecom23", "pushed")
        unpushed = tracker.get("telecom23", "unpushed")
        assert unpushed is not None
        assert unpushed.next_poll_at is not None
        assert unpushed.next_poll_at.timestamp() - start == DEFAULT_MAX_INTERVAL
        tracker.ingest(pushed("pushed", DeliveryState.DELIVERED, final=True, at=2))
        tracker.run()
    by_id = {o.message_id: o for o in outcomes}
    assert by_id["pushed"].polls == 0
    assert by_id["unpushed"].polls == 2
    polls = [r.at - start for r in telecom23_sandbox.requests if r.path.endswith("/unpushed")]
    assert polls == [DEFAULT_MAX_INTERVAL, 2 * DEFAULT_MAX_INTERVAL]
    # "before" was due at 3 s on the cadence; by then webhooks were seen to arrive, so it
    # too waits for its push until 15 minutes after its add.
    early = [r.at - start for r in telecom23_sandbox.requests if r.path.endswith("/before")]
    assert early == [DEFAULT_MAX_INTERVAL, 2 * DEFAULT_MAX_INTERVAL, 3 * DEFAULT_MAX_INTERVAL]


def test_providers_named_in_webhooks_are_polled_as_a_safety_net_from_the_first_id(
    telecom23_sandbox: Sandbox,
    seven_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    telecom23_sandbox.add_message("t", statuses=("sent", "DELIVRD"))
    seven_sandbox.add_message("77", statuses=("DELIVERED",))
    start = sandbox_clock.now()
    with telecom23_sandbox.connect() as t23, seven_sandbox.connect(lookup="status") as seven:
        tracker = make_tracker({"telecom23": t23, "seven": seven}, webhooks=["telecom23"])
        tracker.add("telecom23", "t")
        tracker.add("seven", "77")
        tracker.run()
    by_id = {o.message_id: o for o in outcomes}
    assert by_id["77"].settled_at.timestamp() - start == 5.0  # seven: its cadence
    assert by_id["t"].settled_at.timestamp() - start == 2 * DEFAULT_MAX_INTERVAL
    with pytest.raises(ValueError, match="unknown provider"):
        make_tracker(webhooks=["telecom42"])


def test_early_pushes_apply_to_a_large_add_many_as_to_a_single_add(
    make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    tracker = make_tracker()
    for n in range(0, 200, 2):
        tracker.ingest(pushed(f"big-{n}", DeliveryState.DELIVERED, final=True, at=1))
    tracker.ingest(pushed("one", DeliveryState.DELIVERED, final=True, at=1))
    assert tracker.add_many("telecom23", [f"big-{n}" for n in range(200)]) == 200
    assert tracker.add("telecom23", "one")
    counts = tracker.counts()
    assert (counts.settled, counts.in_flight) == (101, 100)
    settled = tracker.get("telecom23", "big-198")
    assert settled is not None
    assert settled.outcome is not None
    assert settled.outcome.source == "push"


def test_concurrent_ingests_each_return_once_their_report_is_stored(
    make_tracker: MakeTracker,
) -> None:
    import threading

    tracker = make_tracker()
    ids = [f"g-{n}" for n in range(400)]
    tracker.add_many("telecom23", ids)
    start = threading.Barrier(16)
    results: list[bool] = []

    def receive(share: list[str]) -> None:
        start.wait()
        for message_id in share:
            changed = tracker.ingest(pushed(message_id, DeliveryState.DELIVERED, final=True, at=3))
            tracked = tracker.get("telecom23", message_id)  # stored once ingest returned
            assert tracked is not None
            assert tracked.outcome is not None
            results.append(changed)

    threads = [threading.Thread(target=receive, args=(ids[n::16],)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 400
    counts = tracker.counts()
    assert (counts.settled, counts.awaiting_handover) == (400, 400)


def test_ingest_many_writes_a_batch_in_one_transaction_and_answers_for_each(
    make_tracker: MakeTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sms_status.errors import TransportError
    from sms_status.tracking._sqlite import SqliteStore

    transactions = 0
    write = SqliteStore.push_many

    def counted(store: SqliteStore, pushes: Any) -> list[bool]:
        nonlocal transactions
        transactions += 1
        return write(store, pushes)

    monkeypatch.setattr(SqliteStore, "push_many", counted)
    tracker = make_tracker()
    tracker.add_many("telecom23", ["m1", "m2", "m3"])
    assert tracker.ingest(pushed("m3", DeliveryState.DELIVERED, final=True, at=1))
    failed_lookup = attrs.evolve(
        pushed("m2", DeliveryState.UNKNOWN, final=False, at=2),
        error=TransportError("ReadTimeout: timed out", provider="telecom23"),
    )
    batch = [
        pushed("m1", DeliveryState.DELIVERED, final=True, at=2),
        failed_lookup,  # not a report: nothing written for it
        pushed("m3", DeliveryState.UNDELIVERED, final=True, at=3),  # a second final
        pushed("early", DeliveryState.SENT, final=False, at=2),  # not added yet: kept
    ]
    transactions = 0
    assert tracker.ingest_many(batch) == [True, False, False, True]
    assert transactions == 1
    assert tracker.add("telecom23", "early")  # the early push applies on add
    for message_id in ("m1", "m3"):  # the first final stands
        settled = tracker.get("telecom23", message_id)
        assert settled is not None
        assert settled.outcome is not None
        assert settled.outcome.state is DeliveryState.DELIVERED
    assert tracker.get("telecom23", "m2").outcome is None  # type: ignore[union-attr]
    tracked = tracker.get("telecom23", "early")
    assert tracked is not None
    assert tracked.state is DeliveryState.SENT


def test_ingest_many_checks_every_item_before_writing_any(make_tracker: MakeTracker) -> None:
    tracker = make_tracker()
    tracker.add_many("telecom23", ["m1", "m2"])
    good = pushed("m1", DeliveryState.DELIVERED, final=True, at=1)
    with pytest.raises(TypeError, match="ingest"):
        tracker.ingest_many([good, "m2 delivered"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unknown provider"):
        tracker.ingest_many([good, attrs.evolve(good, provider="nope", message_id="m2")])
    assert tracker.counts().settled == 0
    assert tracker.ingest_many([]) == []


def test_async_ingest_many_settles_the_batch(store_path: Path, sandbox_clock: FakeClock) -> None:
    import asyncio

    async def main() -> list[tracking.Outcome]:
        outcomes: list[tracking.Outcome] = []
        async with tracking.AsyncTracker(
            store_path, on_final=outcomes.append, clock=sandbox_clock.now, sleep=sandbox_clock.sleep
        ) as tracker:
            await tracker.add_many("telecom23", ["a1", "a2"])
            reports = (pushed(i, DeliveryState.DELIVERED, final=True, at=1) for i in ("a1", "a2"))
            assert await tracker.ingest_many(reports) == [True, True]  # any iterable
            await tracker.run()
        return outcomes

    assert sorted(o.message_id for o in asyncio.run(main())) == ["a1", "a2"]


@pytest.mark.parametrize("known_by", ["setting", "a push seen"])
def test_while_webhooks_arrive_a_deadline_under_the_cap_is_still_kept(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    known_by: str,
) -> None:
    """A new id waits up to `max_interval` for its push, but never past its deadline: it is
    polled and settled at it, and not deferred (a store write and a wait) every second."""
    telecom23_sandbox.add_message("short", statuses=("sent",))  # never final
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        sandbox_clock.sleep(seconds)

    start = sandbox_clock.now()
    with telecom23_sandbox.connect() as client:
        webhooks = ["telecom23"] if known_by == "setting" else []
        tracker = make_tracker({"telecom23": client}, webhooks=webhooks, sleep=sleep)
        if known_by == "a push seen":
            tracker.ingest(pushed("other", DeliveryState.DELIVERED, final=True, at=1))
        tracker.add("telecom23", "short", deadline=60)
        tracker.run()
    short = [o for o in outcomes if o.message_id == "short"]
    assert [(o.reason, o.polls, o.state) for o in short] == [("deadline", 1, DeliveryState.SENT)]
    assert short[0].settled_at.timestamp() - start == 60
    assert [r.at - start for r in telecom23_sandbox.requests if r.route == "status"] == [60]
    assert sleeps == [60]


@pytest.mark.parametrize("after", [1, 3], ids=["before its first poll", "already due"])
def test_a_lisoloo_per_recipient_final_is_a_hint_to_poll_now_while_webhooks_arrive(
    lisoloo_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    after: int,
) -> None:
    """The hint is itself a push of lisoloo's, so its webhooks now arrive: the young id is
    polled at once all the same, not deferred to `max_interval` after its add — also when
    its poll was due already (a worker behind), which the hint left unmarked."""
    message_id = "msg-1"
    lisoloo_sandbox.add_message(message_id, statuses=("delivered",))
    start = sandbox_clock.now()
    with lisoloo_sandbox.connect() as client:
        tracker = make_tracker({"lisoloo": client})
        tracker.add("lisoloo", message_id)
        sandbox_clock.advance(after)
        hint = pushed(
            message_id,
            DeliveryState.DELIVERED,
            final=True,
            at=after,
            provider="lisoloo",
            status="sms.delivered",
        )
        assert tracker.ingest(hint)
        tracker.run()
    (outcome,) = outcomes
    assert (outcome.reason, outcome.source, outcome.polls) == ("final", "poll", 1)
    assert [r.at - start for r in lisoloo_sandbox.requests if r.route == "status"] == [after]
