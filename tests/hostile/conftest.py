"""The `hostile` fixture: start scripted raw-socket servers, closed when the test ends."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import pytest
from hostile_support import HostileServer, Script


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileServer]]:
    """`hostile(script, tls=None)`: a started server, closed when the test ends."""
    servers: list[HostileServer] = []

    def start(script: Script, tls: ssl.SSLContext | None = None) -> HostileServer:
        server = HostileServer(script, tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
