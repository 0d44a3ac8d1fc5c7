"""RedisStore leases against a real redis-server: a live worker keeps what it claimed for
as long as it works on it, however long that is; only a dead one loses it."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import redis
from sms_status import tracking
from tracking_support import delivered

LEASE = 1.0
IDS = [f"api_{n}" for n in range(20)]


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
    with (
        tracking.Tracker(a_store, on_final=on_final_a) as a,
        tracking.Tracker(b_store, on_final=on_final_b) as b,
    ):
        worker_a = threading.Thread(target=a.run)
        worker_a.start()
        assert a_in_on_final.wait(30)
        worker_b = threading.Thread(target=b.run)
        worker_b.start()
        worker_a.join(60)
        worker_b.join(60)
        assert not worker_a.is_alive()
        assert not worker_b.is_alive()
    assert past_lease.is_set()
    assert [who for who, _, _ in calls] == ["A"] * len(IDS)
    assert Counter(key for _, key, _ in calls) == Counter(f"telecom23:{i}" for i in IDS)
    assert {delivery for *_, delivery in calls} == {1}
