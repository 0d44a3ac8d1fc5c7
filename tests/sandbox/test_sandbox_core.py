"""The provider-independent core: clock, API contracts, in-process use, serving."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sms_status
import sms_status.testing as testing
from sandbox_support import client
from sms_status.testing import (
    DEMO_KEYS,
    PROVIDER_KEYS,
    FakeClock,
    Fault,
    RecordedRequest,
    Sandbox,
)


def test_exports() -> None:
    assert PROVIDER_KEYS == sms_status.PROVIDERS  # the registry, not a copy
    assert DEMO_KEYS["telecom23"] == "sk_test_sandbox_telecom23"
    assert set(DEMO_KEYS) == set(PROVIDER_KEYS)
    assert Fault.__name__ == "Fault"
    assert RecordedRequest.__name__ == "RecordedRequest"
    with pytest.raises(AttributeError):
        _ = testing.Nope  # type: ignore[attr-defined]


def test_fake_clock() -> None:
    clock = FakeClock()
    assert clock.now() == datetime(2026, 2, 13, 10, 30, tzinfo=UTC).timestamp()
    assert clock.monotonic() == clock.now()
    clock.advance(1.5)
    clock.sleep(2)
    clock.sleep(-1)
    assert clock.now() == FakeClock.DEFAULT_START + 3.5
    assert clock.datetime().isoformat() == "2026-02-13T10:30:03.500000+00:00"
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert FakeClock(datetime(2030, 1, 1)).now() == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    asyncio.run(clock.async_sleep(10))
    assert clock.now() == FakeClock.DEFAULT_START + 13.5


def _napping() -> tuple[Callable[[float], Coroutine[Any, Any, None]], list[tuple[float, float]]]:
    """`nap(seconds)` on a FakeClock at 0, and the (seconds, clock time) each nap woke at."""
    clock = FakeClock(0)
    woke: list[tuple[float, float]] = []

    async def nap(seconds: float) -> None:
        await clock.async_sleep(seconds)
        woke.append((seconds, clock.now()))

    return nap, woke


def test_a_fake_clock_lets_sleeps_taken_at_once_overlap() -> None:
    # Each sleep moved the clock by its own length: ten tasks sleeping 5 s took 50 s.
    nap, woke = _napping()

    async def main() -> None:
        await asyncio.gather(*(nap(5) for _ in range(10)))
        await asyncio.gather(nap(3), nap(1), nap(2))  # each at its own time, earliest first
        sleeping = asyncio.ensure_future(nap(60))
        await asyncio.sleep(0)
        sleeping.cancel()  # a cancelled sleep moves nothing, holds no one back
        await asyncio.gather(sleeping, return_exceptions=True)
        await nap(0)

    asyncio.run(main())
    assert woke == [(5, 5.0)] * 10 + [(1, 6.0), (2, 7.0), (3, 8.0), (0, 8.0)]


def test_a_fake_clock_wakes_the_sleepers_left_in_order_when_many_are_cancelled() -> None:
    nap, woke = _napping()

    async def main() -> None:
        naps = [asyncio.ensure_future(nap(n)) for n in range(1, 201)]
        await asyncio.sleep(0)  # all are asleep
        for n, task in enumerate(naps, 1):
            if n % 2:
                task.cancel()
        await asyncio.gather(*naps, return_exceptions=True)

    asyncio.run(main())
    assert woke == [(n, float(n)) for n in range(2, 201, 2)]


@pytest.mark.parametrize("seconds", [float("nan"), float("inf")])
def test_a_fake_clock_moves_by_finite_seconds_only(seconds: float) -> None:
    # nan or inf was taken, and stayed the clock's time for good.
    clock = FakeClock()
    with pytest.raises(ValueError, match="finite"):
        clock.advance(seconds)
    assert clock.now() == FakeClock.DEFAULT_START


@pytest.mark.parametrize(
    ("key", "kind", "params"),
    [
        ("telecom23", "rate_limit", {"retry_afer": "5"}),  # misspelt: the default was sent
        ("telecom23", "server_error", {"stauts": 503}),  # misspelt: a 500 was sent
        ("seven", "error", {"status": 403, "code": "API_DEACTIVATED"}),  # seven's are numbers
        ("seven", "error", {"status": 403, "code": " 9x"}),
        ("telecom23", "truncated_json", {"length": "half"}),
        ("telecom23", "stall", {"seconds": "2s"}),
        ("telecom23", "reset", {"length": "x"}),
        ("telecom23", "status_code", {"status": 503, "body": 7.5}),
        ("telecom23", "server_error", {"status": "five hundred"}),
        ("telecom23", "error", {"status": 400, "fields": ["message"]}),  # a mapping's keys
        ("telecom23", "wrong_types", {"fields": "cost"}),  # was read letter by letter
    ],
)
def test_a_fault_with_parameters_it_cannot_take_is_refused_when_injected(
    key: str, kind: str, params: dict[str, object]
) -> None:
    # They were taken, then each matching request was the sandbox's bare 500 (a traceback,
    # and no record of it), or the misspelt parameter was ignored.
    sb = Sandbox(key, clock=FakeClock())
    with pytest.raises(ValueError, match=kind):
        sb.inject_fault(kind, **params)
    assert sb.faults == []


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("server_error", {"status": "503"}),
        ("proxy_502_html", {"status": "504"}),
        ("truncated_json", {"length": "5"}),
        ("truncated_json", {"length": 5.0}),
        ("unknown_status", {"value": 123}),
        ("stall", {"seconds": "0.1"}),
        ("reset", {"length": "3"}),
    ],
)
def test_a_fault_parameter_the_sandbox_reads_as_it_always_did_is_taken(
    kind: str, params: dict[str, object]
) -> None:
    # The checks above refuse only what the sandbox could never read.
    Sandbox("telecom23", clock=FakeClock()).inject_fault(kind, **params)


@pytest.mark.parametrize("kind", ["truncated_json", "wrong_types", "status_code"])
def test_a_fault_on_the_answer_waits_for_a_request_that_gets_one(
    telecom23_sandbox: Sandbox, kind: str
) -> None:
    # A request refused before its handler (a wrong key here) used the fault up, and was
    # logged as shaped by it: the next good request got a whole 200.
    sb = telecom23_sandbox
    sb.add_message("m1", statuses=("DELIVRD",))
    sb.inject_fault(kind, **({"status": 503} if kind == "status_code" else {}))
    with client(sb, key="sk_wrong") as refused:
        assert refused.get("/api/v1/sms/status/m1").status_code == 401
    with client(sb) as accepted:
        shaped = accepted.get("/api/v1/sms/status/m1")
    assert (shaped.status_code == 503) == (kind == "status_code")
    assert [(r.status, r.fault) for r in sb.requests] == [(401, None), (shaped.status_code, kind)]


def test_fake_clock_is_thread_safe() -> None:
    clock = FakeClock(0)

    def work() -> None:
        for _ in range(10_000):
            clock.advance(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == 40_000


def test_constructor_contract() -> None:
    sb = Sandbox("telecom23")
    assert (sb.key, sb.api_key) == ("telecom23", DEMO_KEYS["telecom23"])
    assert abs(sb.clock.now() - time.time()) < 5
    assert Sandbox("seven", api_key="k").api_key == "k"
    with pytest.raises(ValueError, match="unknown provider"):
        Sandbox("no-such-provider")  # never a valid key (nox -s new_provider)
    with pytest.raises(ValueError, match="history_before"):
        Sandbox("namirial", history_before="sometimes")
    with pytest.raises(ValueError, match="rate_limit"):
        Sandbox("lisoloo", rate_limit=(0, 60.0))
    with pytest.raises(RuntimeError, match="not serving"):
        _ = sb.base_url
    assert Sandbox("lisoloo").rate_limit == (120, 60.0)


def test_add_message_contract() -> None:
    sb = Sandbox("telecom23", clock=FakeClock())
    with pytest.raises(ValueError, match="advance"):
        sb.add_message("m", advance="sometimes")
    with pytest.raises(ValueError, match="at least one"):
        sb.add_message("m", statuses=())
    with pytest.raises(TypeError, match="sequence"):
        sb.add_message("m", statuses="DELIVRD")
    handle = sb.add_message("m", statuses=("a", "b"), advance=0)
    assert handle.status == "b"
    assert "m" in repr(handle)


def test_in_process_with_asgi_transport() -> None:
    sb = Sandbox("roycetalk", clock=FakeClock())
    sb.add_message("x/y", statuses=("sent",))

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=sb.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
            return await c.get(
                "/api/v1/sms-api/messages/x%2Fy/",
                headers={"Authorization": f"Bearer {sb.api_key}"},
                params={"a": "1"},
            )

    response = asyncio.run(main())
    assert response.json()["data"]["status"] == "sent"
    (recorded,) = sb.requests
    assert recorded.raw_path == "/api/v1/sms-api/messages/x%2Fy/"
    assert (recorded.query, recorded.query_params) == ("a=1", {"a": ["1"]})
    assert recorded.headers["authorization"] == "***"


def test_serve_start_stop() -> None:
    sb = Sandbox("telecom23", clock=FakeClock())
    started = time.perf_counter()
    with sb.serve() as served:
        elapsed = time.perf_counter() - started
        assert served is sb
        assert sb.serving
        url = sb.base_url
        assert url.startswith("http://127.0.0.1:")
        r = httpx.get(url + "/api/v1/sms/status/x", headers={"X-API-Key": sb.api_key})
        assert r.status_code == 404
        with pytest.raises(RuntimeError, match="already serving"):
            sb.start()
    assert elapsed < 2
    assert not sb.serving
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/api/v1/sms/status/x")
    sb.stop()  # idempotent
    sb.start()
    try:
        assert httpx.get(sb.base_url + "/api/v1/sms/status/x").status_code == 401
    finally:
        sb.stop()


def test_stop_cuts_a_stalled_request_short() -> None:
    sb = Sandbox("telecom23", clock=FakeClock()).start()
    stall = sb.inject_fault("stall", seconds=60)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(sb.base_url + "/api/v1/sms/status/x", timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    _wait_until(lambda: stall.hits == 1)  # stalled in the sandbox, not merely sent
    started = time.perf_counter()
    sb.stop()
    assert time.perf_counter() - started < 3
    thread.join(10)
    assert not thread.is_alive()


def _wait_until(condition: Callable[[], bool], limit: float = 60.0) -> None:
    """Wait for `condition` to hold (re-checked every few ms), failing after `limit` s."""
    ticks = threading.Event()
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        ticks.wait(0.005)


def test_reset_drops_stalled_requests_unrecorded(telecom23_sandbox: Sandbox) -> None:
    sb = telecom23_sandbox
    stall = sb.inject_fault("stall", seconds=60)
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            httpx.get(sb.base_url + "/api/v1/sms/status/x", timeout=60).status_code
        )
    )
    thread.start()
    # Reset only once the request is stalled in the sandbox (its fault has shaped it): a
    # reset before it arrives would answer it as an unknown key (401), not drop it (503).
    _wait_until(lambda: stall.hits == 1)
    sb.reset()
    thread.join(60)
    assert result == [503]
    assert sb.requests == []


def test_restore_defaults(lisoloo_sandbox: Sandbox) -> None:
    lisoloo_sandbox.rate_limit = None
    lisoloo_sandbox.options["history_before"] = "inclusive"
    lisoloo_sandbox.restore_defaults()
    assert lisoloo_sandbox.rate_limit == (120, 60.0)
    assert lisoloo_sandbox.options["history_before"] == "strict"


def test_concurrent_clients(seven_sandbox: Sandbox) -> None:
    seven_sandbox.add_message("1", statuses=("DELIVERED",))
    url = seven_sandbox.base_url + "/api/status?msg_id=1"
    headers = {"X-Api-Key": seven_sandbox.api_key}

    async def main() -> list[int]:
        async with httpx.AsyncClient() as c:
            responses = await asyncio.gather(*(c.get(url, headers=headers) for _ in range(50)))
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 50
    assert len(seven_sandbox.requests) == 50


def test_arguments_no_server_could_act_on_are_refused_when_given() -> None:
    # Each was taken, then every matching request was a bare 500 (or never limited).
    nan, inf = float("nan"), float("inf")
    for rate_limit in ((2, nan), (2, inf), (nan, 60)):
        with pytest.raises(ValueError, match="rate_limit"):
            Sandbox("telecom23", rate_limit=rate_limit)  # type: ignore[arg-type]
    sandbox = Sandbox("telecom23")
    with pytest.raises(ValueError, match="rate_limit"):
        sandbox.rate_limit = (2, nan)  # type: ignore[assignment]
    with pytest.raises(ValueError, match="finite"):
        sandbox.add_message("m-nan", advance=nan)
    for status in (99, 103, 1000):
        with pytest.raises(ValueError, match="from 200 to 599"):
            sandbox.inject_fault("status_code", status=status)
    with pytest.raises(ValueError, match="printable"):
        sandbox.inject_fault("rate_limit", retry_after="1\r\nX-Evil: 1")


def test_the_plugins_shared_server_stopped_by_a_test_serves_the_next_one() -> None:
    # A test that stopped its shared sandbox broke every later test of that provider
    # ("the sandbox is not serving").
    from sms_status.testing.pytest_plugin import _Servers

    servers = _Servers()
    try:
        servers.get("lisoloo").stop()
        assert servers.get("lisoloo").serving
    finally:
        servers.close()


def test_telecom23s_rate_window_counts_an_account_not_each_key() -> None:
    # Its docs: "about 1,000 requests/s per account, shared by all its keys"; the sandbox
    # counted each key apart, so two keys of one account made twice the limit unrefused.
    with Sandbox("telecom23", clock=FakeClock(), rate_limit=(2, 60.0)).serve() as sandbox:
        sandbox.add_message("m-1", statuses=("DELIVRD",))
        second = "sk_test_second_key_of_the_account"
        sandbox.add_tenant_key(second, tenant="default")
        statuses = []
        for key in (sandbox.api_key, second, sandbox.api_key, second):
            reply = httpx.get(
                f"{sandbox.base_url}/api/v1/sms/status/m-1", headers={"X-API-Key": key}
            )
            statuses.append(reply.status_code)
    assert statuses == [200, 200, 429, 429]
