"""End to end: the sandbox's own signed webhooks feed `webhooks.app(on_report=tracker.ingest)`,
served by uvicorn over loopback, into a `Tracker` on a real SQLite file (#17).

The tracker runs on the sandbox's FakeClock, which nobody moves while the pushes arrive: no
poll can come due, so every id must settle from its push alone (`ingest` wakes `run()`).
Then a second tracker on the same file lets the clock run: it polls only the ids that were
never pushed, never one whose final was pushed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sms_status import tracking, webhooks
from sms_status.cli._listen import serving
from sms_status.report import DeliveryState
from sms_status.testing import FakeClock, RecordedRequest, Sandbox

SECRET = "whsec_tracker_e2e"

# The provider's own statuses: sent, then a final one (telecom23 pushes finals only; seven
# pushes every change, so its non-final push comes first and defers the next poll).
LIFECYCLES = {
    "telecom23": ("sent", "DELIVRD", "UNDELIV"),
    "seven": ("TRANSMITTED", "DELIVERED", "NOTDELIVERED"),
}
PUSHED = 40
LATE = 5
"""Of the pushed ids, the last ones are added to the tracker only after their webhooks were
sent: the push beat add(), and is kept for it."""
NEVER_PUSHED = 3


def _ids(key: str, prefix: str, count: int) -> list[str]:
    if key == "seven":  # seven's ids are numbers
        return [str(77235000000 + (1000 if prefix == "quiet" else 0) + i) for i in range(count)]
    return [f"{prefix}-{i:03d}" for i in range(count)]


def _looked_up(request: RecordedRequest) -> set[str]:
    """The ids one status request asked for (seven: `msg_id=a,b`; others: the last segment)."""
    ids = set(request.query_params.get("msg_id", [""])[0].split(","))
    ids.add(request.path.rsplit("/", 1)[-1])
    return ids - {""}


@pytest.fixture(params=sorted(LIFECYCLES))
def sandbox(
    request: pytest.FixtureRequest, telecom23_sandbox: Sandbox, seven_sandbox: Sandbox
) -> Sandbox:
    return telecom23_sandbox if request.param == "telecom23" else seven_sandbox


def test_pushed_finals_settle_every_id_once_with_no_poll(
    sandbox: Sandbox, sandbox_clock: FakeClock, tmp_path: Path
) -> None:
    key = sandbox.key
    sent, delivered, failed = LIFECYCLES[key]
    pushed = _ids(key, "pushed", PUSHED)
    quiet = _ids(key, "quiet", NEVER_PUSHED)  # the provider never moves these past "sent"
    store = tmp_path / "deliveries.db"
    outcomes: list[tracking.Outcome] = []
    arrived = threading.Condition()

    def on_final(outcome: tracking.Outcome) -> None:
        with arrived:
            outcomes.append(outcome)
            arrived.notify_all()

    with (
        sandbox.connect() as client,
        tracking.Tracker(
            store, on_final=on_final, clients={key: client}, clock=sandbox_clock.now
        ) as tracker,
    ):
        app = webhooks.app(
            key,
            secret=SECRET,
            on_report=tracker.ingest,
            clock=sandbox_clock.now,
            acknowledge="after_report",  # a 2xx once ingested: the late adds find the pushes
        )
        with serving(app) as origin:
            sandbox.add_webhook(f"{origin}/hooks/{key}", secret=SECRET)
            tracker.add_many(key, pushed[:-LATE])
            tracker.add_many(key, quiet, deadline=600)
            for i, message_id in enumerate(pushed):
                final = failed if i % 4 == 0 else delivered
                sandbox.add_message(message_id, statuses=(sent, final), advance=1)
            for message_id in quiet:
                sandbox.add_message(message_id, statuses=(sent,))
            # Finals come 1 s on: well before the first poll would be due (3 s, 5 s).
            sandbox_clock.advance(1)
            finals = sandbox.wait_for_webhooks(
                PUSHED, timeout=60, where=lambda d: d.ok and d.status in (delivered, failed)
            )
            tracker.add_many(key, pushed[-LATE:])
            # run() hands outcomes over as pushes settle ids; the clock stands still, so the
            # quiet ids keep it running until the pushed ones are all handed over.
            running = threading.Thread(target=tracker.run, kwargs={"until_idle": False})
            running.start()
            try:
                with arrived:
                    assert arrived.wait_for(lambda: len(outcomes) >= PUSHED, timeout=60), (
                        f"{len(outcomes)} of {PUSHED} outcomes"
                    )
            finally:
                tracker.stop()
                running.join(60)
            assert not running.is_alive()

    assert len(finals) == PUSHED  # one signed final per message, each answered 2xx
    assert sorted(o.message_id for o in outcomes) == sorted(pushed)
    assert len({o.key for o in outcomes}) == PUSHED  # each id once
    for outcome in outcomes:
        assert (outcome.reason, outcome.source, outcome.polls, outcome.delivery) == (
            "final", "push", 0, 1,
        )  # fmt: skip
        assert outcome.report is not None
        assert outcome.report.provider == key
        expected = DeliveryState.UNDELIVERED if pushed.index(outcome.message_id) % 4 == 0 else (
            DeliveryState.DELIVERED
        )  # fmt: skip
        assert outcome.state is expected, outcome
    assert sandbox.requests == []  # the clock never moved to a poll: pushes did it all

    # A second tracker on the same file lets the clock run: the quiet ids are polled until
    # their deadline; no id whose final was pushed is ever looked up.
    sandbox.clear_requests()
    late: list[tracking.Outcome] = []
    options = {"lookup": "status"} if key == "seven" else {}
    with (
        sandbox.connect(**options) as client,  # type: ignore[arg-type]
        tracking.Tracker(
            store,
            on_final=late.append,
            clients={key: client},
            clock=sandbox_clock.now,
            sleep=sandbox_clock.sleep,
        ) as tracker,
    ):
        tracker.run()
        counts = tracker.counts()
        again = tracker.get(key, pushed[0])
    assert sorted(o.message_id for o in late) == sorted(quiet)
    # Polled to their deadline, still "sent" (seven pushed that "sent" too: a poll answering
    # the same report keeps the pushed one, so their source stays "push").
    assert {(o.reason, o.state) for o in late} == {("deadline", DeliveryState.SENT)}
    assert all(o.polls >= 1 for o in late)
    looked_up = set().union(*(_looked_up(request) for request in sandbox.requests))
    assert looked_up & set(pushed) == set()
    assert looked_up & set(quiet) == set(quiet)
    assert counts.settled == PUSHED + NEVER_PUSHED
    assert counts.in_flight == counts.awaiting_handover == 0
    assert counts.by_reason == {"final": PUSHED, "deadline": NEVER_PUSHED}
    assert again is not None
    assert again.outcome is not None
    assert again.outcome.source == "push"  # read back from the file as it was recorded
