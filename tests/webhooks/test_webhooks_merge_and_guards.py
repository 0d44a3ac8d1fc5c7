"""webhooks.merge (one rule for out-of-order, duplicate, pushed vs polled) and replay guards."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import redis
import redis.asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from sms_status import DeliveryState, StatusReport, webhooks
from sms_status.errors import TransportError, WebhookReplayError
from webhook_support import basic, spec_example

T0 = datetime(2026, 2, 13, 10, 30, tzinfo=UTC)


def report(
    state: DeliveryState, is_final: bool, at: datetime | None, message_id: str = "m1"
) -> StatusReport:
    return StatusReport(
        provider="seven",
        message_id=message_id,
        state=state,
        is_final=is_final,
        provider_status=state.value.upper(),
        updated_at=at,
    )


SENT = report(DeliveryState.SENT, False, T0)
DELIVERED = report(DeliveryState.DELIVERED, True, T0 + timedelta(seconds=5))


def test_a_late_non_final_never_replaces_a_final() -> None:
    late_sent = report(DeliveryState.SENT, False, T0 + timedelta(hours=1))
    assert webhooks.merge(DELIVERED, late_sent) is DELIVERED
    assert webhooks.merge(late_sent, DELIVERED) is DELIVERED


def test_otherwise_the_later_update_wins_and_ties_keep_current() -> None:
    later = report(DeliveryState.SENT, False, T0 + timedelta(seconds=1))
    assert webhooks.merge(SENT, later) is later
    assert webhooks.merge(later, SENT) is later
    twin = report(DeliveryState.SENT, False, T0)
    assert webhooks.merge(SENT, twin) is SENT
    assert webhooks.merge(twin, SENT) is twin
    # Two finals (an RCS DELIVERED then READ): the later one.
    read = report(DeliveryState.READ, True, T0 + timedelta(seconds=9))
    assert webhooks.merge(DELIVERED, read) is read


def test_a_report_without_a_time_counts_as_older() -> None:
    undated = report(DeliveryState.PENDING, False, None)
    assert webhooks.merge(undated, SENT) is SENT
    assert webhooks.merge(SENT, undated) is SENT
    other_undated = report(DeliveryState.SENT, False, None)
    assert webhooks.merge(undated, other_undated) is undated


def test_reports_of_different_messages_do_not_merge() -> None:
    with pytest.raises(ValueError, match="same provider and message"):
        webhooks.merge(SENT, report(DeliveryState.SENT, False, T0, message_id="m2"))


def test_reports_of_different_recipients_of_one_message_do_not_merge() -> None:
    # One recipient's delivery was kept as the whole message's while another's was pending.
    first = attrs.evolve(SENT, recipient="+15550000001")
    second = report(DeliveryState.DELIVERED, True, T0 + timedelta(seconds=5))
    with pytest.raises(ValueError, match="per recipient"):
        webhooks.merge(first, attrs.evolve(second, recipient="+15550000002"))
    assert webhooks.merge(first, attrs.evolve(second, recipient="+15550000001")).is_final
    assert webhooks.merge(SENT, attrs.evolve(second, recipient="+15550000002")).is_final


states = st.sampled_from(list(DeliveryState))
times = st.one_of(st.none(), st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s)))
reports = st.builds(report, states, st.booleans(), times)


@settings(deadline=None)
@given(st.lists(reports, min_size=1, max_size=12))
def test_any_delivery_order_keeps_a_final_once_one_arrived(arrivals: list[StatusReport]) -> None:
    kept = arrivals[0]
    for incoming in arrivals[1:]:
        before = kept
        kept = webhooks.merge(kept, incoming)
        if before.is_final:
            assert kept.is_final
    assert kept.is_final == any(r.is_final for r in arrivals)


# -- replay guards --------------------------------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_memory_guard_remembers_until_the_ttl_passes() -> None:
    clock = Ticks()
    guard = webhooks.MemoryReplayGuard(clock=clock)
    assert guard.add("k", ttl=10)
    assert not guard.add("k", ttl=10)
    clock.now = 10.5
    assert guard.add("k", ttl=10)


def test_memory_guard_stays_bounded() -> None:
    guard = webhooks.MemoryReplayGuard(max_entries=3)
    for key in "abcde":
        assert guard.add(key, ttl=60)
    assert len(guard) == 3
    assert not guard.add("e", ttl=60)
    assert guard.add("a", ttl=60)  # the oldest were forgotten first


def test_memory_guard_drops_expired_keys_first_then_those_expiring_soonest() -> None:
    clock = Ticks()
    guard = webhooks.MemoryReplayGuard(max_entries=3, clock=clock)
    assert guard.add("a", ttl=100)
    assert guard.add("b", ttl=1)
    assert guard.add("c", ttl=100)
    guard.discard("c")
    assert guard.add("c", ttl=50)  # added again: its first expiry no longer counts
    clock.now = 2.0
    assert guard.add("d", ttl=100)  # "b" expired: dropped, nothing else
    assert len(guard) == 3
    assert guard.add("e", ttl=100)  # full: "c" expires soonest (50)
    assert len(guard) == 3
    assert not guard.add("a", ttl=100)
    assert not guard.add("d", ttl=100)
    assert guard.add("c", ttl=100)


def test_memory_guard_admits_one_of_many_concurrent_adds() -> None:
    guard = webhooks.MemoryReplayGuard()
    results: list[bool] = []
    start = threading.Barrier(8)

    def add() -> None:
        start.wait()
        results.append(guard.add("same", ttl=60))

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_redis_guard_is_shared_by_every_client_of_the_server(
    redis_client: redis.Redis, redis_url: str
) -> None:
    first = webhooks.RedisReplayGuard(redis_client)
    second = webhooks.RedisReplayGuard(redis.Redis.from_url(redis_url))
    assert first.add("telecom23:1770978604:abc", ttl=600)
    assert not second.add("telecom23:1770978604:abc", ttl=600)
    assert second.add("telecom23:1770978605:def", ttl=600)
    names = redis_client.keys("sms_status:webhook:*")
    assert len(names) == 2
    assert all(0 < redis_client.pttl(name) <= 600_000 for name in names)
    assert all(b"1770978604" not in name for name in names)  # hashed names


def test_redis_guard_refuses_an_asyncio_client(redis_url: str) -> None:
    """Its calls would return coroutines, which are truthy: every delivery, replays too, would
    be accepted as new (the guard is called from a worker thread, so it takes a blocking one)."""
    with pytest.raises(TypeError, match=r"RedisReplayGuard takes a blocking client"):
        webhooks.RedisReplayGuard(redis.asyncio.Redis.from_url(redis_url))


def test_redis_guard_forgets_after_the_ttl(redis_client: redis.Redis) -> None:
    guard = webhooks.RedisReplayGuard(redis_client, prefix="t:")
    assert guard.add("k", ttl=60)
    assert not guard.add("k", ttl=60)
    [name] = redis_client.keys("t:*")
    redis_client.pexpire(name, 1)  # expire now rather than sleeping
    while redis_client.exists(name):
        pass
    assert guard.add("k", ttl=60)


def test_redis_guard_claims_a_delivery_while_reported_and_remembers_it_once_confirmed(
    redis_client: redis.Redis, redis_url: str
) -> None:
    reporting = webhooks.RedisReplayGuard(redis_client, prefix="c:", lease=30)
    elsewhere = webhooks.RedisReplayGuard(redis.Redis.from_url(redis_url), prefix="c:")
    assert reporting.claim("d-1") == "new"
    [name] = redis_client.keys("c:*")
    assert 0 < redis_client.pttl(name) <= 30_000  # pending for the lease only
    assert elsewhere.claim("d-1") == "busy"  # being reported: not a replay, not new
    reporting.confirm("d-1", ttl=600)
    assert 30_000 < redis_client.pttl(name) <= 600_000
    assert elsewhere.claim("d-1") == "seen"
    assert elsewhere.add("d-1", ttl=600) is False


def test_redis_guard_takes_a_claim_afresh_once_its_lease_lapsed_or_it_was_discarded(
    redis_client: redis.Redis,
) -> None:
    guard = webhooks.RedisReplayGuard(redis_client, prefix="l:")
    assert guard.claim("killed-mid-report") == "new"
    [name] = redis_client.keys("l:*")
    redis_client.pexpire(name, 1)  # the lease lapses (its receiver died) rather than sleeping
    while redis_client.exists(name):
        pass
    assert guard.claim("killed-mid-report") == "new"
    guard.discard("killed-mid-report")  # its report failed: the retry is new
    assert guard.claim("killed-mid-report") == "new"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"lease": 0}, ValueError),
        ({"lease": float("inf")}, ValueError),  # an OverflowError escaped
        ({"lease": float("nan")}, ValueError),
        ({"lease": True}, TypeError),
        ({"prefix": None}, TypeError),  # taken, then every delivery a 500
        ({"prefix": b"p:"}, TypeError),
    ],
)
def test_redis_guard_refuses_bad_arguments_when_made(
    redis_client: redis.Redis, options: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"lease|prefix"):
        webhooks.RedisReplayGuard(redis_client, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("max_entries", "error"), [(0, ValueError), (True, TypeError), (2.5, TypeError)]
)
def test_memory_guard_refuses_a_bound_that_is_no_count(
    max_entries: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="max_entries"):
        webhooks.MemoryReplayGuard(max_entries=max_entries)  # type: ignore[arg-type]


def test_parse_with_a_redis_guard_refuses_the_replay(redis_client: redis.Redis) -> None:
    body = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()
    guard = webhooks.RedisReplayGuard(redis_client)
    webhooks.parse("lisoloo", body=body, headers=basic("u:p"), secret="u:p", replay_guard=guard)
    with pytest.raises(WebhookReplayError):
        webhooks.parse("lisoloo", body=body, headers=basic("u:p"), secret="u:p", replay_guard=guard)


def test_parse_with_a_redis_guard_whose_redis_is_gone_raises_one_of_ours() -> None:
    # redis.exceptions.ConnectionError escaped parse, which documents our errors only.
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]  # closed below: nothing listens there
    gone = redis.Redis(port=port, socket_connect_timeout=2, socket_timeout=2)
    guard = webhooks.RedisReplayGuard(gone)
    body = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()
    with pytest.raises(TransportError, match="replay guard could not remember") as raised:
        webhooks.parse("lisoloo", body=body, headers=basic("u:p"), secret="u:p", replay_guard=guard)
    assert "u:p" not in str(raised.value)


class _LoseOneReply:
    """A TCP proxy to Redis that drops the connection instead of passing on the first reply
    (not an error) to a command naming `marker`: Redis applied it; the client never hears."""

    def __init__(self, host: str, port: int, marker: bytes) -> None:
        self._target = (host, port)
        self._marker = marker
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.lost = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        with client, server, contextlib.suppress(OSError):
            while data := client.recv(65536):  # redis-py: one command, then its reply
                server.sendall(data)
                reply = server.recv(65536)
                if self._marker in data and not reply.startswith(b"-") and not self.lost.is_set():
                    self.lost.set()
                    return
                client.sendall(reply)

    def close(self) -> None:
        self._listener.close()


def test_redis_guard_takes_the_resend_of_an_add_whose_reply_was_lost_for_a_new_key(
    redis_url: str,
) -> None:
    # redis-py resends a command when the connection drops (by default): the key the first
    # send set must not make the delivery a replay of itself, never reported.
    options = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
    proxy = _LoseOneReply(options["host"], options["port"], b"sms_status:webhook:")
    client = redis.Redis(host="127.0.0.1", port=proxy.port)  # redis-py's default retries
    try:
        guard = webhooks.RedisReplayGuard(client)
        assert guard.add("delivery-1", ttl=600) is True
        assert proxy.lost.is_set()  # the first reply was lost, and the add resent
        assert guard.add("delivery-1", ttl=600) is False  # a real replay still is one
        assert webhooks.RedisReplayGuard(client).add("delivery-1", ttl=600) is False
    finally:
        client.close()
        proxy.close()


def test_redis_guards_copied_by_a_fork_never_both_accept_one_delivery(
    redis_client: redis.Redis,
) -> None:
    # A guard made before a fork (gunicorn --preload with uvicorn workers) is copied into
    # each worker: their adds must still be told apart.
    guard = webhooks.RedisReplayGuard(redis_client)
    pid = os.fork()
    if pid == 0:  # one worker: the provider's first copy of the delivery
        os._exit(0 if guard.add("delivery-1", ttl=600) is True else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0  # the first copy was new there
    assert guard.add("delivery-1", ttl=600) is False  # the second copy, here: a replay
