"""pytest plugin (entry point ``pytest11: sms_status``): sandbox fixtures for every provider.

    def test_mine(telecom23_sandbox, telecom23_client):
        telecom23_sandbox.add_message("m1", statuses=("pending", "DELIVRD"))
        assert telecom23_client.wait_for_final("m1").is_delivered

Fixtures: ``telecom23_sandbox``, ``namirial_sandbox``, ``roycetalk_sandbox``,
``lisoloo_sandbox``, ``seven_sandbox`` (a started :class:`~sms_status.testing.Sandbox` on
``127.0.0.1``), ``sandbox_clock`` (the :class:`~sms_status.testing.FakeClock` those
sandboxes run on; a fresh one per test, starting 2026-02-13T10:30:00Z), and
``telecom23_client`` ... ``seven_client``: a blocking client of the provider's sandbox on that
clock (waits between polls and retries advance it instead of sleeping), closed after the test.
For other options or the async client: ``with telecom23_sandbox.connect(max_retries=0) as c:``
or ``async with telecom23_sandbox.connect_async() as c:``.

Needs the ``testing`` extra (Starlette, uvicorn); without it the fixtures fail with the
``pip install`` line.

Each sandbox also pushes webhooks: ``telecom23_sandbox.add_webhook(url, secret="whsec_...")``
makes it POST every status change of its messages, signed and retried as the provider
documents (``webhook_deliveries`` logs each attempt, ``wait_for_webhooks(n)`` waits for them);
``reset()`` between tests removes the subscriptions. The signatures carry the sandbox clock's
time (``sandbox_clock``, in February 2026): verify them on it, as
``webhooks.app(..., clock=sandbox_clock.now)`` or ``webhooks.parse(..., now=sandbox_clock.now())``.

One server per provider is started per session and handed out ``reset()`` to each test (fresh
messages, faults, request log, rate windows and clock), so the fixtures cost microseconds.
A test that needs other constructor options gets a dedicated server for itself:

    @pytest.mark.sms_sandbox(rate_limit=None, history_before="inclusive")
    def test_x(lisoloo_sandbox): ...

(``api_key``, ``rate_limit``, ``history_before``, ``invalid_query``, ``signing_secret``,
``seed``: see :class:`~sms_status.testing.Sandbox`.)

This module loads in every pytest run of anyone who installed sms-status: it imports nothing
beyond pytest at import time (the server stack loads when a fixture is first used).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sms_status.client import HistoryClient, StatusClient
    from sms_status.testing._sandbox import FakeClock, Sandbox

MARKER = "sms_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): sms_status.testing.Sandbox options (api_key, rate_limit, "
        "history_before, invalid_query, signing_secret, seed) for this test's sandboxes",
    )


class _Servers:
    """The session's shared servers, one per provider, started on first use."""

    def __init__(self) -> None:
        self.running: dict[str, Sandbox] = {}

    def get(self, key: str) -> Sandbox:
        """The provider's shared server; started again if a test stopped it (else every
        later test of that provider failed: "the sandbox is not serving")."""
        sandbox = self.running.get(key)
        if sandbox is None or not sandbox.serving:
            from sms_status.testing._sandbox import Sandbox

            sandbox = Sandbox(key).start()
            self.running[key] = sandbox
        return sandbox

    def close(self) -> None:
        import threading

        stopping = [threading.Thread(target=sb.stop) for sb in self.running.values()]
        for thread in stopping:  # in parallel: each stop takes ~0.1-0.2 s
            thread.start()
        for thread in stopping:
            thread.join()
        self.running.clear()


@pytest.fixture(scope="session")
def _sms_sandbox_servers() -> Iterator[_Servers]:
    servers = _Servers()
    yield servers
    servers.close()


@pytest.fixture
def sandbox_clock() -> FakeClock:
    """A fresh FakeClock (2026-02-13T10:30:00Z); the sandbox fixtures of the test run on it."""
    from sms_status.testing import require_testing_extra

    try:
        require_testing_extra()
    except ModuleNotFoundError as missing:  # one line that says what to install, no traceback
        pytest.fail(str(missing), pytrace=False)
    from sms_status.testing._sandbox import FakeClock

    return FakeClock()


def _sandbox(
    key: str, request: pytest.FixtureRequest, servers: _Servers, clock: FakeClock
) -> Iterator[Sandbox]:
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if options:
        from sms_status.testing._sandbox import Sandbox

        options.setdefault("clock", clock)
        with Sandbox(key, **options).serve() as dedicated:
            yield dedicated
        return
    shared = servers.get(key)
    shared.clock = clock
    shared.restore_defaults()
    try:
        yield shared
    finally:
        shared.restore_defaults()


@pytest.fixture
def telecom23_sandbox(
    request: pytest.FixtureRequest, _sms_sandbox_servers: _Servers, sandbox_clock: FakeClock
) -> Iterator[Sandbox]:
    """A started 23 Telecom sandbox (``X-API-Key: sandbox.api_key``)."""
    yield from _sandbox("telecom23", request, _sms_sandbox_servers, sandbox_clock)


@pytest.fixture
def namirial_sandbox(
    request: pytest.FixtureRequest, _sms_sandbox_servers: _Servers, sandbox_clock: FakeClock
) -> Iterator[Sandbox]:
    """A started Namirial sandbox (``X-Api-Key: sandbox.api_key``)."""
    yield from _sandbox("namirial", request, _sms_sandbox_servers, sandbox_clock)


@pytest.fixture
def roycetalk_sandbox(
    request: pytest.FixtureRequest, _sms_sandbox_servers: _Servers, sandbox_clock: FakeClock
) -> Iterator[Sandbox]:
    """A started RoyceTalk sandbox (``Authorization: Bearer sandbox.api_key``)."""
    yield from _sandbox("roycetalk", request, _sms_sandbox_servers, sandbox_clock)


@pytest.fixture
def lisoloo_sandbox(
    request: pytest.FixtureRequest, _sms_sandbox_servers: _Servers, sandbox_clock: FakeClock
) -> Iterator[Sandbox]:
    """A started Lisoloo sandbox (``app-key: sandbox.api_key``; 120 requests/60 s)."""
    yield from _sandbox("lisoloo", request, _sms_sandbox_servers, sandbox_clock)


@pytest.fixture
def seven_sandbox(
    request: pytest.FixtureRequest, _sms_sandbox_servers: _Servers, sandbox_clock: FakeClock
) -> Iterator[Sandbox]:
    """A started seven.io sandbox (``X-Api-Key: sandbox.api_key``)."""
    yield from _sandbox("seven", request, _sms_sandbox_servers, sandbox_clock)


def _client(sandbox: Sandbox) -> Iterator[StatusClient]:
    with sandbox.connect() as client:
        yield client


@pytest.fixture
def telecom23_client(telecom23_sandbox: Sandbox) -> Iterator[StatusClient]:
    """A blocking client of ``telecom23_sandbox``, on the sandbox clock."""
    yield from _client(telecom23_sandbox)


@pytest.fixture
def namirial_client(namirial_sandbox: Sandbox) -> Iterator[HistoryClient]:
    """A blocking client of ``namirial_sandbox``, with namirial's history calls, on the
    sandbox clock."""
    from sms_status.client import HistoryClient

    for client in _client(namirial_sandbox):
        assert isinstance(client, HistoryClient)  # namirial's, as connect("namirial") types it
        yield client


@pytest.fixture
def roycetalk_client(roycetalk_sandbox: Sandbox) -> Iterator[StatusClient]:
    """A blocking client of ``roycetalk_sandbox``, on the sandbox clock."""
    yield from _client(roycetalk_sandbox)


@pytest.fixture
def lisoloo_client(lisoloo_sandbox: Sandbox) -> Iterator[StatusClient]:
    """A blocking client of ``lisoloo_sandbox``, on the sandbox clock."""
    yield from _client(lisoloo_sandbox)


@pytest.fixture
def seven_client(seven_sandbox: Sandbox) -> Iterator[StatusClient]:
    """A blocking client of ``seven_sandbox``, on the sandbox clock and on seven's status
    endpoint (``lookup="status"``: without the default's DeprecationWarning, once a process,
    which failed the first seven test of each worker of a suite that turns warnings into
    errors). ``seven_sandbox.connect()`` makes one that moves to the logbook when it is gone."""
    with seven_sandbox.connect(lookup="status") as client:
        yield client
