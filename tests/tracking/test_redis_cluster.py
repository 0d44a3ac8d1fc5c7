"""tracking.RedisStore, the Redis rate limiters and the replay guard on Redis Cluster clients
(`redis.cluster.RedisCluster`, and redis.asyncio's for the async limiter), against a real
one-node cluster.

A cluster refuses a command whose keys lie in more than one slot (CROSSSLOT); a script that
touches keys of other slots fails only when another node holds them, which one node never
does. So the store's test watches every key the server sees touched (keyspace
notifications) and holds all of them, short-lived ones included, to the store's one slot
(its `{name}` hash tag), as a deployment on a managed, many-node cluster needs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ClusterDownError, CrossSlotTransactionError, RedisClusterException
from redis.retry import Retry
from sms_status import tracking, webhooks
from sms_status.pacing import AsyncRedisRateLimiter, RateLimit, RedisRateLimiter
from sms_status.testing.redis_server import redis_cluster
from sms_status.tracking import _redis, _redis_rows
from tracking_support import delivered, polling_tracker

PROVIDER = "telecom23"
MARKER = "test:the-last-key-touched"
NOTIFIED_WITHIN = 60.0


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    with redis_cluster() as url:
        yield url


def _caused(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


def _cluster(url: str) -> RedisCluster:
    """A cluster client as the store takes one: it resends nothing itself."""
    return RedisCluster.from_url(url, retry=Retry(NoBackoff(), 0), socket_timeout=10.0)


@pytest.fixture
def cluster(cluster_url: str) -> Iterator[RedisCluster]:
    client = _cluster(cluster_url)
    client.flushall()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def keys_touched(cluster_url: str) -> Iterator[Iterator[set[str]]]:
    """Call `next()` on it for every key the node saw written since the test began."""
    address = urlsplit(cluster_url)
    node = redis.Redis(host=address.hostname, port=address.port)
    node.config_set("notify-keyspace-events", "KA")
    watch = node.pubsub()
    watch.psubscribe("__keyspace@0__:*")

    def touched() -> Iterator[set[str]]:
        node.set(MARKER, 1)  # notified after everything before it: the end of the list
        seen: set[str] = set()
        deadline = time.monotonic() + NOTIFIED_WITHIN
        while MARKER not in seen:
            assert time.monotonic() < deadline, f"no notice of {MARKER} after {seen}"
            message = watch.get_message(timeout=1.0)  # None: nothing yet, or a subscribe
            if message is not None and message["type"] == "pmessage":
                seen.add(message["channel"].decode().split(":", 1)[1])
        seen.discard(MARKER)
        yield seen

    try:
        yield touched()
    finally:
        watch.close()
        node.config_set("notify-keyspace-events", "")
        node.close()


def test_a_tracker_on_a_cluster_settles_every_id_once_and_keeps_to_one_slot(
    cluster_url: str,
    cluster: RedisCluster,
    keys_touched: Iterator[set[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_redis, "INSERT_CHUNK", 4)  # add_many stages its ids: a MULTI pipeline
    name = f"cluster-{os.getpid()}"
    ids = [f"api_{i}" for i in range(30)]
    pushed = ids[:10]
    outcomes: list[tracking.Outcome] = []
    worker, other = _cluster(cluster_url), _cluster(cluster_url)
    store = tracking.RedisStore(worker, name=name)
    with polling_tracker(store, ids, outcomes.append) as (sb, tracker):
        assert tracker.add_many(PROVIDER, ids, tag="campaign") == len(ids)
        assert tracker.ingest(delivered("early"))  # untracked yet: kept for its add
        assert tracker.ingest_many([delivered(i) for i in pushed]) == [True] * len(pushed)
        assert tracker.add(PROVIDER, "early")
        tracker.run()
        counts = tracker.counts()
    polled = {r.raw_path.rsplit("/", 1)[-1] for r in sb.requests}
    seen_elsewhere = tracking.Tracker(
        tracking.RedisStore(other, name=name), on_final=lambda o: None
    ).counts()
    touched = next(keys_touched)
    worker.close()
    other.close()

    assert sorted(o.message_id for o in outcomes) == sorted([*ids, "early"])
    assert {o.delivery for o in outcomes} == {1}
    assert not polled & {*pushed, "early"}  # a pushed outcome is never polled
    assert counts.settled == len(ids) + 1
    assert (counts.in_flight, counts.awaiting_handover) == (0, 0)
    assert seen_elsewhere == counts
    assert any(":staging:" in key for key in touched), "add_many staged nothing"
    assert {cluster.keyslot(k) for k in touched} == {cluster.keyslot(store.prefix)}, touched


def test_a_cluster_client_that_resends_commands_itself_is_refused(cluster_url: str) -> None:
    """Its retry could send a claim again under the same worker token, leaving the first
    claim's ids held, unpolled, for as long as the worker lives."""
    retrying = RedisCluster.from_url(cluster_url)  # redis-py's default: it retries
    with pytest.raises(ValueError, match=r"retry=Retry\(NoBackoff\(\), 0\)"):
        tracking.RedisStore(retrying, name="refused")
    retrying.close()


def test_a_cluster_client_without_a_socket_timeout_is_refused(cluster_url: str) -> None:
    """The store is given the cluster client as it is: without a timeout, a node that stops
    answering would hang it for ever."""
    waiting = RedisCluster.from_url(cluster_url, retry=Retry(NoBackoff(), 0))
    with pytest.raises(ValueError, match="without a socket_timeout"):
        tracking.RedisStore(waiting, name="refused")
    waiting.close()


def test_a_node_that_stops_answering_is_one_timeout_not_several(
    cluster_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cluster client reports a timeout as "cannot be connected", caused by it: still a
    timeout, after which the store sends nothing again (the script may have run)."""
    client = RedisCluster.from_url(cluster_url, retry=Retry(NoBackoff(), 0), socket_timeout=1.0)
    store = tracking.RedisStore(client, name="stopped")
    waits: list[float] = []
    monkeypatch.setattr(_redis_rows.time, "sleep", waits.append)  # the store's pause between sends
    address = urlsplit(cluster_url)
    with redis.Redis(host=address.hostname, port=address.port) as node:
        pid = int(node.info("server")["process_id"])
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(
            tracking.StoreUnavailableError, match=r"at cluster 127\.0\.0\.1:"
        ) as raised:
            store.get(PROVIDER, "m1")
    finally:
        os.kill(pid, signal.SIGCONT)
    client.close()
    assert waits == []  # sent once
    assert "Timeout" in str(raised.value)


@pytest.mark.parametrize(
    ("error", "is_unavailable"),
    [
        (redis.ConnectionError("refused"), True),
        (ClusterDownError("CLUSTERDOWN"), True),
        (_caused(RedisClusterException("cannot be connected"), redis.TimeoutError()), True),
        (CrossSlotTransactionError("keys of two slots"), False),  # our bug: raised as it is
        (RedisClusterException("no way to dispatch"), False),
    ],
)
def test_only_a_server_that_did_not_answer_is_unavailable(
    error: Exception, is_unavailable: bool
) -> None:
    assert _redis_rows.unavailable(error) is is_unavailable


def test_a_cluster_that_went_away_is_a_store_error() -> None:
    with redis_cluster() as url:
        client = _cluster(url)
        store = tracking.RedisStore(client, name="gone")
        address = urlsplit(url)
        with redis.Redis(host=address.hostname, port=address.port) as node:
            node.shutdown(nosave=True)
        with pytest.raises(tracking.StoreUnavailableError, match="did not answer"):
            tracking.Tracker(store, on_final=lambda o: None).counts()
        client.close()


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
