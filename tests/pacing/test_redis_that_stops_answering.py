"""A shared budget's or replay guard's Redis that stops answering (SIGSTOP: the socket stays
open, nothing comes back) fails the call instead of holding it, when the client given has no
socket timeout of its own (`redis.Redis.from_url(url)`, as the docs write it). On a real
redis-server of the test's own, stopped and continued."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio
import sms_status
from sms_status import _redis_kind, webhooks
from sms_status.errors import TransportError
from sms_status.pacing import AsyncRedisRateLimiter, RateLimit, RedisRateLimiter
from sms_status.testing import Sandbox
from sms_status.testing.redis_server import redis_server
from webhook_support import basic, spec_example

BUDGET = RateLimit(requests=100, per=1.0)


@pytest.fixture
def stopped_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a redis-server that stops answering once the test calls `stop()`."""
    monkeypatch.setattr(_redis_kind, "REPLY_TIMEOUT", 0.5, raising=False)  # 5 s, shortened
    with redis_server(tmp_path) as url:
        pid = int(redis.Redis.from_url(url).info("server")["process_id"])
        try:
            yield url
        finally:
            os.kill(pid, signal.SIGCONT)


def _stop(url: str) -> None:
    os.kill(int(redis.Redis.from_url(url).info("server")["process_id"]), signal.SIGSTOP)


def _ends(call: Callable[[], object], within: float = 30.0) -> BaseException | None:
    """What `call` raised (None if it returned), failing the test if it does not end
    `within` seconds."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            raised.append(exc)
        else:
            raised.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), "the call was still waiting for Redis"
    return raised[0]


def test_a_lookup_paced_by_a_redis_that_stopped_answering_fails(stopped_redis: str) -> None:
    limiter = RedisRateLimiter(redis.Redis.from_url(stopped_redis), "stopped", BUDGET)
    with Sandbox("telecom23").serve() as sandbox:
        sandbox.add_message("m-1", statuses=("DELIVRD",))
        client = sms_status.connect(
            "telecom23",
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            rate_limiter=limiter,
            max_retries=0,
        )
        with client:
            assert client.get_status("m-1").is_final  # the budget works while Redis does
            _stop(stopped_redis)
            raised = _ends(lambda: client.get_status("m-1"))
    assert isinstance(raised, TransportError)
    assert "rate limiter" in str(raised)


def test_a_limiter_on_a_client_with_redis_pys_own_retries_is_held_no_longer(
    stopped_redis: str,
) -> None:
    # redis.Redis(host=..., port=...) times out after 5 s and resends ten times or so on
    # redis-py 8: a lookup was held about a minute.
    port = redis.Redis.from_url(stopped_redis).connection_pool.connection_kwargs["port"]
    limiter = RedisRateLimiter(redis.Redis(port=port), "retried", BUDGET)
    assert limiter.reserve() >= 0  # the budget works while Redis does
    _stop(stopped_redis)
    assert isinstance(_ends(limiter.reserve), redis.TimeoutError)


def test_an_async_lookup_paced_by_a_redis_that_stopped_answering_fails(
    stopped_redis: str,
) -> None:
    async def lookup(sandbox: Sandbox) -> None:
        limiter = AsyncRedisRateLimiter(
            redis.asyncio.Redis.from_url(stopped_redis), "stopped", BUDGET
        )
        async with sms_status.connect_async(
            "telecom23",
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            rate_limiter=limiter,
            max_retries=0,
        ) as client:
            await client.get_status("m-1")
            _stop(stopped_redis)
            await client.get_status("m-1")

    with Sandbox("telecom23").serve() as sandbox:
        sandbox.add_message("m-1", statuses=("DELIVRD",))
        raised = _ends(lambda: asyncio.run(lookup(sandbox)))
    assert isinstance(raised, TransportError)
    assert "rate limiter" in str(raised)


def test_a_replay_guard_on_a_redis_that_stopped_answering_fails(stopped_redis: str) -> None:
    guard = webhooks.RedisReplayGuard(redis.Redis.from_url(stopped_redis))
    body = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()

    def parse() -> None:
        webhooks.parse("lisoloo", body=body, headers=basic("u:p"), secret="u:p", replay_guard=guard)

    assert _ends(parse) is None
    _stop(stopped_redis)
    assert isinstance(_ends(parse), TransportError)


def test_limiters_on_one_client_share_one_pool_of_their_own(stopped_redis: str) -> None:
    # Each limiter opened a pool of its own: a plan's connection cap was passed (and a
    # Sentinel client, whose pool is built otherwise, was refused outright).
    client = redis.Redis.from_url(stopped_redis)
    limiters = [RedisRateLimiter(client, f"shared-{n}", BUDGET) for n in range(5)]
    for limiter in limiters:
        limiter.reserve()
    names = [c["name"] for c in client.client_list()]
    assert len(names) <= 3  # this client's own, and the limiters' one (each pool reuses)
    from redis.sentinel import Sentinel

    sentinel = Sentinel([("127.0.0.1", 1)], socket_timeout=0.1).master_for("mymaster")
    assert RedisRateLimiter(sentinel, "sentinel", BUDGET).name == "sentinel"
    assert webhooks.RedisReplayGuard(sentinel) is not None


def test_a_limiter_on_a_pool_subclass_is_bounded_too(stopped_redis: str) -> None:
    # Only exact ConnectionPools were copied: a subclass (one counting connections, say)
    # with no socket timeout held the lookup for as long as Redis was away.
    class CountingPool(redis.ConnectionPool):
        pass

    port = redis.Redis.from_url(stopped_redis).connection_pool.connection_kwargs["port"]
    pool = CountingPool(host="127.0.0.1", port=port, socket_timeout=None)
    limiter = RedisRateLimiter(redis.Redis(connection_pool=pool), "subclass", BUDGET)
    assert limiter.reserve() >= 0
    _stop(stopped_redis)
    assert isinstance(_ends(limiter.reserve), redis.TimeoutError)


def test_a_child_forked_while_a_limiter_is_being_built_can_build_one() -> None:
    # The lock of the shared pools, held by another thread at the fork, was never released
    # in the child: its first limiter hung.
    import select

    read_end, write_end = os.pipe()
    with _redis_kind._Derived.lock:  # as a thread building a limiter at that moment
        pid = os.fork()
        if pid == 0:
            RedisRateLimiter(redis.Redis(port=1), "forked", BUDGET)  # connects on first use
            os.write(write_end, b"1")
            os._exit(0)
    ready: list[int] = []
    try:
        ready, _, _ = select.select([read_end], [], [], 20)
        assert ready, "the forked child hung building a limiter"
    finally:
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("kind", ["plain", "blocking, no timeout"])
def test_a_capped_pool_waits_for_a_connection_through_a_slow_redis(
    redis_url: str, kind: str
) -> None:
    # The guard's own pool copied a plain pool's cap and failed a call at once ("Too many
    # connections") when all were out: a receiver's worker threads answered 500s through a
    # one-second Redis slowdown. Now a call waits for a connection (5 s at most). A blocking
    # pool waiting for ever (timeout=None) was copied as a plain one, failing at once too.
    pool = (
        redis.ConnectionPool.from_url(redis_url, max_connections=2)
        if kind == "plain"
        else redis.BlockingConnectionPool.from_url(redis_url, max_connections=2, timeout=None)
    )
    client = redis.Redis(connection_pool=pool)
    guard = webhooks.RedisReplayGuard(client, prefix=f"capped-{kind}:")
    admin = redis.Redis.from_url(redis_url)
    start = threading.Barrier(17)
    answers: list[object] = []

    def add(n: int) -> None:
        start.wait(10)
        try:
            answers.append(guard.add(f"delivery-{n}", ttl=60))
        except redis.RedisError as exc:
            answers.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    admin.client_pause(1000, all=True)  # every command waits a second: connections stay out
    start.wait(10)
    for thread in threads:
        thread.join(30)
    assert answers == [True] * 16


def test_an_async_wait_paced_by_a_redis_that_stopped_answering_ends_at_its_deadline(
    stopped_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Redis's answer to a booking was waited for up to 5 s whatever the call's deadline:
    # wait_for_final(timeout=1) took 5 s. It ends about a second in (4 s: room for a loaded
    # machine, short of the 5 s it took).
    monkeypatch.setattr(_redis_kind, "REPLY_TIMEOUT", 60.0)

    async def wait(sandbox: Sandbox) -> None:
        limiter = AsyncRedisRateLimiter(
            redis.asyncio.Redis.from_url(stopped_redis), "deadline", BUDGET
        )
        async with sms_status.connect_async(
            "telecom23", api_key=sandbox.api_key, base_url=sandbox.base_url, rate_limiter=limiter
        ) as client:
            await client.get_status("m-1")
            _stop(stopped_redis)
            await client.wait_for_final("m-1", timeout=1)

    with Sandbox("telecom23").serve() as sandbox:
        sandbox.add_message("m-1", statuses=("sent",))
        raised = _ends(lambda: asyncio.run(wait(sandbox)), within=4.0)
    assert isinstance(raised, TransportError)
    assert "rate limiter" in str(raised)


def test_a_replay_guard_sends_a_call_to_a_redis_that_never_answers_twice_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # redis-py 8's own retries (kept for the guard's resends) sent each call about eleven
    # times, 5 s each: a delivery was held a minute, then its key's cleanup as long.
    monkeypatch.setattr(_redis_kind, "REPLY_TIMEOUT", 0.2, raising=False)  # 5 s, shortened
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:  # a Redis that takes connections and never answers
        while not done.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    guard = webhooks.RedisReplayGuard(redis.Redis(port=port))
    try:
        assert isinstance(_ends(lambda: guard.add("k", ttl=60)), redis.TimeoutError)
    finally:
        done.set()
        listener.close()
        for connection in accepted:
            connection.close()
    assert 1 <= len(accepted) <= 2  # the call, and one resend
