"""Polling: the provider's cadence, then doubling to the cap, seven's batches, deadlines,
"not found", transient failures and refused keys — on real loopback sandboxes and a real
SQLite file, on the sandbox clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sms_status
from sms_status import RateLimit, TokenBucket, errors, tracking
from sms_status.report import DeliveryState, StatusReport
from sms_status.testing import FakeClock, Sandbox
from sms_status.tracking import _engine, _tracker
from sms_status.tracking import _rules as rules
from sms_status.tracking._rests import Rests
from sms_status.tracking._rules import DEFAULT_MAX_INTERVAL, NOT_FOUND_AFTER
from tracking_support import MakeTracker, delivered


def _poll_times(sandbox: Sandbox, message_id: str, start: float) -> list[float]:
    return [
        round(r.at - start, 3)
        for r in sandbox.requests
        if r.route == "status" and r.path.endswith(f"/{message_id}")
    ]


def _expected_schedule(
    intervals: tuple[float, ...], cadence_span: float, deadline: float
) -> list[float]:
    """The documented schedule written out plainly: the cadence for as long as
    wait_for_final's default cap, then doubling up to 15 minutes, then the deadline."""
    times: list[float] = []
    now, polls, wait = intervals[0], 0, intervals[0]
    while now < deadline:
        times.append(now)
        polls += 1
        if now < cadence_span:
            wait = intervals[min(polls, len(intervals) - 1)]
        else:
            wait = min(max(wait, intervals[-1]) * 2, DEFAULT_MAX_INTERVAL)
        now += wait
    times.append(deadline)
    return times


def test_a_message_that_never_settles_is_polled_on_the_cadence_then_doubling_then_deadline(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    telecom23_sandbox.add_message("stuck", statuses=("pending", "sent"))
    start = sandbox_clock.now()
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client}, deadline=2 * 3600)
        assert tracker.add("telecom23", "stuck", tag="order-1")
        tracker.run()

    times = _poll_times(telecom23_sandbox, "stuck", start)
    assert times == _expected_schedule((3.0, 4.0, 5.0), 180.0, 2 * 3600.0)
    # Spelled out: 3, 4, 5 s apart at first; after 180 s 10, 20, 40 … 640, then 900 s apart.
    assert times[:4] == [3.0, 7.0, 12.0, 17.0]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) == DEFAULT_MAX_INTERVAL
    assert [g for g in gaps if g > 5.0][:3] == [10.0, 20.0, 40.0]
    (outcome,) = outcomes
    assert outcome.reason == "deadline"
    assert outcome.state is DeliveryState.SENT  # the last state seen
    assert outcome.polls == len(times)
    assert outcome.tag == "order-1"
    assert outcome.source == "poll"
    assert outcome.key == "telecom23:stuck"
    assert outcome.delivery == 1
    assert (outcome.settled_at - outcome.added_at).total_seconds() == 2 * 3600


def test_each_message_settles_once_on_its_final_status_and_on_final_gets_it(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    telecom23_sandbox.add_message("ok", statuses=("pending", "sent", "DELIVRD"))
    telecom23_sandbox.add_message("bad", statuses=("pending", "UNDELIV"))
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        assert tracker.add_many("telecom23", ["ok", "bad", "ok"]) == 2
        assert tracker.add("telecom23", "ok") is False  # idempotent
        tracker.run()
        tracker.run()  # nothing left: returns at once, hands nothing over again

    by_key = {o.key: o for o in outcomes}
    assert len(outcomes) == 2
    assert by_key["telecom23:ok"].state is DeliveryState.DELIVERED
    assert by_key["telecom23:ok"].polls == 3
    assert by_key["telecom23:ok"].report is not None
    assert by_key["telecom23:ok"].report.provider_status == "DELIVRD"
    assert by_key["telecom23:bad"].state is DeliveryState.UNDELIVERED
    assert by_key["telecom23:bad"].polls == 2
    counts = tracker.counts()
    assert (counts.in_flight, counts.settled, counts.awaiting_handover) == (0, 2, 0)
    assert counts.by_state == {"delivered": 1, "undelivered": 1}
    assert counts.by_reason == {"final": 2}
    tracked = tracker.get("telecom23", "ok")
    assert tracked is not None
    assert tracked.outcome is not None
    assert tracked.outcome.state is DeliveryState.DELIVERED
    assert tracked.next_poll_at is None
    assert tracker.get("telecom23", "never-added") is None


def test_a_report_read_back_from_the_store_keeps_its_typed_raw_model(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    import sms_status_telecom23

    telecom23_sandbox.add_message("ok", statuses=("DELIVRD",))
    with telecom23_sandbox.connect() as client:
        expected = client.get_status("ok")
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "ok")
        tracker.run()
    (outcome,) = outcomes
    assert outcome.report == expected
    model = sms_status_telecom23.models.StatusResponse
    assert outcome.report is not None
    assert outcome.report.raw_as(model).to_dict() == expected.raw_as(model).to_dict()


def test_seven_due_ids_go_in_batches_of_up_to_100_per_request(
    seven_sandbox: Sandbox, make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    ids = [str(77232007000 + n) for n in range(250)]
    for message_id in ids:
        seven_sandbox.add_message(message_id, statuses=("DELIVERED",))
    with seven_sandbox.connect(lookup="status") as client:
        tracker = make_tracker({"seven": client})
        assert tracker.add_many("seven", ids) == 250
        tracker.run()
    lookups = [r for r in seven_sandbox.requests if r.route == "status"]
    assert [len(r.query_params["msg_id"][0].split(",")) for r in lookups] == [100, 100, 50]
    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert all(o.polls == 1 and o.state is DeliveryState.DELIVERED for o in outcomes)


def test_an_id_the_provider_never_knew_settles_not_found_15_minutes_after_add(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    start = sandbox_clock.now()
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "ghost")
        tracker.run()
    (outcome,) = outcomes
    assert outcome.reason == "not_found"
    assert outcome.state is DeliveryState.UNKNOWN
    assert outcome.report is None
    assert outcome.source is None
    assert (outcome.settled_at.timestamp() - start) == NOT_FOUND_AFTER
    assert _poll_times(telecom23_sandbox, "ghost", start)[-1] == NOT_FOUND_AFTER


def test_a_deadline_under_15_minutes_comes_before_not_found(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "ghost", deadline=60)
        tracker.run()
    (outcome,) = outcomes
    assert outcome.reason == "deadline"
    assert (outcome.settled_at - outcome.added_at).total_seconds() == 60


@pytest.mark.parametrize("first_run_after", [700, 1200])
def test_a_deadline_under_15_minutes_comes_before_not_found_when_polled_late(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    first_run_after: float,
) -> None:
    """No run() until after the deadline (and after 15 minutes): the deadline came first."""
    start = sandbox_clock.now()
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "ghost", deadline=600)
        sandbox_clock.advance(first_run_after)
        tracker.run()
    (outcome,) = outcomes
    assert (outcome.reason, outcome.polls) == ("deadline", 1)
    assert outcome.settled_at.timestamp() - start == first_run_after


def test_not_found_after_the_provider_knew_the_id_is_transient(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    telecom23_sandbox.add_message("flaky", statuses=("sent",))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        # The first wait is for the first poll (which answers "sent"); from the second on,
        # the provider answers 404 for good.
        sleeps.append(seconds)
        if len(sleeps) == 2:
            telecom23_sandbox.inject_fault("error", status=404, code="NOT_FOUND", times=None)
        sandbox_clock.sleep(seconds)

    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client}, sleep=sleep)
        tracker.add("telecom23", "flaky", deadline=3600)
        tracker.run()
    assert [r.status for r in telecom23_sandbox.requests][:2] == [200, 404]
    (outcome,) = outcomes
    assert outcome.reason == "deadline"  # never "not_found": the provider had known it
    assert outcome.state is DeliveryState.SENT


def test_a_provider_down_for_an_hour_loses_nothing_and_settles_after(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    ids = [f"down-{n}" for n in range(5)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("sent", "DELIVRD"))
    telecom23_sandbox.inject_fault("server_error", status=503, times=None)
    recovered_at = sandbox_clock.now() + 3600

    def on_retry(_event: object) -> None:
        if sandbox_clock.now() >= recovered_at:
            telecom23_sandbox.clear_faults()

    with telecom23_sandbox.connect(on_retry=on_retry) as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add_many("telecom23", ids)
        tracker.run()
    assert sorted(o.message_id for o in outcomes) == ids
    assert all(o.reason == "final" and o.state is DeliveryState.DELIVERED for o in outcomes)
    assert all(o.settled_at.timestamp() >= recovered_at for o in outcomes)
    failed = [r for r in telecom23_sandbox.requests if r.status == 503]
    assert failed, "the outage was real"


def test_a_failed_lookup_is_retried_soon_backing_off_and_the_schedule_resumes(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # A failed lookup counted as a poll and moved the schedule on: after the cadence phase,
    # one connection reset cost a whole interval (up to 15 minutes) before the next look.
    telecom23_sandbox.add_message("blip", statuses=("sent", "DELIVRD"), advance=1000.0)
    start = sandbox_clock.now()
    with telecom23_sandbox.connect(max_retries=0) as client:  # as the tracker's own
        looks = client.get_statuses

        def three_resets_once_delivered(ids: list[str]) -> list[StatusReport]:
            if sandbox_clock.now() - start >= 1000:
                telecom23_sandbox.inject_fault("reset", message_id="blip", times=3)
                client.get_statuses = looks  # type: ignore[method-assign]
            return looks(ids)

        client.get_statuses = three_resets_once_delivered  # type: ignore[method-assign]
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "blip")
        tracker.run()

    times = _poll_times(telecom23_sandbox, "blip", start)
    on_schedule = [t for t in _expected_schedule((3.0, 4.0, 5.0), 180.0, 7200.0) if t < 1000]
    assert times[: len(on_schedule)] == on_schedule
    failed_at, *retries = times[len(on_schedule) :]
    assert failed_at >= 1000
    # Retried 1, 2 and 4 s after each failure; the third retry is answered: delivered.
    assert [round(t - failed_at, 3) for t in retries] == [1.0, 3.0, 7.0]
    (outcome,) = outcomes
    assert (outcome.reason, outcome.state) == ("final", DeliveryState.DELIVERED)
    assert outcome.settled_at.timestamp() - start == pytest.approx(failed_at + 7.0)
    assert outcome.polls == len(times)  # every request counted


def test_failures_in_a_row_back_off_to_the_schedule_and_an_answer_resets_them(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # The retry doubles (1, 2, 4 … s) but never waits past the id's next scheduled poll:
    # an outage of hours costs no more requests than the schedule, plus a few.
    telecom23_sandbox.add_message("flaky", statuses=("sent",))
    start = sandbox_clock.now()
    telecom23_sandbox.inject_fault("server_error", status=502, message_id="flaky", times=6)
    with telecom23_sandbox.connect(max_retries=0) as client:
        looks = client.get_statuses

        def two_more_in_the_doubling_phase(ids: list[str]) -> list[StatusReport]:
            if sandbox_clock.now() - start >= 300:
                telecom23_sandbox.inject_fault("reset", message_id="flaky", times=2)
                client.get_statuses = looks  # type: ignore[method-assign]
            return looks(ids)

        client.get_statuses = two_more_in_the_doubling_phase  # type: ignore[method-assign]
        tracker = make_tracker({"telecom23": client}, deadline=1000)
        tracker.add("telecom23", "flaky")
        tracker.run()
    times = _poll_times(telecom23_sandbox, "flaky", start)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    # 6 failures: 1, 2, then the cadence's 4 and 5 s cap each retry; answered, then on the
    # cadence (5 s) until 180 s, doubling after: the schedule a failure did not move on.
    assert times[0] == 3.0
    assert gaps[:6] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    doubling = [g for g in gaps if g > 5.0]
    assert doubling[:3] == [10.0, 20.0, 40.0]
    # Two more failures past 300 s: the streak began again (1, 2 s), the doubling resumed.
    # (The failed poll at 330 s had 80 s behind it: 160 s after the answer, as it would
    # have been after an answer at 330 s.)
    late = [t for t in times if t >= 300]
    assert [round(b - a, 3) for a, b in itertools.pairwise(late)][:4] == [1.0, 2.0, 160.0, 320.0]
    (outcome,) = outcomes
    assert outcome.reason == "deadline"
    assert outcome.polls == len(times)  # every request counted, the deadline's look too


@pytest.mark.parametrize(
    ("fault", "params", "status"),
    [
        ("rate_limit", {"retry_after": "120"}, 429),
        # A 503 with Retry-After (maintenance) is waited out as a 429's is: the provider
        # rests and the round ends. (The tracker went on to the next id, and the next, each
        # costing the client's retries, each retry waiting out the Retry-After.)
        ("server_error", {"status": 503, "retry_after": "120"}, 503),
    ],
    ids=["429 storm", "503 maintenance"],
)
def test_a_storm_rests_the_provider_for_retry_after_and_loses_no_id(
    telecom23_sandbox: Sandbox,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    fault: str,
    params: dict[str, object],
    status: int,
) -> None:
    ids = [f"busy-{n}" for n in range(30)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault(fault, times=40, **params)
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add_many("telecom23", ids)
        tracker.run()
    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert all(o.state is DeliveryState.DELIVERED for o in outcomes)
    failed = [r.at for r in telecom23_sandbox.requests if r.status == status]
    assert len(failed) == 40
    # After each one the provider rests for its Retry-After: no request within 120 s of it.
    for at in failed:
        later = [r.at for r in telecom23_sandbox.requests if at < r.at < at + 120]
        assert later == [], f"requests {later} came within Retry-After of the {status} at {at}"


def test_an_outage_of_hours_costs_the_requests_polling_would_plus_a_few(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
) -> None:
    # Once the retry's wait reaches the schedule's, a failure is the scheduled poll: the
    # schedule moves on. (Frozen instead, the interval kept every id of a provider that was
    # down, or an id it always failed on, at a retry every 10 s: 1,460 requests in 4 hours.)
    telecom23_sandbox.add_message("down", statuses=("sent",))
    telecom23_sandbox.inject_fault("server_error", status=502, times=None)
    start = sandbox_clock.now()
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client}, deadline=4 * 3600)
        tracker.add("telecom23", "down")
        tracker.run()
    times = _poll_times(telecom23_sandbox, "down", start)
    scheduled = _expected_schedule((3.0, 4.0, 5.0), 180.0, 4 * 3600.0)
    assert len(scheduled) <= len(times) <= len(scheduled) + 3  # the first retries, sooner
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)][-5:-1] == [900.0] * 4


def test_429s_without_retry_after_rest_the_provider_longer_each_time(
    telecom23_sandbox: Sandbox,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # A flat 1 s rest after each, with every id retried soon, kept a provider that says only
    # "slow down" at a request a second for as long as it said so.
    ids = [f"calm-{n}" for n in range(20)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault("rate_limit", retry_after=None, times=6)
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add_many("telecom23", ids)
        tracker.run()
    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert {o.state for o in outcomes} == {DeliveryState.DELIVERED}
    limited = [r.at for r in telecom23_sandbox.requests if r.status == 429]
    gaps = [b - a for a, b in itertools.pairwise(limited)]
    assert gaps == pytest.approx([1.0, 2.0, 4.0, 8.0, 16.0], abs=2 * rules.DUE_ORDER_WINDOW)


def test_a_resting_provider_holds_up_neither_another_nor_its_own_deadlines(
    telecom23_sandbox: Sandbox,
    seven_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # A resting provider's due ids were given back unchanged: first in due()'s order, they
    # filled each look (500 rows), so another provider's ids waited for hours, and a
    # deadline passed during a rest was applied only at the next lookup.
    ids = [f"busy-{n}" for n in range(520)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault("rate_limit", retry_after=None, times=None)
    seven_sandbox.add_message("77232007100", statuses=("DELIVERED",))
    with (
        telecom23_sandbox.connect(max_retries=0) as busy,
        seven_sandbox.connect(max_retries=0, lookup="status") as healthy,
    ):
        tracker = make_tracker({"telecom23": busy, "seven": healthy}, deadline=200)
        tracker.add_many("telecom23", ids)
        sandbox_clock.advance(1.0)
        tracker.add("seven", "77232007100", deadline=3600)
        added = sandbox_clock.now()
        tracker.run()
    by_provider = {o.provider: o for o in outcomes}
    healthy_outcome = by_provider["seven"]
    assert healthy_outcome.reason == "final"
    assert healthy_outcome.settled_at.timestamp() - added < 30  # its own cadence: 5 s
    resting = [o for o in outcomes if o.provider == "telecom23"]
    assert len(resting) == len(ids)
    assert {o.reason for o in resting} == {"deadline"}
    assert {(o.settled_at - o.added_at).total_seconds() for o in resting} == {200.0}


def test_ids_wait_out_a_rest_in_the_order_they_came_due(
    seven_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # A provider letting one request in 20 s through (the rest 429, no Retry-After), and a
    # backlog: 200 delivered ids added first, then 300 that stay pending. Moved to a rest's
    # end, ids tied there and went by message id: the later, lower ids took every request
    # let through, and the delivered ones settled 15 minutes late (before the rests moved
    # them: 45 s).
    delivered = [f"{77239000000 + n}" for n in range(200)]
    pending = [f"{77231000000 + n}" for n in range(300)]
    for message_id in delivered:
        seven_sandbox.add_message(message_id, statuses=("DELIVERED",))
    for message_id in pending:
        seven_sandbox.add_message(message_id, statuses=("BUFFERED",))
    let_through_at = [float("-inf")]
    with seven_sandbox.connect(max_retries=0, lookup="status") as client:
        looks = client.get_statuses

        def one_request_in_20_s(ids: list[str]) -> list[StatusReport]:
            if sandbox_clock.now() - let_through_at[0] >= 20:
                let_through_at[0] = sandbox_clock.now()
            else:
                seven_sandbox.inject_fault("rate_limit", retry_after=None, times=1)
            return looks(ids)

        def stop_once_delivered(outcome: tracking.Outcome) -> None:
            outcomes.append(outcome)
            if len(outcomes) == len(delivered):
                tracker.stop()

        client.get_statuses = one_request_in_20_s  # type: ignore[method-assign]
        tracker = make_tracker({"seven": client}, on_final=stop_once_delivered)
        start = sandbox_clock.now()
        tracker.add_many("seven", delivered)
        sandbox_clock.advance(1.0)
        tracker.add_many("seven", pending)
        tracker.run(until_idle=False)
    assert sorted(o.message_id for o in outcomes) == delivered
    assert max(o.settled_at.timestamp() for o in outcomes) - start < 60


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("rate_limit", {"retry_after": None}),
        ("server_error", {"status": 503, "retry_after": "2"}),
    ],
    ids=["429", "503 with Retry-After"],
)
def test_an_id_the_provider_always_refuses_holds_up_no_other(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    fault: str,
    params: dict[str, object],
) -> None:
    # Kept at the head of the queue, the refused id went first at every rest's end, was
    # refused again, and no other id was polled: 20 delivered ids settled "deadline".
    healthy = [f"ok-{n}" for n in range(20)]
    for message_id in ["refused", *healthy]:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault(fault, message_id="refused", times=None, **params)
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client}, deadline=3 * 3600)
        tracker.add("telecom23", "refused")
        sandbox_clock.advance(1.0)
        start = sandbox_clock.now()
        tracker.add_many("telecom23", healthy)
        tracker.run()
    settled = {o.message_id: o for o in outcomes}
    assert {settled[i].reason for i in healthy} == {"final"}
    assert max(settled[i].settled_at.timestamp() for i in healthy) - start < 60
    assert settled["refused"].reason == "deadline"


def test_a_429_after_a_quiet_spell_starts_the_rests_over(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # The count of 429s in a row lived as long as the tracker: an hour after a storm, one
    # 429 rested the provider 512 s.
    telecom23_sandbox.add_message("old", statuses=("sent",))
    telecom23_sandbox.add_message("new", statuses=("DELIVRD",))
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client})
        telecom23_sandbox.inject_fault("rate_limit", retry_after=None, times=None)
        tracker.add("telecom23", "old", deadline=200)
        tracker.run()
        telecom23_sandbox.clear_faults()
        sandbox_clock.advance(3600)
        telecom23_sandbox.inject_fault("rate_limit", retry_after=None, times=1)
        tracker.add("telecom23", "new")
        added = sandbox_clock.now()
        tracker.run()
    new = next(o for o in outcomes if o.message_id == "new")
    # Its first poll (3 s) met the 429: a 1 s rest, then the 1 s retry.
    assert new.settled_at.timestamp() - added == pytest.approx(4.0, abs=2 * rules.DUE_ORDER_WINDOW)


def test_a_client_the_tracker_connects_itself_leaves_failures_to_the_tracker(
    telecom23_sandbox: Sandbox,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its client retried each 429 after waiting out Retry-After itself, in the middle of the
    # round (its own clock: a sync run() held for as long, other providers and hand-overs
    # waiting). Now the tracker rests the provider: no request within Retry-After of a 429,
    # and a reset is retried by the tracker's rules, on its clock.
    monkeypatch.setenv("SMS_STATUS_TELECOM23_API_KEY", telecom23_sandbox.api_key)
    monkeypatch.setenv("SMS_STATUS_TELECOM23_BASE_URL", telecom23_sandbox.base_url)
    telecom23_sandbox.add_message("busy-1", statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault("rate_limit", times=2, retry_after="30")
    telecom23_sandbox.inject_fault("reset", times=1)
    tracker = make_tracker()  # no clients: it connects one from the environment
    tracker.add("telecom23", "busy-1")
    tracker.run()
    assert [(o.message_id, o.state) for o in outcomes] == [("busy-1", DeliveryState.DELIVERED)]
    requests = telecom23_sandbox.requests
    assert [r.status for r in requests][:2] == [429, 429]
    assert requests[-1].status == 200
    assert len(requests) == 4  # one request a lookup: 429, 429, the reset, the answer
    gaps = [round(later.at - earlier.at, 3) for earlier, later in itertools.pairwise(requests)]
    assert gaps[:2] == pytest.approx([30.0, 30.0], abs=2 * rules.DUE_ORDER_WINDOW)
    assert gaps[2] == 1.0  # its first failure: the 429s were the provider's, not the id's


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("rate_limit", {"retry_after": "1e300"}),
        ("server_error", {"status": 503, "retry_after": "1e300"}),
        ("server_error", {"status": 503, "retry_after": "86400"}),
    ],
    ids=["429 of ages", "503 of ages", "503 of a day"],
)
@pytest.mark.parametrize("known", [False, True], ids=["unknown id", "known id"])
def test_a_retry_after_of_ages_rests_no_longer_than_max_interval(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    fault: str,
    params: dict[str, object],
    known: bool,
) -> None:
    # Retry-After: 1e300 paused the provider's polling for good (until a restart), and kept
    # the id itself unpolled until its deadline: a delivered message settled "deadline".
    statuses = ("pending", "sent", "DELIVRD") if known else ("DELIVRD",)
    telecom23_sandbox.add_message("ages-1", statuses=statuses)
    with telecom23_sandbox.connect(max_retries=0) as client:
        looks = client.get_statuses

        def first_look_then_the_fault(ids: list[str]) -> list[StatusReport]:
            reports = looks(ids)
            telecom23_sandbox.inject_fault(fault, times=1, **params)  # the next look meets it
            client.get_statuses = looks  # type: ignore[method-assign]
            return reports

        if known:  # polled once, answered: the fault meets its second look
            client.get_statuses = first_look_then_the_fault  # type: ignore[method-assign]
        else:
            telecom23_sandbox.inject_fault(fault, times=1, **params)
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "ages-1")
        started = sandbox_clock.now()
        tracker.run()
    assert [(o.message_id, o.reason) for o in outcomes] == [("ages-1", "final")]
    assert outcomes[0].settled_at.timestamp() - started <= 15 * 60 + 120


def test_a_refused_key_is_raised_from_run_and_every_id_settles_once_it_is_fixed(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    ids = [f"key-{n}" for n in range(3)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    revoked = sms_status.connect(
        "telecom23",
        api_key="sk_test_revoked",
        base_url=telecom23_sandbox.base_url,
        clock=telecom23_sandbox.clock.monotonic,
        sleep=telecom23_sandbox.clock.sleep,
    )
    with revoked as refused:
        tracker = make_tracker({"telecom23": refused})
        tracker.add_many("telecom23", ids)
        with pytest.raises(errors.AuthenticationError):
            tracker.run()
    assert outcomes == []
    assert tracker.counts().in_flight == 3
    # The refused lookup was made (and queued its id behind the others): no other was.
    assert [getattr(tracker.get("telecom23", i), "polls", None) for i in ids] == [1, 0, 0]
    tracker.close()
    with telecom23_sandbox.connect() as fixed:
        make_tracker({"telecom23": fixed}).run()
    assert sorted(o.message_id for o in outcomes) == ids


def test_one_id_refused_on_its_own_does_not_starve_its_providers_other_ids(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # A 403 for one message (another workspace's, say) while the key works: the refused id
    # kept its place at the head of the queue, went first after every rest, was refused
    # again, and the other ids were never polled until their deadlines.
    telecom23_sandbox.add_message("theirs", statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault(
        "error", message_id="theirs", status=403, code="CROSS_TENANT_WORKSPACE", times=None
    )
    ours = [f"ours-{n}" for n in range(3)]
    for message_id in ours:
        telecom23_sandbox.add_message(message_id, statuses=("pending", "DELIVRD"))
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client}, deadline=3 * 3600)
        tracker.add("telecom23", "theirs")
        sandbox_clock.advance(1)
        tracker.add_many("telecom23", ours)
        started = sandbox_clock.now()
        refusals = 0
        while tracker.counts().in_flight > 1:
            with pytest.raises(errors.AuthenticationError):
                tracker.run()
            refusals += 1
            assert refusals < 10
    assert sorted((o.message_id, o.reason) for o in outcomes) == [(i, "final") for i in ours]
    assert max(o.settled_at for o in outcomes).timestamp() - started < 5 * 60  # rests of 60 s


@pytest.mark.parametrize("failure", ["refused key", "no key", "no extra", "no extra, pushed"])
def test_a_provider_that_cannot_be_polled_rests_while_the_others_settle(
    failure: str,
    telecom23_sandbox: Sandbox,
    seven_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """seven sorts first, so its due ids head every look: its failure ended each run()
    before telecom23 was polled (a supervisor's restarts never settled a telecom23 id, nor
    seven's by their deadline). Now seven rests a minute, the look goes on, and what it
    settled is handed over before run() raises."""
    sevens = [f"7723200719{n}" for n in range(3)]
    elevens = [f"t23-{n}" for n in range(3)]
    for seven_id, telecom23_id in zip(sevens, elevens, strict=True):
        seven_sandbox.add_message(seven_id, statuses=("DELIVERED",))
        telecom23_sandbox.add_message(telecom23_id, statuses=("DELIVRD",))
    monkeypatch.delenv("SMS_STATUS_SEVEN_API_KEY", raising=False)
    expected: type[Exception] = ValueError  # the tracker connects seven itself: no key
    revoked = sms_status.connect(
        "seven",
        api_key="sk_test_revoked",
        base_url=seven_sandbox.base_url,
        lookup="status",
        clock=sandbox_clock.monotonic,
        sleep=sandbox_clock.sleep,
    )
    with telecom23_sandbox.connect() as telecom23, revoked:
        clients: dict[str, object] = {"telecom23": telecom23}
        if failure == "refused key":
            expected = errors.AuthenticationError
            clients["seven"] = revoked
        tracker = make_tracker(clients)
        if "pushed" in failure:  # seven's webhooks arrive (at another host's receiver)
            make_tracker().ingest(delivered("77232007199", provider="seven"))
        tracker.add_many("seven", sevens, deadline=600)
        tracker.add_many("telecom23", elevens, deadline=600)
        started = sandbox_clock.now()
        if failure.startswith("no extra"):  # ids another host added; no sms-status[seven] here
            tracker._engine._schedules.clear()  # as if never loaded on this host
            expected = errors.MissingProviderError
            clients["seven"] = revoked
            monkeypatch.setattr(_engine, "load_provider", _without_seven(_engine.load_provider))
        sandbox_clock.advance(10)  # both providers due: one look polls them both
        with pytest.raises(expected):
            tracker.run()
        # Polled in the same look (seven's pushed ids are first polled at their deadline).
        assert sorted(o.message_id for o in outcomes[:3]) == elevens
        for _ in range(30):  # a supervisor, running it again after each error
            try:
                tracker.run()
                break
            except expected:
                pass
    assert [(o.message_id, o.reason) for o in outcomes[3:]] == [(i, "deadline") for i in sevens]
    assert all(o.settled_at.timestamp() - started <= 600 + 1 for o in outcomes[3:])
    # one request a minute while the key fails, not one a look
    assert len([r for r in seven_sandbox.requests if r.route == "status"]) <= 12


def test_every_pushed_provider_whose_extra_is_missing_rests_in_the_same_look(
    store_path: Path,
    sandbox_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Only the first of them was refused in a look: the second got no rest, and its ids
    # whose deadline had passed were not settled then.
    receiver = tracking.Tracker(store_path, on_final=print, clock=sandbox_clock.now)
    receiver.ingest(delivered("77232007199", provider="seven"))
    receiver.ingest(delivered("l-9", provider="lisoloo"))
    tracker = tracking.Tracker(
        store_path, on_final=print, clock=sandbox_clock.now, sleep=sandbox_clock.sleep
    )
    tracker.add("seven", "77232007190", deadline=5)
    tracker.add("lisoloo", "l-1", deadline=5)
    sandbox_clock.advance(10)

    def load_provider(key: str) -> Any:
        raise errors.MissingProviderError(key)

    monkeypatch.setattr(_engine, "load_provider", load_provider)
    tracker._engine._schedules.clear()  # as if never loaded on this host (add() loaded them)
    with pytest.raises(errors.MissingProviderError):
        tracker.run()
    refused = sorted(r.args[0] for r in caplog.records if "cannot be polled" in r.getMessage())
    assert refused == ["lisoloo", "seven"]
    assert tracker.counts().in_flight == 0  # both past their deadline: settled in that look
    tracker.close()
    receiver.close()


def _without_seven(load: Callable[[str], Any]) -> Callable[[str], Any]:
    def load_provider(key: str) -> Any:
        if key == "seven":
            raise errors.MissingProviderError("seven")
        return load(key)

    return load_provider


def test_a_refused_key_is_raised_by_the_run_that_met_it_while_another_run_starts(
    store_path: Path, sandbox_clock: FakeClock
) -> None:
    # One tracker, two run()s at once (a RedisStore allows it): the second one starting
    # wiped the first one's refusal, and the key was never raised, only logged.
    tracker = tracking.Tracker(
        store_path, on_final=print, clock=sandbox_clock.now, sleep=sandbox_clock.sleep
    )
    tracker.add("seven", "77232007190")
    tracker.add("telecom23", "t1")
    sandbox_clock.advance(300)
    engine = tracker._engine
    first = engine.run(until_idle=False)
    effect = next(first)
    assert isinstance(effect, _engine.Poll)
    assert effect.provider == "seven"
    refused = errors.AuthenticationError(
        "revoked", provider="seven", status_code=401, error_code="900"
    )
    effect = first.throw(refused)
    assert isinstance(effect, _engine.Poll)
    assert effect.provider == "telecom23"
    second = engine.run(until_idle=False)
    next(second)
    effects = [first.send([delivered("t1")])]  # t1's hand-over, then the refusal
    with pytest.raises(errors.AuthenticationError):
        effects.append(first.send(None))
    assert [type(e) for e in effects] == [_engine.HandOver]
    first.close()
    second.close()
    tracker.close()


def test_a_rest_read_from_the_store_does_not_end_a_refusal(store_path: Path) -> None:
    # Another worker's 1 s rest after a 429, read from a RedisStore, replaced this worker's
    # minute of refusal: the revoked key was tried six times in that minute.
    store = tracking.SqliteStore(store_path)
    rests = Rests(store, clock=lambda: 1000.0, max_interval=900.0)
    rests.refuse("seven", 1060.0)
    store.rest("seven", retry_after=1.0, max_interval=900.0, now=1000.0)
    rests.read()
    assert rests.resting("seven", 1030.0)
    assert rests.until("seven", 1030.0) == 1060.0
    assert rests.next_end(1030.0) == 1060.0
    store.close()


def test_a_new_tracker_on_the_same_store_resumes_where_the_last_stopped(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    telecom23_sandbox.add_message("a", statuses=("pending", "sent", "DELIVRD"))
    telecom23_sandbox.add_message("b", statuses=("pending", "sent", "sent", "sent", "DELIVRD"))
    with telecom23_sandbox.connect() as client:
        running: list[tracking.Tracker] = []

        def stop_after_a(outcome: tracking.Outcome) -> None:
            outcomes.append(outcome)
            running[0].stop()

        first = make_tracker({"telecom23": client}, on_final=stop_after_a)
        running.append(first)
        first.add_many("telecom23", ["a", "b"], tag="batch-1")
        first.run()
        assert [o.message_id for o in outcomes] == ["a"]
        b = first.get("telecom23", "b")
        assert b is not None
        polls_so_far = b.polls
        first.close()

        second = make_tracker({"telecom23": client})
        assert second.add("telecom23", "b") is False
        second.run()
    assert [o.message_id for o in outcomes] == ["a", "b"]
    assert outcomes[1].polls == 5 >= polls_so_far
    assert outcomes[1].tag == "batch-1"
    assert [o.delivery for o in outcomes] == [1, 1]


def test_a_deadline_reached_on_a_failed_poll_hands_over_the_last_report_seen(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker, outcomes: list[tracking.Outcome]
) -> None:
    """`outcome.report` is the last report seen, as the store keeps it, never the failed
    lookup of the poll that found the deadline."""
    telecom23_sandbox.add_message("m", statuses=("sent",))  # never final
    with telecom23_sandbox.connect() as client:
        real = client.get_statuses
        calls: list[object] = []

        def get_statuses(ids: list[str]) -> object:
            calls.append(ids)
            if len(calls) == 3:  # the poll at the deadline (3 s, 7 s, 10 s): a 5xx
                telecom23_sandbox.inject_fault("server_error", times=None)
            return real(ids)

        client.get_statuses = get_statuses  # type: ignore[method-assign]
        tracker = make_tracker({"telecom23": client})
        tracker.add("telecom23", "m", deadline=10)
        tracker.run()
        tracked = tracker.get("telecom23", "m")
    assert [r.status for r in telecom23_sandbox.requests][-1] >= 500  # the failed lookup
    (outcome,) = outcomes
    assert (outcome.reason, outcome.polls, outcome.state) == ("deadline", 3, DeliveryState.SENT)
    assert outcome.report is not None
    assert (outcome.report.state, outcome.report.error) == (DeliveryState.SENT, None)
    assert tracked is not None
    assert tracked.outcome is not None
    assert outcome.report == tracked.outcome.report


def _hooked(on_request: Callable[[], object]) -> httpx.Client:
    """A client of the user's that calls `on_request` as each request goes out (a stalled
    request is in no sandbox log until it ends)."""
    return httpx.Client(event_hooks={"request": [lambda _request: on_request()]})


def test_stop_is_heard_between_the_lookups_of_a_round_to_a_hung_provider(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker
) -> None:
    # stop() was heard only once the whole round was polled: a round of 100 ids to a
    # provider that never answers took 1,000 s with the default timeout.
    ids = [f"hung-{n}" for n in range(6)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    telecom23_sandbox.inject_fault("stall", times=None, seconds=30.0)
    made: list[tracking.Tracker] = []
    sent: list[None] = []

    def stop() -> None:
        sent.append(None)
        made[0].stop()

    with (
        _hooked(stop) as http,
        telecom23_sandbox.connect(max_retries=0, timeout=0.2, http_client=http) as client,
    ):
        made.append(make_tracker({"telecom23": client}, deadline=3600))
        made[0].add_many("telecom23", ids)
        made[0].run(until_idle=False)  # returns once stopped
    assert len(sent) == 1


def test_a_provider_that_does_not_answer_costs_one_lookup_a_look_not_a_round(
    lisoloo_sandbox: Sandbox,
    seven_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
) -> None:
    # Each of a round's ids waited out its own timeout before the next provider's round
    # (providers go in name order): with the default timeout, 1,000 s for 100 ids, and
    # deadlines and hand-overs held up as long. Now the round ends at the first step no
    # answer came to.
    # Three rounds of 100 (`POLL_ROUND`): each round after the first went to the hung
    # provider again before the next provider's.
    ids = [f"507f1f77bcf86cd7994{n:05d}" for n in range(250)]
    for message_id in ids:
        lisoloo_sandbox.add_message(message_id, statuses=("delivered",))
    lisoloo_sandbox.inject_fault("stall", times=None, seconds=30.0)
    seven_sandbox.add_message("77232007100", statuses=("DELIVERED",))
    made: list[tracking.Tracker] = []
    hung_lookups: list[None] = []
    with (
        _hooked(lambda: hung_lookups.append(None)) as hung_http,
        lisoloo_sandbox.connect(max_retries=0, timeout=0.2, http_client=hung_http) as hung,
        _hooked(lambda: made[0].stop()) as http,  # noqa: PLW0108 (made[0]: later)
        seven_sandbox.connect(max_retries=0, lookup="status", http_client=http) as healthy,
    ):
        made.append(make_tracker({"lisoloo": hung, "seven": healthy}, deadline=3600))
        made[0].add_many("lisoloo", ids)
        made[0].add("seven", "77232007100")
        sandbox_clock.advance(600.0)  # every id overdue: one look polls both providers
        made[0].run(until_idle=False)  # seven's first poll stops it
    assert [r.route for r in seven_sandbox.requests] == ["status"]
    assert len(hung_lookups) == 1


def test_a_provider_out_of_reach_is_logged_once_and_again_when_it_answers(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A provider no lookup reached (a refused certificate, a name that does not resolve)
    # was polled in silence until the ids' deadlines: nothing said why nothing settled.
    telecom23_sandbox.add_message("m1", statuses=("DELIVRD",))
    reset = telecom23_sandbox.inject_fault("reset", times=3)
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client}, deadline=3600)
        tracker.add("telecom23", "m1")
        with caplog.at_level("WARNING", logger="sms_status.tracking"):
            while not outcomes:
                tracker.run(until_idle=True)
                sandbox_clock.advance(60.0)
    assert reset.hits == 3  # three looks met the reset, the fourth an answer
    said = [r.getMessage() for r in caplog.records if r.name == "sms_status.tracking"]
    assert len(said) == 2, said
    assert said[0].startswith("telecom23: no lookup reached the provider (TransportError: ")
    assert said[1] == "telecom23: reached again, after 3 rounds that did not reach it"
    assert outcomes[0].state is DeliveryState.DELIVERED


def test_a_budget_held_by_another_calls_429_rests_the_provider_not_the_run(
    lisoloo_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # The app's own call on the shared client met a 429 (Retry-After 30), which holds the
    # client's rate budget: the tracker's poll sat out the hold inside the limiter, run()
    # deaf to stop(), hand-overs and other providers waiting. Now it rests the provider.
    message_id = "507f1f77bcf86cd799439011"
    lisoloo_sandbox.add_message(message_id, statuses=("delivered",))
    lisoloo_sandbox.inject_fault("rate_limit", retry_after="30", times=1)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        sandbox_clock.sleep(seconds)

    with lisoloo_sandbox.connect(max_retries=0, sleep=sleep) as shared:
        with pytest.raises(errors.RateLimitError):
            shared.get_status(message_id)  # the app's call: the budget is held 30 s
        held_at = sandbox_clock.now()
        tracker = make_tracker({"lisoloo": shared}, deadline=3600)
        tracker.add("lisoloo", message_id)
        tracker.run()
    assert max(waits, default=0.0) <= _tracker.SLOT_WAIT  # never in the limiter for long
    assert [(o.message_id, o.state) for o in outcomes] == [(message_id, DeliveryState.DELIVERED)]
    looked_up = [r.at for r in lisoloo_sandbox.requests if r.status == 200]
    assert looked_up[0] >= held_at + 30.0 - 0.01  # after the hold, not into it


def test_a_429_a_tracker_meets_holds_the_budget_it_shares_with_the_app(
    lisoloo_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
) -> None:
    # The app and the tracker book from one budget (one bucket here; one Redis name across
    # processes): the tracker's 429 held it, so the app's next call waits it out rather
    # than meet a 429 of its own (lisoloo suspends keys that keep meeting them).
    lisoloo_sandbox.add_message("507f1f77bcf86cd799439011", statuses=("delivered",))
    lisoloo_sandbox.add_message("507f1f77bcf86cd799439012", statuses=("delivered",))
    budget = TokenBucket.for_limit(RateLimit(120, 60.0), clock=sandbox_clock.monotonic)
    app_waits: list[float] = []

    def app_sleep(seconds: float) -> None:
        app_waits.append(seconds)
        sandbox_clock.sleep(seconds)

    made: list[tracking.Tracker] = []
    with (
        _hooked(lambda: made[0].stop()) as http,  # noqa: PLW0108 (made[0]: later)
        lisoloo_sandbox.connect(max_retries=0, rate_limiter=budget, http_client=http) as polls,
        lisoloo_sandbox.connect(max_retries=0, rate_limiter=budget, sleep=app_sleep) as app,
    ):
        lisoloo_sandbox.inject_fault("rate_limit", retry_after="30", times=1)
        made.append(make_tracker({"lisoloo": polls}, deadline=3600))
        made[0].add("lisoloo", "507f1f77bcf86cd799439011")
        sandbox_clock.advance(600.0)  # due
        made[0].run(until_idle=False)  # its one poll meets the 429 and stops it
        assert app.get_status("507f1f77bcf86cd799439012").error is None
    assert app_waits
    assert app_waits[0] > 25.0


def test_ids_past_their_deadline_settle_in_one_look_while_their_provider_is_out_of_reach(
    telecom23_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    # Each look tried the next overdue id, met the outage, and gave the others back still
    # due: ids past their deadline settled one lookup's timeout apart (500 of them with the
    # default 10 s timeout: 83 minutes late). Now the look that meets the outage settles
    # every id past its deadline that it did not try.
    ids = [f"m{n}" for n in range(12)]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("ENROUTE",))
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client}, deadline=60)
        tracker.add_many("telecom23", ids)
        telecom23_sandbox.inject_fault("reset", times=None)
        sandbox_clock.advance(120.0)  # the worker was down past the deadlines, say
        tracker.run(until_idle=True)
    assert len(telecom23_sandbox.requests) == 1  # it met the outage: the rest were not tried
    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert {(o.reason, o.state) for o in outcomes} == {("deadline", DeliveryState.UNKNOWN)}


def test_overdue_ids_behind_a_full_batch_settle_without_a_lookup_each(
    telecom23_sandbox: Sandbox, sandbox_clock: FakeClock, make_tracker: MakeTracker
) -> None:
    # The ids a look did not try stayed due: the next look read the same first `BATCH`
    # rows, tried one more, and overdue ids behind them waited a timeout per id ahead
    # (34 lookups here; 520 with the async tracker's steps of one). They now wait as a
    # failed lookup's retry, so each look reaches further.
    ahead = [f"ahead{n}" for n in range(_engine.BATCH + 20)]
    overdue = ["late0", "late1", "late2"]
    lookups_by_then: list[int] = []

    def on_final(outcome: tracking.Outcome) -> None:
        if outcome.message_id in overdue:
            lookups_by_then.append(len(telecom23_sandbox.requests))
            if len(lookups_by_then) == len(overdue):
                tracker.stop()

    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = make_tracker({"telecom23": client}, on_final=on_final)
        tracker.add_many("telecom23", ahead, deadline=86400)
        sandbox_clock.advance(10.0)
        tracker.add_many("telecom23", overdue, deadline=60)
        telecom23_sandbox.inject_fault("reset", times=None)
        sandbox_clock.advance(200.0)
        tracker.run()  # until the last overdue id is handed over
    assert len(lookups_by_then) == len(overdue)
    assert max(lookups_by_then) <= 3  # a look, then one past the first BATCH
    assert tracker.counts().in_flight == len(ahead)  # they wait for the provider


def test_a_budget_booked_ahead_by_others_rests_only_this_worker_without_doubling(
    lisoloo_sandbox: Sandbox,
    sandbox_clock: FakeClock,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
    store_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No slot within the window (other clients had booked the shared budget 30 s ahead) was
    # taken for the provider's 429: a rest in the store for every worker, doubled at each
    # such round in a row (to 15 minutes), though the provider never said a word.
    message_id = "507f1f77bcf86cd799439011"
    lisoloo_sandbox.add_message(message_id, statuses=("delivered",))
    budget = TokenBucket.for_limit(RateLimit(120, 60.0), clock=sandbox_clock.monotonic)
    for _ in range(60):
        budget.reserve()  # the others' bookings: the next slot is some 30 s away
    with lisoloo_sandbox.connect(max_retries=0, rate_limiter=budget) as client:
        tracker = make_tracker({"lisoloo": client}, deadline=3600)
        tracker.add("lisoloo", message_id)
        started = sandbox_clock.now()
        with caplog.at_level("INFO", logger="sms_status.tracking"):
            tracker.run()
    assert [o.message_id for o in outcomes] == [message_id]
    store = tracking.SqliteStore(store_path)
    try:
        assert store.rests(sandbox_clock.now()) == {}  # no rest for every worker
    finally:
        store.close()
    said = [r.getMessage() for r in caplog.records if r.name == "sms_status.tracking"]
    assert not [line for line in said if "polling rests" in line], said
    assert any("no slot of the rate budget" in line for line in said), said
    [polled] = [r.at for r in lisoloo_sandbox.requests if r.route == "status"]
    assert polled - started < 30.0 + _tracker.SLOT_WAIT + 5.0  # not a doubled rest later
