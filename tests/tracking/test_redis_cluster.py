"""tracking.RedisStore, the Redis rate limiter and the replay guard on a Redis Cluster client
(`redis.cluster.RedisCluster`), against a real one-node cluster.

A cluster refuses any command or script whose keys lie in more than one slot (CROSSSLOT),
whatever its number of nodes, and redis-py's cluster client runs transactions and scripts
its own way: so this holds the store to "every key of a store shares one slot" (the `{name}`
hash tag) and to working through that client, as a deployment on a managed cluster needs.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator

import pytest
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from sms_status import tracking, webhooks
from sms_status.pacing import AsyncRedisRateLimiter, RateLimit, RedisRateLimiter
from sms_status.report import DeliveryState, StatusReport
from sms_status.testing import FakeClock, Sandbox
from sms_status.testing.redis_server import redis_cluster
from sms_status.tracking import _redis

PROVIDER = "telecom23"


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    with redis_cluster() as url:
        yield url


@pytest.fixture
def cluster(cluster_url: str) -> Iterator[RedisCluster]:
    client = RedisCluster.from_url(cluster_url)
    client.flushall()
    try:
        yield client
    finally:
        client.close()


def _pushed(message_id: str) -> StatusReport:
    return StatusReport(
        provider=PROVIDER,
        message_id=message_id,
        state=DeliveryState.DELIVERED,
        is_final=True,
        provider_status="DELIVRD",
    )


def test_a_tracker_on_a_cluster_settles_every_id_once_pushed_or_polled(
    cluster_url: str, cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_redis, "INSERT_CHUNK", 4)  # add_many stages its ids: a MULTI pipeline
    name = f"cluster-{os.getpid()}"
    clock = FakeClock()
    ids = [f"api_{i}" for i in range(30)]
    pushed = ids[:10]
    outcomes: list[tracking.Outcome] = []
    with Sandbox(PROVIDER, clock=clock).serve() as sb:
        for message_id in ids:
            sb.add_message(message_id, advance="poll")
        store = tracking.RedisStore(RedisCluster.from_url(cluster_url), name=name)
        with (
            sb.connect() as client,
            tracking.Tracker(
                store,
                on_final=outcomes.append,
                clients={PROVIDER: client},
                clock=clock.now,
                sleep=clock.sleep,
            ) as tracker,
        ):
            assert tracker.add_many(PROVIDER, ids, tag="campaign") == len(ids)
            assert tracker.ingest(_pushed("early"))  # untracked yet: kept for its add
            assert tracker.ingest_many([_pushed(i) for i in pushed]) == [True] * len(pushed)
            assert tracker.add(PROVIDER, "early")
            tracker.run()
            counts = tracker.counts()
        polled = Counter(r.raw_path.rsplit("/", 1)[-1] for r in sb.requests)
    other_worker = tracking.RedisStore(RedisCluster.from_url(cluster_url), name=name)
    seen_elsewhere = tracking.Tracker(other_worker, on_final=lambda o: None).counts()
    other_worker.close()
    store.close()

    assert sorted(o.message_id for o in outcomes) == sorted([*ids, "early"])
    assert {o.delivery for o in outcomes} == {1}
    assert not polled.keys() & {*pushed, "early"}  # a pushed outcome is never polled
    assert counts.settled == len(ids) + 1
    assert (counts.in_flight, counts.awaiting_handover) == (0, 0)
    assert seen_elsewhere == counts
    keys = cluster.keys("*")
    assert keys, "the store wrote nothing"
    assert {cluster.keyslot(k) for k in keys} == {cluster.keyslot(store.prefix)}


def test_the_limiters_and_the_replay_guard_work_on_a_cluster(
    cluster_url: str, cluster: RedisCluster
) -> None:
    hourly = RateLimit(requests=48, per=3600.0)  # a burst of 2, then a slot every 80 s
    limiter = RedisRateLimiter(cluster, "lisoloo:acme", hourly)
    twin = RedisRateLimiter(cluster, "lisoloo:acme", hourly)
    waits = [limiter.reserve(), twin.reserve(), twin.reserve()]
    assert waits[:2] == [0.0, 0.0]  # the burst, shared by both
    assert 75.0 < waits[2] <= 80.0

    async def book_async() -> float:  # the asyncio twin, on the asyncio cluster client
        async with AsyncRedisCluster.from_url(cluster_url) as client:
            return await AsyncRedisRateLimiter(client, "lisoloo:acme", hourly).reserve()

    assert 155.0 < asyncio.run(book_async()) <= 160.0  # the same budget: the next slot

    guard = webhooks.RedisReplayGuard(cluster)
    assert guard.add("telecom23:1770978604:abc", ttl=600)
    assert not webhooks.RedisReplayGuard(cluster).add("telecom23:1770978604:abc", ttl=600)
    guard.discard("telecom23:1770978604:abc")
    assert guard.add("telecom23:1770978604:abc", ttl=600)
