"""A RedisStore whose Redis answers but will not do what is asked, or has lost the store: each
a documented error saying what to do, never a raw redis-py exception nor a silent loss. On a
real redis-server of the test's own, whose settings it changes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sms_status import tracking
from sms_status.testing.redis_server import redis_server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[redis.Redis]:
    with redis_server(tmp_path) as url:
        client = redis.Redis.from_url(url, socket_timeout=5)
        yield client
        client.close()


def _tracker(client: redis.Redis, **store: object) -> tracking.Tracker:
    return tracking.Tracker(
        tracking.RedisStore(client, name="refusals", **store), on_final=lambda _o: None
    )


def _flushed_under(tracker: tracking.Tracker, client: redis.Redis) -> None:
    """Five ids tracked, then every key of the Redis gone (a restart without persistence)."""
    tracker.add_many("telecom23", [f"m-{n}" for n in range(5)])
    client.flushall()


def test_a_store_flushed_under_a_running_tracker_is_lost_not_empty(
    own_redis: redis.Redis,
) -> None:
    # Its scripts read missing rows as nothing due: run() returned as if every outcome had
    # been handed over, and add() took the lost ids for new ones.
    with _tracker(own_redis) as tracker:
        _flushed_under(tracker, own_redis)
        with pytest.raises(tracking.StoreLostError, match="store is gone"):
            tracker.add("telecom23", "m-0")
        with pytest.raises(tracking.StoreLostError):
            tracker.run(until_idle=True)
    assert not issubclass(tracking.StoreLostError, tracking.StoreUnavailableError)


def test_a_store_made_anew_under_its_name_is_still_lost_to_a_running_tracker(
    own_redis: redis.Redis,
) -> None:
    # After the flush another worker's open made the store again: this tracker went on
    # with the new, empty one, its ids lost without a word.
    with _tracker(own_redis) as tracker:
        _flushed_under(tracker, own_redis)
        tracking.RedisStore(own_redis, name="refusals").close()  # a worker restarted
        with pytest.raises(tracking.StoreLostError):
            tracker.add("telecom23", "m-0")


def test_reads_of_a_lost_store_are_no_empty_answers(own_redis: redis.Redis) -> None:
    # get() and counts() read the empty store after a flush: "nothing in flight".
    with _tracker(own_redis) as tracker:
        _flushed_under(tracker, own_redis)
        with pytest.raises(tracking.StoreLostError, match="open the store again"):
            tracker.counts()
        with pytest.raises(tracking.StoreLostError):
            tracker.get("telecom23", "m-0")
    with _tracker(own_redis) as anew:  # opened again, as the error says: an empty store
        assert anew.add("telecom23", "m-0") is True


def test_a_redis_that_may_evict_keys_is_warned_of_at_open(
    own_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    own_redis.config_set("maxmemory-policy", "allkeys-lru")
    with caplog.at_level(logging.WARNING, logger="sms_status.tracking"):
        tracking.RedisStore(own_redis, name="evicting").close()
    assert "maxmemory-policy allkeys-lru" in caplog.text
    caplog.clear()
    own_redis.config_set("maxmemory-policy", "noeviction")
    with caplog.at_level(logging.WARNING, logger="sms_status.tracking"):
        tracking.RedisStore(own_redis, name="keeping").close()
    assert "maxmemory-policy" not in caplog.text


def test_a_full_redis_is_unavailable_with_what_to_do(own_redis: redis.Redis) -> None:
    # OOM under noeviction (what the docs ask for) escaped as redis.ResponseError.
    with _tracker(own_redis) as tracker:
        own_redis.config_set("maxmemory", "1")
        try:
            with pytest.raises(tracking.StoreUnavailableError, match="it is full"):
                tracker.add_many("telecom23", [f"m-{n}" for n in range(50)])
        finally:
            own_redis.config_set("maxmemory", "0")
        assert tracker.add_many("telecom23", [f"m-{n}" for n in range(50)]) == 50


def test_refused_credentials_are_said_to_be_so_not_a_redis_that_did_not_answer(
    own_redis: redis.Redis,
) -> None:
    # An AuthenticationError is a ConnectionError to redis-py: it was retried, then
    # reported as "did not answer ... call again once it is back".
    own_redis.acl_setuser(
        "tracker", enabled=True, passwords=["+right"], keys=["*"], commands=["+@all"]
    )
    port = own_redis.connection_pool.connection_kwargs["port"]
    wrong = redis.Redis(port=port, username="tracker", password="wrong", socket_timeout=5)
    with pytest.raises(tracking.StoreUnavailableError, match="refused the credentials") as raised:
        tracking.RedisStore(wrong, name="auth")
    assert "did not answer" not in str(raised.value)
    assert "wrong" not in str(raised.value)
