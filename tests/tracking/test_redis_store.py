"""tracking.RedisStore against a real redis-server (never a mock): one store, many workers.

The single-process tests drive the store as two workers would (two `RedisStore` objects on
one `name`) and stand in for a dead worker by ending its lease on the server. The slow ones
run worker processes (`_redis_worker.py`) over real loopback against a telecom23 sandbox:
with skewed clocks, SIGKILLed at random points, and with Redis killed and restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pytest
import redis
import redis.asyncio
from sms_status import tracking
from sms_status.report import DeliveryState, StatusReport
from sms_status.testing import FakeClock, Sandbox
from sms_status.testing.redis_server import start as start_redis
from sms_status.tracking import _rules as rules
from tracking_support import delivered, ended_by_themselves, polling_tracker

WORKER = Path(__file__).with_name("_redis_worker.py")
PROVIDER = "telecom23"
SPEED = 20.0
"""Worker clocks run this many times faster than real time (telecom23 polls every 3–5 s)."""
EXIT_TIMEOUT = 240.0


def _name(request: pytest.FixtureRequest) -> str:
    return f"t-{request.node.name[:40]}-{os.getpid()}"


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    return _name(request)


def _recount(client: redis.Redis, name: str) -> tracking.Counts:
    """Counts from a scan of every row: what the maintained counters must equal."""
    from sms_status.tracking._redis import KEY_PREFIX
    from sms_status.tracking._redis_rows import decode

    rows = [decode(v)[1] for v in client.hvals(f"{KEY_PREFIX}{{{name}}}:rows")]
    by_state: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    for row in rows:
        if row.reason is not None:
            by_state[row.state or "unknown"] += 1
            by_reason[row.reason] += 1
    return tracking.Counts(
        in_flight=sum(1 for r in rows if r.next_poll_at is not None),
        settled=sum(by_reason.values()),
        by_state=dict(by_state),
        by_reason=dict(by_reason),
        awaiting_handover=sum(1 for r in rows if r.handover_at is not None),
    )


def _end_lease(client: redis.Redis, store: Any) -> None:
    """What a worker's death looks like once its lease has run out: its lease end is past."""
    client.zadd(f"{store.prefix}leases", {store._token: 0})


# -- one process ------------------------------------------------------------------------------


def test_importing_tracking_does_not_import_redis() -> None:
    code = (
        "import sys, sms_status.tracking as t; assert 'redis' not in sys.modules, 'imported'; "
        "assert t.RedisStore.__name__ == 'RedisStore'; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_tracker_over_redis_settles_every_id_and_hands_each_over_once(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    ids = [f"api_{i}" for i in range(40)]
    outcomes: list[tracking.Outcome] = []
    store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
    with polling_tracker(store, ids, outcomes.append) as (sb, tracker):
        assert tracker.add_many(PROVIDER, ids, tag="batch") == len(ids)
        assert tracker.add(PROVIDER, ids[0]) is False
        assert tracker.counts().in_flight == len(ids)
        tracker.run()
        counts = tracker.counts()
        found = tracker.get(PROVIDER, ids[3])
    requests = Counter(r.raw_path.rsplit("/", 1)[-1] for r in sb.requests)
    store.close()
    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert {o.delivery for o in outcomes} == {1}
    assert {o.state for o in outcomes} == {DeliveryState.DELIVERED}
    assert {o.tag for o in outcomes} == {"batch"}
    assert requests == dict.fromkeys(ids, 3)  # pending, sent, DELIVRD: one poll per due time
    assert counts == tracking.Counts(
        in_flight=0,
        settled=len(ids),
        by_state={"delivered": len(ids)},
        by_reason={"final": len(ids)},
        awaiting_handover=0,
    )
    assert counts == _recount(redis_client, name)
    assert found is not None
    assert found.outcome is not None
    assert found.polls == 3


def test_a_provider_one_worker_cannot_reach_is_polled_at_once_by_another(
    redis_url: str, name: str
) -> None:
    # Worker A's lookups failed to connect (its host's firewall, say); it pushed every due
    # id it had not tried back by its retry, in the shared rows: worker B, which reaches the
    # provider, then found none due (0 of 300 settled, against 292 before). A's outage is
    # its own on a shared store: past their deadline they settle, the others stay due.
    import httpx
    import sms_status

    clock = FakeClock()
    ids = [f"m{n:03d}" for n in range(300)]
    with Sandbox(PROVIDER, clock=clock).serve() as sb:
        for message_id in ids:
            sb.add_message(message_id, statuses=("DELIVRD",))
        tries: list[float] = []
        made: list[tracking.Tracker] = []

        def unreachable(request: httpx.Request) -> httpx.Response:
            tries.append(clock.now())
            if len(tries) >= 8:
                made[0].stop()
            raise httpx.ConnectError("unreachable from this host", request=request)

        refused = httpx.MockTransport(unreachable)
        a_store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
        b_store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
        with (
            contextlib.closing(a_store),
            contextlib.closing(b_store),
            sms_status.connect(PROVIDER, api_key=sb.api_key, transport=refused) as a_client,
            sb.connect(max_retries=0) as b_client,
        ):
            made.append(
                tracking.Tracker(
                    a_store,
                    clients={PROVIDER: a_client},
                    clock=clock.now,
                    sleep=clock.advance,
                    on_final=lambda _outcome: None,
                )
            )
            made[0].add_many(PROVIDER, ids, deadline=86400)
            clock.advance(3600.0)  # every id due
            made[0].run(until_idle=False)  # eight looks, each meets the outage
            got: list[tracking.Outcome] = []
            made.append(
                tracking.Tracker(
                    b_store,
                    clients={PROVIDER: b_client},
                    clock=clock.now,
                    sleep=lambda _seconds: made[1].stop(),  # its first look only
                    on_final=got.append,
                )
            )
            made[1].run(until_idle=False)
    assert len(tries) >= 8
    assert len(got) >= 290  # all but the few A's failed lookups put off


def test_a_provider_out_of_reach_holds_up_no_other_behind_a_full_batch(
    redis_url: str, name: str
) -> None:
    # On a shared store the ids a look did not try stayed due where they were, ahead of
    # everything else in due()'s order: another provider's id behind 700 of them waited
    # some 200 lookups, each a timeout (33 minutes with the default 10 s).
    import httpx
    import sms_status

    clock = FakeClock()
    out_of_reach: list[float] = []
    polled_after: list[int] = []
    made: list[tracking.Tracker] = []

    def unreachable(request: httpx.Request) -> httpx.Response:
        out_of_reach.append(clock.now())
        if len(out_of_reach) >= 300:
            made[0].stop()
        raise httpx.ConnectError("unreachable", request=request)

    def answered(request: httpx.Request) -> httpx.Response:
        polled_after.append(len(out_of_reach))
        made[0].stop()
        return httpx.Response(404, json={})

    store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
    with (
        contextlib.closing(store),
        sms_status.connect(
            PROVIDER, api_key="k" * 32, transport=httpx.MockTransport(unreachable), max_retries=0
        ) as down,
        sms_status.connect(
            "namirial", api_key="k" * 32, transport=httpx.MockTransport(answered)
        ) as up,
    ):
        made.append(
            tracking.Tracker(
                store,
                clients={PROVIDER: down, "namirial": up},
                clock=clock.now,
                sleep=clock.advance,
                on_final=lambda _outcome: None,
            )
        )
        made[0].add_many(PROVIDER, [f"a{n:04d}" for n in range(700)], deadline=86400)
        clock.advance(300.0)
        made[0].add("namirial", "b-0001", deadline=86400)
        clock.advance(3600.0)  # every id due; namirial's behind telecom23's 700
        made[0].run(until_idle=False)
    assert polled_after
    assert polled_after[0] <= 2  # lookups of telecom23's before namirial's first


def test_ids_claimed_while_their_provider_rests_after_a_429_are_given_back_at_once(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    clock = FakeClock()
    ids = [f"api_{i}" for i in range(30)]
    outcomes: list[tracking.Outcome] = []
    with Sandbox(PROVIDER, clock=clock).serve() as sb:
        for i in ids:
            sb.add_message(i, statuses=("DELIVRD",), advance="poll")
        sb.inject_fault("rate_limit", times=1, retry_after="5")
        # A lease far longer than the test: ids the engine claimed but skipped while telecom23
        # rests must come back through change(), not at lease end.
        store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name, lease=3600.0)
        with (
            sb.connect(max_retries=0) as client,
            tracking.Tracker(
                store,
                on_final=outcomes.append,
                clients={PROVIDER: client},
                clock=clock.now,
                sleep=clock.sleep,
            ) as tracker,
        ):
            tracker.add_many(PROVIDER, ids)
            tracker.run()
            counts = tracker.counts()
        statuses = Counter(r.status for r in sb.requests)
    store.close()
    assert statuses == {429: 1, 200: len(ids)}
    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert (counts.settled, counts.awaiting_handover) == (len(ids), 0)
    assert not redis_client.hlen(f"{store.prefix}pheld")


def _worker(
    redis_url: str,
    name: str,
    client: Any,
    outcomes: list[tracking.Outcome],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], object],
) -> tracking.Tracker:
    """A worker: a tracker on a `RedisStore` of its own for the store `name`."""
    store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
    return tracking.Tracker(
        store, on_final=outcomes.append, clients={PROVIDER: client}, clock=clock, sleep=sleep
    )


def test_a_rest_one_worker_takes_after_a_429_holds_every_worker_of_the_store(
    redis_url: str, name: str
) -> None:
    # Each worker kept its own rest: another polled on through it (ids added meanwhile, or
    # given back to the rest's end and claimed by it), met 429s of its own and counted its
    # own; four workers sent five times one worker's requests during a 429 storm.
    clock = FakeClock()
    first = [f"api_a{i}" for i in range(5)]
    added_during_the_rest = [f"api_b{i}" for i in range(5)]
    outcomes: list[tracking.Outcome] = []
    with Sandbox(PROVIDER, clock=clock).serve() as sb:
        for message_id in first + added_during_the_rest:
            sb.add_message(message_id, statuses=("DELIVRD",), advance="poll")
        sb.inject_fault("rate_limit", times=1, retry_after="30")
        with sb.connect(max_retries=0) as client:

            def worker(sleep: Any) -> tracking.Tracker:
                return _worker(redis_url, name, client, outcomes, clock=clock.now, sleep=sleep)

            def until_limited(seconds: float) -> None:
                if any(r.status == 429 for r in sb.requests):
                    resting.stop()  # at the rest's wait
                else:
                    clock.sleep(seconds)

            # The first worker waits for its ids' first poll, meets the 429, and stops.
            resting = worker(until_limited)
            resting.add_many(PROVIDER, first)
            resting.run()
            (rest_began,) = [r.at for r in sb.requests if r.status == 429]
            with worker(clock.sleep) as other:
                other.add_many(PROVIDER, added_during_the_rest)
                other.run()
            resting.close()
        answered = [r.at for r in sb.requests if r.status == 200]
    assert [r.status for r in sb.requests].count(429) == 1
    assert len(answered) == 10
    assert min(answered) >= rest_began + 30.0
    assert sorted(o.message_id for o in outcomes) == sorted(first + added_during_the_rest)


def test_a_rest_from_a_worker_whose_clock_runs_an_hour_ahead_holds_the_others_as_long(
    redis_url: str, name: str
) -> None:
    # A rest's end is on the clock of the worker that took it: one read from the store is
    # cut to its length from now on the reader's clock, so a worker whose clock runs an
    # hour ahead held the others for the rest's 30 s, not for the hour.
    clock = FakeClock()
    outcomes: list[tracking.Outcome] = []
    with Sandbox(PROVIDER, clock=clock).serve() as sb:
        sb.add_message("api_ahead", statuses=("DELIVRD",), advance="poll")
        sb.add_message("api_on_time", statuses=("DELIVRD",), advance="poll")
        sb.inject_fault("rate_limit", times=1, retry_after="30")
        with sb.connect(max_retries=0) as client:

            def worker(now: Any, sleep: Any) -> tracking.Tracker:
                return _worker(redis_url, name, client, outcomes, clock=now, sleep=sleep)

            def until_limited(seconds: float) -> None:
                if any(r.status == 429 for r in sb.requests):
                    ahead.stop()
                else:
                    clock.sleep(seconds)

            ahead = worker(lambda: clock.now() + 3600.0, until_limited)
            ahead.add(PROVIDER, "api_ahead")
            ahead.run()
            (limited_at,) = [r.at for r in sb.requests if r.status == 429]
            with worker(clock.now, clock.sleep) as on_time:
                on_time.add(PROVIDER, "api_on_time")
                on_time.run()
            ahead.close()
        answered = [r.at for r in sb.requests if r.status == 200]
    assert len(answered) == 2
    assert limited_at + 30.0 <= min(answered) <= limited_at + 40.0


def test_an_answer_one_worker_gets_starts_the_row_of_429s_over_for_every_worker(
    redis_url: str, name: str
) -> None:
    # Worker A meets 6 429s in a row (rests of 1 to 32 s), then its lookups are answered;
    # worker B then meets one 429: a new row, a rest of 1 s, as for one worker. B had gone
    # on from the store's count and rested 64 s, holding A too.
    clock = FakeClock()
    outcomes: list[tracking.Outcome] = []
    with Sandbox(PROVIDER, clock=clock).serve() as sb, sb.connect(max_retries=0) as client:

        def worker() -> tracking.Tracker:
            return _worker(redis_url, name, client, outcomes, clock=clock.now, sleep=clock.sleep)

        with worker() as first, worker() as second:
            for message_id in ("api_a0", "api_a1", "api_b0"):
                sb.add_message(message_id, statuses=("DELIVRD",), advance="poll")
            sb.inject_fault("rate_limit", times=6, retry_after=None)
            first.add_many(PROVIDER, ["api_a0", "api_a1"])
            first.run()
            sb.inject_fault("rate_limit", times=1, retry_after=None)
            second.add(PROVIDER, "api_b0")
            second.run()
        times = [(r.at, r.status) for r in sb.requests]
    (limited_at,) = [at for at, status in times if status == 429][-1:]
    answered_after = min(at for at, status in times if status == 200 and at > limited_at)
    assert answered_after - limited_at == pytest.approx(1.0, abs=2 * rules.DUE_ORDER_WINDOW)
    assert sorted(o.message_id for o in outcomes) == ["api_a0", "api_a1", "api_b0"]


def test_a_redis_store_applies_the_rest_rules_as_the_engine_does_on_its_own(
    redis_url: str, redis_client: redis.Redis, name: str, tmp_path: Path
) -> None:
    # RedisStore applies them in a script, on the server's clock; SqliteStore in Python.
    redis_store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
    sqlite_store = tracking.SqliteStore(tmp_path / "rests.db")
    now = 1_000.0
    for store in (redis_store, sqlite_store):
        rests = [
            store.rest(PROVIDER, retry_after, max_interval, now)
            for retry_after, max_interval in [(0.0, 900.0), (0.0, 900.0), (30.0, 900.0)]
        ]
        assert [(r.in_a_row, r.length) for r in rests] == [(1, 1.0), (2, 2.0), (3, 30.0)]
        assert rests[-1].left == pytest.approx(30.0, abs=1.0)
        assert store.rests(now)[PROVIDER][:3] == rests[-1][:3]
        store.rest_over(PROVIDER, now)  # an answer: the rest is over, and its row
        over = store.rests(now)[PROVIDER]
        assert (over.in_a_row, over.left <= 0) == (0, True)
        again = store.rest(PROVIDER, 1e300, 5.0, now)  # a Retry-After of ages: max_interval
        assert (again.in_a_row, again.length) == (1, 5.0)
        assert again.left == pytest.approx(5.0, abs=1.0)
    # A value not of the layout (written by hand) is no rest, and the next one replaces it.
    values = ("garbage", " 5 1 1.0 w", "nan 1 1.0 w", "5 1 nan w", "5 1 -1.0 w", "5 1 1.0")
    for value in (*values, "5 1 1.0 w x"):
        redis_client.hset(f"{redis_store.prefix}rests", "seven", value)
        assert "seven" not in redis_store.rests(now)
        assert redis_store.rest("seven", 0.0, 900.0, now)[1:3] == (1, 1.0)
    redis_store.close()
    sqlite_store.close()


def test_the_asyncio_tracker_runs_over_a_redis_store_too(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    clock = FakeClock()
    ids = [f"api_{i}" for i in range(20)]
    outcomes: list[tracking.Outcome] = []

    async def on_final(outcome: tracking.Outcome) -> None:
        outcomes.append(outcome)

    async def main(sb: Sandbox) -> tracking.Counts:
        store = tracking.RedisStore(redis.Redis.from_url(redis_url), name=name)
        async with (
            sb.connect_async() as client,
            tracking.AsyncTracker(
                store,
                on_final=on_final,
                clients={PROVIDER: client},
                clock=clock.now,
                sleep=clock.async_sleep,
            ) as tracker,
        ):
            await tracker.add_many(PROVIDER, ids)
            await tracker.run()
            counts = await tracker.counts()
        store.close()
        return counts

    with Sandbox(PROVIDER, clock=clock).serve() as sb:
        for i in ids:
            sb.add_message(i, advance="poll")
        counts = asyncio.run(main(sb))
    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert {o.delivery for o in outcomes} == {1}
    assert counts == _recount(redis_client, name)
    assert counts.settled == len(ids)


def _store(redis_url: str, name: str, **options: Any) -> tracking.RedisStore:
    return tracking.RedisStore(redis.Redis.from_url(redis_url), name=name, **options)


def _push_final(store: tracking.RedisStore, message_id: str, now: float) -> bool:
    """A receiver's final push for a tracked id (as `ingest` writes it)."""
    schedule = rules.Schedule(_cadence())
    return store.push(
        PROVIDER,
        message_id,
        lambda r: rules.apply_push(r, delivered(message_id), now, schedule),
        lambda kept: None,
        now,
    )


def _add(store: tracking.RedisStore, ids: list[str], now: float) -> int:
    schedule = rules.Schedule(_cadence())
    rows = (
        rules.new_row(PROVIDER, i, tag=None, now=now, deadline=3600.0, first=schedule.first_wait)
        for i in ids
    )
    return store.insert(rows, now=now, apply_early=lambda row, report: None)


def _cadence() -> Any:
    from sms_status._registry import load_provider

    return load_provider(PROVIDER).cadence


def test_add_many_beyond_one_script_stores_all_or_nothing(
    redis_url: str,
    redis_client: redis.Redis,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sms_status.tracking import _redis

    monkeypatch.setattr(_redis, "INSERT_CHUNK", 4)  # 10 ids: staged in three chunks
    store = _store(redis_url, name)
    with tracking.Tracker(store, on_final=lambda o: None, clock=FakeClock().now) as tracker:
        tracker.ingest(delivered("m7"))  # an early push, applied when m7 is stored
        with pytest.raises(ValueError, match="message id"):
            tracker.add_many(PROVIDER, [*(f"m{i}" for i in range(10)), ""])
        assert tracker.counts().total == 0
        assert not redis_client.keys(f"{store.prefix}staging:*")
        assert tracker.add_many(PROVIDER, (f"m{i}" for i in range(10))) == 10
        assert tracker.add_many(PROVIDER, (f"m{i}" for i in range(12))) == 2
        pushed = tracker.get(PROVIDER, "m7")
        counts = tracker.counts()
    store.close()
    assert pushed is not None
    assert pushed.outcome is not None
    assert (counts.in_flight, counts.settled) == (11, 1)
    assert counts == _recount(redis_client, name)
    assert not redis_client.keys(f"{store.prefix}staging:*")


def test_a_push_notes_that_the_providers_webhooks_arrive(redis_url: str, name: str) -> None:
    store = _store(redis_url, name)
    assert store.last_push(PROVIDER) is None
    with tracking.Tracker(store, on_final=lambda o: None, clock=lambda: 1234.5) as tracker:
        tracker.ingest(delivered("never-added"))
    assert store.last_push(PROVIDER) == 1234.5
    assert _store(redis_url, name).last_push(PROVIDER) == 1234.5  # any worker sees it
    assert store.last_push("seven") is None
    store.close()


def test_ingest_many_writes_tracked_ids_in_three_round_trips_and_the_rest_as_ingest_does(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    store = _store(redis_url, name)
    ids = [f"m{i}" for i in range(50)]
    with tracking.Tracker(store, on_final=lambda o: None, clock=lambda: 1234.5) as tracker:
        tracker.add_many(PROVIDER, ids)
        assert tracker.ingest(delivered("m0"))
        store.round_trips = 0
        assert tracker.ingest_many([delivered(i) for i in ids[1:]]) == [True] * 49
        assert store.round_trips == 3  # the last push, one read, one script: not 2 a report
        mixed = [
            delivered("m0"),
            delivered("early"),
            delivered("m1"),
        ]  # settled, untracked, settled
        assert tracker.ingest_many(mixed) == [False, True, False]
        assert tracker.add(PROVIDER, "early")  # its early push applies on add
        counts = tracker.counts()
    assert store.last_push(PROVIDER) == 1234.5
    store.close()
    assert (counts.settled, counts.in_flight) == (51, 0)
    assert counts == _recount(redis_client, name)


def test_ingest_many_reads_rows_fresh_not_as_this_worker_last_wrote_them(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    # Found by a review: the batch took rows from the worker's cache. A row cached before
    # its id was settled elsewhere, handed over, purged and added again, and brought back to
    # the same version, passed the compare-and-set and wrote the old row back.
    clock = FakeClock()
    ids = ["x", "y"]
    sent = StatusReport(
        provider=PROVIDER,
        message_id="x",
        state=DeliveryState.SENT,
        is_final=False,
        provider_status="ACCEPTD",
    )

    def tracker(**options: Any) -> tracking.Tracker:
        store = _store(redis_url, name, **options)
        return tracking.Tracker(store, on_final=lambda o: None, clock=clock.now, sleep=clock.sleep)

    receiver, other, runner = tracker(), tracker(), tracker(retention=60)
    runner.add_many(PROVIDER, ids, tag="old")
    assert receiver.ingest_many([attrs.evolve(sent, message_id=i) for i in ids]) == [True] * 2
    assert other.ingest_many([delivered(i) for i in ids]) == [True] * 2
    runner.run()  # handed over
    clock.advance(3600)
    runner.run()  # and purged
    assert runner.add_many(PROVIDER, ids, tag="new") == 2
    assert other.ingest_many([attrs.evolve(sent, message_id=i) for i in ids]) == [True] * 2
    assert receiver.ingest_many([delivered(i) for i in ids]) == [True] * 2
    again = runner.get(PROVIDER, "x")
    assert again is not None
    assert again.outcome is not None
    assert again.tag == "new"
    assert runner.counts() == _recount(redis_client, name)
    for each in (receiver, other, runner):
        each.close()


def test_a_due_id_is_claimed_by_one_worker_and_taken_over_when_its_lease_ends(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    a, b = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now()
    assert _add(a, ["m1", "m2", "m3"], now) == 3
    claimed = a.due(now + 10, 2)
    assert [r.message_id for r in claimed] == ["m1", "m2"]
    assert [r.message_id for r in b.due(now + 10, 10)] == ["m3"]
    assert b.due(now + 10, 10) == []  # held by a and b: nothing left to claim
    assert a.next_wake() is not None  # held rows keep an idle worker looking
    # b gives its claim back unchanged; a dies holding m1 and m2.
    assert b.change(PROVIDER, ["m3"], lambda row: None) == []
    _end_lease(redis_client, a)
    taken = b.due(now + 10, 10)
    assert sorted(r.message_id for r in taken) == ["m1", "m2", "m3"]
    # a, not dead after all (paused), records nothing on rows whose claims are b's now: its
    # answer may be older than the one b is getting.
    poll = delivered("m1")
    schedule = rules.Schedule(_cadence())
    assert a.change(PROVIDER, ["m1"], lambda r: rules.apply_poll(r, poll, now + 10, schedule)) == []
    # b's poll of m1 is recorded, once.
    written = b.change(PROVIDER, ["m1"], lambda r: rules.apply_poll(r, poll, now + 11, schedule))
    assert len(written) == 1
    assert written[0].settled
    assert written[0].polls == 1
    counts = b.counts()
    assert (counts.settled, counts.in_flight, counts.awaiting_handover) == (1, 2, 1)
    assert counts == _recount(redis_client, name)
    a.close()
    b.close()


def test_a_push_and_a_poll_racing_for_one_id_settle_it_once(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    worker, receiver = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now()
    schedule = rules.Schedule(_cadence())
    _add(worker, ["m1"], now)
    [_row] = worker.due(now + 5, 10)  # the worker polls m1 ...
    pushed = delivered("m1")
    assert receiver.push(  # ... while a webhook receiver records a final push for it
        PROVIDER,
        "m1",
        lambda r: rules.apply_push(r, pushed, now + 5, schedule),
        lambda kept: None,
        now + 5,
    )
    polled = delivered("m1")
    assert (
        worker.change(PROVIDER, ["m1"], lambda r: rules.apply_poll(r, polled, now + 6, schedule))
        == []
    )
    stored = worker.get(PROVIDER, "m1")
    assert stored is not None
    assert stored.source == "push"
    assert stored.polls == 0
    assert worker.due(now + 3600, 10) == []  # settled: never due again
    # Its hand-over is claimed by one worker; another sees nothing to hand over.
    assert [r.key for r in receiver.handovers_due(now + 6, 10)] == ["telecom23:m1"]
    assert worker.handovers_due(now + 6, 10) == []
    assert worker.counts() == _recount(redis_client, name)
    worker.close()
    receiver.close()


def test_a_worker_whose_lease_lapsed_writes_no_hand_over_nor_poll_it_no_longer_holds(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    # Paused past its lease, a worker's claims went back to their queues (another worker's
    # claim ran first), nobody had taken them yet: resumed, it began a hand-over and
    # recorded a poll there all the same, beside the worker that would take them next.
    a, b = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now()
    schedule = rules.Schedule(_cadence())
    _add(a, ["polled", "handed"], now)
    _push_final(b, "handed", now)
    [_claimed_poll] = a.due(now + 3600, 10)
    [claimed_hand_over] = a.handovers_due(now, 10)
    _end_lease(redis_client, a)
    assert b.due(now, 10) == []  # b's claim gives a's claims back (nothing due for b now)
    begin = partial(rules.begin_handover, claimed=claimed_hand_over.delivery)
    assert a.apply([(PROVIDER, "handed", begin)]) == [None]
    polled = a.change(
        PROVIDER, ["polled"], lambda r: rules.apply_poll(r, delivered("polled"), now, schedule)
    )
    assert polled == []
    handed, still = b.get(PROVIDER, "handed"), b.get(PROVIDER, "polled")
    assert handed is not None
    assert still is not None
    assert (handed.delivery, still.polls, still.settled) == (0, 0, False)
    # The next claim, a's or b's, takes them as usual.
    [again] = b.handovers_due(now, 10)
    begin = partial(rules.begin_handover, claimed=again.delivery)
    [started] = b.apply([(PROVIDER, "handed", begin)])
    assert started is not None
    assert started.delivery == 1


_KILLED_AFTER_ITS_INSERT = """
import os, sys, redis
from sms_status import tracking
from sms_status.tracking._redis import RedisStore

def killed(self, *args, **kwargs):  # SIGKILL right after add()'s insert script answered
    os.kill(os.getpid(), 9)

RedisStore._apply = killed
store = RedisStore(redis.Redis.from_url(sys.argv[1]), name=sys.argv[2])
with tracking.Tracker(store, on_final=print) as tracker:
    tracker.add("telecom23", "m1")
"""


def test_an_early_push_an_add_killed_after_its_insert_left_is_applied_when_m1_is_due(
    redis_url: str, name: str
) -> None:
    # The final push that beat add() stayed unread for an hour, and m1 was polled as if no
    # push had come (settled by a poll, or at its deadline): only add() looked at kept pushes.
    outcomes: list[tracking.Outcome] = []
    with tracking.Tracker(_store(redis_url, name), on_final=outcomes.append) as receiver:
        assert receiver.ingest(delivered("m1"))  # the webhook beat add()
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_ITS_INSERT, redis_url, name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    worker = tracking.Tracker(
        _store(redis_url, name),
        on_final=outcomes.append,
        clients={},  # a poll would need one: none is made
        clock=lambda: time.time() + 1000,  # due: past the safety net's 15 min, in the push's hour
    )
    with worker:
        worker.run()
    [outcome] = outcomes
    assert (outcome.message_id, outcome.source, outcome.polls) == ("m1", "push", 0)
    assert outcome.state is DeliveryState.DELIVERED


def test_a_hand_over_that_did_not_complete_is_taken_over_with_delivery_plus_one(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    a, b = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now()
    _add(a, ["m1"], now)
    _push_final(b, "m1", now)
    [_row] = a.handovers_due(now, 10)
    [started] = a.change(PROVIDER, ["m1"], lambda r: rules.begin_handover(r, claimed=0))
    assert started.delivery == 1
    assert b.handovers_due(now + 1, 10) == []  # a started it and still holds it
    _end_lease(redis_client, a)  # a died inside on_final
    [_again] = b.handovers_due(now + 1, 10)
    [restarted] = b.change(PROVIDER, ["m1"], lambda r: rules.begin_handover(r, _again.delivery))
    assert restarted.delivery == 2
    # a's late end of delivery 1 changes nothing; b's end of delivery 2 completes it.
    assert a.change(PROVIDER, ["m1"], lambda r: rules.end_handover(r, 1)) == []
    assert len(b.change(PROVIDER, ["m1"], lambda r: rules.end_handover(r, 2))) == 1
    counts = b.counts()
    assert counts.awaiting_handover == 0
    assert counts.settled == 1
    assert counts == _recount(redis_client, name)
    assert b.next_wake() is None
    a.close()
    b.close()


def test_a_429_whose_rest_is_sent_again_after_a_lost_answer_counts_once(
    redis_url: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store sends a script again when the connection drops; REST had run, its answer
    # lost (a failover): one 429 counted twice, a rest of 2 s, the row going on from there.
    store = _store(redis_url, name)
    script, sent = store._rest, []

    def answer_lost_once(**arguments: Any) -> Any:
        answered = script(**arguments)
        sent.append(arguments)
        if len(sent) == 1:
            raise redis.ConnectionError("Connection reset by peer")
        return answered

    monkeypatch.setattr(store, "_rest", answer_lost_once)
    rest = store.rest(PROVIDER, 0.0, 900.0, 0.0)
    assert len(sent) == 2
    assert (rest.in_a_row, rest.length) == (1, 1.0)
    assert store.rests(0.0)[PROVIDER][1:3] == (1, 1.0)
    store.close()


def test_a_write_sent_again_after_a_lost_answer_is_applied_once(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    from sms_status.tracking._redis_rows import delta, done_at, encode, time_arg

    store = _store(redis_url, name)
    now = FakeClock().now()
    _add(store, ["m1"], now)
    row = store.get(PROVIDER, "m1")
    assert row is not None
    new = rules.settle(row, "deadline", now)
    args = [
        "telecom23:m1",
        "1",
        encode(new, 2, "w.1"),
        time_arg(new.next_poll_at),
        time_arg(new.handover_at),
        done_at(new),
        delta(row, new),
        "",
    ]
    for _ in range(2):  # the same script, twice: Redis ran the first, its answer was lost
        conflicts, gone = store._call(store._change, *args)
        assert (conflicts, gone) == ([], [])
    counts = store.counts()
    assert (counts.in_flight, counts.settled, counts.awaiting_handover) == (0, 1, 1)
    assert counts == _recount(redis_client, name)
    store.close()


def _answer_lost(store: Any, script: str, times: int = 1) -> list[Any]:
    """`store.<script>` made to run on the server and lose its answer (a dropped connection)
    its first `times` sends; returns the arguments of every send."""
    real, sent = getattr(store, script), []

    def answer_lost(**arguments: Any) -> Any:
        answered = real(**arguments)
        sent.append(arguments)
        if len(sent) <= times:
            raise redis.ConnectionError("Connection reset by peer")
        return answered

    setattr(store, script, answer_lost)
    return sent


@pytest.mark.parametrize("chunk", [2_000, 3])
def test_an_add_sent_again_after_a_lost_answer_counts_its_ids_as_new(
    redis_url: str,
    redis_client: redis.Redis,
    name: str,
    chunk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # INSERT ran, its answer was lost: sent again, it found its own rows stored and said
    # "known", so add() returned False for a new id (a chunk of a staged add_many too).
    from sms_status.tracking import _redis

    monkeypatch.setattr(_redis, "INSERT_CHUNK", chunk)
    store = _store(redis_url, name)
    sent = _answer_lost(store, "_insert")
    now = FakeClock().now()
    assert _add(store, ["m1", "m2", "m1", "m3", "m4", "m5", "m4"], now) == 5
    assert len(sent) >= 2
    assert _add(store, ["m1", "m6"], now) == 1
    assert store.counts().in_flight == 6
    assert store.counts() == _recount(redis_client, name)
    assert not redis_client.keys(f"{store.prefix}staging:*")
    store.close()


def test_an_add_many_whose_staged_ids_redis_evicted_raises(
    redis_url: str, redis_client: redis.Redis, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under maxmemory-policy volatile-*, the staging list (it has a TTL) is evicted first:
    # the rest of the ids were taken as used up, add_many answering a count short of them.
    from sms_status.tracking import _redis

    monkeypatch.setattr(_redis, "INSERT_CHUNK", 4)
    store = _store(redis_url, name)
    real = store._insert

    def evicted_after_the_first_chunk(**arguments: Any) -> Any:
        answered = real(**arguments)
        for staged in redis_client.keys(f"{store.prefix}staging:*"):
            redis_client.delete(staged)
        return answered

    store._insert = evicted_after_the_first_chunk  # type: ignore[method-assign]
    with pytest.raises(tracking.StoreUnavailableError, match="noeviction"):
        _add(store, [f"m{i}" for i in range(10)], FakeClock().now())
    store._insert = real  # type: ignore[method-assign]
    assert store.counts().in_flight == 4  # the first chunk's: added again, the rest follow
    assert _add(store, [f"m{i}" for i in range(10)], FakeClock().now()) == 6
    store.close()


def test_a_claim_sent_again_after_a_lost_answer_takes_the_same_ids_and_keeps_the_others(
    redis_url: str, name: str
) -> None:
    # A claim whose answer was lost was sent again under a new worker token: the claims this
    # worker held before (another run() of the same store, say) were orphaned, given back
    # only at lease end; a change releasing one left it held.
    store, other = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now()
    _add(store, ["m1", "m2", "m3"], now)
    later = now + 3600.0
    assert [r.message_id for r in store.due(later, 1)] == ["m1"]
    sent = _answer_lost(store, "_claim")
    assert [r.message_id for r in store.due(later, 1)] == ["m2"]  # not m3 as well
    assert len(sent) == 2
    store.change(PROVIDER, ["m1"], lambda r: r._replace(next_poll_at=now))  # given back
    assert sorted(r.message_id for r in other.due(later, 5)) == ["m1", "m3"]
    store.close()
    other.close()


def test_a_claim_never_answered_gives_its_ids_back_with_the_next_one(
    redis_url: str, name: str
) -> None:
    store, other = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now()
    _add(store, ["m1", "m2"], now)
    _answer_lost(store, "_claim", times=3)
    with pytest.raises(tracking.StoreUnavailableError):
        store.due(now + 3600.0, 5)  # ran on the server: m1 and m2 held, unknown to the store
    assert store.due(now + 1.0, 5) == []  # nothing due then: the two are given back
    assert sorted(r.message_id for r in other.due(now + 3600.0, 5)) == ["m1", "m2"]
    store.close()
    other.close()


def _settled_by(tracker: tracking.Tracker, message_id: str) -> str | None:
    """Where the report that settled `message_id` came from; None while it is in flight."""
    got = tracker.get(PROVIDER, message_id)
    assert got is not None
    return None if got.outcome is None else got.outcome.source


def test_an_early_push_waits_an_hour_in_redis_for_its_add(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    clock = FakeClock()
    store = _store(redis_url, name)
    with tracking.Tracker(store, on_final=lambda o: None, clock=clock.now) as tracker:
        assert tracker.ingest(delivered("early-1")) is True
        assert tracker.ingest(delivered("early-2")) is True
        ttl = redis_client.pttl(f"{store.prefix}e:telecom23:early-1")
        assert 3_590_000 < ttl <= 3_600_000  # expires on its own, on the server's clock
        assert tracker.add(PROVIDER, "early-1") is True
        assert _settled_by(tracker, "early-1") == "push"
        assert not redis_client.exists(f"{store.prefix}e:telecom23:early-1")
        clock.advance(rules.EARLY_PUSH_TTL + 1)  # an hour on: the push is stale
        assert tracker.add(PROVIDER, "early-2") is True
        late = tracker.get(PROVIDER, "early-2")
        assert late is not None
        assert late.outcome is None
        assert tracker.counts() == _recount(redis_client, name)
    store.close()


def test_handed_over_outcomes_are_forgotten_after_the_retention(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    clock = FakeClock()
    store = _store(redis_url, name, retention=3600.0)
    with tracking.Tracker(store, on_final=lambda o: None, clock=clock.now, sleep=clock.sleep) as t:
        t.add_many(PROVIDER, ["a", "b"])
        t.ingest(delivered("a"))
        t.ingest(delivered("b"))
        t.run()
        assert t.counts().settled == 2
        assert store.purge(clock.now() + 3599) == 0
        t.add(PROVIDER, "c")
        assert store.purge(clock.now() + 3601) == 2
        assert t.get(PROVIDER, "a") is None
        counts = t.counts()
        assert (counts.settled, counts.in_flight, counts.by_state) == (0, 1, {})
        assert counts == _recount(redis_client, name)
    store.close()


def test_an_early_push_that_replaces_the_kept_one_starts_its_hour_again(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    clock = FakeClock()
    store = _store(redis_url, name)
    key = f"{store.prefix}e:telecom23:early"
    with tracking.Tracker(store, on_final=lambda o: None, clock=clock.now) as tracker:
        sent = attrs.evolve(
            delivered("early"), state=DeliveryState.SENT, is_final=False, provider_status="sent"
        )
        assert tracker.ingest(sent)
        redis_client.pexpire(key, 120_000)  # 58 minutes on, on the server's clock
        clock.advance(58 * 60)
        assert tracker.ingest(delivered("early"))
        assert 3_590_000 < redis_client.pttl(key) <= 3_600_000
        clock.advance(4 * 60)
        assert tracker.add(PROVIDER, "early") is True
        assert _settled_by(tracker, "early") == "push"
    store.close()


def test_an_early_push_past_its_hour_on_the_trackers_clock_does_not_decide_a_new_one(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    # The key outlives the hour on a server whose clock is behind: the provider's retry
    # of the push was refused as its copy, and add() then dropped the stale one.
    clock = FakeClock()
    store = _store(redis_url, name)
    with tracking.Tracker(store, on_final=lambda o: None, clock=clock.now) as tracker:
        assert tracker.ingest(delivered("stale"))
        clock.advance(rules.EARLY_PUSH_TTL + 60)
        assert tracker.ingest(delivered("stale"))
        clock.advance(10)
        assert tracker.add(PROVIDER, "stale") is True
        assert _settled_by(tracker, "stale") == "push"
    store.close()


def test_a_tag_the_scripts_could_not_read_is_refused_and_purges_go_on(
    redis_url: str, redis_client: redis.Redis, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone surrogate (text decoded with "surrogateescape", say) was stored, and the
    purge script's JSON reader refused its row: every later run() raised, for ever."""
    clock = FakeClock()
    store = _store(redis_url, name, retention=60.0)
    with tracking.Tracker(store, on_final=lambda o: None, clock=clock.now, sleep=clock.sleep) as t:
        with pytest.raises(ValueError, match="tag must be valid Unicode text"):
            t.add(PROVIDER, "a", tag="x\udc80y")
        t.add(PROVIDER, "a", tag="x\u2028y \U0001f600")  # any other text is kept
        with monkeypatch.context() as before:  # one a store written before holds
            before.setattr(rules, "valid_tag", lambda tag: tag)
            t.add(PROVIDER, "legacy", tag="x\udc80y, and the text \\ud800")
        t.ingest(delivered("a"))
        t.ingest(delivered("legacy"))
        t.run()
        assert store.purge(clock.now() + 61) == 2
        assert t.counts() == _recount(redis_client, name)
    store.close()


def test_a_store_written_by_a_newer_schema_is_refused(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    redis_client.hset(f"sms-status:tracking:{{{name}}}:meta", mapping={"schema": 9})
    with pytest.raises(tracking.StoreVersionError, match="schema 9"):
        _store(redis_url, name)


def test_a_worker_running_when_a_newer_tracker_raises_the_schema_stops_with_a_clear_error(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    # A rolling upgrade: a newer tracker opens the store and raises its schema while this
    # one runs. Only an open checked it: this worker went on reading and writing rows in a
    # layout it does not know, and died of a ValueError deep in decoding one.
    store = _store(redis_url, name)
    now = 1_000.0
    _add(store, ["m1"], now)
    redis_client.hset(f"sms-status:tracking:{{{name}}}:meta", mapping={"schema": 9})
    with pytest.raises(tracking.StoreVersionError, match="schema 9"):
        store.due(now + 3600, 10)  # a script
    with pytest.raises(tracking.StoreVersionError, match="schema 9"):
        store.get(PROVIDER, "m1")  # a read
    store.close()


def test_a_schema_1_store_is_read_and_raised_so_older_trackers_refuse_it(
    redis_url: str, redis_client: redis.Redis, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Schema 2 rows carry `failures` and `due_since`. Rows written before are read
    # with none; the store's schema is raised, so a schema 1 tracker refuses it (its rows
    # would not decode there) instead of failing at its first read of a new row.
    from sms_status.tracking import _redis
    from sms_status.tracking._redis import KEY_PREFIX

    ids = ["old-1", "old-2"]
    store = _store(redis_url, name)
    with polling_tracker(store, ids, print) as (_, tracker):
        tracker.add_many(PROVIDER, ids)
    store.close()
    meta, rows = f"{KEY_PREFIX}{{{name}}}:meta", f"{KEY_PREFIX}{{{name}}}:rows"
    for key, value in redis_client.hgetall(rows).items():  # as schema 1 wrote them
        version, write_id, data = value.decode().split(":", 2)
        written = json.loads(data)
        assert written[-2:] == [0, None]  # failures, due_since
        redis_client.hset(rows, key, f"{version}:{write_id}:{json.dumps(written[:-2])}")
    redis_client.hset(meta, "schema", 1)

    outcomes: list[tracking.Outcome] = []
    store = _store(redis_url, name)
    assert redis_client.hget(meta, "schema") == b"2"
    with polling_tracker(store, ids, outcomes.append) as (_, tracker):
        tracker.run()
    store.close()
    assert sorted((o.message_id, o.state) for o in outcomes) == [
        (i, DeliveryState.DELIVERED) for i in ids
    ]
    monkeypatch.setattr(_redis, "SCHEMA_VERSION", 1)
    with pytest.raises(tracking.StoreVersionError, match="schema 2"):
        _store(redis_url, name)


def test_a_push_during_a_refused_poll_leaves_no_id_claimed(
    redis_url: str, redis_client: redis.Redis, name: str
) -> None:
    # The poll answered 429 met a push written meanwhile (a receiver's ingest): the rest
    # kept the pushed row's poll time, and a claim went back only with a new poll time, so
    # the id stayed claimed, never polled again nor settled at its deadline.
    clock = FakeClock()
    outcomes: list[tracking.Outcome] = []
    with Sandbox("telecom23", clock=clock).serve() as sandbox:
        for message_id in ("m0", "m1"):
            sandbox.add_message(message_id, statuses=("sent",))
        sandbox.inject_fault("rate_limit", retry_after=None, times=1)
        receiver = tracking.Tracker(
            _store(redis_url, name), on_final=print, clock=clock.now, sleep=clock.sleep
        )
        with sandbox.connect(max_retries=0) as client:
            looks = client.get_statuses

            def pushed_meanwhile(ids: list[str]) -> list[StatusReport]:
                client.get_statuses = looks  # type: ignore[method-assign]
                receiver.ingest(
                    StatusReport(
                        provider=PROVIDER,
                        message_id="m0",
                        state=DeliveryState.SENT,
                        is_final=False,
                        provider_status="sent",
                    )
                )
                return looks(ids)

            client.get_statuses = pushed_meanwhile  # type: ignore[method-assign]
            store = _store(redis_url, name)
            with tracking.Tracker(
                store,
                on_final=outcomes.append,
                clients={PROVIDER: client},
                clock=clock.now,
                sleep=clock.sleep,
                deadline=1800,
                max_interval=300,
            ) as tracker:
                tracker.add_many(PROVIDER, ["m0", "m1"])
                runner = threading.Thread(target=tracker.run)
                runner.start()
                assert ended_by_themselves([runner], tracker), "an id was left claimed"
                assert tracker.counts().in_flight == 0
        receiver.close()
    assert sorted((o.message_id, o.reason) for o in outcomes) == [
        ("m0", "deadline"),
        ("m1", "deadline"),
    ]
    assert redis_client.hlen(f"sms-status:tracking:{{{name}}}:pheld") == 0


def test_one_stop_ends_every_run_of_a_tracker(redis_url: str, name: str) -> None:
    # The first run to return cleared the stop, and another run, waiting, never saw it.
    entered: set[int] = set()
    both = threading.Event()
    idle = threading.Event()

    def sleep(seconds: float) -> None:  # the runs' idle wait, real time, cut short at the end
        entered.add(threading.get_ident())
        if len(entered) == 2:
            both.set()
        idle.wait(min(seconds, 0.05))

    store = _store(redis_url, name)
    tracker = tracking.Tracker(store, on_final=print, clients={}, sleep=sleep)
    runners = [threading.Thread(target=tracker.run, kwargs={"until_idle": False}) for _ in range(2)]
    for runner in runners:
        runner.start()
    assert both.wait(30), "the two runs did not start"
    tracker.stop()
    stopped = ended_by_themselves(runners, tracker)
    tracker.close()
    store.close()
    assert stopped, "a run went on after stop()"


def test_bad_arguments_are_refused(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    with pytest.raises(ValueError, match="name"):
        tracking.RedisStore(client, name="a{b}")
    with pytest.raises(ValueError, match="lease"):
        tracking.RedisStore(client, lease=0)
    with pytest.raises(ValueError, match="lease"):
        tracking.RedisStore(client, lease=10**400)  # an OverflowError, from float()
    with pytest.raises(TypeError, match="redis_client"):
        tracking.RedisStore("redis://localhost")
    with pytest.raises(TypeError, match=r"RedisStore takes a blocking client .* redis\.asyncio"):
        tracking.RedisStore(redis.asyncio.Redis.from_url(redis_url))  # an AsyncTracker's too
    client.close()


def test_an_unreachable_redis_is_a_clear_error_not_a_hang(tmp_path: Path, name: str) -> None:
    server, port = start_redis(tmp_path)
    store = tracking.RedisStore(redis.Redis(port=port), name=name, timeout=0.5)
    server.kill()
    server.wait()
    started = time.monotonic()
    with pytest.raises(tracking.StoreUnavailableError, match=f"127.0.0.1:{port}|localhost:{port}"):
        store.counts()
    assert time.monotonic() - started < 10
    # A server that accepts connections but never answers: the socket timeout ends it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = redis.Redis(port=silent.getsockname()[1], socket_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(tracking.StoreUnavailableError, match="TimeoutError"):
            tracking.RedisStore(client, name=name, timeout=0.5)
        assert time.monotonic() - started < 10
    store.close()


def test_redis_killed_mid_run_and_restarted_loses_nothing_and_records_nothing_twice(
    tmp_path: Path, name: str
) -> None:
    server, port = start_redis(tmp_path, persist=True)
    url = f"redis://127.0.0.1:{port}/0"
    clock = FakeClock()
    ids = [f"api_{i}" for i in range(60)]
    seen: list[tuple[str, int]] = []

    def on_final(outcome: tracking.Outcome) -> None:
        seen.append((outcome.key, outcome.delivery))
        if len(seen) == 20:  # mid-run, inside a hand-over
            server.kill()
            server.wait()

    try:
        with Sandbox(PROVIDER, clock=clock).serve() as sb:
            for i in ids:
                sb.add_message(i, advance="poll")
            with sb.connect() as client:
                store = tracking.RedisStore(
                    redis.Redis.from_url(url), name=name, lease=0.5, timeout=1.0
                )
                tracker = tracking.Tracker(
                    store,
                    on_final=on_final,
                    clients={PROVIDER: client},
                    clock=clock.now,
                    sleep=clock.sleep,
                )
                tracker.add_many(PROVIDER, ids)
                with pytest.raises(tracking.StoreUnavailableError, match="did not answer"):
                    tracker.run()
                server, _ = start_redis(tmp_path, port=port, persist=True)
                tracker.run()
                counts = tracker.counts()
                tracker.close()
                store.close()
    finally:
        server.kill()
        server.wait()
    keys = [k for k, _ in seen]
    assert sorted(set(keys)) == sorted(f"{PROVIDER}:{i}" for i in ids)
    assert len(seen) == len(set(seen))  # no (key, delivery) twice
    repeated = [k for k, n in Counter(keys).items() if n > 1]
    assert len(repeated) <= 1  # only the outcome whose hand-over Redis's death cut short
    for key in repeated:  # handed over again after the restart, as delivery 2
        assert sorted(d for k, d in seen if k == key) == [1, 2]
    assert counts.settled == len(ids)
    assert counts.in_flight == 0
    assert counts.awaiting_handover == 0


# -- many processes ---------------------------------------------------------------------------


class _Counted:
    """ASGI middleware: counts the sandbox's requests and wakes whoever waits on them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.changed = threading.Condition()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            with self.changed:
                self.count += 1
                self.changed.notify_all()

    def poke(self) -> None:
        with self.changed:
            self.changed.notify_all()


class _Fleet:
    """Worker processes over one store; each one's exit wakes the test."""

    def __init__(self, tmp: Path, counted: _Counted, config: dict[str, Any]) -> None:
        self.tmp = tmp
        self.counted = counted
        self.config = config
        self.live: dict[int, subprocess.Popen[bytes]] = {}
        self.started = 0

    def spawn(self, **extra: Any) -> None:
        self.started += 1
        config = {**self.config, "seed": self.started, **extra}
        proc = subprocess.Popen([sys.executable, str(WORKER), json.dumps(config)])
        self.live[proc.pid] = proc

        def reap() -> None:
            proc.wait()
            self.counted.poke()

        threading.Thread(target=reap, daemon=True).start()

    def reaped(self) -> list[subprocess.Popen[bytes]]:
        done = [p for p in self.live.values() if p.poll() is not None]
        for p in done:
            del self.live[p.pid]
        return done

    def wait_all(self) -> list[subprocess.Popen[bytes]]:
        for proc in list(self.live.values()):
            proc.wait(timeout=EXIT_TIMEOUT)
        return self.reaped()

    def kill_all(self) -> None:
        for proc in self.live.values():
            proc.kill()
            proc.wait()


def _lines(path: Path) -> list[list[Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.fixture
def fleet_sandbox() -> Iterator[tuple[Sandbox, _Counted]]:
    sb = Sandbox(PROVIDER, clock=FakeClock(), rate_limit=None)
    counted = _Counted(sb.app)
    sb.app = counted  # type: ignore[assignment]  # serve() serves whatever `app` is
    with sb.serve():
        yield sb, counted


def _config(sb: Sandbox, tmp: Path, redis_url: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "redis": redis_url,
        "name": name,
        "base_url": sb.base_url,
        "api_key": sb.api_key,
        "base": time.time(),
        "speed": SPEED,
        "skew": 0.0,
        "lease": 30.0,
        "batch": 25,
        "log": str(tmp / "outcomes.jsonl"),
        "claims": str(tmp / "claims.jsonl"),
        **extra,
    }


def _true_clock(config: dict[str, Any]) -> float:
    return float(config["base"] + (time.time() - config["base"]) * config["speed"])


@pytest.mark.slow  # three worker processes
def test_workers_with_clocks_minutes_apart_poll_each_id_once_per_due_time(
    fleet_sandbox: tuple[Sandbox, _Counted],
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.Redis,
    name: str,
) -> None:
    sb, counted = fleet_sandbox
    ids = [f"api_{i}" for i in range(300)]
    for i in ids:
        sb.add_message(i, advance="poll")  # pending, sent, DELIVRD: three due times each
    config = _config(sb, tmp_path, redis_url, name)
    store = _store(redis_url, name)
    # Added ten minutes ago: due at once on every worker's clock, so all three contend.
    with tracking.Tracker(
        store, on_final=lambda o: None, clock=lambda: _true_clock(config) - 600
    ) as tracker:
        tracker.add_many(PROVIDER, ids)
    fleet = _Fleet(tmp_path, counted, config)
    for skew in (-240.0, 0.0, 180.0):  # hosts minutes apart; leases of 30 s
        fleet.spawn(skew=skew)
    assert [p.returncode for p in fleet.wait_all()] == [0, 0, 0]
    outcomes = _lines(tmp_path / "outcomes.jsonl")
    claims = _lines(tmp_path / "claims.jsonl")
    requests = Counter(r.raw_path.rsplit("/", 1)[-1] for r in sb.requests)
    # Every id handed over once; no (id, due time) ever claimed by two workers; and the
    # sandbox saw exactly one request per claim: one poll per id per due time.
    assert sorted(k for k, *_ in outcomes) == sorted(f"{PROVIDER}:{i}" for i in ids)
    assert {d for _, d, *_ in outcomes} == {1}
    assert len({(k, p) for k, p in claims}) == len(claims)
    assert requests == dict.fromkeys(ids, 3)
    assert Counter(k.split(":", 1)[1] for k, _ in claims) == requests
    counts = store.counts()
    assert counts == _recount(redis_client, name)
    assert (counts.settled, counts.in_flight, counts.awaiting_handover) == (len(ids), 0, 0)
    store.close()


@pytest.mark.slow  # worker processes killed and replaced many times
def test_workers_sigkilled_at_random_points_settle_every_id_and_repeat_no_delivery(
    fleet_sandbox: tuple[Sandbox, _Counted], tmp_path: Path, name: str
) -> None:
    sb, counted = fleet_sandbox
    rng = random.Random(os.getpid())
    ids = [f"api_{i}" for i in range(300)]
    for i in ids:
        sb.add_message(i, advance="poll")
    data = tmp_path / "redis"
    data.mkdir()
    server, port = start_redis(data, persist=True)
    url = f"redis://127.0.0.1:{port}/0"
    # Pushes arriving make polling a safety net (young ids wait max_interval for theirs):
    # a minute of the workers' clock, three real seconds.
    config = _config(sb, tmp_path, url, name, lease=1.0, die=0.03, max_interval=60.0)
    store = _store(url, name, timeout=2.0)
    receiver = tracking.Tracker(store, on_final=lambda o: None, clock=lambda: _true_clock(config))
    receiver.add_many(PROVIDER, ids)
    pushed = ids[::5]  # a webhook receiver settles every fifth id by push, racing the polls
    expected = len(ids) * 3
    # Random points, by the sandbox's request count: SIGKILL a worker (or, once, Redis).
    events = sorted(rng.sample(range(20, expected * 3 // 4), 16))
    redis_restart = events[len(events) // 2]
    fleet = _Fleet(tmp_path, counted, config)
    for _ in range(3):
        fleet.spawn()
    kills = restarts = 0
    give_up = time.monotonic() + EXIT_TIMEOUT
    try:
        while True:
            assert time.monotonic() < give_up, "the workers did not finish"
            with counted.changed:
                counted.changed.wait_for(
                    lambda: (
                        bool(events and counted.count >= events[0])
                        or any(p.poll() is not None for p in fleet.live.values())
                    ),
                    timeout=EXIT_TIMEOUT,
                )
            for proc in fleet.reaped():
                if proc.returncode != 0:  # killed, by the test or in on_final: replaced
                    fleet.spawn()
            if events and counted.count >= events[0]:
                point = events.pop(0)
                if pushed:  # a receiver's batch: one compare-and-set script for them all
                    batch, pushed = pushed[-3:], pushed[:-3]
                    receiver.ingest_many([delivered(i) for i in batch])
                if point == redis_restart:
                    server.kill()  # Redis dies mid-run (appendfsync always) and comes back
                    server.wait()
                    server, _ = start_redis(data, port=port, persist=True)
                    restarts += 1
                elif fleet.live:
                    with contextlib.suppress(ProcessLookupError):  # it may have just ended
                        os.kill(rng.choice(list(fleet.live)), signal.SIGKILL)
                        kills += 1
            if not fleet.live:
                counts = store.counts()
                if not counts.in_flight and not counts.awaiting_handover:
                    break
                fleet.spawn()  # every worker exited between a push and its hand-over
        outcomes = _lines(tmp_path / "outcomes.jsonl")
        recount = _recount(redis.Redis.from_url(url), name)
    finally:
        fleet.kill_all()
        receiver.close()
        store.close()
        server.kill()
        server.wait()
    assert kills >= 8
    assert restarts == 1
    by_key: dict[str, list[list[Any]]] = defaultdict(list)
    for line in outcomes:
        by_key[line[0]].append(line)
    assert sorted(by_key) == sorted(f"{PROVIDER}:{i}" for i in ids)  # every id handed over
    for key, lines in by_key.items():
        deliveries = [d for _, d, *_ in lines]
        assert len(deliveries) == len(set(deliveries)), (key, lines)  # no delivery repeated
        assert len({(state, settled_at) for _, _, state, settled_at, *_ in lines}) == 1
    assert counts == recount
    assert counts.settled == len(ids)
    assert counts.in_flight == 0
    assert counts.awaiting_handover == 0
    assert counts.by_state == {"delivered": len(ids)}


def test_a_staged_chunk_sent_again_after_a_lost_answer_is_staged_once(
    redis_url: str, redis_client: redis.Redis, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chunk was pushed twice: every insert then found the staging list the wrong length
    # and add_many raised "evicted", storing nothing.
    from sms_status.tracking import _redis

    monkeypatch.setattr(_redis, "INSERT_CHUNK", 3)
    store = _store(redis_url, name)
    sent = _answer_lost(store, "_stage_rows")
    assert _add(store, [f"m{i}" for i in range(10)], FakeClock().now()) == 10
    assert len(sent) >= 2
    assert store.counts() == _recount(redis_client, name)
    store.close()


def test_a_claim_never_answered_is_given_back_by_the_heartbeat(redis_url: str, name: str) -> None:
    # Its note lasts a lease: when the next claim came later (another run() of the store in
    # a long on_final), the ids stayed held by a live worker until every run() ended.
    store, other = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now()
    _add(store, ["m1", "m2"], now)
    _answer_lost(store, "_claim", times=3)
    with pytest.raises(tracking.StoreUnavailableError):
        store.due(now + 3600.0, 5)
    store._renew()  # what the heartbeat calls, every third of a lease
    assert sorted(r.message_id for r in other.due(now + 3600.0, 5)) == ["m1", "m2"]
    store.close()
    other.close()


def test_a_run_starting_as_the_last_one_ends_keeps_what_it_claims(
    redis_url: str, name: str
) -> None:
    # The ended runs' ids were given back under the store object's one token, after the
    # count of runs fell to 0: a run starting in between claimed under that token too, and
    # its fresh claims were given back with them (another worker then took the same id).
    store, other = _store(redis_url, name), _store(redis_url, name)
    now = FakeClock().now() + 3600.0
    _add(store, ["m-old", "m-new"], now - 3600.0)
    real = store._give_back
    seen_by_other: list[list[Any]] = []

    def a_run_starts_meanwhile(token: str) -> None:
        store._give_back = real  # type: ignore[method-assign]  # (this run's own, at its end)
        with store.running():
            assert [r.message_id for r in store.due(now, 1)] == ["m-old"]  # m-new is held
            real(token)  # the ended run's give-back lands while this run holds m-old
            seen_by_other.append(other.due(now, 5))

    store._give_back = a_run_starts_meanwhile  # type: ignore[method-assign]
    with store.running():
        assert [r.message_id for r in store.due(now, 1)] == ["m-new"]
    store.close()
    other.close()
    assert [[r.message_id for r in rows] for rows in seen_by_other] == [["m-new"]]
