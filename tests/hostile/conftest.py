"""The `hostile` fixture: start scripted raw-socket servers, closed when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hostile_support import HostileServer, Script


@pytest.fixture
def hostile() -> Iterator[Callable[[Script], HostileServer]]:
    servers: list[HostileServer] = []

    def start(script: Script) -> HostileServer:
        server = HostileServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
