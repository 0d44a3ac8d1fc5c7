"""8. The delivery tracker on SQLite: adding ids, memory, CPU per poll, requests per id.

- `add_many` of N ids against a bare `sqlite3` `executemany` of the same rows into the same
  table in one transaction (the floor): the tracker also checks every id and builds its row.
- Peak RSS of a process tracking 1M ids in flight, polling them (seven, batches of 100),
  over the same process with an empty tracker (`benchmarks._tracker_rss`, a fresh process).
- Client CPU per poll: the tracker (add, run until every id settles, hand-overs) against the
  bare client's `get_statuses` of the same ids, on the same sandbox process.
- Requests per id on the sandbox clock: without webhooks (the cadence, then doubling), and
  with webhooks working for 90% of ids (ids added over ten minutes, as a sender would).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks._common import Row, Section, Target, fmt, run_json, serve, set_ratio
from benchmarks._serve import message_id


def _rows(n: int, now: float) -> Iterator[tuple[object, ...]]:
    for i in range(n):
        yield (
            "telecom23",
            f"bench-{i:07d}",
            None,
            now,
            now + 259200.0,
            now + 3.0,
            3.0,
            0,
            0,
            None,
            None,
            None,
            0,
            None,
            None,
            None,
            0,
            None,
            0,
            None,
        )


def _bare_executemany(path: Path, n: int) -> float:
    import sqlite3

    from sms_status import tracking
    from sms_status.tracking._model import Row as StoredRow

    tracking.SqliteStore(path).close()  # the same table and indexes
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    values = ", ".join("?" * len(StoredRow._fields))
    insert = f"INSERT OR IGNORE INTO messages VALUES ({values})"  # noqa: S608 - constant
    db.executemany(insert, _rows(n, time.time()))
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def _tracker_add_many(path: Path, n: int) -> float:
    from sms_status import tracking

    with tracking.Tracker(path, on_final=print) as tracker:
        start = time.perf_counter()
        added = tracker.add_many("telecom23", (f"bench-{i:07d}" for i in range(n)))
        elapsed = time.perf_counter() - start
    assert added == n
    return elapsed


def _adding(n: int, repetitions: int) -> tuple[list[Row], list[Target]]:
    bare: list[float] = []
    ours: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(repetitions):
            bare.append(_bare_executemany(Path(scratch) / f"bare-{run}.db", n))
            ours.append(_tracker_add_many(Path(scratch) / f"ours-{run}.db", n))
    title = "8. Tracker"
    floor = Row(title, f"floor: bare sqlite3 executemany of {n:,} rows", "s", bare)
    row = Row(title, f"ours: Tracker.add_many of {n:,} ids", "s", ours)
    set_ratio([row], floor)
    assert row.ratio is not None
    throughput = 1 / row.ratio
    target = Target(
        f"add_many of {n:,} ids vs bare executemany (throughput)",
        "≥ 0.5×",
        f"{throughput:.2f}× ({fmt(n / row.median)} ids/s vs {fmt(n / floor.median)})",
        throughput >= 0.5,
    )
    return [floor, row], [target]


def _memory(n: int) -> tuple[list[Row], list[Target]]:
    with serve("seven", 0) as server:
        result = run_json(
            [
                "-m",
                "benchmarks._tracker_rss",
                server.base_url,
                server.api_key,
                str(n),
            ]
        )
    title = "8. Tracker"
    over = (result["peak"] - result["empty"]) / 2**20
    rows = [
        Row(
            title,
            "floor: process with an empty tracker (RSS)",
            "MB",
            [result["empty"] / 2**20],
        ),
        Row(
            title,
            f"ours: {n:,} ids in flight, {result['polls']:,} polled (peak RSS)",
            "MB",
            [result["peak"] / 2**20],
            note=f"+{over:.1f} MB; add_many {result['add_seconds']:.1f} s",
        ),
    ]
    target = Target(
        f"peak RSS with {n:,} ids in flight, over an empty tracker",
        "< 100 MB",
        f"+{over:.1f} MB",
        over < 100,
    )
    return rows, [target]


def _cpu_per_poll(n: int, repetitions: int) -> tuple[list[Row], list[Target]]:
    import sms_status
    from sms_status import tracking
    from sms_status.testing import FakeClock

    bare: list[float] = []
    ours: list[float] = []
    polls_seen = 0
    with serve("telecom23", n) as server, tempfile.TemporaryDirectory() as scratch:
        ids = [message_id("telecom23", i) for i in range(n)]
        client = sms_status.connect("telecom23", api_key=server.api_key, base_url=server.base_url)
        client.get_statuses(ids[:50])  # warm the connection and the imports
        for run in range(repetitions):
            start = time.process_time()
            reports = client.get_statuses(ids)
            bare.append((time.process_time() - start) / n * 1e6)
            assert all(r.is_final for r in reports)

            clock = FakeClock(time.time())
            settled: list[tracking.Outcome] = []
            with tracking.Tracker(
                Path(scratch) / f"cpu-{run}.db",
                on_final=settled.append,
                clients={"telecom23": client},
                clock=clock.now,
                sleep=clock.sleep,
            ) as tracker:
                start = time.process_time()
                tracker.add_many("telecom23", ids)
                tracker.run()
                elapsed = time.process_time() - start
            polls = sum(o.polls for o in settled)
            polls_seen = polls
            ours.append(elapsed / polls * 1e6)
        client.close()
    title = "8. Tracker"
    floor = Row(title, f"floor: client.get_statuses of {n:,} ids (sync)", "µs CPU/poll", bare)
    row = Row(
        title,
        f"ours: Tracker add_many + run until settled ({polls_seen:,} polls)",
        "µs CPU/poll",
        ours,
    )
    set_ratio([row], floor)
    assert row.ratio is not None
    target = Target(
        "tracker CPU per poll vs the bare client's get_statuses",
        "≤ 1.3×",
        f"{row.ratio:.2f}× ({fmt(row.median)} vs {fmt(floor.median)} µs)",
        row.ratio <= 1.3,
    )
    return [floor, row], [target]


def _requests_per_id(n: int, pushed_share: float, *, configured: bool) -> dict[str, float]:
    """Polls per id on the sandbox clock: ids added 2 s apart, each final 10–300 s after
    its add; `pushed_share` of them also get their final pushed when it happens. `configured`:
    the tracker is told telecom23's webhooks reach it (`webhooks=`); otherwise it finds out
    from the first push."""
    import sms_status
    from sms_status import tracking
    from sms_status.report import DeliveryState, StatusReport
    from sms_status.testing import FakeClock, Sandbox

    rng = random.Random(7)  # noqa: S311 - a reproducible workload, not a secret
    clock = FakeClock()
    sandbox = Sandbox("telecom23", clock=clock, seed=False)
    events: list[tuple[float, int, Callable[[], object]]] = []
    pushed_ids: set[str] = set()
    outcomes: list[tracking.Outcome] = []
    with sandbox.serve(), tempfile.TemporaryDirectory() as scratch:
        client = sms_status.connect(
            "telecom23",
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            clock=clock.monotonic,
            sleep=clock.sleep,
        )

        def deliver_events_until(moment: float) -> None:
            while events and events[0][0] <= moment:
                at, _, action = events.pop(0)
                clock.advance(max(0.0, at - clock.now()))
                action()

        def sleep(seconds: float) -> None:
            target = clock.now() + seconds
            deliver_events_until(target)
            clock.advance(max(0.0, target - clock.now()))

        tracker = tracking.Tracker(
            Path(scratch) / "requests.db",
            on_final=outcomes.append,
            clients={"telecom23": client},
            clock=clock.now,
            sleep=sleep,
            webhooks=("telecom23",) if configured else (),
        )
        start = clock.now()
        for i in range(n):
            message = f"r-{i}"
            added = start + 2.0 * i
            half = rng.uniform(5.0, 150.0)
            events.append(
                (added, len(events), lambda m=message, h=half: _send(sandbox, tracker, m, h))
            )
            if rng.random() < pushed_share:
                pushed_ids.add(message)
                report = StatusReport(
                    provider="telecom23",
                    message_id=message,
                    state=DeliveryState.DELIVERED,
                    is_final=True,
                    provider_status="DELIVRD",
                )
                events.append((added + 2 * half, len(events), lambda r=report: tracker.ingest(r)))
        events.sort()
        while events:
            deliver_events_until(events[0][0])
            tracker.run()
        tracker.close()
        client.close()
    by_id = {o.message_id: o for o in outcomes}
    assert len(by_id) == n
    pushed = [by_id[m].polls for m in pushed_ids]
    unpushed = [o.polls for m, o in by_id.items() if m not in pushed_ids]
    return {
        "pushed": statistics.mean(pushed) if pushed else 0.0,
        "unpushed": statistics.mean(unpushed) if unpushed else 0.0,
        "all": statistics.mean(o.polls for o in outcomes),
        "latency_unpushed": statistics.mean(
            (o.settled_at - o.added_at).total_seconds()
            for m, o in by_id.items()
            if m not in pushed_ids
        )
        if unpushed
        else 0.0,
    }


def _send(sandbox: object, tracker: object, message: str, half: float) -> None:
    from sms_status import tracking
    from sms_status.testing import Sandbox

    assert isinstance(sandbox, Sandbox)
    assert isinstance(tracker, tracking.Tracker)
    sandbox.add_message(message, statuses=("pending", "sent", "DELIVRD"), advance=half)
    tracker.add("telecom23", message)


def _requests(n: int) -> tuple[list[Row], list[Target], str]:
    title = "8. Tracker"
    without = _requests_per_id(n, 0.0, configured=False)
    told = _requests_per_id(n, 0.9, configured=True)
    found = _requests_per_id(n, 0.9, configured=False)
    rows = [
        Row(title, f"telecom23, no webhooks: polls per id ({n} ids)", "polls", [without["all"]]),
        Row(
            title,
            "telecom23, webhooks for 90% (webhooks= given): polls per pushed id",
            "polls",
            [told["pushed"]],
            note=f"per unpushed id {told['unpushed']:.2f} polls, settled "
            f"{told['latency_unpushed']:.0f} s after add on average",
        ),
        Row(
            title,
            "telecom23, webhooks for 90% (found from the first push): polls per pushed id",
            "polls",
            [found["pushed"]],
            note="ids added before the first push are polled on the cadence until it comes",
        ),
    ]
    target = Target(
        "polls per pushed id, webhooks working for 90% of ids",
        "≤ 0.2",
        f"{told['pushed']:.3f} with webhooks= given; {found['pushed']:.3f} found from pushes",
        told["pushed"] <= 0.2,
    )
    schedule = _schedule_text()
    return rows, [target], schedule


def _schedule_text() -> str:
    """The polling schedule of each provider without webhooks, written out."""
    from sms_status._registry import PROVIDERS, load_provider
    from sms_status.tracking._rules import Schedule

    lines = ["Without webhooks, an id that never settles is polled at (seconds after add):", ""]
    for key in PROVIDERS:
        schedule = Schedule(load_provider(key).cadence)
        times: list[float] = []
        now, polls, interval = schedule.first_wait, 0, schedule.first_wait
        while now <= 3 * 3600 and len(times) < 200:
            times.append(now)
            polls += 1
            from sms_status.tracking._model import Row as StoredRow

            row = StoredRow(
                provider=key,
                message_id="x",
                tag=None,
                added_at=0.0,
                deadline_at=1e9,
                next_poll_at=None,
                interval=interval,
                polls=polls,
            )
            interval = schedule.wait_after(row, now)
            now += interval
        in_cadence = sum(1 for t in times if t < schedule.cadence.default_timeout)
        shown = ", ".join(fmt(t) for t in times[: in_cadence + 8])
        lines.append(
            f"- {key}: {in_cadence} polls in the cadence's "
            f"{fmt(schedule.cadence.default_timeout)} s, "
            f"then doubling to 900 s: {shown}, … ({len(times)} polls in the first 3 hours)"
        )
    return "\n".join(lines)


def run(*, quick: bool = False) -> list[Section]:
    section = Section("8. Tracker (SQLite store)")
    add_n = 100_000 if quick else 1_000_000
    for rows, targets in (
        _adding(add_n, 1 if quick else 3),
        _memory(add_n),
        _cpu_per_poll(300 if quick else 3_000, 1 if quick else 3),
    ):
        section.rows += rows
        section.targets += targets
    rows, targets, schedule = _requests(60 if quick else 300)
    section.rows += rows
    section.targets += targets
    section.extra_markdown = schedule
    section.notes.append(
        "add_many and peak RSS use a real SQLite file in a temporary directory (WAL, "
        "synchronous=NORMAL); CPU per poll is process CPU of the client process only (the "
        "sandbox runs in its own process); requests per id run on the sandbox clock."
    )
    return [section]
