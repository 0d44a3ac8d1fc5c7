"""RedisStore leases against a real redis-server: a live worker keeps what it claimed for
as long as it works on it, however long that is; only a dead one loses it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import redis
from sms_status import tracking
from tracking_support import delivered

LEASE = 1.0
IDS = [f"api_{n}" for n in range(20)]


def _run_a_then_b(
    a_store: tracking.RedisStore,
    on_final_a: Any,
    a_busy: threading.Event,
    b_store: tracking.RedisStore,
    on_final_b: Any,
) -> None:
    """Worker A runs until `a_busy` (inside its on_final), then worker B too; both until
    idle."""
    with (
        tracking.Tracker(a_store, on_final=on_final_a) as a,
        tracking.Tracker(b_store, on_final=on_final_b) as b,
    ):
        worker_a = threading.Thread(target=a.run)
        worker_a.start()
        assert a_busy.wait(30)
        worker_b = threading.Thread(target=b.run)
        worker_b.start()
        worker_a.join(60)
        worker_b.join(60)
        assert not worker_a.is_alive()
        assert not worker_b.is_alive()


def test_an_on_final_slower_than_the_lease_keeps_its_claims(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """Worker A's on_final outlasts A's lease (a slow database), no crash: worker B, looking
    all along, hands over none of the outcomes A claimed."""

    def store() -> tracking.RedisStore:
        return tracking.RedisStore(redis.Redis.from_url(redis_url), name="lease", lease=LEASE)

    with tracking.Tracker(store(), on_final=print) as sender:
        sender.add_many("telecom23", IDS)
        sender.ingest_many([delivered(i) for i in IDS])  # 20 hand-overs due

    calls: list[tuple[str, str, int]] = []
    a_store, b_store = store(), store()
    lease_end: list[float] = []  # A's lease end, in ms on the server, when on_final began
    past_lease = threading.Event()  # B looked after that lease end (had A not renewed it)
    a_in_on_final = threading.Event()

    def on_final_a(outcome: tracking.Outcome) -> None:
        calls.append(("A", outcome.key, outcome.delivery))
        if len(calls) == 1:
            score = redis_client.zscore(f"{a_store.prefix}leases", a_store._token)
            assert score is not None
            lease_end.append(score)
            a_in_on_final.set()
            assert past_lease.wait(30)  # slower than the lease, on the server's clock

    def on_final_b(outcome: tracking.Outcome) -> None:
        calls.append(("B", outcome.key, outcome.delivery))

    real_due = b_store.handovers_due

    def b_handovers_due(now: float, limit: int) -> Any:
        rows = real_due(now, limit)
        seconds, micros = redis_client.time()
        if rows or (lease_end and seconds * 1000 + micros // 1000 > lease_end[0]):
            past_lease.set()  # (rows: A's claims were taken over: the defect, A may go on)
        return rows

    b_store.handovers_due = b_handovers_due  # type: ignore[method-assign]
    _run_a_then_b(a_store, on_final_a, a_in_on_final, b_store, on_final_b)
    assert past_lease.is_set()
    assert [who for who, _, _ in calls] == ["A"] * len(IDS)
    assert Counter(key for _, key, _ in calls) == Counter(f"telecom23:{i}" for i in IDS)
    assert {delivery for *_, delivery in calls} == {1}


def _pause_past_its_lease(store: tracking.RedisStore, redis_client: redis.Redis) -> None:
    """What a SIGSTOP (or a long GC pause) past the lease does to a worker, seen from the
    store: its heartbeat is silent, and its lease ends (now, on the server's clock)."""
    store._heartbeat.stop()
    redis_client.zadd(f"{store.prefix}leases", {store._token: 0})


def test_a_worker_resumed_past_its_lease_hands_over_nothing_another_took(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """A pauses inside on_final(x1) past its lease; B takes its claims (x1 again, as after
    a crash, and x2). A resumed went on with the batch it had claimed: it handed x2 over
    while B was handing x2 over, two live workers at once, no crash of x2's hand-over."""

    def store() -> tracking.RedisStore:
        return tracking.RedisStore(redis.Redis.from_url(redis_url), name="paused", lease=3.0)

    with tracking.Tracker(store(), on_final=print) as sender:
        sender.add_many("telecom23", ["x1", "x2"])
        sender.ingest_many([delivered("x1"), delivered("x2")])
    calls: list[tuple[str, str, int]] = []
    a_in_x1, resume_a, b_in_x2 = threading.Event(), threading.Event(), threading.Event()
    a_store, b_store = store(), store()

    def on_final_a(outcome: tracking.Outcome) -> None:
        calls.append(("A", outcome.message_id, outcome.delivery))
        if outcome.message_id == "x1":
            _pause_past_its_lease(a_store, redis_client)
            a_in_x1.set()
            assert resume_a.wait(30)

    a_wrote = threading.Event()  # A, resumed, wrote its next step (x1's end, x2's start)
    real_apply = a_store.apply

    def a_apply(changes: Any) -> Any:
        written = real_apply(changes)
        if resume_a.is_set():
            a_wrote.set()
        return written

    a_store.apply = a_apply  # type: ignore[method-assign]

    def on_final_b(outcome: tracking.Outcome) -> None:
        calls.append(("B", outcome.message_id, outcome.delivery))
        if outcome.message_id == "x2":
            b_in_x2.set()
            resume_a.set()  # A resumes while B is inside on_final(x2)
            assert a_wrote.wait(30)

    _run_a_then_b(a_store, on_final_a, a_in_x1, b_store, on_final_b)
    assert b_in_x2.is_set()
    # x1: A's cut-off hand-over, then B's (delivery 2, as after a crash); x2: B's alone.
    assert sorted(calls) == [("A", "x1", 1), ("B", "x1", 2), ("B", "x2", 1)]


def test_a_worker_resumed_past_its_lease_does_not_record_an_older_poll_over_a_newer(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """A's poll answer came, then A paused past its lease; B polled the id again and
    recorded the newer state. A resumed wrote its older answer over it: the state went
    backwards and B's report was lost."""
    from sms_status.testing import FakeClock, Sandbox

    def store() -> tracking.RedisStore:
        return tracking.RedisStore(redis.Redis.from_url(redis_url), name="stale", lease=3.0)

    a_polled, resume_a, b_waits, a_waits = (threading.Event() for _ in range(4))
    a_store, b_store = store(), store()

    class PausedAfterItsAnswer:
        def __init__(self, client: Any) -> None:
            self.client = client

        def get_statuses(self, ids: Any) -> Any:
            answer = self.client.get_statuses(ids)
            _pause_past_its_lease(a_store, redis_client)
            a_polled.set()
            assert resume_a.wait(30)
            return answer

        def __getattr__(self, name: str) -> Any:
            return getattr(self.client, name)

    def wait_then_stop(waited: threading.Event) -> Any:
        def sleep(_seconds: float) -> None:
            waited.set()
            assert stop.wait(30)

        return sleep

    stop = threading.Event()
    with Sandbox("telecom23", clock=FakeClock()).serve() as sandbox:
        sandbox.add_message("x", statuses=("ENROUTE", "sent", "DELIVRD"))  # a step a poll
        with tracking.Tracker(store(), on_final=print) as sender:
            sender.add("telecom23", "x")
        with (
            sandbox.connect() as client_a,
            sandbox.connect() as client_b,
            tracking.Tracker(
                a_store,
                on_final=print,
                clients={"telecom23": PausedAfterItsAnswer(client_a)},
                clock=lambda: time.time() + 600,  # x is due for both, its deadline far
                sleep=wait_then_stop(a_waits),
            ) as a,
            tracking.Tracker(
                b_store,
                on_final=print,
                clients={"telecom23": client_b},
                clock=lambda: time.time() + 600,
                sleep=wait_then_stop(b_waits),
            ) as b,
        ):
            worker_a = threading.Thread(target=a.run, kwargs={"until_idle": False})
            worker_a.start()
            assert a_polled.wait(30)
            worker_b = threading.Thread(target=b.run, kwargs={"until_idle": False})
            worker_b.start()
            assert b_waits.wait(30)  # B polled x, recorded its answer, and waits
            newer = b.get("telecom23", "x")
            resume_a.set()
            assert a_waits.wait(30)  # A recorded (or not) what it polled, and waits
            after = b.get("telecom23", "x")
            a.stop()
            b.stop()
            stop.set()
            worker_a.join(30)
            worker_b.join(30)
    assert newer is not None
    assert after is not None
    assert newer.report is not None
    assert (newer.report.provider_status, newer.polls) == ("sent", 1)
    assert after.report is not None
    assert (after.report.provider_status, after.polls) == ("sent", 1)
