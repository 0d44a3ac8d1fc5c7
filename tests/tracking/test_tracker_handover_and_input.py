"""Hand-over to `on_final` (retried with backoff, never dropped, never from add/ingest), bad
input at `add()` (nothing stored), and the store's versioned layout and run lock."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sms_status
from sms_status import errors, tracking
from sms_status.report import StatusReport
from sms_status.testing import FakeClock, Sandbox
from sms_status.tracking import _sqlite_layout
from tracking_support import MakeTracker, delivered, ended_by_themselves


def test_a_raising_on_final_is_retried_with_backoff_and_never_dropped(
    make_tracker: MakeTracker, sandbox_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[int, float]] = []

    def flaky(outcome: tracking.Outcome) -> None:
        calls.append((outcome.delivery, sandbox_clock.now()))
        if len(calls) < 4:
            raise ConnectionError("the orders database is down")

    tracker = make_tracker(on_final=flaky)
    tracker.add("telecom23", "m1")
    tracker.ingest(delivered("m1"))
    with caplog.at_level(logging.ERROR, logger="sms_status.tracking"):
        tracker.run()
    assert [delivery for delivery, _ in calls] == [1, 2, 3, 4]
    waits = [b - a for (_, a), (_, b) in itertools.pairwise(calls)]
    assert waits == [1.0, 2.0, 4.0]
    assert "on_final raised for telecom23:m1 (delivery 1)" in caplog.text
    assert "ConnectionError: the orders database is down" in caplog.text
    assert tracker.counts().awaiting_handover == 0


def test_on_final_is_never_called_from_add_or_ingest(make_tracker: MakeTracker) -> None:
    def refuse(_outcome: tracking.Outcome) -> None:
        raise AssertionError("on_final called outside run()")

    tracker = make_tracker(on_final=refuse)
    tracker.ingest(delivered("early"))
    tracker.add("telecom23", "early")
    tracker.add("telecom23", "m2")
    tracker.ingest(delivered("m2"))
    counts = tracker.counts()
    assert (counts.settled, counts.awaiting_handover) == (2, 2)


@pytest.mark.parametrize(
    ("provider", "message_id", "options", "error"),
    [
        ("telecom42", "m1", {}, ValueError),
        (None, "m1", {}, TypeError),
        ("telecom23", "", {}, ValueError),
        ("telecom23", ".", {}, ValueError),
        ("telecom23", "..", {}, ValueError),
        ("telecom23", "a\nb", {}, ValueError),
        ("telecom23", 42, {}, TypeError),
        ("seven", "1,2", {}, ValueError),
        ("telecom23", "m1", {"deadline": -1}, ValueError),
        ("telecom23", "m1", {"deadline": 0}, ValueError),
        ("telecom23", "m1", {"deadline": float("nan")}, ValueError),
        ("telecom23", "m1", {"deadline": float("inf")}, ValueError),
        ("telecom23", "m1", {"deadline": "3600"}, TypeError),
        ("telecom23", "m1", {"deadline": True}, TypeError),
        ("telecom23", "m1", {"tag": 1234}, TypeError),
        ("telecom23", "m1", {"tag": "x" * 257}, ValueError),
    ],
)
def test_bad_input_at_add_is_an_error_and_stores_nothing(
    make_tracker: MakeTracker,
    provider: object,
    message_id: object,
    options: dict[str, object],
    error: type[Exception],
) -> None:
    tracker = make_tracker()
    with pytest.raises(error):
        tracker.add(provider, message_id, **options)  # type: ignore[arg-type]
    with pytest.raises(error):
        tracker.add_many(provider, ["ok-1", message_id, "ok-2"], **options)  # type: ignore[arg-type,list-item]
    assert tracker.counts().total == 0


@pytest.mark.parametrize(
    ("provider", "message_id"),
    [
        ("telecom23", "x\ud800"),
        ("telecom23", "bad\x00id"),
        ("telecom23", ".."),
        ("seven", "77232000000,77232000001"),  # "," separates seven's ids in a lookup
    ],
)
def test_ingest_refuses_an_id_add_would_refuse_and_stores_nothing(
    make_tracker: MakeTracker, provider: str, message_id: str
) -> None:
    tracker = make_tracker()
    with pytest.raises(ValueError, match="message id"):
        tracker.add(provider, message_id)
    tracker.add("telecom23", "ok-1")
    with pytest.raises(ValueError, match="message id"):
        tracker.ingest(delivered(message_id, provider))
    with pytest.raises(ValueError, match="message id"):
        tracker.ingest_many([delivered("ok-1"), delivered(message_id, provider)])
    assert tracker.counts().in_flight == 1  # not even the good one of the batch
    assert tracker.get("telecom23", "ok-1").report is None  # type: ignore[union-attr]


def test_add_many_reads_an_iterable_once_and_checks_every_id_first(
    make_tracker: MakeTracker,
) -> None:
    tracker = make_tracker()
    ids = (f"gen-{n}" for n in range(1000))
    assert tracker.add_many("telecom23", ids, tag="bulk") == 1000
    assert tracker.counts().in_flight == 1000
    with pytest.raises(ValueError, match="control characters"):
        tracker.add_many("telecom23", [f"more-{n}" for n in range(10)] + ["bad\x00id"])
    assert tracker.counts().in_flight == 1000
    with pytest.raises(TypeError, match="not one string"):
        tracker.add_many("telecom23", "abc")
    assert tracker.add("telecom23", "x" * 256, tag="x" * 256)


def test_add_many_holds_no_other_writer_up_while_it_reads_its_ids(
    make_tracker: MakeTracker, store_path: Path
) -> None:
    # The ids were read inside the write transaction: a generator yielding ids as messages
    # are sent held the store's write lock all along, and a receiver's ingest in another
    # process failed with "database is locked" (its webhook answered 500).
    tracker = make_tracker()
    receiver = tracking.Tracker(tracking.SqliteStore(store_path, busy_timeout=0.2), on_final=print)
    receiver.add("telecom23", "m-early")
    pushed: list[bool] = []

    def sent_one_by_one(count: int) -> Iterator[str]:
        for n in range(count):
            if n in (10, 2_500):  # within the first chunk read, and past it (staged)
                pushed.append(receiver.ingest(delivered("m-early")))
            yield f"sent-{n}"

    assert receiver.ingest(delivered("sent-2999"))  # early: applied by the staged add
    assert tracker.add_many("telecom23", sent_one_by_one(3_000)) == 3_000
    assert pushed == [True, False]  # the second found it settled already
    early = tracker.get("telecom23", "sent-2999")
    assert early is not None
    assert early.outcome is not None
    with pytest.raises(ValueError, match="control characters"):
        tracker.add_many("telecom23", itertools.chain(sent_one_by_one(4_500), ["bad\x00id"]))
    assert tracker.counts().in_flight == 2_999  # nothing of the failed add was stored
    receiver.close()


def test_add_many_adds_each_id_when_it_is_read(
    make_tracker: MakeTracker, sandbox_clock: FakeClock
) -> None:
    # The clock was read once, before the ids: an id a generator yielded 40 minutes into the
    # call was 40 minutes old when stored, and past a 30-minute deadline at once.
    tracker = make_tracker()
    started = sandbox_clock.now()

    def sent_every_twenty_minutes() -> Iterator[str]:
        for n in range(3):
            yield f"slow-{n}"
            sandbox_clock.advance(1200)

    assert tracker.add_many("telecom23", sent_every_twenty_minutes(), deadline=1800) == 3
    for n in range(3):
        tracked = tracker.get("telecom23", f"slow-{n}")
        assert tracked is not None
        sent = started + 1200 * n
        assert tracked.added_at.timestamp() == sent
        assert tracked.deadline_at.timestamp() == sent + 1800
        assert tracked.next_poll_at is not None
        assert tracked.next_poll_at.timestamp() > sent


def test_an_early_push_add_many_applies_settles_no_sooner_than_its_id_was_added(
    make_tracker: MakeTracker, sandbox_clock: FakeClock
) -> None:
    # Applied at the time the call began: an id yielded 40 minutes in was settled 40
    # minutes before it was added.
    tracker = make_tracker()
    assert tracker.ingest(delivered("late-1"))  # its receipt beat add()

    def sent_later() -> Iterator[str]:
        sandbox_clock.advance(2400)
        yield "late-1"

    assert tracker.add_many("telecom23", sent_later()) == 1
    tracked = tracker.get("telecom23", "late-1")
    assert tracked is not None
    assert tracked.outcome is not None
    assert tracked.outcome.settled_at >= tracked.added_at


def test_a_store_written_by_a_newer_version_is_refused_with_a_clear_error(
    store_path: Path,
) -> None:
    tracking.SqliteStore(store_path).close()
    with sqlite3.connect(store_path) as db:
        db.execute("PRAGMA user_version=99")
        db.execute("UPDATE meta SET value = '9.0.0' WHERE key = 'written_by'")
    with pytest.raises(
        tracking.StoreVersionError, match=r"schema 99 \(written by sms-status 9\.0\.0\)"
    ):
        tracking.SqliteStore(store_path)


def test_an_sqlite_file_that_is_not_a_tracker_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(tracking.StoreVersionError, match="not a tracker store"):
        tracking.SqliteStore(other)
    with sqlite3.connect(other) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]


def test_one_run_at_a_time_per_sqlite_store_even_across_processes(
    make_tracker: MakeTracker, store_path: Path
) -> None:
    tracker = make_tracker()
    tracker.add("telecom23", "m1")
    tracker.ingest(delivered("m1"))
    script = (
        "import sys\n"
        "from sms_status import tracking\n"
        "t = tracking.Tracker(sys.argv[1], on_final=print)\n"
        "try:\n"
        "    t.run()\n"
        "except tracking.StoreBusyError as e:\n"
        "    print('busy:', e)\n"
    )
    with tracker._store.running():  # hold the lock as a running tracker does
        other = subprocess.run(
            [sys.executable, "-c", script, str(store_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        with pytest.raises(tracking.StoreBusyError, match="already running"):
            tracker.run()
    assert other.stdout.startswith("busy: another tracker is running on this store (pid ")
    assert "RedisStore" in other.stdout
    tracker.run()  # the lock is free again


def test_the_run_lock_is_the_database_files_whatever_it_is_called(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lock was named after the path as given: two runs through a symlink both ran,
    # handing every outcome over twice; two private ":memory:" stores refused each other.
    alias = tmp_path / "alias.db"
    tracking.SqliteStore(store_path).close()
    alias.symlink_to(store_path)
    first, second = tracking.SqliteStore(store_path), tracking.SqliteStore(alias)
    with first.running(), pytest.raises(tracking.StoreBusyError, match="another tracker"):  # noqa: SIM117
        with second.running():
            pass
    first.close()
    second.close()
    monkeypatch.chdir(tmp_path)
    mine, yours = tracking.SqliteStore(":memory:"), tracking.SqliteStore(":memory:")
    with mine.running(), yours.running():
        pass
    assert not list(tmp_path.glob("*memory*"))
    mine.close()
    yours.close()


def test_a_store_file_with_hard_links_is_refused(store_path: Path, tmp_path: Path) -> None:
    # Each name had a run lock of its own (and SQLite a journal and WAL of its own): a
    # second run() through a hard link was accepted, and every id polled twice.
    tracking.SqliteStore(store_path).close()
    os.link(store_path, tmp_path / "link.db")
    for name in (store_path, tmp_path / "link.db"):
        with pytest.raises(ValueError, match="has 2 names"):
            tracking.SqliteStore(name)


def test_counts_are_one_snapshot_while_another_process_settles_ids(
    make_tracker: MakeTracker, store_path: Path
) -> None:
    # Three separate reads: an id settled between them was counted in flight and settled
    # (total 4 of 3 tracked; the CLI's "settled out of tracked" view showed the same).
    writer = make_tracker()
    writer.add_many("telecom23", ["m1", "m2", "m3"])
    reader = tracking.SqliteStore(store_path)
    first_read = reader._scalar

    def settled_between(query: str) -> int:
        found = first_read(query)
        if "next_poll_at" in query:  # in flight read: another connection settles one now
            writer.ingest(delivered("m1"))
        return found

    reader._scalar = settled_between  # type: ignore[method-assign]
    counts = reader.counts()
    reader.close()
    assert (counts.in_flight, counts.settled, counts.total) == (3, 0, 3)
    assert writer.counts().settled == 1


def test_close_while_run_goes_on_in_another_thread_stops_it_and_waits_for_on_final(
    store_path: Path,
) -> None:
    # A service's shutdown: stop(), then the `with` ends while on_final still runs. close()
    # closed the store under the run: sqlite3.ProgrammingError, and the outcome whose
    # on_final had returned was handed over again by the next tracker.
    inside, release, handed = threading.Event(), threading.Event(), []
    errors: list[BaseException] = []

    def on_final(outcome: tracking.Outcome) -> None:
        inside.set()
        release.wait(30)
        handed.append((outcome.key, outcome.delivery))

    def run() -> None:
        try:
            tracker.run(until_idle=False)
        except BaseException as exc:
            errors.append(exc)

    tracker = tracking.Tracker(store_path, on_final=on_final)
    tracker.add("telecom23", "m1")
    tracker.ingest(delivered("m1"))
    runner = threading.Thread(target=run)
    runner.start()
    assert inside.wait(30)
    closing = threading.Thread(target=tracker.close)
    closing.start()
    closing.join(0.05)
    assert closing.is_alive()  # waiting for the run
    release.set()
    closing.join(30)
    runner.join(30)
    assert not errors
    with tracking.Tracker(store_path, on_final=on_final) as again:
        again.run()
        assert again.counts().awaiting_handover == 0
    assert handed == [("telecom23:m1", 1)]


def test_close_from_inside_on_final_is_refused(store_path: Path) -> None:
    refused: list[BaseException] = []

    def on_final(outcome: tracking.Outcome) -> None:
        try:
            tracker.close()
        except RuntimeError as exc:
            refused.append(exc)

    with tracking.Tracker(store_path, on_final=on_final) as tracker:
        tracker.add("telecom23", "m1")
        tracker.ingest(delivered("m1"))
        tracker.run()
        assert tracker.counts().awaiting_handover == 0
    assert "inside run()" in str(refused[0])


def test_a_tracker_never_takes_an_on_final_it_would_not_await(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An object with an async __call__ passed the check, and a function returning a
    # coroutine ran: the coroutine was never awaited and the outcome was recorded as handed
    # over, so it was lost.
    saved: list[str] = []

    class Saver:
        async def __call__(self, outcome: tracking.Outcome) -> None:
            saved.append(outcome.key)

    with pytest.raises(TypeError, match="AsyncTracker"):
        tracking.Tracker(store_path, on_final=Saver())

    def returns_a_coroutine(outcome: tracking.Outcome) -> object:
        tracker.stop()
        return Saver()(outcome)

    with tracking.Tracker(store_path, on_final=returns_a_coroutine) as tracker:
        tracker.add("telecom23", "m1")
        tracker.ingest(delivered("m1"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "coroutine ... was never awaited" is an error
            tracker.run(until_idle=False)
        assert tracker.counts().awaiting_handover == 1  # handed over again later
    assert saved == []
    assert "use tracking.AsyncTracker" in caplog.text


def test_clients_of_another_provider_or_kind_are_refused_before_a_store_is_opened(
    seven_sandbox: Sandbox, store_path: Path
) -> None:
    # A seven client under "telecom23" polled none of telecom23's ids (each ended at its
    # deadline); an async client in a Tracker raised "'coroutine' object is not iterable".
    with seven_sandbox.connect() as seven:
        with pytest.raises(ValueError, match="not a 'telecom23' client"):
            tracking.Tracker(store_path, on_final=print, clients={"telecom23": seven})
        with pytest.raises(TypeError, match="AsyncStatusClient"):
            tracking.AsyncTracker(store_path, on_final=print, clients={"seven": seven})
    async_seven = sms_status.connect_async(
        "seven", api_key=seven_sandbox.api_key, base_url=seven_sandbox.base_url
    )
    with pytest.raises(TypeError, match="a client of connect"):
        tracking.Tracker(store_path, on_final=print, clients={"seven": async_seven})
    assert not store_path.exists()


def test_clients_as_pairs_are_taken_and_a_bad_one_is_a_type_error(
    seven_sandbox: Sandbox, store_path: Path
) -> None:
    # Taken as dict() takes them: pairs too; anything else dict()'s own TypeError or
    # ValueError, not an AttributeError ('list' object has no attribute 'items').
    with seven_sandbox.connect() as seven:
        with tracking.Tracker(store_path, on_final=print, clients=[("seven", seven)]) as tracker:  # type: ignore[arg-type]
            tracker.add("seven", "77232007287")
        for bad in ("seven", 5, [("seven",)]):
            with pytest.raises((TypeError, ValueError)):
                tracking.Tracker(store_path, on_final=print, clients=bad)  # type: ignore[arg-type]


def test_the_run_lock_is_resolved_when_the_store_opens_not_at_each_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Opened by a relative path, then a chdir (a daemon's): the lock became
    # "<new cwd>/deliveries.db.run-lock", and a second tracker ran beside the first.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    relative = tracking.SqliteStore("deliveries.db")
    monkeypatch.chdir(tmp_path / "elsewhere")
    absolute = tracking.SqliteStore(tmp_path / "deliveries.db")
    with relative.running(), pytest.raises(tracking.StoreBusyError):  # noqa: SIM117
        with absolute.running():
            pass
    assert not list((tmp_path / "elsewhere").iterdir())
    relative.close()
    absolute.close()


def test_a_run_started_as_the_tracker_closes_is_refused_not_broken(store_path: Path) -> None:
    # create_task(tracker.run()) and then the end of `async with`: the store closed first,
    # and the task failed with sqlite3.ProgrammingError.
    async def main() -> BaseException | None:
        async with tracking.AsyncTracker(store_path, on_final=print) as tracker:
            await tracker.add("telecom23", "m1")
            task = asyncio.create_task(tracker.run())
        try:
            await task
        except BaseException as exc:
            return exc
        return None

    refused = asyncio.run(main())
    assert isinstance(refused, RuntimeError)
    assert "closed" in str(refused)


def test_counts_from_the_ids_an_add_many_reads_are_one_snapshot(make_tracker: MakeTracker) -> None:
    tracker = make_tracker()
    seen: list[int] = []

    def ids() -> Iterator[str]:
        for n in range(3_000):
            if n in (5, 2_500):
                seen.append(tracker.counts().total)  # raised "within a transaction"
            yield f"m-{n}"

    assert tracker.add_many("telecom23", ids()) == 3_000
    assert seen == [0, 0]


def test_repr_shows_counts_and_never_a_key(
    telecom23_sandbox: Sandbox, make_tracker: MakeTracker
) -> None:
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        tracker.add_many("telecom23", ["a", "b"])
        tracker.ingest(delivered("a"))
        text = repr(tracker)
    assert "in_flight=1, settled=1, awaiting_handover=1" in text
    assert telecom23_sandbox.api_key not in text
    assert repr(tracker.counts()) == (
        "Counts(in_flight=1, settled=1 (delivered=1), awaiting_handover=1)"
    )


def test_a_stored_report_reads_back_equal_with_every_field(
    lisoloo_sandbox: Sandbox, seven_sandbox: Sandbox
) -> None:
    from sms_status.report import unbuilt_raw
    from sms_status.tracking._model import decode_report, encode_report

    lisoloo_sandbox.add_message("multi", statuses=("delivered",))
    seven_sandbox.add_message("77", statuses=("DELIVERED",))
    with lisoloo_sandbox.connect() as lisoloo, seven_sandbox.connect(lookup="status") as seven:
        # Each read twice: the second's model is not built yet (the body's shape is known),
        # so the store keeps its JSON as read; the first's was built, and is written back.
        reports = [
            client.get_status(message_id)
            for _ in range(2)
            for client, message_id in ((lisoloo, "multi"), (seven, "77"))
        ]
    assert all(unbuilt_raw(r) is not None for r in reports[2:])
    for report in reports:
        again = decode_report(encode_report(report))
        assert again == report
        assert again is not None
        assert again.to_dict() == report.to_dict()
        assert type(again.raw) is type(report.raw)
        assert again.raw.to_dict() == report.raw.to_dict()  # type: ignore[attr-defined]


def test_a_run_on_real_time_hands_over_a_push_from_another_thread_at_once_and_stops(
    store_path: Path,
) -> None:
    import threading

    handed = threading.Event()
    got: list[tracking.Outcome] = []

    def on_final(outcome: tracking.Outcome) -> None:
        got.append(outcome)
        handed.set()

    # Real clock and sleep; with webhooks= its first poll is 15 minutes away: only the push acts.
    with tracking.Tracker(store_path, on_final=on_final, webhooks=["telecom23"]) as tracker:
        tracker.add("telecom23", "m1", deadline=3600)
        runner = threading.Thread(target=tracker.run, kwargs={"until_idle": False})
        runner.start()
        tracker.ingest(delivered("m1"))  # a webhook thread, as webhooks.app runs on_report
        assert handed.wait(30), "the push was not handed over"
        tracker.stop()
        runner.join(30)
        assert not runner.is_alive()
    assert [o.source for o in got] == ["push"]


def test_a_stop_before_run_begins_ends_that_run_and_is_spent_by_it(
    store_path: Path, sandbox_clock: FakeClock
) -> None:
    # A service's shutdown (SIGTERM during start-up) that came before its thread entered
    # run(until_idle=False) was lost: run() cleared it on entry and ran on for ever.
    import threading

    got: list[tracking.Outcome] = []
    with tracking.Tracker(
        store_path, on_final=got.append, clock=sandbox_clock.now, sleep=sandbox_clock.sleep
    ) as tracker:
        tracker.stop()
        runner = threading.Thread(target=tracker.run, kwargs={"until_idle": False})
        runner.start()
        stopped = ended_by_themselves([runner], tracker)
        assert stopped, "run() ran on after a stop() asked for before it began"
        tracker.add("telecom23", "m1")  # the next run() runs: the stop was spent
        tracker.ingest(delivered("m1"))
        tracker.run()
    assert [(o.message_id, o.source) for o in got] == [("m1", "push")]


def test_a_stop_during_a_run_that_raises_ends_the_next_run(
    store_path: Path, telecom23_sandbox: Sandbox, sandbox_clock: FakeClock
) -> None:
    # A service that runs again after a refused key, stopped meanwhile: the run that raised
    # did not end because of the stop, so the stop is not spent (it was cleared, and the
    # service's next run went on for ever).
    import threading

    telecom23_sandbox.add_message("m", statuses=("sent",))
    telecom23_sandbox.inject_fault("error", status=401, code="INVALID_API_KEY", times=1)
    with telecom23_sandbox.connect(max_retries=0) as client:
        tracker = tracking.Tracker(
            store_path,
            on_final=print,
            clients={"telecom23": client},
            clock=sandbox_clock.now,
            sleep=sandbox_clock.sleep,
        )
        looks = client.get_statuses

        def stopped_mid_lookup(ids: list[str]) -> list[StatusReport]:
            tracker.stop()  # the service's shutdown, from another thread
            client.get_statuses = looks  # type: ignore[method-assign]
            return looks(ids)  # meets the 401

        client.get_statuses = stopped_mid_lookup  # type: ignore[method-assign]
        tracker.add("telecom23", "m")
        runs: list[str] = []

        def service() -> None:
            while True:
                try:
                    tracker.run(until_idle=False)
                except errors.AuthenticationError:
                    runs.append("refused")
                    continue  # the key was rotated: run again
                runs.append("returned")
                return

        runner = threading.Thread(target=service)
        runner.start()
        stopped = ended_by_themselves([runner], tracker)
        tracker.close()
    assert stopped, "the stop was lost with the run that raised"
    assert runs == ["refused", "returned"]


def test_a_bad_max_interval_is_named_in_the_error(store_path: Path) -> None:
    with pytest.raises(ValueError, match="max_interval must be a finite number"):
        tracking.Tracker(store_path, on_final=print, max_interval=0)


def test_a_deadline_too_far_out_to_have_a_date_is_refused_before_it_is_stored(
    store_path: Path,
) -> None:
    # It was stored, and every get() of the id then raised an OverflowError.
    century = 100 * 365.25 * 86400
    with tracking.Tracker(store_path, on_final=print) as tracker:
        with pytest.raises(ValueError, match="deadline must be at most 100 years"):
            tracker.add("telecom23", "m1", deadline=1e12)
        with pytest.raises(ValueError, match="deadline must be at most 100 years"):
            tracker.add("telecom23", "m1", deadline=10**400)  # no float holds it
        assert tracker.get("telecom23", "m1") is None
        tracker.add("telecom23", "m2", deadline=century)
        tracked = tracker.get("telecom23", "m2")
        assert tracked is not None
        assert tracked.deadline_at.year > 2100
    with pytest.raises(ValueError, match="retention must be at most 100 years"):
        tracking.SqliteStore(store_path, retention=century * 2)
    with pytest.raises(ValueError, match="max_interval must be at most 100 years"):
        tracking.Tracker(store_path, on_final=print, max_interval=10**400)


def test_an_sqlite_store_with_a_retention_forgets_handed_over_outcomes_past_it(
    store_path: Path, sandbox_clock: FakeClock, make_tracker: MakeTracker
) -> None:
    store = tracking.SqliteStore(store_path, retention=3600)
    tracker = make_tracker(store=store)
    tracker.add_many("telecom23", ["m1", "m2"])
    tracker.ingest_many([delivered("m1"), delivered("m2")])
    tracker.run()  # m1 and m2 handed over
    tracker.add("telecom23", "m3")
    assert tracker.ingest(delivered("m3"))  # settled, its hand-over pending
    sandbox_clock.advance(2 * 3600)
    tracker.add("telecom23", "m4")
    assert tracker.ingest(delivered("m4"))  # settled just now
    assert store.purge(sandbox_clock.now()) == 2
    assert [tracker.get("telecom23", m) is None for m in ("m1", "m2", "m3", "m4")] == [
        True,
        True,
        False,  # not handed over yet: kept however old
        False,  # within the retention
    ]
    assert tracker.counts().settled == 2
    sandbox_clock.advance(2 * 3600)
    tracker.run()  # purges (before m3 and m4 were handed over), then hands them over
    assert tracker.counts().settled == 2
    tracker.run()  # a run purges first: both are past the retention and handed over
    assert tracker.counts().total == 0


def test_a_schema_1_store_is_migrated_and_its_purge_reads_only_what_is_due(
    store_path: Path, sandbox_clock: FakeClock, make_tracker: MakeTracker
) -> None:
    """Schema 2 indexes the outcomes a retention may forget by age: before it, every purge
    read every settled outcome, however few were due."""
    tracker = make_tracker()
    tracker.add("telecom23", "old")
    tracker.ingest(delivered("old"))
    tracker.run()  # handed over
    sandbox_clock.advance(2 * 3600)
    tracker.add("telecom23", "new")
    tracker.ingest(delivered("new"))
    tracker.run()
    tracker.close()
    with contextlib.closing(sqlite3.connect(store_path)) as db:  # the layout before schema 2
        db.execute("DROP INDEX messages_forgettable")
        db.execute("ALTER TABLE messages DROP COLUMN failures")
        db.execute("ALTER TABLE messages DROP COLUMN due_since")
        db.execute("PRAGMA user_version=1")
        db.commit()

    store = tracking.SqliteStore(store_path, retention=3600)
    with contextlib.closing(sqlite3.connect(store_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (_sqlite_layout.SCHEMA_VERSION,)
        plan = db.execute(f"EXPLAIN QUERY PLAN {_sqlite_layout.FORGET}", (0.0, 1)).fetchall()
    assert "USING INDEX messages_forgettable (settled_at<?)" in str(plan)  # not every row
    with tracking.Tracker(store, on_final=print) as reader:
        assert store.purge(sandbox_clock.now()) == 1
        assert reader.get("telecom23", "old") is None
        assert reader.get("telecom23", "new") is not None
        assert store.purge(sandbox_clock.now()) == 0


def test_a_schema_2_store_is_migrated_and_its_messages_are_still_tracked(
    store_path: Path,
    telecom23_sandbox: Sandbox,
    make_tracker: MakeTracker,
    outcomes: list[tracking.Outcome],
) -> None:
    """Schema 3 keeps each message's failed lookups in a row and when it came due during a
    rest (`failures`, `due_since`): a store written before it gains the columns, and what
    was in flight is tracked on to its outcome."""
    tracker = make_tracker()
    tracker.add_many("telecom23", ["a", "b"])
    tracker.close()
    with contextlib.closing(sqlite3.connect(store_path)) as db:  # the layout before schema 3
        db.execute("ALTER TABLE messages DROP COLUMN failures")
        db.execute("ALTER TABLE messages DROP COLUMN due_since")
        db.execute("PRAGMA user_version=2")
        db.commit()

    telecom23_sandbox.add_message("b", statuses=("sent", "DELIVRD"))
    with telecom23_sandbox.connect() as client:
        tracker = make_tracker({"telecom23": client})
        with contextlib.closing(sqlite3.connect(store_path)) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (3,)
            found = db.execute("SELECT message_id, failures FROM messages ORDER BY 1").fetchall()
            assert found == [("a", 0), ("b", 0)]
        tracker.ingest(delivered("a"))
        tracker.run()
    assert sorted((o.message_id, o.reason, o.source) for o in outcomes) == [
        ("a", "final", "push"),
        ("b", "final", "poll"),
    ]


@pytest.mark.parametrize(("retention", "error"), [(0, ValueError), ("1h", TypeError)])
def test_a_bad_retention_is_named_in_the_error(
    store_path: Path, retention: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="retention"):
        tracking.SqliteStore(store_path, retention=retention)  # type: ignore[arg-type]


def test_a_run_the_store_refuses_does_not_keep_a_stop_from_being_spent(
    make_tracker: MakeTracker,
) -> None:
    # A second run(), counted before the store refused it (StoreBusyError), kept the count
    # above 0 as the stopped run returned: the stop stayed set, and the next
    # run(until_idle=False) returned at once (a service worker ended as it started).
    tracker = make_tracker()
    real_running = tracker._store.running
    first_in, first_returned = threading.Event(), threading.Event()

    @contextlib.contextmanager
    def running() -> Iterator[None]:
        if not first_in.is_set():  # the first run: the store's own lock
            with real_running():
                first_in.set()
                yield
            return
        assert first_returned.wait(30)  # the second: refused once the first returned
        raise tracking.StoreBusyError("another tracker is running on this store")

    def first() -> None:
        tracker.run(until_idle=False)
        first_returned.set()

    tracker._store.running = running  # type: ignore[method-assign]
    runner = threading.Thread(target=first)
    runner.start()
    assert first_in.wait(30)
    tracker.stop()
    with pytest.raises(tracking.StoreBusyError):
        tracker.run()
    runner.join(30)
    tracker._store.running = real_running  # type: ignore[method-assign]
    assert not tracker._engine.stopping.is_set()
